"""Immutable records produced by the exposition-format parser.

The shape follows prometheus client_python's parser (``Sample(name, labels, value, timestamp)``),
fully typed. Sample names are kept exactly as the server wrote them (no ``_total`` renaming).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


class ParseError(ValueError):
    """The text is not valid exposition format; the message names the line and what was expected."""


class Sample(NamedTuple):
    """One sample line (a NamedTuple, like prometheus_client's: immutable and cheap to build)."""

    name: str
    labels: dict[str, str]
    value: float
    timestamp: float | None = None
    """Seconds since the epoch (Prometheus-text milliseconds are converted), or None."""


@dataclass(frozen=True, slots=True)
class MetricFamily:
    """A metric family: the ``# TYPE`` name and every sample that belongs to it."""

    name: str
    type: str
    """counter, gauge, histogram, summary, untyped (text 0.0.4), unknown, info, stateset,
    gaugehistogram (OpenMetrics)."""
    help: str = ""
    samples: list[Sample] = field(default_factory=list)
