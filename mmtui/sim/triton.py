"""An NVIDIA Triton Inference Server's ``/metrics`` (CPU-only host), as it writes them.

Per-model families labelled ``model`` and ``version`` (prometheus-cpp sorts label names; a
summary's ``quantile`` comes last). Latencies are cumulative microsecond counters, added on
success only; with ``summary_latencies=true`` also summaries whose quantiles cover the last
60 s. ``nv_inference_request_failure`` has a ``reason``; ``REJECTED`` series come after the
others, as in a real scrape. Failed requests are not executed, so they are in no duration,
``nv_inference_count`` or ``nv_inference_exec_count``.
"""

from __future__ import annotations

import numpy as np

from mmtui.sim.exposition import Exposition, Labels, Window, cpp_double
from mmtui.sim.models import Clock, EndpointSpec, FloatArray, Moment, Requests

WINDOW_SECONDS = 60.0
QUANTILES = (0.5, 0.9, 0.95, 0.99, 0.999)
REASONS = ("OTHER", "BACKEND", "CANCELED")
"""Written per model in this order; then ``REJECTED`` for every model."""

_DURATIONS = (
    ("request", "inference request duration", "includes cached requests"),
    ("queue", "inference queuing duration", "includes cached requests"),
    ("compute_input", "compute input duration", "does not include cached requests"),
    ("compute_infer", "compute inference duration", "does not include cached requests"),
    ("compute_output", "inference compute output duration", "does not include cached requests"),
)


def durations_us(req: Requests) -> FloatArray:
    """``(n, 5)`` whole microseconds of the successful requests: request, queue, input, infer,
    output (the order of ``_DURATIONS``)."""
    ok = ~req.failed
    batch = req.batch[ok]
    queue = np.rint(req.queue[ok] * 1e6)
    infer = np.rint(req.service[ok] * 1e6 * (1.0 + 0.15 * (batch - 1.0)))
    compute_in = np.rint(12.0 + 5.0 * batch + 0.02 * infer)
    compute_out = np.rint(6.0 + 2.0 * batch)
    request = queue + compute_in + infer + compute_out + 31.0
    return np.stack([request, queue, compute_in, infer, compute_out], axis=1)


def request_latency(req: Requests) -> FloatArray:
    """Seconds per successful request, as ``nv_inference_request_duration_us`` adds them up."""
    return durations_us(req)[:, 0] / 1e6


class _Model:
    def __init__(self, span: int) -> None:
        self.success = 0.0
        self.failure = dict.fromkeys((*REASONS, "REJECTED"), 0.0)
        self.inferences = 0.0
        self.executions = 0.0
        self.sums = np.zeros(len(_DURATIONS))
        self.window = Window(span, len(_DURATIONS))


