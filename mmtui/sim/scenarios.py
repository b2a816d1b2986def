"""Scripted incidents: a scenario is data, a list of timed incidents per endpoint.

``calm``
    Traffic only: diurnal-ish load, noise, a trickle of background errors. No incidents; the
    inference records follow the validation data (no drift, the validation quality).

``incident`` (the script repeats every 180 s, so a long demo keeps showing things)

    ========  ================  ==========================================================
    seconds   endpoint          what happens
    ========  ================  ==========================================================
    8–38      chat-llm          latency spike: decode ×4, queueing ×16, e2e p95 about 4×
    20–100    fraud-scorer      covariate drift in the records: ``amount`` ×1.5, mass of
                                ``merchant_category`` moved to electronics, gaming and
                                online retail, ``channel`` to web (a card-testing campaign)
    30–90     recsys-ranker     concept shift: users watch 45 % less than the model expects
                                (MAE about 1.5×); its inputs do not drift
    50–80     fraud-scorer      error burst on model ``fraud_xgb``: 25 % of requests fail
                                (Triton ``nv_inference_request_failure{reason="BACKEND"}``)
    60–140    sentiment         covariate drift in the records: ``language`` mix moves to
                                Portuguese and Spanish, ``n_chars`` ×1.4 (a market launch)
    95–125    image-classifier  down: the connection is dropped without a response; at
                                125 s it is back as a restarted process (counters from 0)
    110–170   fraud-scorer      concept shift: account takeover, fraud the model trusts;
                                accuracy about 0.95 → 0.72 while no input drifts
    140–165   code-llm          error burst: 20 % of chat completions answer HTTP 5xx
    ========  ================  ==========================================================

Labels arrive 20–40 s after their records (10–30 s on ``recsys-ranker``), so a concept shift
shows in the windowed quality that much later than it starts. With the simulator's config
(records windows of the last 60 s), a drift is flagged from about 10 s after it starts to about
50 s after it ends, so each shows and clears within the cycle. The data sets and what drifts in
them are in :mod:`mmtui.sim.datasets`.

Latency, error, drift and concept incidents ramp in and out over ``ramp`` seconds; ``down`` is
abrupt. Times before 0 (the simulator's warm-up) never have incidents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

Kind = Literal["latency", "errors", "down", "drift", "concept"]
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
    ``errors``: the fraction of requests failing at the peak; ``drift``, ``concept``: the share
    of the data set's designed shift at the peak (0..1); ``down``: unused."""
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
        if self.kind in ("drift", "concept") and not 0 < self.magnitude <= 1:
            raise ValueError(f"{self.kind} incident on {self.endpoint!r}: magnitude is a fraction")

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
            "drift": "covariate drift in the inference records",
            "concept": "concept shift: labels no longer follow the inputs as before",
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

    def shift(self, endpoint: str, t: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Covariate drift and concept shift strengths (0..1) of ``endpoint``'s records."""
        drift = np.zeros_like(t)
        concept = np.zeros_like(t)
        for inc in self.incidents:
            if inc.endpoint == endpoint and inc.kind == "drift":
                drift += inc.magnitude * inc.envelope(t, self.cycle)
            elif inc.endpoint == endpoint and inc.kind == "concept":
                concept += inc.magnitude * inc.envelope(t, self.cycle)
        return np.minimum(drift, 1.0), np.minimum(concept, 1.0)

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
        "a latency spike, two error bursts, an endpoint that goes down, data drift and two"
        " concept shifts, every 180 s",
        (
            Incident("latency", "chat-llm", 8.0, 38.0, 4.0),
            Incident("drift", "fraud-scorer", 20.0, 100.0, ramp=5.0),
            Incident("concept", "recsys-ranker", 30.0, 90.0, ramp=5.0),
            Incident("errors", "fraud-scorer", 50.0, 80.0, 0.25, model="fraud_xgb"),
            Incident("drift", "sentiment", 60.0, 140.0, ramp=5.0),
            Incident("down", "image-classifier", 95.0, 125.0),
            Incident("concept", "fraud-scorer", 110.0, 170.0, ramp=5.0),
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
