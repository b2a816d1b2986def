"""The simulator: deterministic server state per tick, rendered as each server's exposition text.

No sockets here (see :mod:`mmtui.sim.server`). Time advances in fixed ticks from ``epoch``; the
state at tick ``k`` holds every request of ticks ``[-warmup, k)`` and depends only on seed,
scenario and ``k``. Catching up after a long pause is one vectorised draw per model per
:data:`CHUNK` ticks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from mmtui.sim.models import FLEET, Clock, EndpointSpec, FloatArray, Moment, Requests, Traffic
from mmtui.sim.scenarios import Scenario, get_scenario
from mmtui.sim.torchserve import TorchServeState
from mmtui.sim.triton import TritonState
from mmtui.sim.vllm import VllmState

CHUNK = 3000
"""Most ticks drawn at once (bounds memory when catching up; results do not depend on it)."""


class ServerState(Protocol):
    """What one model server has counted since its process started."""

    def absorb(self, index: int, req: Requests) -> None:
        """Count the requests of model ``index`` over a run of ticks."""

    def elapse(self, start: int, upto: int) -> None:
        """Server-wide bookkeeping once ticks ``[start, upto)`` are absorbed (probes, windows)."""

    def render(self, moment: Moment) -> str:
        """The exposition text of a scrape now."""


def new_state(spec: EndpointSpec, clock: Clock, first_tick: int) -> ServerState:
    """A freshly started server process whose traffic begins at ``first_tick``."""
    if spec.preset == "vllm":
        return VllmState(spec, clock, first_tick)
    if spec.preset == "triton":
        return TritonState(spec, clock, first_tick)
    return TorchServeState(spec, clock, first_tick)


class Simulator:
    """Simulated model servers under a scenario, driven by an explicit tick.

    Parameters
    ----------
    scenario
        A :class:`Scenario` or the name of one (``calm``, ``incident``).
    seed
        Seeds every random draw; the same seed gives the same text at the same tick.
    epoch
        Wall-clock time (epoch seconds) of tick 0, for timestamps in the text.
    step
        Seconds per tick.
    warmup
        Seconds of traffic before tick 0, so the first scrape already has data.
    endpoints
        The servers to simulate (default :data:`mmtui.sim.models.FLEET`).

    Examples
    --------
    >>> sim = Simulator("calm", seed=1, epoch=1.7e9)
    >>> "vllm:e2e_request_latency_seconds_bucket" in sim.render("chat-llm", 20)
    True
    >>> sim.tick
    20
    """

    def __init__(
        self,
        scenario: Scenario | str = "calm",
        seed: int = 0,
        *,
        epoch: float = 0.0,
        step: float = 0.1,
        warmup: float = 30.0,
        endpoints: Sequence[EndpointSpec] = FLEET,
    ) -> None:
        self.scenario = get_scenario(scenario) if isinstance(scenario, str) else scenario
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        if step <= 0 or warmup < 0:
            raise ValueError("step must be > 0 and warmup >= 0")
        self.endpoints = tuple(endpoints)
        self._index = {ep.name: i for i, ep in enumerate(self.endpoints)}
        if len(self._index) != len(self.endpoints):
            raise ValueError("endpoint names must be unique")
        self._check_scenario()
        self.seed = seed
        self.clock = Clock(epoch, step)
        self._warmup = round(warmup / step)
        self._next = -self._warmup
        seqs = np.random.SeedSequence(seed).spawn(len(self.endpoints))
        self._traffic = [
            [Traffic(m, ep.preset, s) for m, s in zip(ep.models, seq.spawn(len(ep.models)),
                                                      strict=True)]
            for ep, seq in zip(self.endpoints, seqs, strict=True)
        ]
        self._states = [new_state(ep, self.clock, self._next) for ep in self.endpoints]

    def _check_scenario(self) -> None:
        for inc in self.scenario.incidents:
            ep = next((e for e in self.endpoints if e.name == inc.endpoint), None)
            if ep is None or (inc.model is not None and inc.model not in
                              {m.name for m in ep.models}):
                where = inc.endpoint if inc.model is None else f"{inc.endpoint}/{inc.model}"
                raise ValueError(f"scenario {self.scenario.name!r}: no endpoint {where!r}")
            if inc.kind in ("drift", "concept") and ep.records is None:
                raise ValueError(f"scenario {self.scenario.name!r}: {inc.kind} on endpoint "
                                 f"{inc.endpoint!r}, which serves no inference records")

    @property
    def first_tick(self) -> int:
        """The first tick with traffic (the warm-up starts there)."""
        return -self._warmup

    @property
    def tick(self) -> int:
        """The state holds every request of the ticks before this one."""
        return self._next

    def tick_at(self, when: float) -> int:
        """The tick a scrape at wall-clock ``when`` sees: ``floor((when - epoch) / step)``."""
        return math.floor((when - self.clock.epoch) / self.clock.step + 1e-9)

    def spec(self, name: str) -> EndpointSpec:
        """The endpoint called ``name`` (KeyError if there is none)."""
        return self.endpoints[self._index[name]]

    def is_down(self, name: str, tick: int) -> bool:
        """True when the scenario has ``name`` down at ``tick``."""
        t = np.array([tick * self.clock.step])
        return bool(self.scenario.down(self.spec(name).name, t)[0])

    def records_rate(self, name: str, t: FloatArray) -> FloatArray:
        """Inference records per second of ``name`` at times ``t``: the logged model's successful
        requests, sampled as its :class:`~mmtui.sim.models.RecordsSpec` says (0 when down).

        Safe to call from any thread (the load curves are fixed at construction).
        """
        e = self._index[name]
        ep = self.endpoints[e]
        if ep.records is None:
            raise KeyError(f"endpoint {name!r} serves no inference records")
        m = next(i for i, spec in enumerate(ep.models) if spec.name == ep.records.model)
        traffic = self._traffic[e][m]
        failing = np.minimum(
            traffic.spec.error_rate + self.scenario.effects(ep.name, traffic.spec.name, t).errors,
            1.0,
        )
        up = ~self.scenario.down(ep.name, t)
        out: FloatArray = traffic.rate(t) * ep.records.sample * (1.0 - failing) * up
        return out

    def advance(self, tick: int) -> None:
        """Absorb the traffic of every tick before ``tick`` (no-op for a tick already past)."""
        while self._next < tick:
            upto = min(tick, self._next + CHUNK)
            self._run(self._next, upto)
            self._next = upto

    def _run(self, start: int, upto: int) -> None:
        ticks = np.arange(start, upto, dtype=np.int64)
        t: FloatArray = ticks.astype(np.float64) * self.clock.step
        for e, ep in enumerate(self.endpoints):
            down = self.scenario.down(ep.name, t)
            since = None
            if down.any():
                # The process died: what it counted is gone; a new one starts after the outage.
                since = int(ticks[down][-1]) + 1
                self._states[e] = new_state(ep, self.clock, since)
            state = self._states[e]
            for m, traffic in enumerate(self._traffic[e]):
                effects = self.scenario.effects(ep.name, traffic.spec.name, t)
                req = traffic.draw(ticks, t, effects, ~down, self.clock.step)
                state.absorb(m, req if since is None else req.since(since))
            state.elapse(start if since is None else max(start, since), upto)

    def render(self, name: str, tick: int | None = None) -> str:
        """The exposition text of ``name`` at ``tick`` (default: now), after advancing to it.

        A tick already past renders the current state: the state never goes back.
        """
        e = self._index[name]
        if tick is not None:
            self.advance(tick)
        k = self._next
        t = np.array([k * self.clock.step])
        ep = self.endpoints[e]
        up = not self.scenario.down(ep.name, t)[0]
        loads, slows = [], []
        for traffic in self._traffic[e]:
            loads.append(float(traffic.rate(t)[0]) if up else 0.0)
            slows.append(float(self.scenario.effects(ep.name, traffic.spec.name, t).latency[0]))
        rng = np.random.default_rng([self.seed, e, k + self._warmup])
        moment = Moment(k, self.clock.at(k), tuple(loads), tuple(slows), rng)
        return self._states[e].render(moment)
