"""Pilot tests of the drift drill-down: chooser, drift table, sorting, live updates, histograms."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

import mmtui.ui.app as app_module
from mmtui.explore import FeatureHistogram
from mmtui.snapshot import Snapshot
from mmtui.ui.app import MmtuiApp
from mmtui.ui.screens.drift import DriftScreen
from mmtui.ui.screens.help import HelpScreen
from mmtui.ui.screens.histogram import LOADER, HistogramScreen
from mmtui.ui.screens.overview import OverviewScreen
from mmtui.ui.widgets.drift_table import DriftTable
from mmtui.ui.widgets.status_bar import StatusBar
from tests.drift_samples import HISTOGRAM, LONG_NAME, drift, fleet, row, snapshot, view
from tests.pinned import Clock, FakeSource

SMALL = (80, 24)
BY_DRIFT = ["amount", "country", LONG_NAME, "age", "device"]


class FakeExplorer:
    """Answers ``feature_histogram`` with a pinned histogram (or None, or an error)."""

    def __init__(
        self,
        result: FeatureHistogram | None = HISTOGRAM,
        *,
        fail: Exception | None = None,
        gate: threading.Event | None = None,
    ) -> None:
        self.result = result
        self.fail = fail
        self.gate = gate
        self.calls: list[tuple[str, str, int]] = []

    def feature_histogram(
        self, endpoint: str, feature: str, bins: int = 20
    ) -> FeatureHistogram | None:
        self.calls.append((endpoint, feature, bins))
        if self.gate is not None:
            self.gate.wait(10)
        if self.fail is not None:
            raise self.fail
        return self.result


class DrillApp(MmtuiApp):
    """The app with an explorer, as the lead will wire it."""

    CSS_PATH = str(Path(app_module.__file__).with_name("mmtui.tcss"))

    def __init__(self, explorer: FakeExplorer | None = None) -> None:
        super().__init__(FakeSource(), clock=Clock())
        self.explorer = explorer


def make_app(explorer: FakeExplorer | None = None) -> DrillApp:
    return DrillApp(explorer if explorer is not None else FakeExplorer())


async def open_drift(
    app: DrillApp, pilot: Pilot[int], first: Snapshot, endpoint: str | None = None
) -> DriftScreen:
    """Publish ``first`` and push the drift screen the way the lead's key will."""
    source = app.source
    assert isinstance(source, FakeSource)
    await source.started.wait()
    source.publish(first)
    await pilot.pause()
    screen = DriftScreen(app.snapshots, endpoint=endpoint, latest=first, clock=app.clock)
    await app.push_screen(screen)
    await pilot.pause()
    return screen


def publish(app: DrillApp, snap: Snapshot) -> None:
    source = app.source
    assert isinstance(source, FakeSource)
    source.publish(snap)


def text(app: DrillApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).content)


def lines(table: DriftTable) -> list[str]:
    return ["".join(s.text for s in table.render_line(y)) for y in range(table.size.height)]


async def loaded(app: DrillApp, pilot: Pilot[int]) -> HistogramScreen:
    """Wait for the histogram screen's loads to finish and be shown."""
    screen = app.screen
    assert isinstance(screen, HistogramScreen)
    await pilot.pause()
    loads = [w.wait() for w in app.workers if w.group == LOADER]
    await asyncio.gather(*loads, return_exceptions=True)
    await pilot.pause()
    return screen


async def test_chooser_lists_endpoints_with_records_most_drifted_first() -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_drift(app, pilot, fleet())
        table = screen.table
        assert table.row_keys == ["fraud-scorer", "ranker", "embedder"]  # no llm-gateway
        assert "share▼" in lines(table)[0]
        assert table.cell_text("fraud-scorer", "dataset").strip() == "DRIFT"
        assert table.cell_text("fraud-scorer", "drifted").strip() == "3/5"
        assert table.cell_text("fraud-scorer", "share").strip() == "60%"
        assert table.cell_text("ranker", "dataset").strip() == "ok"
        assert table.cell_text("embedder", "feed").strip() == "waiting"
        assert table.cell_text("embedder", "share").strip() == "—"
        summary = text(app, "#summary")
        assert "3 endpoints with records" in summary and "1 with dataset drift" in summary
        assert "12,345 read · 3 bad (not json 3)" in text(app, "#detail")
        await pilot.press("j", "j")
        assert "no records yet" in text(app, "#detail")
        assert "drift · data <3s old" in str(app.screen.query_one(StatusBar).render())


