"""The rules console's rows and the parsing of its in-place edits (pure, no Textual)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mmtui.alerts.rules import Rule, RuleError, RuleOverride, apply_override
from mmtui.config import parse_duration
from mmtui.snapshot import Snapshot
from mmtui.ui.draw import NO_DATA, format_age, format_figure
from mmtui.ui.sortrows import Cell, Column, Row

NAME, ON, SEV, METRIC, OP, THRESHOLD, FOR, STATE, VALUE = (
    "rule", "on", "sev", "metric", "op", "threshold", "for", "state", "value",
)
_PAD, _SCROLLBAR, _NAME_MIN, _NAME_MAX = 2, 1, 8, 32
_FIXED = (
    Column(ON, "on", 3),
    Column(SEV, "sev", 4, descending=True),
    Column(METRIC, "metric", 14),
    Column(OP, "op", 2),
    Column(THRESHOLD, "limit", 8, numeric=True),
    Column(FOR, "for", 6, numeric=True),
    Column(STATE, "state", 9, descending=True),
    Column(VALUE, "value", 8, numeric=True),
)
_SEV = {
    "critical": ("crit", "bad", 2.0), "warning": ("warn", "warn", 1.0), "info": ("info", "", 0.0)
}


@dataclass(frozen=True, slots=True)
class RuleStatus:
    """What a rule does now: its alerts by state and the current values of its series."""

    firing: int = 0
    pending: int = 0
    values: tuple[tuple[str, float], ...] = ()
    """``(series, value)``, series as ``endpoint[/model][ feature]``."""


def rule_columns(width: int, longest: int) -> tuple[Column, ...]:
    """The rules table's columns for ``width`` cells (80 at least)."""
    room = width - _SCROLLBAR - sum(c.width + _PAD for c in _FIXED) - _PAD
    name = Column(NAME, "rule", max(_NAME_MIN, min(room, max(longest, _NAME_MIN), _NAME_MAX)))
    return (name, *_FIXED)


def rule_status(rule: Rule, snapshot: Snapshot | None) -> RuleStatus:
    """Count ``rule``'s pending and firing alerts; take its series' values from the rows (and
    from its alerts for series the rows don't carry, e.g. drift features)."""
    if snapshot is None:
        return RuleStatus()
    values: dict[str, float] = {}
    if rule.kind == "threshold" and not rule.per_feature:
        for row in snapshot.rows:
            value = row.metrics.get(rule.metric)
            if value is not None and math.isfinite(value) and rule.matches_series(
                row.endpoint, row.model
            ):
                values[row.key] = value
    firing = pending = 0
    for alert in snapshot.alerts:
        if alert.rule != rule.name:
            continue
        firing += alert.state == "firing"
        pending += alert.state == "pending"
        series = alert.endpoint if alert.model is None else f"{alert.endpoint}/{alert.model}"
        series += f" {alert.feature}" if alert.feature else ""
        if alert.value is not None and math.isfinite(alert.value):
            values.setdefault(series, alert.value)
    return RuleStatus(firing, pending, tuple(sorted(values.items())))


def worst_value(rule: Rule, status: RuleStatus) -> float | None:
    """The value nearest to (or furthest past) the threshold: the largest for ``>``/``>=``."""
    numbers = [v for _, v in status.values]
    if not numbers:
        return None
    return min(numbers) if rule.op in ("<", "<=") else max(numbers)


def format_limit(rule: Rule) -> str:
    """``"250"``, ``"×3"`` for a relative rule's factor, ``"—"`` for a NoData rule."""
    if rule.kind == "nodata":
        return NO_DATA
    if rule.relative:
        return f"×{rule.factor:g}"
    return NO_DATA if rule.threshold is None else f"{rule.threshold:g}"


def state_text(rule: Rule, status: RuleStatus) -> tuple[str, str, float]:
    """(text, style, sort value): ``"firing 2"``, ``"pending 1"``, ``"ok"`` or ``"off"``."""
    if not rule.enabled:
        return "off", "muted", -1.0
    if status.firing:
        return f"firing {status.firing}", "bad", 2000.0 + status.firing
    if status.pending:
        return f"pending {status.pending}", "warn", 1000.0 + status.pending
    return "ok", "good", 0.0


