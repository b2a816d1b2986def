"""The alerts console (key ``2``): every alert, resolved ones included, sortable, live.

``a``/``u``/``s`` act on the highlighted alert, ``enter`` opens its detail, ``o``/``O`` sort,
``/`` filters (the status bar says a filter is in force; ``esc`` clears it, then goes back).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from textual.app import ComposeResult
from textual.signal import Signal
from textual.widgets import Footer, Static

from mmtui.alerts.rules import SEVERITY_RANK
from mmtui.alerts.state import Alert, sort_key
from mmtui.snapshot import Snapshot
from mmtui.ui.alert_actions import ALERT_BINDINGS, AlertActions, AlertKeys, alert_service
from mmtui.ui.draw import format_age, format_figure
from mmtui.ui.keymap import binding
from mmtui.ui.screens.alert_detail import AlertDetailScreen
from mmtui.ui.sortrows import Cell, Column, Row, SortValue
from mmtui.ui.widgets.alert_pane import (
    alert_text,
    handled,
    severity_cell,
    state_style,
    state_text,
    subject,
)
from mmtui.ui.widgets.drift_table import DriftTable
from mmtui.ui.widgets.filter_bar import FilterBar, FilterScreen, filter_items, filter_note
from mmtui.ui.widgets.status_bar import StatusBar

AGE_TICK = 1.0
URGENCY = "urgency"
"""The default sort: firing, pending, resolved; most severe first (the snapshot's order)."""
_STATE_RANK = {"firing": 3, "pending": 2, "resolved": 1}


def console_columns(width: int, longest_key: int) -> tuple[Column, ...]:
    """Columns for a console ``width`` cells wide; the alert's name takes what is left."""
    fixed = [
        Column(URGENCY, "#", 3, numeric=True),
        Column("id", "ID", 8),
        Column("sev", "SEV", 4, descending=True),
        Column("state", "STATE", 14),
        Column("age", "AGE", 6, numeric=True, descending=True),
    ]
    wide = [Column("value", "VALUE", 8, numeric=True, descending=True),
            Column("threshold", "THRESH", 8, numeric=True)]
    room = width - 1 - sum(c.width + 2 for c in fixed)
    if room - sum(c.width + 2 for c in wide) >= 24:
        fixed += wide
        room -= sum(c.width + 2 for c in wide)
    return (*fixed, Column("what", "ALERT", max(8, room - 2)))


def console_rows(alerts: Sequence[Alert], now: float) -> list[Row]:
    """One row per alert, keyed by fingerprint, given in urgency order."""
    rows = []
    for rank, alert in enumerate(sorted(alerts, key=sort_key), start=1):
        dim = "muted" if handled(alert) or alert.state == "resolved" else ""
        age = now - alert.since
        cells = {
            URGENCY: Cell(str(rank), dim),
            "id": Cell(alert.id, dim),
            "sev": severity_cell(alert, bool(dim)),
            "state": Cell(state_text(alert), state_style(alert)),
            "age": Cell(format_age(age), dim),
            "value": Cell(format_figure(alert.value), dim),
            "threshold": Cell(format_figure(alert.threshold), dim),
            "what": Cell(subject(alert), dim),
        }
        sort: dict[str, SortValue] = {
            URGENCY: float(rank), "id": alert.id,
            "sev": float(SEVERITY_RANK.get(alert.severity, 0)),
            "state": f"{9 - _STATE_RANK.get(alert.state, 0)}{state_text(alert)}",
            "age": age, "value": alert.value, "threshold": alert.threshold,
            "what": subject(alert),
        }
        rows.append(Row(alert.fingerprint, cells, sort))
    return rows


class AlertsScreen(AlertKeys, FilterScreen):
    """Every alert the monitor reports, in a sortable table, with the alert keys."""

    BINDINGS = [binding("back"), *ALERT_BINDINGS, binding("filter")]
    FILTERED = {"alerts": "alerts"}
    DEFAULT_CSS = """
    AlertsScreen #summary, AlertsScreen #detail {
        height: auto; max-height: 3; padding: 0 1; background: $panel;
    }
    """

    def __init__(
        self,
        snapshots: Signal[Snapshot],
        *,
        latest: Snapshot | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self._snapshots = snapshots
        self._snapshot = latest
        self._clock = clock
        self._alerts: tuple[Alert, ...] = ()
        self.actions = AlertActions(self, self._show)

    @property
    def table(self) -> DriftTable:
        return self.query_one(DriftTable)

    def alert_target(self) -> Alert | None:
        """The highlighted alert."""
        key = self.table.highlighted
        return next((a for a in self._alerts if a.fingerprint == key), None)

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static("", id="summary", markup=False)
        yield DriftTable(console_columns, sort=URGENCY, id="alerts")
        yield Static("", id="detail", markup=False)
        yield FilterBar(id="filter")
        yield Footer()

    def on_mount(self) -> None:
        self._snapshots.subscribe(self, self.show_snapshot, immediate=True)
        self.set_interval(AGE_TICK, self._show)
        if hasattr(self.app, "paused"):
            self.watch(self.app, "paused", self._show_paused)
        self._show()

    def show_snapshot(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot
        self._show()

    def show_filtered(self, table: str) -> None:
        self._show()

    def on_drift_table_selected(self, event: DriftTable.Selected) -> None:
        event.stop()
        self.app.push_screen(AlertDetailScreen(
            self._snapshots, event.key, latest=self._snapshot, clock=self._clock))

    def on_drift_table_highlighted(self, event: DriftTable.Highlighted) -> None:
        event.stop()
        self._show_detail()

    def _show(self) -> None:
        snapshot = self._snapshot
        self._alerts = self.actions.view(snapshot.alerts if snapshot is not None else ())
        query = self.filter_query("alerts")
        # Ranked among every alert, so that a filtered view keeps the ranks it has unfiltered.
        shown = {a.fingerprint for a in filter_items(self._alerts, query, alert_text)}
        rows = console_rows(self._alerts, self._clock())
        self.table.show_rows([row for row in rows if row.key in shown])
        counts = {s: sum(a.state == s for a in self._alerts)
                  for s in ("firing", "pending", "resolved")}
        if snapshot is None:
            summary = "waiting for the first poll…"
        elif not self._alerts:
            summary = ("no alerts" if alert_service(self) is not None
                       else "no alerts: alerts are not configured (no rules)")
        else:
            summary = " · ".join(f"{n} {s}" for s, n in counts.items())
            summary += " · enter opens an alert · o sorts"
        self._set("#summary", summary)
        note = filter_note(query, len(shown), len(self._alerts))
        status = f"alerts · [{note} · esc clears]" if note else f"alerts · {len(shown)} shown"
        self.query_one(StatusBar).summary = status
        self._show_detail()

    def _show_detail(self) -> None:
        alert = self.alert_target()
        text = ""
        if alert is not None:
            text = alert.annotations.get("summary", "") or subject(alert)
            if alert.ack is not None and alert.ack.note:
                text += f"\nack note ({alert.ack.by}): {alert.ack.note}"
        self._set("#detail", text)

    def _set(self, selector: str, text: str) -> None:
        widget = self.query_one(selector, Static)
        if str(widget.content) != text:
            widget.update(text)

    def _show_paused(self, paused: bool) -> None:
        self.query_one(StatusBar).paused = paused
