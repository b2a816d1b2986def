"""The demo simulator: model servers (vLLM, Triton, TorchServe) with scripted incidents.

:class:`Simulator` is the pure, deterministic state (no sockets); :class:`SimServer` serves it
over HTTP on 127.0.0.1. Scenarios and their timelines are in :mod:`mmtui.sim.scenarios`.
"""

from mmtui.sim.models import FLEET, EndpointSpec, ModelSpec
from mmtui.sim.scenarios import SCENARIOS, Incident, Scenario, get_scenario
from mmtui.sim.server import RecordsProvider, SimServer
from mmtui.sim.simulator import Simulator

__all__ = [
    "FLEET",
    "SCENARIOS",
    "EndpointSpec",
    "Incident",
    "ModelSpec",
    "RecordsProvider",
    "Scenario",
    "SimServer",
    "Simulator",
    "get_scenario",
]
