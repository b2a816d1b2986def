"""The overview: every endpoint's health at a glance, live."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.signal import Signal
from textual.widgets import Footer, Static

from mmtui.snapshot import STATUS_UP, RowSnapshot, Snapshot
from mmtui.ui.draw import describe_row, format_summary
from mmtui.ui.screens.endpoint import EndpointScreen
from mmtui.ui.widgets.overview_table import OverviewTable
from mmtui.ui.widgets.status_bar import StatusBar

AGE_TICK = 1.0
"""Seconds between refreshes of the age figures when no snapshot arrives."""


class OverviewScreen(Screen[None]):
    """Status bar, the overview table, a detail line for the highlighted row, the keys."""

    BINDINGS = [Binding("enter", "drill", "Charts")]

    def __init__(self, snapshots: Signal[Snapshot], *, clock: Callable[[], float]) -> None:
        super().__init__()
        self._snapshots = snapshots
        self._clock = clock
        self._snapshot: Snapshot | None = None

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield OverviewTable(clock=self._clock, id="overview")
        yield Static("", id="detail", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._snapshots.subscribe(self, self.show_snapshot, immediate=True)
        self.set_interval(AGE_TICK, self._tick)
        self.watch(self.app, "paused", self._show_paused)

    def show_snapshot(self, snapshot: Snapshot) -> None:
        """Render a new snapshot: table cells, status bar and detail line."""
        self._snapshot = snapshot
        self.query_one(OverviewTable).show_snapshot(snapshot)
        self._show_summary()
        self._show_detail()

    @property
    def highlighted_row(self) -> RowSnapshot | None:
        """The row under the cursor, if any."""
        return self.query_one(OverviewTable).highlighted

    def action_drill(self) -> None:
        """Charts of the highlighted endpoint (or model)."""
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
        self._show_summary()

    def _show_paused(self, paused: bool) -> None:
        self.query_one(StatusBar).paused = paused

    def _show_summary(self) -> None:
        snapshot = self._snapshot
        if snapshot is None:
            return
        up = sum(row.status == STATUS_UP for row in snapshot.rows)
        age = self._clock() - snapshot.at
        summary = format_summary(up, len(snapshot.rows), age, snapshot.interval)
        self.query_one(StatusBar).summary = summary

    def _show_detail(self) -> None:
        row = self.query_one(OverviewTable).highlighted
        detail = self.query_one("#detail", Static)
        text = "" if row is None else describe_row(row)
        if str(detail.content) != text:
            detail.update(text)