class TritonState:
    """Everything a Triton server has counted since its process started."""

    def __init__(self, spec: EndpointSpec, clock: Clock, first_tick: int) -> None:
        self.spec = spec
        span = round(WINDOW_SECONDS / clock.step)
        self.models = [_Model(span) for _ in spec.models]

    def absorb(self, index: int, req: Requests) -> None:
        model, spec = self.models[index], self.spec.models[index]
        failed = req.failed
        ok = ~failed
        # Where a failure falls within [0, failure) picks its reason: mostly the backend.
        where = req.outcome[failed] / req.failure[failed]
        model.failure["BACKEND"] += float((where < 0.9).sum())
        model.failure["OTHER"] += float(((where >= 0.9) & (where < 0.96)).sum())
        model.failure["CANCELED"] += float((where >= 0.96).sum())
        rows = durations_us(req)
        model.success += float(ok.sum())
        model.sums += rows.sum(axis=0)
        model.inferences += float(req.batch[ok].sum())
        ticks = req.tick[ok]
        if ticks.size:
            # The dynamic batcher merges the requests of one tick into fewer executions.
            per_tick = np.bincount(ticks - ticks[0])
            merge = 1.6 if spec.max_batch > 1 else 1.0
            model.executions += float(np.ceil(per_tick / merge).sum())
        if self.spec.summaries:
            model.window.add(ticks, rows)

    def elapse(self, start: int, upto: int) -> None:
        for model in self.models:
            model.window.prune(upto)

    def render(self, moment: Moment) -> str:
        w = Exposition(cpp_double)
        ids: list[Labels] = [(("model", m.name), ("version", m.version)) for m in self.spec.models]
        pairs = list(zip(ids, self.models, strict=True))
        w.family("nv_inference_request_success", "counter",
                 "Number of successful inference requests, all batch sizes")
        for labels, model in pairs:
            w.sample("nv_inference_request_success", labels, model.success)
        w.family("nv_inference_request_failure", "counter",
                 "Number of failed inference requests, all batch sizes")
        order = [(i, r) for i in range(len(pairs)) for r in REASONS]
        order += [(i, "REJECTED") for i in range(len(pairs))]
        for i, reason in order:
            labels, model = pairs[i]
            w.sample("nv_inference_request_failure",
                     (labels[0], ("reason", reason), labels[1]), model.failure[reason])
        w.family("nv_inference_count", "counter",
                 "Number of inferences performed (does not include cached requests)")
        for labels, model in pairs:
            w.sample("nv_inference_count", labels, model.inferences)
        w.family("nv_inference_exec_count", "counter",
                 "Number of model executions performed (does not include cached requests)")
        for labels, model in pairs:
            w.sample("nv_inference_exec_count", labels, model.executions)
        for col, (name, what, cached) in enumerate(_DURATIONS):
            family = f"nv_inference_{name}_duration_us"
            w.family(family, "counter", f"Cumulative {what} in microseconds ({cached})")
            for labels, model in pairs:
                w.sample(family, labels, model.sums[col])
        if self.spec.summaries:
            self._render_summaries(w, pairs, moment.tick)
        w.family("nv_inference_pending_request_count", "gauge",
                 "Instantaneous number of pending requests awaiting execution per-model.")
        busy = 0.0
        for (labels, _), spec, load, slow in zip(
            pairs, self.spec.models, moment.load, moment.slowdown, strict=True
        ):
            pending = moment.rng.poisson(load * spec.queue_ms / 1e3 * slow**2 * 4.0)
            w.sample("nv_inference_pending_request_count", labels, float(pending))
            busy += load * spec.latency_ms / 1e3 * slow
        self._render_host(w, busy, moment.rng)
        return w.text()

    def _render_summaries(
        self, w: Exposition, pairs: list[tuple[Labels, _Model]], tick: int
    ) -> None:
        quantiles = [m.window.quantiles(QUANTILES, tick) for _, m in pairs]
        for col, (name, what, cached) in enumerate(_DURATIONS):
            family = f"nv_inference_{name}_summary_us"
            w.family(family, "summary", f"Summary of {what} in microseconds ({cached})")
            for (labels, model), qs in zip(pairs, quantiles, strict=True):
                w.sample(f"{family}_count", labels, model.success)
                w.sample(f"{family}_sum", labels, model.sums[col])
                for q, value in zip(QUANTILES, qs[col], strict=True):
                    w.sample(family, (*labels, ("quantile", cpp_double(q))), float(value))

    def _render_host(self, w: Exposition, busy: float, rng: np.random.Generator) -> None:
        for name, text, value in (
            ("nv_pinned_memory_pool_total_bytes", "Pinned memory pool total memory size, in bytes",
             268435456.0),
            ("nv_pinned_memory_pool_used_bytes", "Pinned memory pool used memory size, in bytes",
             0.0),
            ("nv_cpu_utilization", "CPU utilization rate [0.0 - 1.0]",
             min(1.0, 0.04 + busy / 8.0 + rng.uniform(0.0, 0.02))),
            ("nv_cpu_memory_total_bytes", "CPU total memory (RAM), in bytes", 33585025024.0),
            ("nv_cpu_memory_used_bytes", "CPU used memory (RAM), in bytes",
             float(6_120_000_000 + rng.integers(0, 40_000_000))),
        ):
            w.family(name, "gauge", text)
            w.sample(name, (), value)