async def test_chooser_says_when_no_endpoint_has_records() -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_drift(app, pilot, snapshot(row("llm-gateway", None)))
        assert screen.table.row_keys == []
        assert "no endpoint has a records feed" in text(app, "#summary")
        await pilot.press("enter")
        assert app.screen is screen


async def test_enter_opens_the_drift_table_and_escape_goes_back() -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        chooser = await open_drift(app, pilot, fleet())
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, DriftScreen) and screen.endpoint == "fraud-scorer"
        table = screen.table
        assert table.row_keys == BY_DRIFT
        assert table.cell_text("amount", "drift").strip() == "DRIFT"
        assert table.cell_text("amount", "sig").strip() == "***"
        assert table.cell_text("amount", "p").strip() == "1.2e-39"
        assert table.cell_text("amount", "statistic").strip() == "0.368"
        assert table.cell_text("country", "kind").strip() == "cat"
        assert table.cell_text("age", "drift").strip() == "ok"
        assert table.cell_text("age", "sig").strip() == ""
        summary = text(app, "#summary")
        for part in (
            "DATASET DRIFT · 3 of 5 features drifted (60%, threshold 50%)",
            "2,000 reference vs 400 current rows · Benjamini-Hochberg, alpha 0.05",
            "accuracy 91.2% (-3.4 pp vs 94.6%)",
            "precision 80.0% (+1.0 pp vs 79.0%)",
            "records ok · 400 in window · 340 labelled · 12,345 read · 3 bad (not json 3)",
        ):
            assert part in summary
        assert "*** p<0.001  ** p<0.01  * p<0.05" in text(app, "#legend")
        assert text(app, "#detail").startswith("amount · numeric · ks 0.368 · p 1.2e-39 ***")
        await pilot.press("escape")
        assert app.screen is chooser
        assert chooser.table.highlighted == "fraud-scorer"
        await pilot.press("escape")
        assert isinstance(app.screen, OverviewScreen)


async def test_significance_marker_is_shown_apart_from_the_drift_flag() -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_drift(app, pilot, fleet(), endpoint="ranker")
        table = screen.table
        assert table.cell_text(LONG_NAME, "sig").strip() == "*"  # p 0.023, not after BH
        assert table.cell_text(LONG_NAME, "drift").strip() == "ok"
        assert "no dataset drift · 0 of 5" in text(app, "#summary")
        assert "quality" not in text(app, "#summary")  # no labels on this endpoint


async def test_o_cycles_the_sort_column_and_shift_o_reverses_it() -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        table = (await open_drift(app, pilot, fleet(), endpoint="fraud-scorer")).table
        await pilot.press("j", "j", "j")
        assert table.highlighted == "age"
        assert "drift▼" in lines(table)[0]
        await pilot.press("o")
        assert table.sort == ("feature", False)
        assert "feature▲" in lines(table)[0] and "drift▼" not in lines(table)[0]
        assert table.row_keys == ["age", "amount", "country", "device", LONG_NAME]
        assert table.highlighted == "age"
        await pilot.press("O")
        assert "feature▼" in lines(table)[0]
        assert table.row_keys == [LONG_NAME, "device", "country", "amount", "age"]
        await pilot.press("o")
        assert table.row_keys == ["country", "device", "amount", "age", LONG_NAME]  # cat, num
        await pilot.press("o", "o", "o")
        assert table.sort == ("p", False) and "p-value▲" in lines(table)[0]
        assert table.row_keys == ["country", "amount", LONG_NAME, "age", "device"]
        assert table.highlighted == "age"
        for _ in range(3):
            await pilot.press("o")
        assert table.sort == ("feature", False)  # wrapped round