def rule_rows(rules: Sequence[Rule], snapshot: Snapshot | None) -> list[Row]:
    """One row per rule, keyed by its name, in configuration order."""
    rows: list[Row] = []
    for rule in rules:
        status = rule_status(rule, snapshot)
        sev_text, sev_style, sev_rank = _SEV[rule.severity]
        state, state_style, state_rank = state_text(rule, status)
        value = worst_value(rule, status)
        threshold = rule.factor if rule.relative else rule.threshold
        cells = {
            NAME: Cell(rule.name, "" if rule.enabled else "muted"),
            ON: Cell("on" if rule.enabled else "off", "" if rule.enabled else "muted"),
            SEV: Cell(sev_text, sev_style),
            METRIC: Cell(rule.metric or "nodata"),
            OP: Cell(rule.op if rule.kind == "threshold" else NO_DATA),
            THRESHOLD: Cell(format_limit(rule)),
            FOR: Cell(format_age(rule.for_) if rule.for_ else "0s"),
            STATE: Cell(state, state_style),
            VALUE: Cell(format_figure(value)),
        }
        sort: dict[str, float | str | None] = {
            NAME: rule.name, ON: str(rule.enabled), SEV: sev_rank, METRIC: rule.metric,
            OP: rule.op, THRESHOLD: threshold, FOR: rule.for_, STATE: state_rank, VALUE: value,
        }
        rows.append(Row(rule.name, cells, sort))
    return rows


def rule_detail(
    rule: Rule, status: RuleStatus, override: RuleOverride | None, now: float
) -> str:
    """Two lines about the highlighted rule: its series' values, and who overrode it when."""
    shown = ", ".join(f"{series} {value:.4g}" for series, value in status.values[:6])
    more = f" (+{len(status.values) - 6} more)" if len(status.values) > 6 else ""
    line = f"{rule.name}: {shown}{more}" if shown else f"{rule.name}: no current value"
    if override is not None:
        by = override.by or "someone"
        when = "" if override.at is None else f" {format_age(now - override.at)} ago"
        line += f"\nchanged by {by}{when}"
    return line


def parse_threshold(rule: Rule, text: str) -> float:
    """The new threshold (factor, for a relative rule) typed for ``rule``; ValueError, one
    line, when it is not a number the rule accepts."""
    if rule.kind == "nodata":
        raise ValueError(f"rule {rule.name!r} watches data presence: it has no threshold")
    try:
        value = float(text.strip())
    except ValueError:
        raise ValueError(f"threshold: expected a number, got {text.strip()!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"threshold: expected a finite number, got {text.strip()!r}")
    _check(rule, RuleOverride(rule.name, threshold=value), "threshold")
    return value


def parse_for(rule: Rule, text: str) -> float:
    """The new ``for`` (seconds) typed for ``rule``: ``"30s"``, ``"5m"``, ``"90"``; ValueError,
    one line, otherwise."""
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise ValueError(f"for: {exc}") from None
    _check(rule, RuleOverride(rule.name, for_=seconds), "for")
    return seconds


def _check(rule: Rule, override: RuleOverride, what: str) -> None:
    try:
        apply_override(rule, override)
    except RuleError as exc:
        raise ValueError(f"{what}: {exc}") from None


def merged(
    overrides: Mapping[str, RuleOverride], rule: str, *, by: str, at: float,
    enabled: bool | None = None, threshold: float | None = None, for_: float | None = None,
) -> RuleOverride:
    """The rule's stored override with one more change (a store write replaces the whole
    override, so earlier edits must be carried along)."""
    old = overrides.get(rule, RuleOverride(rule))
    return RuleOverride(
        rule,
        enabled=old.enabled if enabled is None else enabled,
        threshold=old.threshold if threshold is None else threshold,
        for_=old.for_ if for_ is None else for_,
        by=by,
        at=at,
    )
