"""Time-series charts as text, drawn with plotext (Textual-free, pure but for plotext's lock).

plotext (6.x: ``plotext.figure``) keeps one global figure, so every render holds
:data:`PLOTEXT_LOCK`; callers render from a thread worker. NaN values are gaps (plotext itself
aborts the process on a NaN, so none reaches it). The legend is a header above the plot: each
trace's glyph, label and latest value, then each threshold line's glyph, severity, rule and limit.
Lines are told apart by glyph as well as colour, so a chart stays readable in monochrome.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from mmtui.alerts.rules import Rule
from mmtui.explore import FloatArray

Rgb = tuple[int, int, int]

PLOTEXT_LOCK: Final = threading.Lock()
"""Held for every use of plotext's global figure."""
MARKERS: Final = (("hd", "▀"), ("braille", "⠒"), ("•", "•"), ("+", "+"))
"""plotext marker and its legend glyph, per trace in order."""
SEVERITY_LINES: Final[Mapping[str, tuple[str, str]]] = {
    "critical": ("heavy", "━"),
    "warning": ("default", "─"),
    "info": ("dotted", "┈"),
}
"""plotext line style and legend glyph of a threshold line, per rule severity."""
MIN_WIDTH: Final = 20
MIN_PLOT_HEIGHT: Final = 5
"""Frame, x labels and at least two rows of canvas."""
THRESHOLD_REACH: Final = 2.0
"""A threshold further than this many data spans beyond the data is listed, not drawn."""
_X_STEPS: Final = (30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 14400, 21600, 43200)


def plain(value: float | None) -> str:
    """``"0.93"``, ``"1.23e+04"``; None → ``"—"``: the default figure format."""
    return "—" if value is None else f"{value:.3g}"


@dataclass(frozen=True, slots=True)
class Trace:
    """One line on a chart: points oldest first, NaN values are gaps."""

    label: str
    timestamps: FloatArray
    values: FloatArray


@dataclass(frozen=True, slots=True)
class Threshold:
    """A horizontal line at a rule's limit, in the metric's own units."""

    value: float
    label: str
    severity: str


@dataclass(frozen=True, slots=True)
class ChartSpec:
    """What one chart shows and how its figures read."""

    title: str
    traces: tuple[Trace, ...]
    thresholds: tuple[Threshold, ...] = ()
    fmt: Callable[[float | None], str] = plain
    """Formats a latest value or a threshold, in the metric's own units."""
    scale: float = 1.0
    """Plotted value = value × scale (0..1 ratios are plotted as percentages)."""
    suffix: str = ""
    """Appended to y tick labels ("%")."""
    floor: float | None = 0.0
    """The y axis starts at or below this (0 for rates and latencies); None: from the data."""
    ceiling: float | None = None
    """The y axis ends here unless the data goes past it (1 for scores)."""


@dataclass(frozen=True, slots=True)
class Palette:
    """Colours of traces, in order, and of threshold lines by severity; None draws without."""

    traces: tuple[Rgb, ...]
    severities: Mapping[str, Rgb]


def thresholds_for(
    rules: Sequence[Rule], metric: str, fmt: Callable[[float | None], str]
) -> list[Threshold]:
    """Lines for the enabled absolute rules on ``metric`` (relative ones have no fixed limit)."""
    return [
        Threshold(rule.threshold, f"{rule.severity}: {rule.name} {rule.op} {fmt(rule.threshold)}",
                  rule.severity)
        for rule in rules
        if rule.enabled and rule.kind == "threshold" and rule.threshold is not None
        and not rule.relative and rule.matches_metric(metric)
    ]


def relative_label(seconds: float) -> str:
    """An x tick: ``"now"``, ``"-30s"``, ``"-5m"``, ``"-2h"``."""
    s = round(abs(seconds))
    if s == 0:
        return "now"
    if s % 3600 == 0:
        return f"-{s // 3600}h"
    return f"-{s // 60}m" if s % 60 == 0 else f"-{s}s"


