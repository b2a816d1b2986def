"""Who the simulated servers are, and what their traffic looks like.

Each model's load is a pure function of time: ``rps`` × a slow sine (a five-minute "day") ×
a few faster seeded sines (noise). Arrivals per tick are Poisson; each request's queue and
service times are lognormal around the model's medians, scaled by the scenario's slowdown.

Randomness comes from one :class:`numpy.random.SeedSequence` per model, spawned from the seed,
with one generator per quantity (arrivals, service, queue, outcome, two extras). Each generator is
consumed strictly in tick order, so the traffic of ticks ``[0, k)`` is the same whether it is
drawn in one call or in many: the state after ``k`` ticks depends only on seed, scenario and
``k``, never on when scrapes happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from mmtui import names
from mmtui.sim.datasets import FRAUD, SENTIMENT, WATCH_TIME, Dataset
from mmtui.sim.scenarios import Effects

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
Preset = Literal["vllm", "triton", "torchserve"]

DAY = 300.0
"""Seconds in the simulated "day" of the diurnal load curve."""


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One model served by an endpoint."""

    name: str
    rps: float
    """Mean requests per second."""
    latency_ms: float
    """Median service time: Triton compute, TorchServe handler, vLLM one output token."""
    queue_ms: float
    """Median time waiting in the server's queue."""
    sigma: float = 0.3
    """Lognormal shape of the service time."""
    error_rate: float = 0.002
    """Background fraction of requests that fail."""
    version: str = "1"
    max_batch: int = 1
    """Triton: the largest batch a client sends."""
    prompt_tokens: float = 0.0
    """vLLM: median prompt length."""
    output_tokens: float = 0.0
    """vLLM: median generation length."""
    max_tokens: int = 0
    """vLLM: the generation cap (``finished_reason="length"`` when reached)."""


@dataclass(frozen=True, slots=True)
class RecordsSpec:
    """The inference log an endpoint serves at ``/models/<name>/records``."""

    dataset: Dataset
    model: str
    """The model whose predictions are logged; records follow its successful requests."""
    sample: float
    """Fraction of those requests logged (the log is sampled, as in production)."""
    label_delay: tuple[float, float] = (20.0, 40.0)
    """Seconds after its record a label arrives, uniform in this range."""

    def __post_init__(self) -> None:
        if not 0 < self.sample <= 1:
            raise ValueError(f"records of {self.model!r}: sample must be in (0, 1]")
        low, high = self.label_delay
        if not 0 <= low <= high:
            raise ValueError(f"records of {self.model!r}: expected 0 <= label delays, low first")


@dataclass(frozen=True, slots=True)
class EndpointSpec:
    """One simulated model server."""

    name: str
    preset: Preset
    models: tuple[ModelSpec, ...]
    hostname: str = ""
    """TorchServe's ``Hostname`` label."""
    summaries: bool = False
    """Triton started with ``--metrics-config summary_latencies=true``."""
    records: RecordsSpec | None = None
    """The inference log it serves, if any."""

    def __post_init__(self) -> None:
        if not self.models:
            raise ValueError(f"endpoint {self.name!r}: needs at least one model")
        if self.records is not None and self.records.model not in {m.name for m in self.models}:
            raise ValueError(
                f"endpoint {self.name!r}: records of unknown model {self.records.model!r}")
        if self.preset == "vllm" and len(self.models) != 1:
            raise ValueError(f"endpoint {self.name!r}: a vLLM server serves exactly one model")

    @property
    def latency_metric(self) -> str:
        """The latency figure mmtui can derive for this server: a quantile when it has one."""
        if self.preset == "vllm" or (self.preset == "triton" and self.summaries):
            return names.LATENCY_P95
        return names.LATENCY_MEAN


