"""The names of derived metrics every preset maps onto (DESIGN.md)."""

from __future__ import annotations

from typing import Final

THROUGHPUT: Final = "throughput_rps"
ERROR_RATE: Final = "error_rate"
LATENCY_MEAN: Final = "latency_mean_ms"
LATENCY_P50: Final = "latency_p50_ms"
LATENCY_P95: Final = "latency_p95_ms"
LATENCY_P99: Final = "latency_p99_ms"
QUEUE: Final = "queue_ms"
INFLIGHT: Final = "inflight"

SERVING_METRICS: Final[tuple[str, ...]] = (
    THROUGHPUT,
    ERROR_RATE,
    LATENCY_MEAN,
    LATENCY_P50,
    LATENCY_P95,
    LATENCY_P99,
    QUEUE,
    INFLIGHT,
)

QUALITY_METRICS: Final[tuple[str, ...]] = ("accuracy", "precision", "recall", "f1", "mae", "rmse")
DRIFT_SHARE: Final = "drift_share"
DRIFT_PREFIX: Final = "drift."

PRESETS: Final[tuple[str, ...]] = (
    "vllm",
    "triton",
    "torchserve",
    "tgi",
    "kserve",
    "mlserver",
    "bentoml",
    "rayserve",
    "agent",
    "generic",
)

Metrics = dict[str, float | None]
"""Derived metrics by name; None means "no value" (no traffic, or only one scrape for a rate)."""
