"""A TorchServe ``/metrics`` (``metrics_mode=prometheus``), as its Java simpleclient writes them.

CamelCase families with ``Level``/``Hostname`` labels next to the ``ts_*`` counters labelled
``model_name``/``model_version``/``hostname``; every label set ends with a trailing comma; the
family order is the server's hash order, copied from a real scrape; a family without samples
still has its HELP and TYPE (the GPU ones on a CPU host; ``Requests4XX``/``Requests5XX`` until
the first such response). Latencies are cumulative microsecond counters (no quantiles).
``Requests2XX`` also counts the load balancer's ``/ping`` probes.
"""

from __future__ import annotations

import numpy as np

from mmtui.sim.exposition import Exposition, Labels, java_double
from mmtui.sim.models import Clock, EndpointSpec, FloatArray, Moment, Requests

PROBE_SECONDS = 5.0
CLIENT_ERRORS = 0.004
"""Fraction of requests answered 4xx (bad input)."""
FRONTEND_US = 450.0

_UNITS = {
    "Requests5XX": "Count", "DiskUsage": "Gigabytes", "GPUUtilization": "Percent",
    "PredictionTime": "ms", "WorkerLoadTime": "Milliseconds", "MemoryAvailable": "Megabytes",
    "GPUMemoryUsed": "Megabytes", "ts_inference_requests_total": "Count",
    "GPUMemoryUtilization": "Percent", "HandlerTime": "ms",
    "ts_inference_latency_microseconds": "Microseconds", "CPUUtilization": "Percent",
    "MemoryUsed": "Megabytes", "QueueTime": "Milliseconds",
    "ts_queue_latency_microseconds": "Microseconds", "DiskUtilization": "Percent",
    "Requests2XX": "Count", "Requests4XX": "Count", "WorkerThreadTime": "Milliseconds",
    "DiskAvailable": "Gigabytes", "MemoryUtilization": "Percent",
}
"""Every family, in the order a real TorchServe writes them, with its unit."""
_COUNTERS = {"Requests2XX", "Requests4XX", "Requests5XX", "ts_inference_requests_total",
             "ts_inference_latency_microseconds", "ts_queue_latency_microseconds"}


def request_latency(req: Requests) -> FloatArray:
    """Seconds per request as ``ts_inference_latency_microseconds`` adds them up."""
    return _latency_ns(req) / 1e9


def _latency_ns(req: Requests) -> FloatArray:
    return np.rint((req.queue + req.service) * 1e9 + FRONTEND_US * 1e3)


class _Model:
    def __init__(self) -> None:
        self.requests = 0.0
        self.latency_ns = 0
        """Whole nanoseconds, so the sum is exact whatever the order of the additions."""
        self.queue_10ns = 0
        self.handler_ms: float | None = None
        """The last request's handler time; None before the first request."""


class TorchServeState:
    """Everything a TorchServe process has counted since it started."""

    def __init__(self, spec: EndpointSpec, clock: Clock, first_tick: int) -> None:
        self.spec = spec
        self.clock = clock
        self.first_tick = first_tick
        self.models = [_Model() for _ in spec.models]
        self.status = {"Requests2XX": 0.0, "Requests4XX": 0.0, "Requests5XX": 0.0}
        self.queue_ms: float | None = None

    def absorb(self, index: int, req: Requests) -> None:
        if req.tick.size == 0:
            return
        model = self.models[index]
        failed = req.failed
        client = ~failed & (req.outcome < req.failure + CLIENT_ERRORS)
        model.requests += req.tick.size
        model.latency_ns += int(_latency_ns(req).astype(np.int64).sum())
        model.queue_10ns += int(np.rint(req.queue * 1e8).astype(np.int64).sum())
        model.handler_ms = round(float(req.service[-1]) * 1e3, 2)
        self.queue_ms = float(np.floor(req.queue[-1] * 1e3))
        self.status["Requests5XX"] += float(failed.sum())
        self.status["Requests4XX"] += float(client.sum())
        self.status["Requests2XX"] += float((~failed & ~client).sum())

    def elapse(self, start: int, upto: int) -> None:
        every = max(1, round(PROBE_SECONDS / self.clock.step))
        low = max(start, self.first_tick)
        first = -(-low // every) * every
        if first < upto:
            self.status["Requests2XX"] += (upto - 1 - first) // every + 1

    def render(self, moment: Moment) -> str:
        w = Exposition(java_double, trailing_comma=True)
        host: Labels = (("Level", "Host"), ("Hostname", self.spec.hostname))
        rng = moment.rng
        busy = sum(
            load * m.latency_ms / 1e3 * slow
            for m, load, slow in zip(self.spec.models, moment.load, moment.slowdown, strict=True)
        )
        system = {
            "DiskUsage": 20.054508209228516 + 0.001 * (moment.now - self.clock.epoch) / 60,
            "MemoryAvailable": 5829.7421875 - rng.integers(0, 64) / 4,
            "CPUUtilization": round(min(100.0, 6.0 + 25.0 * busy + rng.uniform(0, 4)), 1),
            "MemoryUsed": 8245.62109375 + rng.integers(0, 64) / 4,
            "DiskUtilization": 5.8,
            "DiskAvailable": 325.05113983154297,
            "MemoryUtilization": 64.4,
            "WorkerThreadTime": float(rng.integers(1, 4)),
        }
        for family, unit in _UNITS.items():
            kind = "counter" if family in _COUNTERS else "gauge"
            w.family(family, kind, f"Torchserve prometheus {kind} metric with unit: {unit}")
            if family in system:
                w.sample(family, host, float(system[family]))
            elif family in self.status:
                if self.status[family]:
                    w.sample(family, host, self.status[family])
            elif family == "QueueTime":
                if self.queue_ms is not None:
                    w.sample(family, host, self.queue_ms)
            else:
                self._render_models(w, family)
        return w.text()

    def _render_models(self, w: Exposition, family: str) -> None:
        hostname = self.spec.hostname
        for spec, model in zip(self.spec.models, self.models, strict=True):
            by_model: Labels = (("ModelName", spec.name), ("Level", "Model"),
                                ("Hostname", hostname))
            ts: Labels = (("model_name", spec.name), ("model_version", "default"),
                          ("hostname", hostname))
            if family == "WorkerLoadTime":
                for worker in range(2):
                    labels = ((("WorkerName", f"W-{9000 + worker}-{spec.name}_{spec.version}"),
                               ("Level", "Host"), ("Hostname", hostname)))
                    w.sample(family, labels, 4593.0 + 211.0 * worker + 37.0 * len(spec.name))
            elif family in ("PredictionTime", "HandlerTime") and model.handler_ms is not None:
                extra = 0.2 if family == "PredictionTime" else 0.0
                w.sample(family, by_model, round(model.handler_ms + extra, 2))
            elif family == "ts_inference_requests_total" and model.requests:
                w.sample(family, ts, model.requests)
            elif family == "ts_inference_latency_microseconds" and model.requests:
                w.sample(family, ts, model.latency_ns / 1e3)
            elif family == "ts_queue_latency_microseconds" and model.requests:
                w.sample(family, ts, model.queue_10ns / 1e2)
