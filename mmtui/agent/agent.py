"""The :class:`Agent`: what a model server holds to expose ``/metrics`` and ``/records``."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING

from mmtui.agent.log import DEFAULT_LIMIT, LogStats, RecordLog, record_id
from mmtui.agent.metrics import DEFAULT_BUCKETS, DEFAULT_PREFIX, ServingMetrics

if TYPE_CHECKING:
    from mmtui.agent.asgi import ASGIApp
    from mmtui.agent.server import AgentServer

__all__ = ["Agent", "Track"]


class Agent:
    """Serving metrics and a sampled, redacted inference log for one model; thread-safe.

    Parameters
    ----------
    model
        The ``model`` label of the metrics (``observe`` and ``track`` may name another).
    sample_rate
        Share of records kept in the log, 0..1, decided by a hash of the record id (a label
        posted later is kept exactly when its record was).
    redact
        Feature names (case-insensitive) whose values are replaced by ``"[redacted]"`` before
        anything is stored: PII never enters the log.
    capacity
        Lines the log keeps (records and late labels); the oldest fall out.
    buckets
        Latency histogram upper bounds in seconds.
    prefix
        Metric name prefix: ``<prefix>_requests_total`` and so on.
    seed
        Seeds the ids the agent makes up (reproducible samples in tests).
    clock
        Wall clock for record timestamps.

    Examples
    --------
    >>> agent = Agent("fraud-scorer", redact=("email",))
    >>> with agent.track(features={"amount": 12.5, "email": "a@b.c"}) as t:
    ...     t.prediction = 0
    >>> b"a@b.c" in agent.records_body()[0]
    False
    >>> b'mmtui_requests_total{model="fraud-scorer"} 1' in agent.metrics_text()
    True
    """

    def __init__(
        self,
        model: str,
        *,
        sample_rate: float = 1.0,
        redact: Collection[str] = (),
        capacity: int = 10_000,
        buckets: Sequence[float] = DEFAULT_BUCKETS,
        prefix: str = "mmtui",
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.metrics = ServingMetrics(model, prefix=prefix, buckets=buckets, clock=clock)
        self.log = RecordLog(
            capacity=capacity, sample_rate=sample_rate, redact=redact, seed=seed, clock=clock
        )
        self.clock = clock

    @property
    def model(self) -> str:
        return self.metrics.model

    # -- timing ----------------------------------------------------------------------------------

    def observe(self, latency_s: float, *, error: bool = False, model: str | None = None) -> None:
        """Count one finished request (for code that times requests itself)."""
        self.metrics.observe(latency_s, error=error, model=model)

    def track(
        self,
        features: Mapping[str, object] | None = None,
        *,
        id: str | int | None = None,
        model: str | None = None,
    ) -> Track:
        """Time a request in a ``with`` block and log its prediction when it ends.

        Set ``t.prediction`` (and ``t.features``, ``t.label`` if known) inside the block. An
        exception counts as an error and logs no record; ``t.id`` (made up when not given) is
        the id to hand back for a later label.
        """
        rid = self.log.new_id() if id is None else record_id(id)
        return Track(self, rid, features, model)

    # -- records ---------------------------------------------------------------------------------

    def record(
        self,
        features: Mapping[str, object],
        prediction: object = None,
        *,
        id: str | int | None = None,
        ts: float | None = None,
        label: object = None,
    ) -> str:
        """Log one prediction (if its id is sampled); returns its id, made up when not given.

        Values must be numbers, strings, booleans or None (numpy scalars are fine): anything
        else raises TypeError naming the feature. ``ts`` is epoch seconds (default: now).
        """
        return self.log.record(features, prediction, id=id, ts=ts, label=label)

    def label(self, id: str | int, label: object) -> bool:
        """Log the ground truth of an earlier prediction; False when its id is not sampled."""
        return self.log.label(id, label)

    def sampled(self, id: str) -> bool:
        """Whether the record (and label) with this id is kept: skip building features if not."""
        return self.log.sampled(id)

    def stats(self) -> LogStats:
        return self.log.stats()

    # -- exposition --------------------------------------------------------------------------------

    def metrics_text(self) -> bytes:
        """The ``/metrics`` body: Prometheus text 0.0.4."""
        return self.metrics.text()

    def records_body(
        self, after: int | None = None, limit: int = DEFAULT_LIMIT
    ) -> tuple[bytes, int | None]:
        """The ``/records`` body for the cursor ``after``, and the cursor to pass next."""
        return self.log.read(after, limit)

    def asgi_app(self, *, path_prefix: str = "/") -> ASGIApp:
        """The agent's routes alone as an ASGI app (to mount, or to serve on a port)."""
        from mmtui.agent.asgi import agent_app

        return agent_app(self, path_prefix=path_prefix)

    def serve(self, port: int = 0, *, host: str = "127.0.0.1", path_prefix: str = "/"
              ) -> AgentServer:
        """Serve the routes from a stdlib HTTP server in a daemon thread (no ASGI needed)."""
        from mmtui.agent.server import AgentServer

        return AgentServer(self, port, host=host, path_prefix=path_prefix)

    def endpoint_toml(
        self,
        base_url: str,
        *,
        name: str | None = None,
        baseline: str | None = None,
        target: str | None = None,
        prediction: str | None = None,
    ) -> str:
        """An mmtui ``[[endpoints]]`` entry for this agent, its routes under ``base_url``.

        The ``agent`` preset reads the default metric prefix, the ``generic`` preset (with the
        names) any other; ``baseline`` (a profile, or validation data with its ``target`` and
        ``prediction`` columns) turns on drift and quality.
        """
        base = base_url if base_url.endswith("/") else base_url + "/"
        p = self.metrics.prefix
        keys: list[tuple[str, str | None]] = [
            ("name", name or self.model),
            ("metrics_url", base + "metrics"),
            ("records_url", base + "records"),
            ("preset", "agent" if p == DEFAULT_PREFIX else "generic"),
            ("baseline", baseline),
            ("target", target),
            ("prediction", prediction),
        ]
        metrics = [
            ("requests", f"{p}_requests_total"),
            ("errors", f"{p}_request_errors_total"),
            ("latency", f"{p}_request_duration_seconds"),
            ("latency_unit", "s"),
            ("inflight", f"{p}_requests_in_flight"),
            ("model_label", "model"),
        ]
        lines = ["[[endpoints]]"]
        lines += [f"{k} = {json.dumps(v)}" for k, v in keys if v is not None]
        if p != DEFAULT_PREFIX:
            lines += ["[endpoints.metrics]", *(f"{k} = {json.dumps(v)}" for k, v in metrics)]
        return "\n".join(lines) + "\n"


class Track:
    """One request timed by :meth:`Agent.track`."""

    __slots__ = ("_agent", "_start", "_ts", "features", "id", "label", "model", "prediction")

    def __init__(
        self, agent: Agent, id: str, features: Mapping[str, object] | None, model: str | None
    ) -> None:
        self._agent = agent
        self.id = id
        self.features = features
        self.model = model
        self.prediction: object = None
        self.label: object = None
        self._start = 0.0
        self._ts = 0.0

    def __enter__(self) -> Track:
        self._ts = self._agent.clock()
        self._agent.metrics.started(self.model)
        self._start = time.perf_counter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        elapsed = time.perf_counter() - self._start
        metrics = self._agent.metrics
        metrics.finished(self.model)
        failed = exc_type is not None and issubclass(exc_type, Exception)
        metrics.observe(elapsed, error=failed, model=self.model)
        if exc_type is None and self.features is not None:
            self._agent.record(self.features, self.prediction, id=self.id, ts=self._ts,
                               label=self.label)
