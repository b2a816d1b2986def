"""Which overview columns fit a terminal width, and how wide each is (pure, no Textual)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final

from mmtui.names import ERROR_RATE, LATENCY_P95, THROUGHPUT

PAD: Final = 2
"""Cell padding a DataTable adds around every column (one space each side)."""
SCROLLBAR: Final = 1
"""The vertical scrollbar's width (``scrollbar-size-vertical`` in the table's CSS)."""

STATUS, NAME, AGE, PRESET, REASON = "status", "name", "age", "preset", "reason"
P95, RPS, ERR = "p95", "rps", "err"
METRICS: Final[dict[str, str]] = {P95: LATENCY_P95, RPS: THROUGHPUT, ERR: ERROR_RATE}
"""Metric columns and the derived metric each shows (value and sparkline)."""
VALUE_WIDTH: Final[dict[str, int]] = {P95: 7, RPS: 7, ERR: 5}
"""Widest formatted value: "2.5 min", "12.3k/s", "<0.1%"."""

_NAME_MIN, _NAME_MAX = 12, 32
_SPARK_FIRST, _SPARK_MAX = 8, 16
_REASON_MIN = 12


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    width: int
    """Content width, padding excluded."""
    spark: int = 0
    """Sparkline cells at the end of a metric column; 0 for none."""
    numeric: bool = False
    """Figures, right-aligned before any sparkline; the header label aligns with them."""

    @property
    def header(self) -> str:
        """The label, placed over the column's figures and cut to its width."""
        if not self.numeric:
            return self.label.ljust(self.width)[: self.width]
        figures = self.width - (self.spark + 1 if self.spark else 0)
        return self.label.rjust(figures)[-figures:].ljust(self.width)


@dataclass(frozen=True, slots=True)
class _Plan:
    status: int = 1
    name: int = _NAME_MIN
    spark: tuple[tuple[str, int], ...] = ((P95, 0), (ERR, 0), (RPS, 0))
    preset: bool = False
    reason: int = 0

    def used(self) -> int:
        metrics = sum(VALUE_WIDTH[k] + (s + 1 if s else 0) + PAD for k, s in self.spark)
        fixed = self.status + PAD + self.name + PAD + metrics + 5 + PAD
        return fixed + (10 + PAD if self.preset else 0) + (self.reason + PAD if self.reason else 0)

    def with_spark(self, key: str, width: int) -> _Plan:
        return replace(self, spark=tuple((k, width if k == key else s) for k, s in self.spark))


def plan_columns(width: int, longest_name: int) -> tuple[Column, ...]:
    """The columns for a table ``width`` cells wide whose longest row name is ``longest_name``.

    Status, name, p95, throughput, error rate and age always show. As room allows, in this
    order: the reason column, sparklines (p95, then error rate, then throughput), the status
    word beside its glyph, the full name, wider sparklines, the preset. What is left widens
    the name (up to its longest) and then the reason.
    """
    room = width - SCROLLBAR
    want_name = max(_NAME_MIN, min(longest_name, _NAME_MAX))
    upgrades: list[Callable[[_Plan], _Plan]] = [
        lambda p: replace(p, reason=_REASON_MIN),
        lambda p: p.with_spark(P95, _SPARK_FIRST),
        lambda p: p.with_spark(ERR, _SPARK_FIRST),
        lambda p: p.with_spark(RPS, _SPARK_FIRST),
        lambda p: replace(p, status=9),
        lambda p: replace(p, name=want_name),
        lambda p: p.with_spark(P95, _SPARK_MAX),
        lambda p: p.with_spark(ERR, _SPARK_MAX),
        lambda p: p.with_spark(RPS, _SPARK_MAX),
        lambda p: replace(p, preset=True),
    ]
    plan = _Plan()
    for upgrade in upgrades:
        if (better := upgrade(plan)).used() <= room:
            plan = better
    plan = replace(plan, name=min(want_name, plan.name + max(0, room - plan.used())))
    if plan.reason:
        plan = replace(plan, reason=plan.reason + max(0, room - plan.used()))
    sparks = dict(plan.spark)

    def metric(key: str, label: str) -> Column:
        spark = sparks[key]
        return Column(key, label, VALUE_WIDTH[key] + (spark + 1 if spark else 0), spark, True)

    columns = [
        Column(STATUS, "status" if plan.status > 1 else "", plan.status),
        Column(NAME, "endpoint", plan.name),
        metric(P95, "p95"),
        metric(RPS, "traffic"),
        metric(ERR, "error"),
        Column(AGE, "age", 5, numeric=True),
    ]
    if plan.preset:
        columns.append(Column(PRESET, "preset", 10))
    if plan.reason:
        columns.append(Column(REASON, "reason", plan.reason))
    return tuple(columns)