async def test_live_update_keeps_the_cursor_on_its_feature() -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        table = (await open_drift(app, pilot, fleet(), endpoint="fraud-scorer")).table
        await pilot.press("end")
        assert table.highlighted == "device" and table.cursor_row == 4
        assert table.cell_text("device", "drift").strip() == "ok"
        publish(app, fleet(drift(seed=5)))  # device drifts now, and moves up
        await pilot.pause()
        assert table.row_keys == ["amount", "country", "device", LONG_NAME, "age"]
        assert table.highlighted == "device" and table.cursor_row == 2
        assert table.cell_text("device", "drift").strip() == "DRIFT"
        assert table.cell_text("device", "sig").strip() == "**"
        assert text(app, "#detail").startswith("device · categorical · chi2")
        assert "4 of 5 features drifted" in text(app, "#summary")


async def test_enter_on_a_feature_shows_its_histogram_and_escape_returns() -> None:
    explorer = FakeExplorer()
    app = make_app(explorer)
    async with app.run_test(size=SMALL) as pilot:
        drift_screen = await open_drift(app, pilot, fleet(), endpoint="fraud-scorer")
        await pilot.press("enter")
        screen = await loaded(app, pilot)
        assert (screen.endpoint, screen.feature) == ("fraud-scorer", "amount")
        assert len(explorer.calls) == 1
        endpoint, feature, bins = explorer.calls[0]
        assert (endpoint, feature) == ("fraud-scorer", "amount") and 6 <= bins <= 20
        bars = text(app, "#bars")
        assert "reference (2,000)" in bars and "current (400)" in bars
        middle = next(line for line in bars.splitlines() if "[40, 60)" in line)
        assert "68.0%" in middle and "48.0%" in middle and middle.rstrip().endswith("-20.0")
        assert "█" in middle
        assert all(len(line) <= 78 for line in bars.splitlines())
        result = text(app, "#result")
        assert result.startswith("amount · numeric · ks 0.368") and "DRIFT" in result
        assert "fraud-scorer · amount · data <3s old" in str(screen.query_one(StatusBar).render())
        await pilot.press("escape")
        assert app.screen is drift_screen and drift_screen.table.highlighted == "amount"


async def test_histogram_reloads_when_the_features_test_changes() -> None:
    explorer = FakeExplorer()
    app = make_app(explorer)
    async with app.run_test(size=SMALL) as pilot:
        await open_drift(app, pilot, fleet(), endpoint="fraud-scorer")
        await pilot.press("enter")
        await loaded(app, pilot)
        publish(app, fleet())  # the same test result: nothing to reload
        await loaded(app, pilot)
        assert len(explorer.calls) == 1
        publish(app, fleet(drift(seed=5)))
        await loaded(app, pilot)
        assert len(explorer.calls) == 2
        assert "68.0%" in text(app, "#bars")


async def test_histogram_loads_off_the_event_loop() -> None:
    gate = threading.Event()
    app = make_app(FakeExplorer(gate=gate))
    async with app.run_test(size=SMALL) as pilot:
        drift_screen = await open_drift(app, pilot, fleet(), endpoint="fraud-scorer")
        await pilot.press("enter")
        assert isinstance(app.screen, HistogramScreen)
        assert text(app, "#bars") == "loading the histogram…"
        await pilot.press("escape")  # keys still work while the load is blocked
        assert app.screen_stack[-1] is drift_screen
        gate.set()
        await asyncio.gather(*(w.wait() for w in app.workers if w.group == LOADER),
                             return_exceptions=True)


NO_CURRENT = replace(HISTOGRAM, current=(0.0, 0.0, 0.0, 0.0), n_current=0)


@pytest.mark.parametrize(
    ("endpoint", "explorer", "shown"),
    [
        ("fraud-scorer", None, "no histograms here"),
        ("embedder", FakeExplorer(None), "no records yet"),
        ("scorer", FakeExplorer(None), "no baseline"),
        ("fraud-scorer", FakeExplorer(fail=RuntimeError("state db\nlocked")),
         "histogram failed: state db locked"),
        ("fraud-scorer", FakeExplorer(NO_CURRENT), "no records yet: only the baseline is drawn"),
    ],
)
async def test_histogram_states(endpoint: str, explorer: FakeExplorer | None, shown: str) -> None:
    app = DrillApp(explorer)
    first = snapshot(*fleet().rows, row("scorer", view(None, records=50)))
    async with app.run_test(size=SMALL) as pilot:
        await open_drift(app, pilot, first)
        screen = HistogramScreen(app.snapshots, endpoint=endpoint, feature="amount", latest=first)
        await app.push_screen(screen)
        await loaded(app, pilot)
        assert shown in text(app, "#bars")


