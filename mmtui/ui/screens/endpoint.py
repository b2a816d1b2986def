"""An endpoint's drill-down: charts of latency, traffic, errors and quality over a window."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Final

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.color import Color
from textual.containers import VerticalScroll
from textual.reactive import var
from textual.screen import Screen
from textual.signal import Signal
from textual.theme import Theme
from textual.timer import Timer
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from mmtui.explore import Explorer
from mmtui.snapshot import RowSnapshot, Snapshot
from mmtui.ui.charts import Palette
from mmtui.ui.draw import format_data_age, format_status, truncate
from mmtui.ui.endpoint_charts import (
    GROUPS,
    WINDOWS,
    Drawn,
    History,
    describe_figures,
    fetch_history,
    render_all,
)
from mmtui.ui.widgets.status_bar import StatusBar

RESIZE_DEBOUNCE: Final = 0.2
"""Seconds without a further resize before the charts are drawn again."""
MIN_CHART_HEIGHT: Final = 10
TWO_COLUMNS_FROM: Final = 120
"""Charts sit two to a row from this width; below it they stack (and scroll)."""
COLUMNS: Final = 200
"""History is fetched again once ``window / COLUMNS`` has passed: about one chart column."""
AGE_TICK: Final = 1.0
CHARTS: Final = "charts"
"""The worker group of fetches and renders; one runs at a time."""


class EndpointScreen(Screen[None]):
    """Header with status and current figures, a grid of charts, the keys."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("w", "cycle_window", "Window 5m/1h/24h"),
        Binding("5", "window('5m')", "Last 5 minutes", show=False),
        Binding("h", "window('1h')", "Last hour", show=False),
        Binding("d", "window('24h')", "Last 24 hours", show=False),
    ]
    DEFAULT_CSS = """
    EndpointScreen #figures {
        height: auto;
        max-height: 2;
        padding: 0 1;
        background: $panel;
    }
    EndpointScreen #note {
        height: auto;
        padding: 0 1;
        color: $warning;
    }
    EndpointScreen #note.-empty {
        display: none;
    }
    EndpointScreen #charts {
        layout: grid;
        grid-size: 1;
        grid-gutter: 0 1;
        grid-rows: 10;
        height: 1fr;
    }
    EndpointScreen .chart {
        height: 1fr;
    }
    """

    window: var[str] = var("5m")
    """The charts' window, a key of :data:`WINDOWS`."""

    def __init__(
        self,
        snapshots: Signal[Snapshot],
        endpoint: str,
        model: str | None = None,
        *,
        clock: Callable[[], float] = time.time,
        snapshot: Snapshot | None = None,
    ) -> None:
        super().__init__()
        self.endpoint = endpoint
        self.model = model
        self._snapshots = snapshots
        self._clock = clock
        self._snapshot = snapshot
        self._history: History | None = None
        self._busy = False
        self._want_fetch = True
        self._want_render = False
        self._resize_timer: Timer | None = None

    @property
    def settled(self) -> bool:
        """True when no fetch, render or resize is running or waiting."""
        waiting = self._want_fetch or self._want_render or self._resize_timer is not None
        return not (self._busy or waiting)

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static("", id="figures", markup=False)
        yield Static("", id="note", classes="-empty", markup=False)
        with VerticalScroll(id="charts"):
            for group in GROUPS:
                yield Static("", id=f"chart-{group.key}", classes="chart", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._snapshots.subscribe(self, self.show_snapshot, immediate=True)
        self.set_interval(AGE_TICK, self._show_header)
        self.watch(self.app, "paused", self._show_paused)
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)
        self._show_header()
        self._pump()

    def show_snapshot(self, snapshot: Snapshot) -> None:
        """New live figures for the header; new history once a chart column's time has passed."""
        self._snapshot = snapshot
        self._show_header()
        fetched = self._history.now if self._history else -math.inf
        if self._clock() - fetched >= WINDOWS[self.window] / COLUMNS:
            self._request(fetch=True)

    def action_back(self) -> None:
        self.dismiss()

    def action_cycle_window(self) -> None:
        names = list(WINDOWS)
        self.window = names[(names.index(self.window) + 1) % len(names)]

    def action_window(self, name: str) -> None:
        self.window = name

    def watch_window(self) -> None:
        self._show_header()
        self._request(fetch=True)

    def on_resize(self, event: events.Resize) -> None:
        if self._resize_timer is not None:
            self._resize_timer.stop()
        self._resize_timer = self.set_timer(RESIZE_DEBOUNCE, self._resized)

    def _resized(self) -> None:
        self._resize_timer = None
        self._layout_then_render()

    def _theme_changed(self, theme: Theme) -> None:
        self._request(fetch=False)  # published once the theme's CSS variables are in place

    def _request(self, *, fetch: bool) -> None:
        if fetch:
            self._want_fetch = True
        else:
            self._want_render = True
        self._pump()

    def _pump(self) -> None:
        """Start the next fetch or render unless one is running: they never pile up."""
        if self._busy or not self.is_mounted:
            return
        if self._want_fetch:
            self._want_fetch = False
            explorer: Explorer | None = getattr(self.app, "explorer", None)
            args = (explorer, self.endpoint, self.model, self.window, self._clock())
            self._start(lambda: fetch_history(*args), "fetch")
        elif self._want_render:
            self._want_render = False
            if self._history is None:
                return  # nothing fetched yet: the fetch's result will be drawn
            history, sizes, palette = self._history, self._chart_sizes(), self._palette()
            self._start(lambda: render_all(history, sizes, palette), "render")

    def _start(self, work: Callable[[], object], name: str) -> None:
        self._busy = True
        self.run_worker(work, name=name, group=CHARTS, thread=True, exit_on_error=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != CHARTS or not worker.is_finished:
            return
        self._busy = False
        if event.state == WorkerState.ERROR:
            what = "history" if worker.name == "fetch" else "charts"
            self._show_note(f"{what} unavailable: {worker.error}")
        elif event.state == WorkerState.SUCCESS and isinstance(worker.result, History):
            if worker.result.window == self.window:
                self._show_history(worker.result)
                return
        elif event.state == WorkerState.SUCCESS and isinstance(worker.result, Drawn):
            for key, text in worker.result.texts.items():
                self.query_one(f"#chart-{key}", Static).update(text)
            if self._history is not None and self._chart_sizes() != worker.result.sizes:
                self._want_render = True  # the layout changed while drawing
                self.call_after_refresh(self._pump)
                return
        self._pump()

    def _show_history(self, history: History) -> None:
        self._history = history
        self._show_note(history.note)
        for group in GROUPS:
            self.query_one(f"#chart-{group.key}").display = group.key in history.specs
        self._layout_then_render()

    def _layout_then_render(self) -> None:
        """Charts two to a row when wide; rows fill the height down to a minimum, then scroll.
        The render starts after the layout has been applied, at the charts' new sizes."""
        charts = self.query_one("#charts", VerticalScroll)
        shown = sum(view.display for view in self.query(".chart"))
        columns = 2 if charts.size.width >= TWO_COLUMNS_FROM else 1
        rows = max(1, math.ceil(shown / columns))
        charts.styles.grid_size_columns = columns
        charts.styles.grid_rows = str(max(MIN_CHART_HEIGHT, charts.size.height // rows))
        self._want_render = True
        self.call_after_refresh(self._pump)

    def _chart_sizes(self) -> dict[str, tuple[int, int]]:
        assert self._history is not None
        sizes = {}
        for key in self._history.specs:
            size = self.query_one(f"#chart-{key}").content_size
            sizes[key] = (size.width, size.height)
        return sizes

    def _palette(self) -> Palette | None:
        """The theme's colours for the charts; None (monochrome) under NO_COLOR."""
        if self.app.no_color:
            return None
        theme = self.app.theme_variables

        def rgb(name: str) -> tuple[int, int, int]:
            return Color.parse(theme.get(name, theme.get("foreground", "white"))).rgb

        return Palette(
            traces=tuple(rgb(n) for n in ("primary", "success", "accent", "secondary")),
            severities={"critical": rgb("error"), "warning": rgb("warning"),
                        "info": rgb("foreground")},
        )

    def _row(self) -> RowSnapshot | None:
        rows = self._snapshot.rows if self._snapshot else ()
        return next((r for r in rows if (r.endpoint, r.model) == (self.endpoint, self.model)), None)

    def _show_header(self) -> None:
        row, snapshot = self._row(), self._snapshot
        key = self.endpoint if self.model is None else f"{self.endpoint}/{self.model}"
        parts = [key]
        if row is not None and snapshot is not None:
            age = None if row.last_ok is None else self._clock() - row.last_ok
            parts += [format_status(row.status), row.preset,
                      f"data {format_data_age(age, snapshot.interval)} old"]
        windows = " ".join(f"[{n}]" if n == self.window else n for n in WINDOWS)
        self.query_one(StatusBar).summary = " · ".join([*parts, f"window {windows}"])
        figures = self.query_one("#figures", Static)
        text = describe_figures(row)
        if str(figures.content) != text:
            figures.update(text)

    def _show_paused(self, paused: bool) -> None:
        self.query_one(StatusBar).paused = paused

    def _show_note(self, note: str) -> None:
        view = self.query_one("#note", Static)
        view.update(truncate(note, 500))
        view.set_class(not note, "-empty")
