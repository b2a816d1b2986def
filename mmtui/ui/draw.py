"""Pure text drawing for the TUI: sparklines and human-readable figures.

No Textual here: every function maps plain values to a ``str`` and is tested as a string.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

from mmtui.names import INFLIGHT, LATENCY_P50, LATENCY_P99, QUEUE
from mmtui.snapshot import (
    STATUS_DOWN,
    STATUS_ERROR,
    STATUS_PENDING,
    STATUS_STALE,
    STATUS_UP,
    RowSnapshot,
)

BLOCKS: Final = "▁▂▃▄▅▆▇█"
"""Sparkline levels, lowest first."""
NO_DATA: Final = "—"
"""Shown for a figure that has no value (no traffic, or not enough scrapes for a rate)."""

STATUS_GLYPHS: Final[dict[str, str]] = {
    STATUS_UP: "↑",
    STATUS_DOWN: "↓",
    STATUS_ERROR: "!",
    STATUS_STALE: "~",
    STATUS_PENDING: "…",
}


def sparkline(
    values: Sequence[float | None], width: int | None = None, *, floor: float | None = None
) -> str:
    """Draw the last ``width`` values as unicode blocks, newest on the right.

    The scale runs from the window's minimum (or ``floor``, when lower: rates and latencies use 0,
    so noise is not magnified into mountains) to its maximum; a flat series sits at mid-height,
    or at the bottom when it sits on ``floor``.
    ``None`` (and NaN) are gaps, drawn as a space. A series shorter than ``width`` is padded
    with spaces on the left, so columns of sparklines stay aligned.

    Examples
    --------
    >>> sparkline([1, 2, 3, 4, 5, 6, 7, 8])
    '▁▂▃▄▅▆▇█'
    >>> sparkline([5, None, 5], width=4)
    ' ▄ ▄'
    >>> sparkline([0, 0, 0], floor=0)
    '▁▁▁'
    >>> sparkline([9, 10, 9, 10], floor=0)
    '▇█▇█'
    """
    window = list(values)
    if width is not None:
        window = window[-width:] if width > 0 else []
    known = [v for v in window if v is not None and not math.isnan(v)]
    lo = min(known, default=0.0)
    if floor is not None:
        lo = min(lo, floor)
    span = max(known, default=0.0) - lo
    top = len(BLOCKS) - 1
    chars = []
    for v in window:
        if v is None or math.isnan(v):
            chars.append(" ")
        elif span == 0:
            chars.append(BLOCKS[0] if floor is not None and v == floor else BLOCKS[top // 2])
        else:
            chars.append(BLOCKS[round((v - lo) / span * top)])
    line = "".join(chars)
    return line if width is None else line.rjust(width)


def format_latency_ms(ms: float | None) -> str:
    """``"4.2 ms"``, ``"123 ms"``, ``"1.2 s"``, ``"2.5 min"``; ``None`` → ``"—"``."""
    if ms is None or math.isnan(ms):
        return NO_DATA
    if ms < 9.95:
        return f"{ms:.1f} ms"
    if ms < 999.5:
        return f"{ms:.0f} ms"
    if ms < 59_950:
        return f"{ms / 1000:.1f} s"
    return f"{ms / 60_000:.1f} min"


def format_rate(per_second: float | None) -> str:
    """``"0.25/s"``, ``"12.3/s"``, ``"456/s"``, ``"12.3k/s"``; ``None`` → ``"—"``."""
    if per_second is None or math.isnan(per_second):
        return NO_DATA
    if per_second == 0:
        return "0/s"
    if per_second < 0.995:
        return f"{per_second:.2f}/s"
    if per_second < 99.95:
        return f"{per_second:.1f}/s"
    if per_second < 9_999.5:
        return f"{per_second:.0f}/s"
    return f"{per_second / 1000:.1f}k/s"


def format_ratio(ratio: float | None) -> str:
    """A 0..1 ratio as a percentage: ``"0%"``, ``"<0.1%"``, ``"0.4%"``, ``"12%"``."""
    if ratio is None or math.isnan(ratio):
        return NO_DATA
    percent = ratio * 100
    if percent == 0:
        return "0%"
    if percent < 0.05:
        return "<0.1%"
    if percent < 9.95:
        return f"{percent:.1f}%"
    return f"{percent:.0f}%"


def format_age(seconds: float | None) -> str:
    """A duration, most significant units first: ``"3s"``, ``"1m20s"``, ``"2h05m"``, ``"3d04h"``.

    Negative ages (clock skew) read ``"0s"``; ``None`` → ``"—"``.
    """
    if seconds is None or math.isnan(seconds):
        return NO_DATA
    s = max(0, math.floor(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86_400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86_400}d{s % 86_400 // 3600:02d}h"


def age_changes_in(seconds: float) -> float:
    """Seconds until :func:`format_age` of an age of ``seconds`` (now) reads differently: the
    next whole second under an hour, minute under a day, else hour.

    >>> age_changes_in(4.25), age_changes_in(3599.5), age_changes_in(3600.0)
    (0.75, 0.5, 60.0)
    """
    s = max(0.0, seconds)
    step = 1 if s < 3600 else 60 if s < 86_400 else 3600
    return (math.floor(s / step) + 1) * step - s


def fresh_within(interval: float) -> int:
    """Whole seconds within which data counts as current: 1.5 poll intervals, at least 1.

    Younger data reads ``"<3s"`` rather than a count that would change every second.
    """
    return max(1, math.ceil(1.5 * interval))


def format_data_age(age: float | None, interval: float) -> str:
    """``"<3s"`` while the data is current (:func:`fresh_within`), else ``"14s"``, ``"2m05s"``."""
    if age is not None and age < fresh_within(interval):
        return f"<{fresh_within(interval)}s"
    return format_age(age)


def data_age_changes_in(age: float, interval: float) -> float:
    """Seconds until :func:`format_data_age` of ``age`` reads differently: none while the data
    is current (it reads ``"<3s"`` until :func:`fresh_within`), then :func:`age_changes_in`.

    >>> data_age_changes_in(1.0, 2.0), data_age_changes_in(7.5, 2.0)
    (2.0, 0.5)
    """
    fresh = fresh_within(interval)
    return fresh - age if age < fresh else age_changes_in(age)


def format_status(status: str, *, short: bool = False) -> str:
    """``"↑ up"``, ``"↓ down"``, ``"! error"``, ``"~ stale"``, ``"… pending"``; the glyph alone
    when ``short``. Readable without colour."""
    glyph = STATUS_GLYPHS.get(status, "?")
    return glyph if short else f"{glyph} {status}"


def truncate(text: str, width: int) -> str:
    """``text`` on one line, cut to ``width`` characters with a trailing ``…`` when cut."""
    line = " ".join(text.split())
    if width <= 0:
        return ""
    return line if len(line) <= width else line[: width - 1] + "…"


def format_interval(seconds: float) -> str:
    """A poll interval: ``"0.5s"``, ``"2s"``, ``"1m30s"``."""
    return f"{seconds:g}s" if seconds < 60 else format_age(seconds)


def format_summary(up: int, total: int, data_age: float | None, interval: float) -> str:
    """The status line: ``"3/4 up · data <3s old · every 2s"``."""
    age = "no data yet" if data_age is None else f"data {format_data_age(data_age, interval)} old"
    return f"{up}/{total} up · {age} · every {format_interval(interval)}"


def describe_row(row: RowSnapshot) -> str:
    """One line about a row for the detail line: the full reason when it is not up, else the
    figures the table has no room for."""
    head = f"{row.key} ({row.preset}) {format_status(row.status)}"
    if row.error:
        return f"{head}: {' '.join(row.error.split())}"
    m = row.metrics
    figures = [
        f"p50 {format_latency_ms(m.get(LATENCY_P50))}",
        f"p99 {format_latency_ms(m.get(LATENCY_P99))}",
        f"queue {format_latency_ms(m.get(QUEUE))}",
        f"in flight {format_count(m.get(INFLIGHT))}",
    ]
    return f"{head} · " + " · ".join(figures)


def format_count(value: float | None) -> str:
    """A gauge such as requests in flight: ``"3"``, ``"2.5"``; ``None`` → ``"—"``."""
    if value is None or math.isnan(value):
        return NO_DATA
    return f"{value:.0f}" if value == round(value) else f"{value:.1f}"


def format_figure(value: float | None) -> str:
    """Any figure (a rule's value or threshold) in at most 7 characters, with 4 significant
    digits where they fit: ``.4g`` turns 31840 into ``3.184e+04``, too wide for a column.

    >>> [format_figure(x) for x in (0.0532, 250.0, 31840.0, 2.5e7, -1.5e-5, 3e17, None)]
    ['0.0532', '250', '31840', '25M', '-1.5e-05', '3e+17', '—']
    """
    if value is None or not math.isfinite(value):
        return NO_DATA
    size = abs(value)
    if size < 1e4:
        return f"{value:.4g}"
    if size < 1e6:
        return f"{value:.0f}"
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M")):
        if scale <= size < 1e3 * scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.2g}"
