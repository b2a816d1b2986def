"""Pilot tests of the `/` filter on the overview table, the alert pane and the alerts console.

The filter is the rules console's (one FilterBar per screen, one query per table): these check
that it narrows the focused table only, survives new snapshots, keeps the cursor on its row,
is said in the status bar or the pane's title, and that esc clears it before going back.
"""

from __future__ import annotations

import doctest

from textual.pilot import Pilot
from textual.widgets import Static

import mmtui.ui.widgets.alert_pane as alert_pane_module
import mmtui.ui.widgets.filter_bar as filter_bar_module
import mmtui.ui.widgets.overview_table as overview_table_module
from mmtui.snapshot import Snapshot
from mmtui.ui.app import MmtuiApp
from mmtui.ui.screens.ack import AckPrompt
from mmtui.ui.screens.alerts import AlertsScreen
from mmtui.ui.screens.overview import OverviewScreen
from mmtui.ui.widgets.alert_pane import AlertList
from mmtui.ui.widgets.filter_bar import FilterBar
from mmtui.ui.widgets.overview_table import OverviewTable
from tests.pinned import NOW, FakeSource
from tests.test_ui_alerts import (
    ACKED,
    ALERTS,
    ERRORS,
    OLD_CRIT,
    P95,
    PENDING,
    RESOLVED,
    WIDE,
    FakeService,
    make_alert,
    make_app,
    open_console,
    settle,
    snap,
    started,
)
from tests.test_ui_overview import KEYS, ROWS, status_text, up_row

LLM = ["llm-gateway/llama-3-8b", "llm-gateway/mistral-7b"]


def test_doctests() -> None:
    for module in (filter_bar_module, overview_table_module, alert_pane_module):
        assert doctest.testmod(module).failed == 0


def table(app: MmtuiApp) -> OverviewTable:
    return app.screen.query_one(OverviewTable)


def pane_keys(app: MmtuiApp) -> list[str]:
    return app.screen.query_one(AlertList).row_keys


def pane_title(app: MmtuiApp) -> str:
    return str(app.screen.query_one("#alert-title", Static).content)


async def type_filter(pilot: Pilot[int], text: str) -> None:
    """``/``, the query, ``enter``: the query is put in the bar at once rather than typed key
    by key (typing is tested once, below), which keeps these tests fast."""
    await pilot.press("slash")
    pilot.app.screen.query_one(FilterBar).value = text
    await pilot.press("enter")


def publish(app: MmtuiApp, snapshot: Snapshot) -> None:
    source = app.source
    assert isinstance(source, FakeSource)
    source.publish(snapshot)


# -- the overview table -----------------------------------------------------------------------


async def test_slash_filters_the_table_and_later_rows_are_filtered_too() -> None:
    app = make_app(FakeService())
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        await type_filter(pilot, "llm")
        assert table(app).row_keys == LLM
        assert table(app).has_focus and not app.screen.query_one(FilterBar).display
        assert "filter: llm · 2 of 5 shown" in status_text(app)
        assert "3/5 up" in status_text(app)  # the fleet's health is still the whole fleet's
        assert len(pane_keys(app)) == 6  # the pane is not filtered
        rows = (up_row("aaa-new", None, 1.0, 1.0, 0.0, preset="triton"), *ROWS,
                up_row("llm-gateway", "qwen-7b", 9.0, 1.0, 0.0))
        publish(app, Snapshot(at=NOW + 2, tick=2, paused=False, interval=2.0, rows=rows,
                              alerts=ALERTS))
        await pilot.pause()
        assert table(app).row_keys == [*LLM, "llm-gateway/qwen-7b"]
        assert "filter: llm · 3 of 7 shown" in status_text(app)


async def test_bang_inverts_and_esc_clears() -> None:
    app = make_app(FakeService())
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        await type_filter(pilot, "!LLM")
        assert table(app).row_keys == ["fraud-scorer", "ranker", "embedder"]
        assert "filter: !LLM" in status_text(app)
        await pilot.press("escape")
        assert table(app).row_keys == KEYS
        assert "filter" not in status_text(app)
        assert isinstance(app.screen, OverviewScreen)
        await pilot.press("escape")  # nothing to clear: the overview stays, nothing breaks
        assert isinstance(app.screen, OverviewScreen) and table(app).row_keys == KEYS


async def test_rows_match_on_status_reason_and_preset_not_figures() -> None:
    app = make_app(FakeService())
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        for query, keys in [("down", ["ranker"]), ("refused", ["ranker"]),
                            ("triton", ["fraud-scorer"]), ("pending", ["embedder"]),
                            ("123", [])]:
            await type_filter(pilot, query)
            assert table(app).row_keys == keys, query
        assert "filter: 123 · 0 of 5 shown" in status_text(app)


