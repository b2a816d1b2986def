"""One feature's reference-versus-current histogram with its drift test, live."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.events import Resize
from textual.screen import Screen
from textual.signal import Signal
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from mmtui.explore import Explorer, FeatureHistogram
from mmtui.snapshot import Snapshot
from mmtui.stats.drift import FeatureDrift
from mmtui.ui.driftdraw import feature_detail, find_endpoint, no_drift_reason, screen_summary
from mmtui.ui.histdraw import draw_histogram, histogram_note
from mmtui.ui.widgets.status_bar import StatusBar

AGE_TICK = 1.0
"""Seconds between refreshes of the data age when no snapshot arrives."""
LOADER = "histogram"
"""Worker group of the histogram loads; a newer load cancels an older one."""
MIN_BINS, MAX_BINS = 6, 20
REFERENCE_STYLE, CURRENT_STYLE = "$primary", "$warning"


class HistogramScreen(Screen[None]):
    """The feature's test result, and its bins' reference and current shares side by side.

    The histogram comes from ``app.explorer`` (an :class:`~mmtui.explore.Explorer`) in a thread
    worker, and is loaded again whenever the feature's test result changes.
    """

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("down,j", "scroll_bins(1)", "Scroll down", show=False),
        Binding("up,k", "scroll_bins(-1)", "Scroll up", show=False),
    ]
    DEFAULT_CSS = """
    HistogramScreen #result {
        height: auto;
        max-height: 4;
        padding: 0 1;
        background: $panel;
    }
    HistogramScreen #bins {
        height: 1fr;
        padding: 0 1;
    }
    """

    def __init__(
        self,
        snapshots: Signal[Snapshot],
        *,
        endpoint: str,
        feature: str,
        latest: Snapshot | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.endpoint = endpoint
        self.feature = feature
        self._snapshots = snapshots
        self._snapshot = latest
        self._clock = clock
        self._tested: FeatureDrift | None = None
        self._histogram: FeatureHistogram | None = None

    @property
    def histogram(self) -> FeatureHistogram | None:
        """The histogram shown, once loaded."""
        return self._histogram

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static("", id="result", markup=False)
        with VerticalScroll(id="bins", can_focus=False):
            yield Static("loading the histogram…", id="bars", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._snapshots.subscribe(self, self.show_snapshot, immediate=True)
        self.set_interval(AGE_TICK, self._show_status)
        if hasattr(self.app, "paused"):
            self.watch(self.app, "paused", self._show_paused)
        if self._snapshot is not None:
            self._show_result(self._snapshot)
        self._show_status()
        self._load()

    def show_snapshot(self, snapshot: Snapshot) -> None:
        """Show the feature's latest test; reload the histogram when the test changed."""
        self._snapshot = snapshot
        before = self._tested
        self._show_result(snapshot)
        self._show_status()
        if self._tested != before:
            self._load()

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def action_scroll_bins(self, lines: int) -> None:
        scroll = self.query_one("#bins", VerticalScroll)
        scroll.scroll_to(y=scroll.scroll_y + lines, animate=False)

    def on_resize(self, event: Resize) -> None:
        if self._histogram is not None:
            self._draw(self._histogram)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != LOADER:
            return
        if event.state == WorkerState.SUCCESS:
            result = worker.result
            if isinstance(result, FeatureHistogram):
                self._draw(result)
            else:
                self._histogram = None
                self._message(self._why_none())
        elif event.state == WorkerState.ERROR:
            self._message(f"histogram failed: {' '.join(str(worker.error).split())}")

    def _load(self) -> None:
        explorer: Explorer | None = getattr(self.app, "explorer", None)
        if explorer is None:
            self._message("no histograms here: they come from the live monitor, not attached")
            return
        bins = max(MIN_BINS, min(MAX_BINS, self.size.height - 8))
        self._fetch(explorer, bins)

    @work(thread=True, exclusive=True, group=LOADER, exit_on_error=False)
    def _fetch(self, explorer: Explorer, bins: int) -> FeatureHistogram | None:
        return explorer.feature_histogram(self.endpoint, self.feature, bins)

    def _why_none(self) -> str:
        row = find_endpoint(self._snapshot, self.endpoint) if self._snapshot else None
        reason = no_drift_reason(self.endpoint, row)
        return reason or f"no histogram for {self.feature}: no baseline or no records for it"

    def _show_result(self, snapshot: Snapshot) -> None:
        row = find_endpoint(snapshot, self.endpoint)
        drift = row.records.drift if row is not None and row.records is not None else None
        features = drift.features if drift is not None else ()
        tested = next((f for f in features if f.name == self.feature), None)
        self._tested = tested
        if tested is not None:
            style = "$error bold" if tested.drifted else ""
            content = Content.assemble((feature_detail(tested), style))
        else:
            content = Content(no_drift_reason(self.endpoint, row) or f"{self.feature}: not tested")
        result = self.query_one("#result", Static)
        if result.content != content:
            result.update(content)

    def _draw(self, hist: FeatureHistogram) -> None:
        self._histogram = hist
        drawing = draw_histogram(hist, max(20, self.size.width - 3))
        parts: list[str | tuple[str, str]] = []
        note = histogram_note(hist)
        if note is not None:
            parts += [(note, "$warning"), "\n"]
        parts += [drawing.lines[0], "\n"]
        (r0, r1), (c0, c1) = drawing.reference, drawing.current
        for line in drawing.lines[1:]:
            parts += [
                line[:r0], (line[r0:r1], REFERENCE_STYLE),
                line[r1:c0], (line[c0:c1], CURRENT_STYLE),
                line[c1:], "\n",
            ]
        parts += [
            ("█ reference", REFERENCE_STYLE), " = baseline   ", ("█ current", CURRENT_STYLE),
            " = recent window   Δ pp = change in points",
        ]
        self.query_one("#bars", Static).update(Content.assemble(*parts))

    def _message(self, text: str) -> None:
        self.query_one("#bars", Static).update(Content.assemble((text, "$warning")))

    def _show_status(self) -> None:
        where = f"drift · {self.endpoint} · {self.feature}"
        self.query_one(StatusBar).summary = screen_summary(where, self._snapshot, self._clock())

    def _show_paused(self, paused: bool) -> None:
        self.query_one(StatusBar).paused = paused
