"""An endpoint's drill-down charts: which are shown, with which metrics, from what history.

Textual-free; :func:`fetch_history` and :func:`render_all` block (SQLite, plotext), so the
screen runs them in a thread worker.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from rich.text import Text

from mmtui.alerts.rules import Rule
from mmtui.explore import Explorer, SeriesData
from mmtui.names import (
    ERROR_RATE,
    LATENCY_MEAN,
    LATENCY_P50,
    LATENCY_P95,
    LATENCY_P99,
    THROUGHPUT,
)
from mmtui.snapshot import RowSnapshot
from mmtui.ui.charts import ChartSpec, Palette, Trace, plain, render_chart, thresholds_for
from mmtui.ui.draw import format_latency_ms, format_rate, format_ratio

Metric = tuple[str, str]
"""A derived metric's name and its short label on a chart."""


@dataclass(frozen=True, slots=True)
class ChartGroup:
    """One chart of the drill-down: its metrics, units and when it is shown."""

    key: str
    title: str
    metrics: tuple[Metric, ...]
    fmt: Callable[[float | None], str] = plain
    scale: float = 1.0
    suffix: str = ""
    floor: float | None = 0.0
    ceiling: float | None = None
    optional: bool = False
    """Shown only when one of its metrics has data (quality needs labels on the records feed)."""
    fallback: tuple[Metric, ...] = ()
    """Drawn instead when no metric of ``metrics`` has data (the mean without a histogram)."""


GROUPS: Final = (
    ChartGroup(
        "latency", "latency ms",
        ((LATENCY_P50, "p50"), (LATENCY_P95, "p95"), (LATENCY_P99, "p99")),
        fmt=format_latency_ms, fallback=((LATENCY_MEAN, "mean"),),
    ),
    ChartGroup("throughput", "throughput", ((THROUGHPUT, "req/s"),), fmt=format_rate),
    ChartGroup(
        "errors", "error rate", ((ERROR_RATE, "errors"),), fmt=format_ratio, scale=100, suffix="%"
    ),
    ChartGroup(
        "quality", "quality",
        (("accuracy", "accuracy"), ("precision", "precision"), ("recall", "recall"),
         ("f1", "f1")),
        floor=None, ceiling=1.0, optional=True,
    ),
    ChartGroup("regression", "regression error", (("mae", "mae"), ("rmse", "rmse")),
               optional=True),
)
"""The drill-down's charts, in the order they are laid out."""
WINDOWS: Final[Mapping[str, float]] = {"5m": 300.0, "1h": 3600.0, "24h": 86_400.0}
"""The chart windows, in the order ``w`` cycles through them."""


def group_metrics(groups: Sequence[ChartGroup] = GROUPS) -> list[str]:
    """Every metric the charts may draw: what to ask the history for."""
    names = (name for g in groups for name, _ in (*g.metrics, *g.fallback))
    return list(dict.fromkeys(names))


def has_data(series: SeriesData | None) -> bool:
    """Whether ``series`` holds at least one finite value."""
    return series is not None and bool(np.isfinite(series.values).any())


def plan_charts(
    series: Mapping[str, SeriesData], rules: Sequence[Rule],
    groups: Sequence[ChartGroup] = GROUPS,
) -> dict[str, ChartSpec]:
    """The charts to draw by group key, in layout order.

    A required chart is always there (empty when its metrics have no data, so the user sees
    that there is none); an optional one only with data. A metric with no data is left out of
    its chart, unless the whole chart has none.
    """
    specs: dict[str, ChartSpec] = {}
    for group in groups:
        metrics = [m for m in group.metrics if has_data(series.get(m[0]))]
        if not metrics:
            metrics = [m for m in group.fallback if has_data(series.get(m[0]))]
        if not metrics and group.optional:
            continue
        traces = tuple(
            Trace(label, series[name].timestamps, series[name].values)
            for name, label in metrics
        ) or (Trace(group.metrics[0][1], np.empty(0), np.empty(0)),)
        thresholds = tuple(
            t for name, _ in (metrics or group.metrics)
            for t in thresholds_for(rules, name, group.fmt)
        )
        specs[group.key] = ChartSpec(
            group.title, traces, thresholds, fmt=group.fmt, scale=group.scale,
            suffix=group.suffix, floor=group.floor, ceiling=group.ceiling,
        )
    return specs


@dataclass(frozen=True, slots=True)
class History:
    """One fetch: the charts to draw for a window at a time, or why there are none."""

    window: str
    now: float
    specs: Mapping[str, ChartSpec]
    note: str = ""


def fetch_history(
    explorer: Explorer | None, endpoint: str, model: str | None, window: str, now: float
) -> History:
    """Ask ``explorer`` for the window's history and plan the charts (blocking: a worker)."""
    if explorer is None:
        return History(window, now, plan_charts({}, ()), "no history: this source keeps none")
    series: Sequence[SeriesData] = explorer.series(
        endpoint, model, group_metrics(), now - WINDOWS[window]
    )
    rules: Sequence[Rule] = explorer.rules_for(endpoint, model)
    return History(window, now, plan_charts({s.metric: s for s in series}, rules))


@dataclass(frozen=True, slots=True)
class Drawn:
    """Rendered charts by group key, and the sizes they were rendered at."""

    sizes: Mapping[str, tuple[int, int]]
    texts: Mapping[str, Text]


def render_all(
    history: History, sizes: Mapping[str, tuple[int, int]], palette: Palette | None
) -> Drawn:
    """Each chart of ``history`` at its widget's size (blocking: a worker)."""
    window = WINDOWS[history.window]
    texts: dict[str, Text] = {}
    for key, (width, height) in sizes.items():
        text = render_chart(history.specs[key], history.now, window, width, height, palette)
        texts[key] = Text.from_ansi(text, no_wrap=True, end="") if palette else Text(text, end="")
    return Drawn(sizes, texts)


def describe_figures(row: RowSnapshot | None) -> str:
    """The current figures, as the charts label them: ``"p50 12 ms · p95 80 ms · …"``."""
    if row is None:
        return "not in the latest snapshot"
    if row.error:
        return " ".join(row.error.split())
    figures = []
    for group in GROUPS:
        for name, label in (*group.metrics, *group.fallback):
            value = row.metrics.get(name)
            if value is not None:
                shown = group.title if len(group.metrics) == 1 else label
                figures.append(f"{shown} {group.fmt(value)}")
    return " · ".join(figures) or "no figures yet"