async def test_the_cursor_stays_on_its_row_through_the_filter() -> None:
    app = make_app(FakeService())
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        await pilot.press("j", "j")
        highlighted = table(app).highlighted
        assert highlighted is not None and highlighted.key == LLM[1]
        await type_filter(pilot, "mistral")
        assert table(app).row_keys == [LLM[1]] and table(app).cursor_row == 0
        await pilot.press("escape")
        highlighted = table(app).highlighted
        assert highlighted is not None and highlighted.key == LLM[1]
        assert table(app).cursor_row == 2


async def test_esc_in_the_open_bar_clears_and_returns_to_the_table() -> None:
    app = make_app(FakeService())
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        await pilot.press("slash", *"rank")
        bar = app.screen.query_one(FilterBar)
        assert bar.has_focus and table(app).row_keys == ["ranker"]  # live as it is typed
        await pilot.press("escape")
        assert table(app).row_keys == KEYS and table(app).has_focus and not bar.display


# -- the alert pane, beside it ----------------------------------------------------------------


async def test_tab_then_slash_filters_the_pane_only_and_its_title_says_so() -> None:
    app = make_app(FakeService())
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        await pilot.press("tab")
        assert app.screen.query_one(AlertList).has_focus
        await type_filter(pilot, "ranker")
        assert pane_keys(app) == [OLD_CRIT.fingerprint, ERRORS.fingerprint]
        assert app.screen.query_one(AlertList).has_focus
        assert table(app).row_keys == KEYS
        assert pane_title(app).startswith("ALERTS  [filter: ranker · 2 of 6 shown]  5 firing")
        await pilot.press("tab")  # tab still moves between the two
        assert table(app).has_focus
        await pilot.press("slash")  # the table's own (empty) query, not the pane's
        assert app.screen.query_one(FilterBar).value == ""
        await pilot.press("f", "r", "enter")
        assert table(app).row_keys == ["fraud-scorer"]  # typed, key by key
        assert len(pane_keys(app)) == 2  # each keeps its own
        await pilot.press("escape")  # clears the focused table's filter only
        assert table(app).row_keys == KEYS and len(pane_keys(app)) == 2
        await pilot.press("tab", "escape")
        assert len(pane_keys(app)) == 6 and "filter" not in pane_title(app)


async def test_pane_filter_matches_state_and_severity_and_survives_snapshots() -> None:
    app = make_app(FakeService())
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        await pilot.press("tab")
        await type_filter(pilot, "pending")
        assert pane_keys(app) == [PENDING.fingerprint]
        await type_filter(pilot, "!crit")
        assert OLD_CRIT.fingerprint not in pane_keys(app) and len(pane_keys(app)) == 4
        late = make_alert("queue depth", "ranker", state="pending", severity="critical", age=1)
        calm = make_alert("errors", "ranker", severity="warning", age=2)
        publish(app, snap([*ALERTS, late, calm], tick=2))
        await pilot.pause()
        assert late.fingerprint not in pane_keys(app) and calm.fingerprint in pane_keys(app)
        assert "[filter: !crit · 5 of 8 shown]" in pane_title(app)


async def test_a_acts_on_the_highlighted_row_of_the_filtered_pane() -> None:
    service = FakeService()
    app = make_app(service)
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        await pilot.press("tab")
        await type_filter(pilot, "llm-gateway")
        await pilot.press("a", "enter")
        await settle(app, pilot)
        assert service.calls == [("ack", PENDING.fingerprint, None, None)]


# -- the alerts console -----------------------------------------------------------------------


async def test_console_filters_by_visible_text_and_esc_clears_then_goes_back() -> None:
    service = FakeService()
    app = make_app(service)
    async with app.run_test(size=WIDE) as pilot:
        screen = await open_console(app, pilot)
        await type_filter(pilot, "resolved")
        assert screen.table.row_keys == [RESOLVED.fingerprint]
        await type_filter(pilot, "fraud")
        assert screen.table.row_keys == [P95.fingerprint, RESOLVED.fingerprint]
        assert screen.table.cell_text(P95.fingerprint, "urgency").strip() == "2"  # rank kept
        assert "filter: fraud · 2 of 7 shown" in status_text(app)
        await pilot.press("home", "a", "enter")
        await settle(app, pilot)
        assert service.calls == [("ack", P95.fingerprint, None, None)]
        await pilot.press("escape")
        assert isinstance(app.screen, AlertsScreen) and len(screen.table.row_keys) == 7
        assert "filter" not in status_text(app)
        await pilot.press("escape")
        assert isinstance(app.screen, OverviewScreen)


async def test_console_filter_by_acked_and_by_id() -> None:
    app = make_app(FakeService())
    async with app.run_test(size=WIDE) as pilot:
        screen = await open_console(app, pilot)
        await type_filter(pilot, "acked by")
        assert screen.table.row_keys == [ACKED.fingerprint]
        await type_filter(pilot, P95.id)
        assert screen.table.row_keys == [P95.fingerprint]
        await pilot.press("a")
        assert isinstance(app.screen, AckPrompt) and app.screen.alert == P95
