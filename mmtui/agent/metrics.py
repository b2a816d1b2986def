"""Serving metrics of an embedded agent: a latency histogram and request/error counters per model.

Stdlib only, thread-safe (one lock; an observation is a bisect and three additions under it), and
written out in the Prometheus text format 0.0.4 that every scraper reads, mmtui's generic preset
included. Names, for the prefix ``p`` (default ``mmtui``), every series labelled ``model``:

=================================== ========= ===============================================
``p_request_duration_seconds``      histogram time from request received to response sent (s)
``p_requests_total``                counter   requests handled, every outcome
``p_request_errors_total``          counter   server-side failures: HTTP 5xx or an exception
``p_requests_in_flight``            gauge     requests started and not finished
``process_start_time_seconds``      gauge     when these counters started (a change = reset)
=================================== ========= ===============================================

Client errors (4xx) are traffic, not errors, as in mmtui's presets. The default model's series
exist at zero from the start, so the first scrape after the first request already has a delta.
"""

from __future__ import annotations

import math
import re
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["CONTENT_TYPE", "DEFAULT_BUCKETS", "ServingMetrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DEFAULT_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)
"""Upper bounds in seconds (prometheus_client's defaults); ``+Inf`` is always added."""

_PREFIX = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def _number(v: float) -> str:
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v))


def _label(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


DEFAULT_PREFIX = "mmtui"
"""The metric prefix the ``agent`` preset of mmtui reads."""


@dataclass(slots=True)
class _Series:
    """One model's figures; bucket counts are per bucket (made cumulative when written)."""

    buckets: list[int]
    total: float = 0.0
    count: int = 0
    errors: int = 0
    inflight: int = 0


class ServingMetrics:
    """Counters and the latency histogram of every model seen, behind one lock.

    Parameters
    ----------
    model
        The default model label; its series exist from the start.
    prefix
        Metric name prefix (a valid metric name).
    buckets
        Histogram upper bounds in seconds, strictly increasing, finite and positive.
    clock
        Wall clock, read once for ``process_start_time_seconds``.
    """

    def __init__(
        self,
        model: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        buckets: Sequence[float] = DEFAULT_BUCKETS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(model, str) or not model:
            raise ValueError(f"model must be a non-empty string, got {model!r}")
        if not isinstance(prefix, str) or _PREFIX.fullmatch(prefix) is None:
            raise ValueError(f"prefix {prefix!r} is not a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)")
        bounds = tuple(float(b) for b in buckets)
        if not bounds or any(not math.isfinite(b) or b <= 0 for b in bounds):
            raise ValueError(f"buckets must be finite positive seconds, got {list(buckets)}")
        if any(b >= c for b, c in zip(bounds, bounds[1:], strict=False)):
            raise ValueError(f"buckets must be strictly increasing, got {list(buckets)}")
        self.model = model
        self.prefix = prefix
        self.buckets = bounds
        self._lock = threading.Lock()
        self._series: dict[str, _Series] = {}
        self._started = clock()
        self._get(model)

    def _get(self, model: str) -> _Series:
        series = self._series.get(model)
        if series is None:
            series = self._series[model] = _Series([0] * (len(self.buckets) + 1))
        return series

    def observe(self, seconds: float, *, error: bool = False, model: str | None = None) -> None:
        """Count one finished request that took ``seconds`` (negative or NaN counts as 0)."""
        if not seconds > 0:  # NaN too: a clock that went back must not poison the sum
            seconds = 0.0
        i = bisect_left(self.buckets, seconds)  # le is inclusive: seconds == bound goes in it
        with self._lock:
            s = self._get(model or self.model)
            s.buckets[i] += 1
            s.total += seconds
            s.count += 1
            if error:
                s.errors += 1

    def started(self, model: str | None = None) -> None:
        """A request began (the in-flight gauge); pair it with :meth:`finished`."""
        with self._lock:
            self._get(model or self.model).inflight += 1

    def finished(self, model: str | None = None) -> None:
        """A request begun with :meth:`started` is over (observe it separately)."""
        with self._lock:
            self._get(model or self.model).inflight -= 1

    def text(self) -> bytes:
        """Every family in the text format 0.0.4 (UTF-8), models in first-seen order."""
        with self._lock:
            snap = [(m, list(s.buckets), s.total, s.count, s.errors, s.inflight)
                    for m, s in self._series.items()]
        p = self.prefix
        les = [*(_number(b) for b in self.buckets), "+Inf"]
        hist = f"{p}_request_duration_seconds"
        out = [
            f"# HELP {hist} Time from request received to response sent.",
            f"# TYPE {hist} histogram",
        ]
        for model, buckets, total, count, _, _ in snap:
            m = f'model="{_label(model)}"'
            cumulative = 0
            for le, n in zip(les, buckets, strict=True):
                cumulative += n
                out.append(f'{hist}_bucket{{{m},le="{le}"}} {cumulative}')
            out.append(f"{hist}_sum{{{m}}} {_number(total)}")
            out.append(f"{hist}_count{{{m}}} {count}")
        families = (
            ("requests_total", "counter", "Requests handled, every outcome.", 3),
            ("request_errors_total", "counter",
             "Requests that failed on the server side (HTTP 5xx or an exception).", 4),
            ("requests_in_flight", "gauge", "Requests started and not finished.", 5),
        )
        for suffix, kind, help_text, column in families:
            name = f"{p}_{suffix}"
            out += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
            out += [f'{name}{{model="{_label(row[0])}"}} {row[column]}' for row in snap]
        out += [
            "# HELP process_start_time_seconds When these counters started, in epoch seconds.",
            "# TYPE process_start_time_seconds gauge",
            f"process_start_time_seconds {_number(self._started)}",
        ]
        return ("\n".join(out) + "\n").encode("utf-8")