FLEET: tuple[EndpointSpec, ...] = (
    EndpointSpec(
        "chat-llm",
        "vllm",
        (
            ModelSpec(
                "meta-llama/Llama-3.1-8B-Instruct", rps=10.0, latency_ms=22.0, queue_ms=40.0,
                sigma=0.12, error_rate=0.001, prompt_tokens=420.0, output_tokens=160.0,
                max_tokens=1024,
            ),
        ),
    ),
    EndpointSpec(
        "fraud-scorer",
        "triton",
        (
            ModelSpec("fraud_xgb", rps=60.0, latency_ms=2.2, queue_ms=0.15, max_batch=4),
            ModelSpec("fraud_embed", rps=25.0, latency_ms=9.0, queue_ms=0.4, sigma=0.35,
                      max_batch=8),
        ),
        summaries=True,
        records=RecordsSpec(FRAUD, "fraud_xgb", sample=0.25),
    ),
    EndpointSpec(
        "image-classifier",
        "torchserve",
        (ModelSpec("resnet18", rps=18.0, latency_ms=45.0, queue_ms=0.4, sigma=0.25,
                   version="1.0"),),
        hostname="image-classifier-6d9f7c8b5-q2x7m",
    ),
    EndpointSpec(
        "recsys-ranker",
        "triton",
        (ModelSpec("ranker_onnx", rps=80.0, latency_ms=6.5, queue_ms=0.8, sigma=0.4,
                   max_batch=16),),
        records=RecordsSpec(WATCH_TIME, "ranker_onnx", sample=0.125, label_delay=(10.0, 30.0)),
    ),
    EndpointSpec(
        "code-llm",
        "vllm",
        (
            ModelSpec(
                "Qwen/Qwen2.5-Coder-7B-Instruct", rps=5.0, latency_ms=18.0, queue_ms=25.0,
                sigma=0.12, error_rate=0.001, prompt_tokens=900.0, output_tokens=220.0,
                max_tokens=2048,
            ),
        ),
    ),
    EndpointSpec(
        "sentiment",
        "torchserve",
        (ModelSpec("distilbert", rps=12.0, latency_ms=28.0, queue_ms=0.3, version="1.0"),),
        hostname="sentiment-7b4c9d6f8-m5k2w",
        records=RecordsSpec(SENTIMENT, "distilbert", sample=1.0),
    ),
)
"""The default endpoints: two vLLM, two Triton (one hosting two models), two TorchServe.
``fraud-scorer``, ``recsys-ranker`` and ``sentiment`` serve inference records too."""


@dataclass(frozen=True, slots=True)
class Clock:
    """Ticks ↔ wall-clock time (epoch seconds)."""

    epoch: float
    """Wall-clock time of tick 0."""
    step: float
    """Seconds per tick."""

    def at(self, tick: int) -> float:
        return self.epoch + tick * self.step


@dataclass(frozen=True, slots=True)
class Requests:
    """The requests of one model over a run of ticks: one array element per request."""

    tick: IntArray
    slowdown: FloatArray
    """The scenario's service-time multiplier when the request arrived."""
    failure: FloatArray
    """The failure fraction in force when the request arrived."""
    outcome: FloatArray
    """Uniform in [0, 1): the request fails when ``outcome < failure``."""
    service: FloatArray
    """Seconds of service (vLLM: per output token)."""
    queue: FloatArray
    """Seconds queued."""
    prompt: FloatArray
    """vLLM prompt tokens (empty for other servers)."""
    output: FloatArray
    """vLLM output tokens (empty for other servers)."""
    batch: FloatArray
    """Triton batch size (empty for other servers)."""

    @property
    def failed(self) -> BoolArray:
        return self.outcome < self.failure

    def since(self, tick: int) -> Requests:
        """Only the requests that arrived at ``tick`` or later."""
        keep = self.tick >= tick

        def cut(a: FloatArray) -> FloatArray:
            return a[keep] if a.size else a

        return Requests(
            self.tick[keep], cut(self.slowdown), cut(self.failure), cut(self.outcome),
            cut(self.service), cut(self.queue), cut(self.prompt), cut(self.output),
            cut(self.batch),
        )


_EMPTY: FloatArray = np.empty(0)


