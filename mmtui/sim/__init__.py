"""The demo simulator: model servers (vLLM, Triton, TorchServe) with scripted incidents.

:class:`Simulator` is the pure, deterministic state (no sockets); :class:`SimServer` serves it
over HTTP on 127.0.0.1. Scenarios and their timelines are in :mod:`mmtui.sim.scenarios`.
Three endpoints also serve inference records (:class:`RecordStream`) of tabular models
(:mod:`mmtui.sim.datasets`) whose validation data ships in ``sample_data/``
(:mod:`mmtui.sim.sample_data`).
"""

from mmtui.sim.models import FLEET, EndpointSpec, ModelSpec, RecordsSpec
from mmtui.sim.records import RecordStream
from mmtui.sim.scenarios import SCENARIOS, Incident, Scenario, get_scenario
from mmtui.sim.server import RecordsProvider, SimServer
from mmtui.sim.simulator import Simulator

__all__ = [
    "FLEET",
    "SCENARIOS",
    "EndpointSpec",
    "Incident",
    "ModelSpec",
    "RecordStream",
    "RecordsProvider",
    "RecordsSpec",
    "Scenario",
    "SimServer",
    "Simulator",
    "get_scenario",
]
