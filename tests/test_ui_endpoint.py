"""Pilot tests of the endpoint drill-down, over a fake Explorer returning pinned history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Static

from mmtui.alerts.rules import Rule
from mmtui.explore import Explorer, FeatureHistogram, SeriesData
from mmtui.names import ERROR_RATE, LATENCY_P50, LATENCY_P95, LATENCY_P99, THROUGHPUT
from mmtui.snapshot import RowSnapshot, Snapshot
from mmtui.ui import app as app_module
from mmtui.ui.app import MmtuiApp
from mmtui.ui.endpoint_charts import describe_figures
from mmtui.ui.screens.endpoint import EndpointScreen
from mmtui.ui.screens.help import HelpScreen
from mmtui.ui.screens.overview import OverviewScreen
from mmtui.ui.widgets.status_bar import StatusBar
from tests.pinned import NOW, Clock, FakeSource

TS = np.arange(NOW - 300, NOW + 0.5, 5.0)
WAVE = np.sin(np.arange(len(TS)) / 6)
SERIES = [
    SeriesData(LATENCY_P50, TS, 40 + 10 * WAVE),
    SeriesData(LATENCY_P95, TS, np.where(abs(TS - NOW + 105) < 15, np.nan, 120 + 30 * WAVE)),
    SeriesData(LATENCY_P99, TS, 180 + 40 * WAVE),
    SeriesData(THROUGHPUT, TS, 12 + 2 * WAVE),
    SeriesData(ERROR_RATE, TS, np.full(len(TS), 0.004)),
]
QUALITY = SeriesData("accuracy", TS, np.full(len(TS), 0.93))
RULES = (
    Rule(name="p95 latency", metric=LATENCY_P95, threshold=250.0, severity="critical"),
    Rule(name="errors", metric=ERROR_RATE, threshold=0.05, endpoint="other-*"),
)
ROW = RowSnapshot(
    "fraud-scorer", None, "triton", "up", None, NOW - 0.5,
    {LATENCY_P50: 41.0, LATENCY_P95: 123.4, LATENCY_P99: 190.0, THROUGHPUT: 12.34,
     ERROR_RATE: 0.004},
)
FIRST = Snapshot(at=NOW, tick=1, paused=False, interval=2.0, rows=(ROW,))


@dataclass(frozen=True)
class Call:
    endpoint: str
    model: str | None
    metrics: tuple[str, ...]
    since: float


class FakeExplorer:
    """Pinned history; remembers what it was asked."""

    def __init__(self, series: Sequence[SeriesData] = SERIES, fail: Exception | None = None):
        self.calls: list[Call] = []
        self._series = list(series)
        self._fail = fail

    def series(
        self, endpoint: str, model: str | None, metrics: Sequence[str], since: float
    ) -> list[SeriesData]:
        self.calls.append(Call(endpoint, model, tuple(metrics), since))
        if self._fail is not None:
            raise self._fail
        return [s for s in self._series if s.metric in metrics]

    def feature_histogram(
        self, endpoint: str, feature: str, bins: int = 20
    ) -> FeatureHistogram | None:
        return None

    def rules_for(self, endpoint: str, model: str | None) -> Sequence[Rule]:
        return [r for r in RULES if r.matches_series(endpoint, model)]


class ExplorerApp(MmtuiApp):
    """The app with the attribute the endpoint screen reads its history from."""

    CSS_PATH = str(Path(app_module.__file__).with_name("mmtui.tcss"))

    def __init__(self, explorer: Explorer | None, clock: Clock) -> None:
        self.source_fake = FakeSource()
        super().__init__(self.source_fake, clock=clock)
        self.explorer = explorer


def make_app(explorer: Explorer | None = None) -> ExplorerApp:
    return ExplorerApp(explorer, Clock())


async def settle(app: ExplorerApp, pilot: Pilot[int]) -> EndpointScreen:
    """Wait until the screen's fetches, renders and resize timer are done."""
    screen = app.screen
    assert isinstance(screen, EndpointScreen)
    for _ in range(500):
        await pilot.pause(0.01)
        if screen.settled:
            await pilot.pause()
            return screen
    raise AssertionError("the charts never settled")


