"""The overview: every endpoint's health at a glance, live.

``/`` filters the focused one of the table and the alert pane; the status bar (for the table)
and the pane's title say a filter is in force, and ``esc`` clears it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.signal import Signal
from textual.timer import Timer
from textual.widgets import Static

from mmtui.alerts.state import Alert
from mmtui.snapshot import STATUS_UP, RowSnapshot, Snapshot
from mmtui.ui.alert_actions import ALERT_BINDINGS, AlertActions, AlertKeys, alert_service
from mmtui.ui.draw import age_changes_in, data_age_changes_in, describe_row, format_summary
from mmtui.ui.keymap import binding
from mmtui.ui.widgets.alert_pane import AlertPane, pane_alerts
from mmtui.ui.widgets.drift_table import DriftTable
from mmtui.ui.widgets.filter_bar import FilterBar, FilterScreen, filter_note
from mmtui.ui.widgets.key_footer import KeyFooter
from mmtui.ui.widgets.overview_table import OverviewTable
from mmtui.ui.widgets.status_bar import StatusBar

TICK_SLACK = 0.01
"""Seconds after an age figure is due to change that the screen redraws it (never before)."""
NARROW = 110
"""Below this many columns the alert pane goes under the table instead of beside it."""


class OverviewScreen(AlertKeys, FilterScreen):
    """Status bar, the overview table beside the alert pane, a detail line, the keys.

    ``tab`` moves focus between the table and the pane. ``a`` acknowledges the pane's selected
    alert when the pane has focus, else the highlighted endpoint's most urgent unacknowledged
    alert (the pane's selection when it has none); ``u`` and ``s`` likewise.
    """

    BINDINGS = [
        Binding("enter", "drill", "Charts"),
        *ALERT_BINDINGS,
        binding("filter"),
        # The bottom screen: esc only clears a filter (enabled while one is in force).
        dataclasses.replace(binding("back"), description="Clear filter", show=False),
    ]
    FILTERED = {"overview": "endpoints", "alert-list": "alerts"}

    def __init__(self, snapshots: Signal[Snapshot], *, clock: Callable[[], float]) -> None:
        super().__init__()
        self._snapshots = snapshots
        self._clock = clock
        self._snapshot: Snapshot | None = None
        self.actions = AlertActions(self, self._show_alerts)
        self._ticker: Timer | None = None

    def compose(self) -> ComposeResult:
        yield StatusBar()
        with Horizontal(id="overview-main"):
            yield OverviewTable(clock=self._clock, id="overview")
            yield AlertPane(clock=self._clock, id="alert-pane")
        yield Static("", id="detail", markup=False)
        yield FilterBar(id="filter")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._snapshots.subscribe(self, self.show_snapshot, immediate=True)
        latest = getattr(self.app, "latest_snapshot", None)
        if latest is not None:  # published before this screen mounted: show it, not a blank
            self.show_snapshot(latest)
        self._arm_tick()
        self.watch(self.app, "paused", self._show_paused)
        self._show_alerts()

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < NARROW, "-narrow")

    def show_snapshot(self, snapshot: Snapshot) -> None:
        """Render a new snapshot: table cells, alert pane, status bar and detail line."""
        self._snapshot = snapshot
        self.query_one(OverviewTable).show_snapshot(snapshot)
        self._show_alerts()
        self._show_summary()
        self._show_detail()
        self._arm_tick()

    @property
    def pane(self) -> AlertPane:
        return self.query_one(AlertPane)

    def alert_target(self) -> Alert | None:
        """The alert ``a``/``u``/``s`` act on (see the class docstring)."""
        pane = self.pane
        if pane.list.has_focus:
            return pane.selected
        row = self.highlighted_row
        if row is not None:
            mine = [a for a in pane_alerts(pane.shown) if a.endpoint == row.endpoint
                    and (row.model is None or a.model in (None, row.model))]
            first = next((a for a in mine if a.ack is None), None)
            if first is not None:
                return first
        return pane.selected

    def unack_target(self) -> Alert | None:
        """From the table: the highlighted endpoint's first acknowledged alert."""
        pane = self.pane
        alert = self.alert_target()
        if not pane.list.has_focus and (alert is None or alert.ack is None):
            row = self.highlighted_row
            acked = [a for a in pane_alerts(pane.shown) if a.ack is not None
                     and row is not None and a.endpoint == row.endpoint]
            alert = acked[0] if acked else alert
        return alert

    def show_filtered(self, table: str) -> None:
        query = self.filter_query(table)
        if table == "overview":
            self.query_one(OverviewTable).filter(query)
            self._show_summary()
        else:
            self.pane.filter(query)

    def on_drift_table_selected(self, event: DriftTable.Selected) -> None:
        from mmtui.ui.screens.alert_detail import AlertDetailScreen  # when first needed: start

        event.stop()
        self.app.push_screen(AlertDetailScreen(
            self._snapshots, event.key, latest=self._snapshot, clock=self._clock))

    def on_drift_table_highlighted(self, event: DriftTable.Highlighted) -> None:
        event.stop()

    @property
    def highlighted_row(self) -> RowSnapshot | None:
        """The row under the cursor, if any."""
        return self.query_one(OverviewTable).highlighted

    def action_drill(self) -> None:
        """Charts of the highlighted endpoint (or model)."""
        from mmtui.ui.screens.endpoint import EndpointScreen  # when first needed: start time

        row = self.highlighted_row
        if row is None:
            return
        self.app.push_screen(
            EndpointScreen(
                self._snapshots, row.endpoint, row.model, clock=self._clock,
                snapshot=self._snapshot,
            )
        )

    def show_problem(self, problem: str) -> None:
        """Say in the status bar that the monitor has stopped, and why."""
        self.query_one(StatusBar).problem = problem

    def on_overview_table_highlighted(self, event: OverviewTable.Highlighted) -> None:
        self._show_detail()

    def _tick(self) -> None:
        self.query_one(OverviewTable).tick()
        self.pane.refresh_ages()
        self._show_summary()
        self._arm_tick()

    def _arm_tick(self) -> None:
        """Wake up when the next age figure (table, alert pane, status bar) is due to change,
        rather than every second: at a steady 2 s poll nothing ages past "<3s", so nothing
        wakes the loop between two snapshots."""
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None
        now = self._clock()
        dues = [self.query_one(OverviewTable).changes_in()]
        dues += [age_changes_in(now - alert.since) for alert in pane_alerts(self.pane.shown)]
        if self._snapshot is not None:
            dues.append(data_age_changes_in(now - self._snapshot.at, self._snapshot.interval))
        due = min((d for d in dues if d is not None), default=None)
        if due is not None:
            self._ticker = self.set_timer(due + TICK_SLACK, self._tick)

    def _show_alerts(self) -> None:
        alerts = self._snapshot.alerts if self._snapshot is not None else ()
        configured = bool(alerts) or alert_service(self) is not None
        self.pane.show_alerts(self.actions.view(alerts), configured=configured)

    def _show_paused(self, paused: bool) -> None:
        self.query_one(StatusBar).paused = paused

    def _show_summary(self) -> None:
        snapshot = self._snapshot
        if snapshot is None:
            return
        up = sum(row.status == STATUS_UP for row in snapshot.rows)
        age = self._clock() - snapshot.at
        summary = format_summary(up, len(snapshot.rows), age, snapshot.interval)
        table = self.query_one(OverviewTable)
        note = filter_note(table.filter_query, table.row_count(), table.total)
        if note:
            summary += f"  [{note} · esc clears]"
        self.query_one(StatusBar).summary = summary

    def _show_detail(self) -> None:
        row = self.query_one(OverviewTable).highlighted
        detail = self.query_one("#detail", Static)
        text = "" if row is None else describe_row(row)
        old = str(detail.content)
        if old != text:
            # Its height follows its text (up to 3 lines); while both fit on one line it stays
            # put, so the screen need not lay out again (every poll changes the figures).
            width = detail.content_region.width
            detail.update(text, layout=max(cell_len(old), cell_len(text)) > width)