def time_ticks(window: float, width: int) -> tuple[list[float], list[str]]:
    """Tick positions (seconds before now, negative) and labels across ``width`` columns."""
    most = max(2, width // 10)
    step = next((s for s in _X_STEPS if window / s + 1 <= most), window)
    positions = [-k * step for k in range(int(window // step), -1, -1)]
    return [float(p) for p in positions], [relative_label(p) for p in positions]


def nice_ticks(lo: float, hi: float, most: int) -> list[float]:
    """At most ``most`` round numbers (1, 2, 2.5, 5 × 10ⁿ apart) covering ``lo``..``hi``."""
    span = hi - lo if hi > lo else abs(hi) or 1.0
    for n in range(max(2, most), 1, -1):
        raw = span / (n - 1)
        mag = 10 ** math.floor(math.log10(raw))
        step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
        first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
        if last - first + 1 <= most:
            return [k * step for k in range(first, max(last, first + 1) + 1)]
    return [lo, hi]


def format_tick(value: float, step: float, suffix: str = "") -> str:
    """A y tick with as many decimals as the step needs: ``"2.5"``, ``"40"``, ``"1.2k"``."""
    unit, div = ("M", 1e6) if abs(value) >= 1e6 else ("k", 1e3) if abs(value) >= 1e4 else ("", 1)
    step /= div
    decimals = next((d for d in range(7) if abs(round(step, d) - step) <= step * 1e-6), 6)
    text = f"{value / div:.{decimals}f}"
    return ("0" if float(text) == 0 else text) + unit + suffix


def runs(
    timestamps: FloatArray, values: FloatArray, start: float, end: float
) -> list[tuple[FloatArray, FloatArray]]:
    """The finite stretches of a series inside ``start``..``end``, split at NaN/inf values."""
    inside = (timestamps >= start) & (timestamps <= end)
    ts, vs = timestamps[inside], values[inside]
    good = np.isfinite(vs) & np.isfinite(ts)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], good.astype(np.int8), [0]))))
    return [(ts[a:b], vs[a:b]) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def envelope(ts: FloatArray, vs: FloatArray, buckets: int) -> tuple[FloatArray, FloatArray]:
    """At most two points per time bucket, its minimum and maximum in time order, so spikes
    and dips survive thinning (plotext's cost grows with points, not with pixels)."""
    if len(ts) <= 2 * buckets or ts[-1] <= ts[0]:
        return ts, vs
    index = np.minimum(((ts - ts[0]) / (ts[-1] - ts[0]) * buckets).astype(np.int64), buckets - 1)
    out_t: list[float] = []
    out_v: list[float] = []
    for part in np.split(np.arange(len(ts)), np.flatnonzero(np.diff(index)) + 1):
        picks = sorted({int(part[np.argmin(vs[part])]), int(part[np.argmax(vs[part])])})
        out_t.extend(float(ts[i]) for i in picks)
        out_v.extend(float(vs[i]) for i in picks)
    return np.asarray(out_t), np.asarray(out_v)


def _latest(trace: Trace) -> float | None:
    finite = trace.values[np.isfinite(trace.values)]
    return float(finite[-1]) if len(finite) else None


def _paint(text: str, rgb: Rgb | None, bold: bool = False) -> str:
    if rgb is None and not bold:
        return text
    codes = ["1"] if bold else []
    if rgb is not None:
        codes.append("38;2;{};{};{}".format(*rgb))
    return f"\x1b[{';'.join(codes)}m{text}\x1b[0m"


def _header(items: Sequence[tuple[str, Rgb | None, bool]], width: int, lines: int) -> list[str]:
    """Pack legend items into at most ``lines`` lines of ``width`` columns (cut with "…")."""
    out: list[list[tuple[str, Rgb | None, bool]]] = [[]]
    used = 0
    for text, rgb, bold in items:
        gap = 2 if used else 0
        if used + gap + len(text) > width and used and len(out) < lines:
            out.append([])
            used, gap = 0, 0
        room = width - used - gap
        if room <= 0:
            continue
        cut = text if len(text) <= room else text[: room - 1] + "…"
        out[-1].append(((" " * gap) + cut, rgb, bold))
        used += gap + len(cut)
    return [
        "".join(_paint(t, c, b) for t, c, b in line)
        + " " * (width - sum(len(t) for t, _, _ in line))
        for line in out
    ]


def render_chart(
    spec: ChartSpec, now: float, window: float, width: int, height: int,
    palette: Palette | None = None,
) -> str:
    """``spec`` over the ``window`` seconds before ``now`` as ``height`` lines of ``width``
    columns: ANSI colours with a ``palette``, plain text without."""
    width, height = max(width, 1), max(height, 1)
    series = [
        [(ts - now, vs * spec.scale) for ts, vs in runs(t.timestamps, t.values, now - window, now)]
        for t in spec.traces
    ]
    values = [float(f(vs)) for parts in series for _, vs in parts for f in (np.min, np.max)]
    floor = [] if spec.floor is None else [spec.floor]
    lo, hi = min([*values, *floor], default=0.0), max(values, default=1.0)
    colours = palette.traces if palette and palette.traces else (None,)
    items: list[tuple[str, Rgb | None, bool]] = [(spec.title, None, palette is not None)]
    for i, trace in enumerate(spec.traces):
        text = f"{MARKERS[i % len(MARKERS)][1]} {trace.label} {spec.fmt(_latest(trace))}"
        items.append((text, colours[i % len(colours)], False))
    drawn: list[Threshold] = []
    span = hi - lo
    for threshold in spec.thresholds:
        level = threshold.value * spec.scale
        near = span == 0 or lo - THRESHOLD_REACH * span <= level <= hi + THRESHOLD_REACH * span
        mark = "" if near or not values else " ↑" if level > hi else " ↓"
        glyph = SEVERITY_LINES.get(threshold.severity, SEVERITY_LINES["info"])[1]
        colour = palette.severities.get(threshold.severity) if palette else None
        items.append((f"{glyph} {threshold.label}{mark}", colour, False))
        if near and values:
            drawn.append(threshold)
            lo, hi = min(lo, level), max(hi, level)
    header = _header(items, width, 2 if height >= MIN_PLOT_HEIGHT + 5 else 1)
    plot_height = height - len(header)
    if width < MIN_WIDTH or plot_height < MIN_PLOT_HEIGHT:
        return "\n".join((header + [" " * width] * height)[:height])
    if lo == hi:  # a flat line sits mid-height, within floor and ceiling
        pad = abs(hi) * 0.1 or 1.0
        lo = lo - pad if spec.floor is None else max(lo - pad, min(spec.floor, lo))
        hi = hi + pad if spec.ceiling is None else min(hi + pad, max(spec.ceiling, hi))
    with PLOTEXT_LOCK:
        body = _plot(spec, series, drawn, window, width, plot_height, (lo, hi), palette)
    lines = body.split("\n")[:plot_height]
    return "\n".join(header + lines + [" " * width] * (plot_height - len(lines)))


def _plot(
    spec: ChartSpec, series: list[list[tuple[FloatArray, FloatArray]]],
    drawn: list[Threshold], window: float, width: int, height: int,
    limits: tuple[float, float], palette: Palette | None,
) -> str:
    """The plot itself; the caller holds :data:`PLOTEXT_LOCK`."""
    import plotext as plt  # 0.3 s to import: paid at the first chart, not at start-up

    figure = plt.figure
    plt.terminal.limit(False, False)
    figure.clear()
    figure.plot_size(width, height)
    figure.theme("colorless")
    has_data = any(series)
    for i, parts in enumerate(series):
        colour = palette.traces[i % len(palette.traces)] if palette and palette.traces else None
        marker = MARKERS[i % len(MARKERS)][0]
        for ts, vs in parts:
            buckets = max(1, round(width * (ts[-1] - ts[0]) / window))  # 2 points a column
            xs, ys = envelope(ts, vs, buckets)
            pixel = plt.pixel(foreground=colour) if colour else None
            signal = figure.signal(xs.tolist(), ys.tolist(), marker=plt.marker(marker, pixel))
            figure.draw(signal.lines())
    for threshold in drawn:
        style = SEVERITY_LINES.get(threshold.severity, SEVERITY_LINES["info"])[0]
        colour = palette.severities.get(threshold.severity) if palette else None
        pixel = plt.pixel(foreground=colour) if colour else None
        figure.line(threshold.value * spec.scale, style=style, pixel=pixel)
    figure.ruler("x").lim(-window, 0)
    figure.ruler("x").ticks(*time_ticks(window, width))
    if has_data:
        ticks = nice_ticks(*limits, max(2, min(5, (height - 3) // 2 + 1)))
        step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
        figure.ruler("y").lim(ticks[0], ticks[-1])
        figure.ruler("y").ticks(ticks, [format_tick(t, step, spec.suffix) for t in ticks])
    else:
        figure.ruler("y").lim(0, 1)
        figure.ruler("y").ticks([])
        message = f"no data in the last {relative_label(window)[1:]}"
        figure.draw(figure.text(-window / 2, 0.5, message, alignment="center"))
    text: str = figure.build().string(colorless=palette is None)
    return text