async def open_endpoint(app: ExplorerApp, pilot: Pilot[int]) -> EndpointScreen:
    await pilot.pause()
    app.source_fake.publish(FIRST)
    await pilot.pause()
    app.push_screen(EndpointScreen(app.snapshots, "fraud-scorer", clock=app.clock, snapshot=FIRST))
    return await settle(app, pilot)


def chart(screen: EndpointScreen, key: str) -> Static:
    return screen.query_one(f"#chart-{key}", Static)


def chart_text(screen: EndpointScreen, key: str) -> str:
    content = chart(screen, key).content
    return content.plain if isinstance(content, Text) else str(content)


def explorer_of(app: ExplorerApp) -> FakeExplorer:
    assert isinstance(app.explorer, FakeExplorer)
    return app.explorer


async def test_charts_show_latency_traffic_errors_and_the_rule_threshold() -> None:
    app = make_app(FakeExplorer())
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_endpoint(app, pilot)
        latency = chart_text(screen, "latency")
        for text in ("latency ms", "p50", "p95", "p99", "critical: p95 latency > 250 ms", "now"):
            assert text in latency
        assert "━━━━━" in latency
        assert "throughput" in chart_text(screen, "throughput")
        errors = chart_text(screen, "errors")
        assert "error rate" in errors and "0.4%" in errors and "errors > 5%" not in errors
        assert not chart(screen, "quality").display
        [call] = explorer_of(app).calls
        assert (call.endpoint, call.model, call.since) == ("fraud-scorer", None, NOW - 300)
        assert LATENCY_P95 in call.metrics and "accuracy" in call.metrics


async def test_quality_chart_appears_when_labels_arrive() -> None:
    app = make_app(FakeExplorer([*SERIES, QUALITY]))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_endpoint(app, pilot)
        assert chart(screen, "quality").display
        assert "accuracy 0.93" in chart_text(screen, "quality")


async def test_header_shows_status_current_figures_and_the_window() -> None:
    app = make_app(FakeExplorer())
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_endpoint(app, pilot)
        status = str(screen.query_one(StatusBar).render())
        assert "fraud-scorer · ↑ up · triton · data <3s old · window [5m] 1h 24h" in status
        figures = str(screen.query_one("#figures", Static).content)
        assert figures == describe_figures(ROW)
        for text in ("p50 41 ms", "p95 123 ms", "p99 190 ms", "throughput 12.3/s", "0.4%"):
            assert text in figures


async def test_window_keys_requery_the_history() -> None:
    app = make_app(FakeExplorer())
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_endpoint(app, pilot)
        steps = [
            ("w", "1h"), ("w", "24h"), ("w", "5m"), ("d", "24h"), ("h", "1h"), ("5", "5m"),
        ]
        seconds = {"5m": 300, "1h": 3600, "24h": 86_400}
        for count, (key, window) in enumerate(steps, start=2):
            await pilot.press(key)
            await settle(app, pilot)
            calls = explorer_of(app).calls
            assert len(calls) == count
            assert calls[-1].since == NOW - seconds[window]
            assert f"[{window}]" in str(screen.query_one(StatusBar).render())
            assert f"-{window}" in chart_text(screen, "throughput")  # the x axis' first tick


async def test_resize_redraws_the_charts_at_the_new_size() -> None:
    app = make_app(FakeExplorer())
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_endpoint(app, pilot)
        calls = len(explorer_of(app).calls)
        latency, throughput = chart(screen, "latency"), chart(screen, "throughput")
        assert latency.region.x == throughput.region.x  # stacked at 80 columns
        lines = chart_text(screen, "latency").split("\n")
        assert {len(line) for line in lines} == {latency.content_size.width}
        assert len(lines) == latency.content_size.height
        await pilot.resize_terminal(160, 50)
        await pilot.pause(0.3)
        await settle(app, pilot)
        assert throughput.region.x > latency.region.x  # two to a row when wide
        lines = chart_text(screen, "latency").split("\n")
        assert {len(line) for line in lines} == {latency.content_size.width}
        assert latency.content_size.width > 70 and len(lines) == latency.content_size.height
        assert len(explorer_of(app).calls) == calls  # a resize draws again, it doesn't re-query


