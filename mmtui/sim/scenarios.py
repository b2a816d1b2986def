"""Scripted incidents: a scenario is data, a list of timed incidents per endpoint.

``calm``
    Traffic only: diurnal-ish load, noise, a trickle of background errors. No incidents.

``incident`` (the script repeats every 180 s, so a long demo keeps showing things)

    ========  ================  ==========================================================
    seconds   endpoint          what happens
    ========  ================  ==========================================================
    8–38      chat-llm          latency spike: decode ×4, queueing ×16, e2e p95 about 4×
    50–80     fraud-scorer      error burst on model ``fraud_xgb``: 25 % of requests fail
                                (Triton ``nv_inference_request_failure{reason="BACKEND"}``)
    95–125    image-classifier  down: the connection is dropped without a response; at
                                125 s it is back as a restarted process (counters from 0)
    140–165   code-llm          error burst: 20 % of chat completions answer HTTP 5xx
    ========  ================  ==========================================================

Latency and error incidents ramp in and out over ``ramp`` seconds; ``down`` is abrupt. Times
before 0 (the simulator's warm-up) never have incidents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

Kind = Literal["latency", "errors", "down"]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Incident:
    """One scripted incident on one endpoint (optionally one model on it)."""

    kind: Kind
    endpoint: str
    start: float
    """Seconds into the cycle."""
    end: float
    magnitude: float = 1.0
    """``latency``: service-time multiplier at the peak (queueing grows as its square);
    ``errors``: the fraction of requests failing at the peak; ``down``: unused."""
    model: str | None = None
    """None: every model on the endpoint."""
    ramp: float = 2.0
    """Seconds to ramp in and out (latency, errors)."""

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise ValueError(f"incident on {self.endpoint!r}: expected 0 <= start < end")
        if self.kind == "errors" and not 0 < self.magnitude <= 1:
            raise ValueError(f"error incident on {self.endpoint!r}: magnitude is a fraction")
        if self.kind == "latency" and self.magnitude < 1:
            raise ValueError(f"latency incident on {self.endpoint!r}: magnitude must be >= 1")

    def envelope(self, t: FloatArray, cycle: float) -> FloatArray:
        """How much of the incident is in force at times ``t`` (seconds since start), 0..1."""
        phase = np.mod(t, cycle)
        if self.kind == "down":
            inside = (phase >= self.start) & (phase < self.end)
            return np.where((t >= 0) & inside, 1.0, 0.0)
        ramp = max(self.ramp, 1e-9)
        rise = np.minimum((phase - self.start) / ramp, (self.end - phase) / ramp)
        return np.where(t >= 0, np.clip(rise, 0.0, 1.0), 0.0)

    def describe(self) -> str:
        where = self.endpoint if self.model is None else f"{self.endpoint}/{self.model}"
        what = {
            "latency": f"latency spike ×{self.magnitude:g}",
            "errors": f"error burst {self.magnitude:.0%}",
            "down": "down, then back as a restarted process",
        }[self.kind]
        span = f"{self.start:g}s–{self.end:g}s"
        return f"{span:<10} {where}: {what}"


@dataclass(frozen=True, slots=True)
class Effects:
    """The scenario's effect on one model over a run of ticks."""

    latency: FloatArray
    """Service-time multiplier (1 = normal)."""
    errors: FloatArray
    """Extra failure fraction on top of the model's background error rate."""


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    incidents: tuple[Incident, ...] = ()
    cycle: float = 180.0
    """Seconds after which the script repeats."""

    def effects(self, endpoint: str, model: str, t: FloatArray) -> Effects:
        """Latency multiplier and extra error fraction for ``model`` on ``endpoint``."""
        latency = np.ones_like(t)
        errors = np.zeros_like(t)
        for inc in self.incidents:
            if inc.endpoint != endpoint or inc.model not in (None, model):
                continue
            if inc.kind == "latency":
                latency += (inc.magnitude - 1.0) * inc.envelope(t, self.cycle)
            elif inc.kind == "errors":
                errors += inc.magnitude * inc.envelope(t, self.cycle)
        return Effects(latency, errors)

    def down(self, endpoint: str, t: FloatArray) -> BoolArray:
        """Where ``endpoint`` is down at times ``t``."""
        out = np.zeros(t.shape, dtype=np.bool_)
        for inc in self.incidents:
            if inc.kind == "down" and inc.endpoint == endpoint:
                out |= inc.envelope(t, self.cycle) > 0
        return out

    def timeline(self) -> list[str]:
        """One line per incident, in time order, for people."""
        if not self.incidents:
            return ["no incidents"]
        lines = [inc.describe() for inc in sorted(self.incidents, key=lambda i: i.start)]
        return [*lines, f"the script repeats every {self.cycle:g}s"]


SCENARIOS: dict[str, Scenario] = {
    "calm": Scenario("calm", "traffic only, no incidents"),
    "incident": Scenario(
        "incident",
        "a latency spike, two error bursts and an endpoint that goes down, every 180 s",
        (
            Incident("latency", "chat-llm", 8.0, 38.0, 4.0),
            Incident("errors", "fraud-scorer", 50.0, 80.0, 0.25, model="fraud_xgb"),
            Incident("down", "image-classifier", 95.0, 125.0),
            Incident("errors", "code-llm", 140.0, 165.0, 0.20),
        ),
    ),
}


def get_scenario(name: str) -> Scenario:
    """The scenario called ``name``; ValueError naming the known ones otherwise."""
    try:
        return SCENARIOS[name]
    except KeyError:
        known = ", ".join(SCENARIOS)
        raise ValueError(f"unknown scenario {name!r} (expected one of: {known})") from None