class Streams:
    """The random generators of one model, one per drawn quantity."""

    def __init__(self, seed: np.random.SeedSequence) -> None:
        gens = [np.random.default_rng(s) for s in seed.spawn(7)]
        self.params, self.arrivals, self.service, self.queue, self.outcome = gens[:5]
        self.extra_a, self.extra_b = gens[5:]


def build_requests(
    spec: ModelSpec,
    preset: Preset,
    streams: Streams,
    tick: IntArray,
    slowdown: FloatArray,
    failure: FloatArray,
) -> Requests:
    """Draw everything about ``tick.size`` requests (their arrival ticks are given)."""
    n = tick.size
    outcome = streams.outcome.random(n)
    service = spec.latency_ms / 1e3 * np.exp(spec.sigma * streams.service.standard_normal(n))
    queue = spec.queue_ms / 1e3 * np.exp(0.8 * streams.queue.standard_normal(n))
    prompt = output = batch = _EMPTY
    if preset == "vllm":
        za, zb = streams.extra_a.standard_normal(n), streams.extra_b.standard_normal(n)
        prompt = np.clip(np.rint(spec.prompt_tokens * np.exp(0.6 * za)), 4.0, 6000.0)
        output = np.clip(np.rint(spec.output_tokens * np.exp(0.7 * zb)), 1.0, spec.max_tokens)
    elif preset == "triton":
        batch = 1.0 + np.floor(streams.extra_a.random(n) ** 3 * spec.max_batch)
    return Requests(
        tick, slowdown, failure, outcome, service * slowdown, queue * slowdown**2,
        prompt, output, batch,
    )


class Traffic:
    """The load curve and request draws of one model."""

    def __init__(self, spec: ModelSpec, preset: Preset, seed: np.random.SeedSequence) -> None:
        self.spec = spec
        self.preset: Preset = preset
        self._streams = Streams(seed)
        p = self._streams.params
        self._phase = p.uniform(0.0, 2 * np.pi)
        self._amp = p.uniform(0.04, 0.10, size=3)
        self._period = p.uniform(6.0, 60.0, size=3)
        self._shift = p.uniform(0.0, 2 * np.pi, size=3)

    def rate(self, t: FloatArray) -> FloatArray:
        """Requests per second at times ``t`` (seconds since the simulator's tick 0)."""
        day = 1.0 + 0.3 * np.sin(2 * np.pi * t / DAY + self._phase)
        waves = np.sin(2 * np.pi * t[:, None] / self._period + self._shift) @ self._amp
        return self.spec.rps * day * np.exp(waves)

    def draw(
        self, ticks: IntArray, t: FloatArray, effects: Effects, up: BoolArray, step: float
    ) -> Requests:
        """The requests arriving during ``ticks`` (none where the endpoint is down)."""
        counts = self._streams.arrivals.poisson(self.rate(t) * step * up)
        at = np.repeat(np.arange(ticks.size), counts)
        failure = np.minimum(self.spec.error_rate + effects.errors[at], 1.0)
        return build_requests(
            self.spec, self.preset, self._streams, ticks[at], effects.latency[at], failure
        )


def sample_requests(spec: ModelSpec, preset: Preset, n: int = 20_000) -> Requests:
    """``n`` calm requests from a fixed seed: for typical figures (default alert thresholds)."""
    streams = Streams(np.random.SeedSequence(20_240_601))
    zeros = np.zeros(n, dtype=np.int64)
    return build_requests(
        spec, preset, streams, zeros, np.ones(n), np.full(n, spec.error_rate)
    )


@dataclass(frozen=True, slots=True)
class Moment:
    """What rendering one scrape needs besides the server's cumulative state."""

    tick: int
    now: float
    """Wall-clock time of ``tick``."""
    load: tuple[float, ...]
    """Requests per second per model right now."""
    slowdown: tuple[float, ...]
    """The scenario's service-time multiplier per model right now."""
    rng: np.random.Generator
    """For instantaneous gauges; seeded by (seed, endpoint, tick), so a render is repeatable."""
