"""Drift drill-down: choose an endpoint, then its features' drift tests, live."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.signal import Signal
from textual.widgets import Footer, Static

from mmtui.snapshot import Snapshot
from mmtui.stats.drift import DriftResult
from mmtui.ui.driftdraw import (
    FLAG,
    LEGEND,
    SHARE,
    drift_context,
    drift_headline,
    endpoint_columns,
    endpoint_rows,
    feature_columns,
    feature_detail,
    feature_rows,
    feed_line,
    find_endpoint,
    no_drift_reason,
    quality_line,
    records_rows,
    screen_summary,
)
from mmtui.ui.screens.histogram import HistogramScreen
from mmtui.ui.widgets.drift_table import DriftTable
from mmtui.ui.widgets.status_bar import StatusBar

AGE_TICK = 1.0
"""Seconds between refreshes of the data age when no snapshot arrives."""


class DriftScreen(Screen[None]):
    """With no endpoint, the endpoints with records to choose from; with one, its drift table.

    Parameters
    ----------
    snapshots
        The app's snapshot signal; the view follows it live.
    endpoint
        The endpoint to show; None for the chooser.
    latest
        The latest snapshot, shown at once instead of waiting for the next poll.
    """

    BINDINGS = [Binding("escape", "back", "Back")]
    DEFAULT_CSS = """
    DriftScreen #summary {
        height: auto;
        max-height: 5;
        padding: 0 1;
        background: $panel;
    }
    DriftScreen #detail {
        height: auto;
        max-height: 3;
        padding: 0 1;
        background: $panel;
    }
    DriftScreen #legend {
        height: 1;
        padding: 0 1;
        color: $text-muted;
    }
    """

    def __init__(
        self,
        snapshots: Signal[Snapshot],
        *,
        endpoint: str | None = None,
        latest: Snapshot | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.endpoint = endpoint
        self._snapshots = snapshots
        self._snapshot = latest
        self._clock = clock
        self._drift: DriftResult | None = None

    @property
    def table(self) -> DriftTable:
        return self.query_one(DriftTable)

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static("", id="summary", markup=False)
        if self.endpoint is None:
            yield DriftTable(endpoint_columns, sort=SHARE, id="endpoints")
        else:
            yield DriftTable(feature_columns, sort=FLAG, id="features")
        yield Static("", id="detail", markup=False)
        if self.endpoint is not None:
            yield Static(LEGEND, id="legend", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._snapshots.subscribe(self, self.show_snapshot, immediate=True)
        self.set_interval(AGE_TICK, self._show_status)
        if hasattr(self.app, "paused"):
            self.watch(self.app, "paused", self._show_paused)
        if self._snapshot is not None:
            self.show_snapshot(self._snapshot)
        self._show_status()

    def show_snapshot(self, snapshot: Snapshot) -> None:
        """Render a new snapshot; the cursor stays on its feature or endpoint."""
        self._snapshot = snapshot
        if self.endpoint is None:
            self._show_chooser(snapshot)
        else:
            self._show_endpoint(snapshot, self.endpoint)
        self._show_status()

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def on_drift_table_selected(self, event: DriftTable.Selected) -> None:
        event.stop()
        if self.endpoint is None:
            screen = DriftScreen(
                self._snapshots, endpoint=event.key, latest=self._snapshot, clock=self._clock
            )
            self.app.push_screen(screen)
        else:
            self.app.push_screen(
                HistogramScreen(
                    self._snapshots,
                    endpoint=self.endpoint,
                    feature=event.key,
                    latest=self._snapshot,
                    clock=self._clock,
                )
            )

    def on_drift_table_highlighted(self, event: DriftTable.Highlighted) -> None:
        event.stop()
        self._show_detail()

    def _show_chooser(self, snapshot: Snapshot) -> None:
        self.table.show_rows(endpoint_rows(snapshot))
        rows = records_rows(snapshot)
        if not rows:
            text = "no endpoint has a records feed: set records_url (and a baseline) in the config"
            self._set("#summary", Content(text))
            return
        drifts = [r.records.drift for r in rows if r.records is not None]
        drifting = sum(d is not None and d.dataset_drift for d in drifts)
        plural = "s" if len(rows) != 1 else ""
        verdict = (f"{drifting} with dataset drift", "$error bold") if drifting else "no drift"
        self._set(
            "#summary",
            Content.assemble(
                f"{len(rows)} endpoint{plural} with records · ", verdict,
                " · enter shows the features",
            ),
        )

    def _show_endpoint(self, snapshot: Snapshot, endpoint: str) -> None:
        row = find_endpoint(snapshot, endpoint)
        view = row.records if row is not None else None
        drift = view.drift if view is not None else None
        if drift is None or drift != self._drift:
            self._drift = drift
            self.table.show_rows(feature_rows(drift) if drift is not None else [])
        parts: list[str | tuple[str, str]] = []
        reason = no_drift_reason(endpoint, row)
        if drift is not None:
            style = "$error bold" if drift.dataset_drift else "$success"
            parts += [(drift_headline(drift), style), "\n", drift_context(drift)]
        elif reason is not None:
            parts.append((reason, "$warning"))
        if view is not None:
            quality = quality_line(view.quality)
            if quality is not None:
                parts += ["\n", quality]
            parts += ["\n", feed_line(view)]
        self._set("#summary", Content.assemble(*parts))

    def _show_detail(self) -> None:
        key = self.table.highlighted
        snapshot = self._snapshot
        text = ""
        if key is not None and self.endpoint is not None and self._drift is not None:
            feature = next((f for f in self._drift.features if f.name == key), None)
            text = feature_detail(feature) if feature is not None else ""
        elif key is not None and snapshot is not None:
            row = find_endpoint(snapshot, key)
            view = row.records if row is not None else None
            reason = no_drift_reason(key, row)
            text = feed_line(view) if view is not None else ""
            text += f"\n{reason}" if reason else ""
        self._set("#detail", Content(text))

    def _set(self, selector: str, content: Content) -> None:
        widget = self.query_one(selector, Static)
        if widget.content != content:
            widget.update(content)

    def _show_status(self) -> None:
        where = "drift" if self.endpoint is None else f"drift · {self.endpoint}"
        self.query_one(StatusBar).summary = screen_summary(where, self._snapshot, self._clock())

    def _show_paused(self, paused: bool) -> None:
        self.query_one(StatusBar).paused = paused
