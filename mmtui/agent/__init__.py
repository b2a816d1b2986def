"""mmtui's drop-in exporter for Python model servers: ``/metrics`` and ``/records`` to monitor.

Stdlib only (no numpy, no httpx, no web framework) and thread-safe, so any model server can
embed it::

    from mmtui.agent import Agent, MmtuiAgentMiddleware

    agent = Agent("fraud-scorer", sample_rate=0.1, redact=("email", "ssn"))
    app = MmtuiAgentMiddleware(app, agent)          # ASGI: times requests, serves the routes

    # in the handler, after predicting:
    agent.record(features, prediction, id=request_id)
    # later, when the truth is known (or POST /labels {"id": ..., "label": ...}):
    agent.label(request_id, 1)

Without ASGI: time with ``with agent.track(features) as t: t.prediction = ...`` (or
``agent.observe(seconds)``) and expose the routes with ``agent.serve(9100)``.

The log has no model field: give each model its own agent (and ``path_prefix``), which mmtui
watches as one endpoint each.

``/metrics`` is Prometheus text (:mod:`mmtui.agent.metrics`), ``/records`` the records protocol
mmtui reads (:mod:`mmtui.feeds.records`, :mod:`mmtui.agent.log`), ``/labels`` takes late labels
(:mod:`mmtui.agent.http`). ``agent.endpoint_toml(url)`` writes the mmtui config entry (the
``generic`` preset with the agent's metric names). ``python -m mmtui.agent.example`` runs a
small fraud model with the agent and its own traffic.
"""

from mmtui.agent.agent import Agent, Track
from mmtui.agent.asgi import MmtuiAgentMiddleware
from mmtui.agent.log import REDACTED, LogStats
from mmtui.agent.metrics import DEFAULT_BUCKETS

__all__ = ["DEFAULT_BUCKETS", "REDACTED", "Agent", "LogStats", "MmtuiAgentMiddleware", "Track"]
