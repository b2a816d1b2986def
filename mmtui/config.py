"""TOML configuration → frozen dataclasses.

Every error names the file, the key and what was expected (``ConfigError``).
"""

from __future__ import annotations

from dataclasses import dataclass, field


class ConfigError(ValueError):
    """A configuration problem; the message is one line naming file, key and what was expected."""


@dataclass(frozen=True, slots=True)
class GenericMetrics:
    """Metric family names for the ``generic`` preset (``[endpoints.metrics]`` in config)."""

    requests: str | None = None
    """Counter of requests (all outcomes, or successes when ``errors`` counts failures apart)."""
    errors: str | None = None
    """Counter of failed requests."""
    latency: str | None = None
    """Histogram or summary of request latency."""
    latency_unit: str = "s"
    """Unit of ``latency`` and ``queue``: s, ms or us."""
    queue: str | None = None
    """Histogram/summary of queue time, or a cumulative-duration counter."""
    inflight: str | None = None
    """Gauge of requests in flight."""
    model_label: str | None = None
    """Label that names the model, when the server hosts several."""
    requests_include_errors: bool = True
    """True when ``requests`` counts failures too (error_rate = errors / requests)."""


@dataclass(frozen=True, slots=True)
class EndpointConfig:
    """One monitored endpoint (``[[endpoints]]``)."""

    name: str
    metrics_url: str
    preset: str = "generic"
    records_url: str | None = None
    baseline: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 5.0
    """Seconds for one scrape, connect included."""
    models: tuple[str, ...] = ()
    """Glob patterns on the model label; empty keeps every model."""
    generic: GenericMetrics | None = None


@dataclass(frozen=True, slots=True)
class MonitorConfig:
    """``[monitor]``."""

    interval: float = 2.0
    """Seconds between polls of one endpoint."""
    history: int = 1800
    """Points kept per (endpoint, model, metric) series in memory."""
    state: str | None = None
    """SQLite state file; None means the XDG state dir."""
    concurrency: int = 64
    """Most scrapes in flight at once."""
    max_body_bytes: int = 8 * 1024 * 1024
    """A metrics body larger than this is an error, not parsed."""
    theme: str | None = None


@dataclass(frozen=True, slots=True)
class RuleConfig:
    """``[[rules]]`` as DESIGN.md gives them (the alerts issue extends them)."""

    name: str
    metric: str
    op: str
    threshold: float
    for_: float = 0.0
    endpoint: str = "*"
    severity: str = "warning"


@dataclass(frozen=True, slots=True)
class Config:
    monitor: MonitorConfig = field(default_factory=MonitorConfig)
    endpoints: tuple[EndpointConfig, ...] = ()
    rules: tuple[RuleConfig, ...] = ()
    source: str | None = None
    """The file this was read from, if any."""