async def test_histogram_without_baseline_says_so_in_the_result_line() -> None:
    app = make_app()
    first = snapshot(row("scorer", view(None, records=50)))
    async with app.run_test(size=SMALL) as pilot:
        await open_drift(app, pilot, first)
        await app.push_screen(HistogramScreen(app.snapshots, endpoint="scorer", feature="amount"))
        publish(app, first)
        await loaded(app, pilot)
        assert text(app, "#result").startswith("no baseline")


@pytest.mark.parametrize(
    ("endpoint", "shown"),
    [
        ("embedder", "no records yet"),
        ("scorer", "no baseline: set the endpoint's baseline"),
        ("broken", "no drift: baseline /srv/ref.csv: no such file"),
        ("llm-gateway", "llm-gateway has no records feed"),
        ("nowhere", "nowhere is not in the latest snapshot"),
    ],
)
async def test_drift_table_states(endpoint: str, shown: str) -> None:
    broken = view(None, status="error", records=0, error="baseline /srv/ref.csv: no such file")
    first = snapshot(*fleet().rows, row("scorer", view(None, records=50)), row("broken", broken))
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_drift(app, pilot, first, endpoint=endpoint)
        assert shown in text(app, "#summary")
        assert screen.table.row_keys == []
        assert "feature" in lines(screen.table)[0]
        await pilot.press("enter")
        assert app.screen is screen


async def test_drift_screen_waits_for_a_snapshot_when_given_none() -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await app.push_screen(DriftScreen(app.snapshots, endpoint="fraud-scorer", clock=app.clock))
        assert "waiting for the first poll" in str(app.screen.query_one(StatusBar).render())
        publish(app, fleet())
        await pilot.pause()
        assert isinstance(app.screen, DriftScreen)
        assert app.screen.table.row_keys == BY_DRIFT


async def test_80x24_fits_every_column_and_cuts_long_names() -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        table = (await open_drift(app, pilot, fleet(), endpoint="fraud-scorer")).table
        shown = lines(table)
        assert all(len(line) <= 80 for line in shown)
        for label in ("feature", "kind", "method", "statistic", "p-value", "sig", "drift"):
            assert label in shown[0]
        assert "merchant_category_v…" in shown[3]
        assert "DRIFT" in shown[3] and "***" in shown[3]
        assert table.size.height >= 10


async def test_j_k_scroll_a_tall_histogram() -> None:
    bins = tuple(f"[{i}, {i + 1})" for i in range(20))
    tall = replace(HISTOGRAM, bins=bins, reference=(0.05,) * 20, current=(0.05,) * 20)
    app = make_app(FakeExplorer(tall))
    async with app.run_test(size=SMALL) as pilot:
        await open_drift(app, pilot, fleet(), endpoint="fraud-scorer")
        await pilot.press("enter")
        screen = await loaded(app, pilot)
        scroll = screen.query_one("#bins")
        assert scroll.max_scroll_y > 0 and scroll.scroll_y == 0
        await pilot.press("j", "j", "down")
        assert scroll.scroll_y == 3
        await pilot.press("k", "up")
        assert scroll.scroll_y == 1


async def test_p_pauses_on_the_drift_screens_too() -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await open_drift(app, pilot, fleet(), endpoint="fraud-scorer")
        await pilot.press("p")
        assert app.source.paused is True
        assert "PAUSED" in str(app.screen.query_one(StatusBar).render())
        await pilot.press("enter", "p")
        assert isinstance(app.screen, HistogramScreen)
        assert "PAUSED" not in str(app.screen.query_one(StatusBar).render())


async def test_help_lists_the_drift_keys() -> None:
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await open_drift(app, pilot, fleet(), endpoint="fraud-scorer")
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        keys = text(app, "#keys")
        for description in ("Open", "Sort column", "Reverse sort", "Back", "Cursor down"):
            assert description in keys
        assert "\nO " in keys and "\no " in keys