async def test_80x24_stacks_the_charts_within_the_screen_width() -> None:
    app = make_app(FakeExplorer())
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_endpoint(app, pilot)
        for key in ("latency", "throughput", "errors"):
            view = chart(screen, key)
            assert view.region.right <= 80 and view.content_size.height >= 10
            assert "now" in chart_text(screen, key)


async def test_snapshots_refresh_the_header_and_the_history_once_a_column_has_passed() -> None:
    app = make_app(FakeExplorer())
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_endpoint(app, pilot)
        explorer = explorer_of(app)
        row = RowSnapshot("fraud-scorer", None, "triton", "up", None, NOW, {LATENCY_P95: 777.0})
        app.source_fake.publish(Snapshot(at=NOW, tick=2, paused=False, interval=2.0, rows=(row,)))
        await settle(app, pilot)
        assert "p95 777 ms" in str(screen.query_one("#figures", Static).content)
        assert len(explorer.calls) == 1  # no time has passed: the charts would not change
        assert isinstance(app.clock, Clock)
        app.clock.now += 2
        app.source_fake.publish(Snapshot(at=NOW + 2, tick=3, paused=False, interval=2.0))
        await settle(app, pilot)
        assert [c.since for c in explorer.calls] == [NOW - 300, NOW + 2 - 300]
        assert "not in the latest snapshot" in str(screen.query_one("#figures", Static).content)


async def test_a_failing_history_is_a_note_not_a_crash() -> None:
    app = make_app(FakeExplorer(fail=RuntimeError("database is locked")))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_endpoint(app, pilot)
        note = screen.query_one("#note", Static)
        assert note.display and "history unavailable: database is locked" in str(note.content)
        assert app.is_running


async def test_without_an_explorer_the_charts_say_there_is_no_history() -> None:
    app = make_app(None)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_endpoint(app, pilot)
        assert "no history" in str(screen.query_one("#note", Static).content)
        assert "no data in the last 5m" in chart_text(screen, "latency")


async def test_no_color_draws_monochrome(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(FakeExplorer())
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_endpoint(app, pilot)
        content = chart(screen, "latency").content
        assert isinstance(content, Text) and not content.spans and not content.style
        assert "▀ p50" in content.plain and "⠒ p95" in content.plain


async def test_escape_goes_back_and_app_keys_still_work() -> None:
    app = make_app(FakeExplorer())
    async with app.run_test(size=(120, 40)) as pilot:
        await open_endpoint(app, pilot)
        await pilot.press("r")
        assert app.source_fake.polls == 1
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        keys = str(app.screen.query_one("#keys", Static).content)
        for binding in EndpointScreen.BINDINGS:
            assert not isinstance(binding, tuple | str)
            assert binding.description in keys
        await pilot.press("escape")
        assert isinstance(app.screen, EndpointScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)


async def test_charts_take_the_theme_colours_and_follow_a_theme_change() -> None:
    app = make_app(FakeExplorer())
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_endpoint(app, pilot)

        def colours() -> set[str]:
            content = chart(screen, "latency").content
            assert isinstance(content, Text)
            styles = (span.style for span in content.spans)
            return {s.color.get_truecolor().hex.lower() for s in styles
                    if not isinstance(s, str) and s.color is not None}

        def primary() -> str:
            colour = app.current_theme.primary
            assert colour is not None
            return colour.lower()

        assert primary() in colours()
        app.theme = "light"
        await pilot.pause()
        await settle(app, pilot)
        assert primary() in colours() and primary() != "#4c9aff"
