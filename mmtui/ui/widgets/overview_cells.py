"""What each overview cell says, as plain text plus a style name (pure, no Textual)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from rich.cells import set_cell_size

from mmtui.names import LATENCY_MEAN, LATENCY_P95
from mmtui.snapshot import (
    STATUS_DOWN,
    STATUS_ERROR,
    STATUS_PENDING,
    STATUS_STALE,
    STATUS_UP,
    RowSnapshot,
)
from mmtui.ui.draw import (
    data_age_changes_in,
    format_data_age,
    format_latency_ms,
    format_rate,
    format_ratio,
    format_status,
    sparkline,
    truncate,
)
from mmtui.ui.widgets.overview_columns import (
    AGE,
    ERR,
    METRICS,
    NAME,
    P95,
    PRESET,
    REASON,
    RPS,
    STATUS,
    Column,
)

STALE_AFTER: Final = 3
"""Intervals after which a row's data age is styled as a warning (the Monitor's "stale")."""

_FORMAT: Final[dict[str, Callable[[float | None], str]]] = {
    P95: format_latency_ms,
    RPS: format_rate,
    ERR: format_ratio,
}
_STATUS_STYLE: Final = {
    STATUS_UP: "good",
    STATUS_DOWN: "bad",
    STATUS_ERROR: "bad",
    STATUS_STALE: "warn",
    STATUS_PENDING: "muted",
}


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    """Exactly the column's width."""
    style: str = ""
    """"" (plain), "good", "bad", "warn" or "muted"; the widget maps these to theme colours."""


def row_cells(
    row: RowSnapshot, columns: tuple[Column, ...], now: float, interval: float
) -> dict[str, Cell]:
    """Every cell of ``row`` for ``columns``, keyed by column key."""
    return {column.key: cell(row, column, now, interval) for column in columns}


def cell(row: RowSnapshot, column: Column, now: float, interval: float) -> Cell:
    """One cell of ``row``; ``now`` and ``interval`` (seconds) date the age column."""
    key, width = column.key, column.width
    if key == STATUS:
        label = format_status(row.status, short=width < len(format_status(row.status)))
        return Cell(_fit(label, width), _STATUS_STYLE.get(row.status, ""))
    if key == NAME:
        return Cell(_fit(truncate(row.key, width), width))
    if key == AGE:
        age = None if row.last_ok is None else now - row.last_ok
        old = age is not None and age > STALE_AFTER * interval
        return Cell(format_data_age(age, interval).rjust(width), "warn" if old else "")
    if key == PRESET:
        return Cell(_fit(row.preset, width))
    if key == REASON:
        return Cell(_fit(truncate(row.error or "", width), width), "bad" if row.error else "")
    metric = METRICS[key]
    raw = row.metrics.get(metric)
    value = _FORMAT[key](raw)
    style = ""
    if metric == LATENCY_P95 and raw is None and row.metrics.get(LATENCY_MEAN) is not None:
        # Servers without a latency histogram (TorchServe, Triton without summaries) still have
        # a mean: show it, marked "~" and dimmed, rather than a blank.
        metric, style = LATENCY_MEAN, "muted"
        value = "~" + _FORMAT[key](row.metrics.get(LATENCY_MEAN))
    if not column.spark:
        return Cell(value.rjust(width), style)
    spark = sparkline(row.history.get(metric, ()), column.spark, floor=0.0)
    return Cell(f"{value.rjust(width - column.spark - 1)} {spark}", style)


def age_cell_changes_in(row: RowSnapshot, now: float, interval: float) -> float | None:
    """Seconds until the row's age cell changes (its text, or its style when the data gets
    old); None when it has no data to age."""
    if row.last_ok is None:
        return None
    age = now - row.last_ok
    due = data_age_changes_in(age, interval)
    old_at = STALE_AFTER * interval - age
    return min(due, old_at) if old_at > 0 else due


def _fit(text: str, width: int) -> str:
    return set_cell_size(text, width)
