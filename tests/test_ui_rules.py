"""Pilot tests of the rules console (`4`), theme cycling (`t`), read-only mode and `ctrl+p`.

The alerts service is a stand-in holding the configured rules and a real SQLite store (a
subclass that records which thread each write ran on).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from mmtui.alerts.identity import whoami
from mmtui.alerts.rules import Rule, RuleOverride
from mmtui.alerts.state import Alert
from mmtui.alerts.store import Store
from mmtui.names import ERROR_RATE, LATENCY_P95
from mmtui.snapshot import Snapshot
from mmtui.ui.app import MmtuiApp
from mmtui.ui.screens.rules import READONLY, RulesScreen
from mmtui.ui.widgets.drift_table import DriftTable
from mmtui.ui.widgets.filter_bar import FilterBar
from mmtui.ui.widgets.status_bar import StatusBar
from tests.pinned import NOW, Clock, FakeSource
from tests.test_ui_overview import ROWS, NotingApp

P95, ERRORS, NODATA = "p95 latency", "error rate", "scrapes"
RULES = (
    Rule(P95, metric=LATENCY_P95, op=">", threshold=250, for_=30, severity="critical"),
    Rule(ERRORS, metric=ERROR_RATE, op=">", threshold=0.05, model="*"),
    Rule(NODATA, kind="nodata", for_=60, severity="info"),
)
FIRING = Alert(
    fingerprint="f" * 16, rule=P95, endpoint="llm-gateway", model="llama-3-8b", feature=None,
    metric=LATENCY_P95, severity="critical", state="firing", since=NOW - 60, active_at=NOW - 90,
    value=1234.0, threshold=250.0, labels={"alertname": P95, "endpoint": "llm-gateway"},
)
SNAPSHOT = Snapshot(at=NOW, tick=3, paused=False, interval=2.0, rows=ROWS, alerts=(FIRING,))


class RecordingStore(Store):
    """A real store that remembers the thread of every override write."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.write_threads: list[int] = []

    def set_override(self, override: RuleOverride, *, now: float | None = None) -> None:
        self.write_threads.append(threading.get_ident())
        super().set_override(override, now=now)


@dataclass
class Config:
    rules: tuple[Rule, ...]


@dataclass
class Service:
    config: Config
    store: RecordingStore


class AlertingSource(FakeSource):
    def __init__(self, store: RecordingStore | None) -> None:
        super().__init__()
        self.alerts = None if store is None else Service(Config(RULES), store)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RecordingStore]:
    s = RecordingStore(tmp_path / "state.db")
    yield s
    s.close()


async def open_rules(
    store: RecordingStore | None, pilot: Pilot[int], app: MmtuiApp
) -> tuple[RulesScreen, DriftTable]:
    source = app.source
    assert isinstance(source, AlertingSource)
    await source.started.wait()
    source.publish(SNAPSHOT)
    await pilot.pause()
    await pilot.press("4")
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, RulesScreen)
    return screen, screen.table


async def settle(app: MmtuiApp, pilot: Pilot[int]) -> None:
    """Wait for the console's store workers (not the monitor, which runs forever)."""
    for _ in range(200):
        await pilot.pause()
        if not any(w.group == "rules-store" and not w.is_finished for w in app.workers):
            return
    raise AssertionError("the store worker did not finish")


def make(store: RecordingStore | None, *, readonly: bool = False) -> NotingApp:
    return NotingApp(AlertingSource(store), clock=Clock(), readonly=readonly)


async def edit(pilot: Pilot[int], screen: RulesScreen, key: str, text: str) -> None:
    await pilot.press(key)
    editor = screen.query_one("#edit-input", Input)
    assert editor.has_focus
    editor.value = ""
    await pilot.press(*text, "enter")


async def test_every_rule_with_its_state_and_current_value(store: RecordingStore) -> None:
    app = make(store)
    async with app.run_test(size=(100, 30)) as pilot:
        _, table = await open_rules(store, pilot, app)
        assert table.row_keys == sorted([P95, ERRORS, NODATA], key=str.casefold)
        assert table.cell_text(P95, "state").strip() == "firing 1"
        assert table.cell_text(P95, "value").strip() == "1234"  # the worst of the series
        assert table.cell_text(P95, "threshold").strip() == "250"
        assert table.cell_text(P95, "for").strip() == "30s"
        assert table.cell_text(P95, "sev").strip() == "crit"
        assert table.cell_text(ERRORS, "state").strip() == "ok"
        assert table.cell_text(ERRORS, "value").strip() == "0.12"
        assert table.cell_text(NODATA, "metric").strip() == "nodata"


async def test_space_disables_the_rule_through_the_store_off_the_main_thread(
    store: RecordingStore,
) -> None:
    app = make(store)
    async with app.run_test(size=(100, 30)) as pilot:
        screen, table = await open_rules(store, pilot, app)
        table.cursor_row = table.row_keys.index(P95)
        await pilot.press("space")
        await settle(app, pilot)
        assert store.overrides()[P95].enabled is False
        assert store.write_threads and threading.get_ident() not in store.write_threads
        event = store.events()[-1]
        assert (event.kind, event.who, event.detail["rule"]) == ("rule_override", whoami(), P95)
        assert table.cell_text(P95, "on").strip() == "off"
        assert table.cell_text(P95, "state").strip() == "off"
        assert "changed by" in str(screen.query_one("#detail", Static).content)
        await pilot.press("space")
        await settle(app, pilot)
        assert store.overrides()[P95].enabled is True


async def test_e_edits_the_threshold_and_bad_input_is_shown_inline(
    store: RecordingStore,
) -> None:
    app = make(store)
    async with app.run_test(size=(100, 30)) as pilot:
        screen, table = await open_rules(store, pilot, app)
        table.cursor_row = table.row_keys.index(P95)
        await edit(pilot, screen, "e", "fast")
        error = screen.query_one("#edit-error", Static)
        assert "expected a number" in str(error.content)
        assert screen.query_one("#edit-input", Input).has_focus  # still editing
        screen.query_one("#edit-input", Input).value = ""
        await pilot.press(*"300", "enter")
        await settle(app, pilot)
        assert store.overrides()[P95].threshold == 300.0
        assert table.cell_text(P95, "threshold").strip() == "300"
        assert table.has_focus


async def test_f_edits_for_keeping_an_earlier_change(store: RecordingStore) -> None:
    app = make(store)
    async with app.run_test(size=(100, 30)) as pilot:
        screen, table = await open_rules(store, pilot, app)
        table.cursor_row = table.row_keys.index(ERRORS)
        await pilot.press("space")
        await settle(app, pilot)
        await edit(pilot, screen, "f", "soon")
        assert "duration" in str(screen.query_one("#edit-error", Static).content)
        screen.query_one("#edit-input", Input).value = ""
        await pilot.press(*"5m", "enter")
        await settle(app, pilot)
        override = store.overrides()[ERRORS]
        assert (override.for_, override.enabled) == (300.0, False)
        assert table.cell_text(ERRORS, "for").strip() == "5m00s"


async def test_esc_cancels_an_edit_without_writing(store: RecordingStore) -> None:
    app = make(store)
    async with app.run_test(size=(100, 30)) as pilot:
        screen, table = await open_rules(store, pilot, app)
        await pilot.press("e", "9", "escape")
        await settle(app, pilot)
        assert isinstance(app.screen, RulesScreen)
        assert store.overrides() == {} and store.write_threads == []
        assert table.has_focus
        await pilot.press("escape")  # now esc goes back
        assert not isinstance(app.screen, RulesScreen)


async def test_threshold_of_a_nodata_rule_is_refused(store: RecordingStore) -> None:
    app = make(store)
    async with app.run_test(size=(100, 30)) as pilot:
        screen, table = await open_rules(store, pilot, app)
        table.cursor_row = table.row_keys.index(NODATA)
        await pilot.press("e")
        assert not screen.query_one("#edit-input", Input).has_focus
        assert store.write_threads == []


async def test_readonly_refuses_every_change_with_a_notice(store: RecordingStore) -> None:
    app = make(store, readonly=True)
    async with app.run_test(size=(100, 30)) as pilot:
        screen, _ = await open_rules(store, pilot, app)
        notice = screen.query_one("#notice", Static)
        assert notice.display and READONLY in str(notice.content)
        await pilot.press("space", "e", "f")
        await settle(app, pilot)
        assert not screen.query_one("#edit-input", Input).has_focus
        assert store.write_threads == [] and store.overrides() == {}
        assert any(READONLY in n for n in app.notices)


async def test_without_an_alerts_service_the_console_says_alerts_are_off() -> None:
    app = make(None)
    async with app.run_test(size=(100, 30)) as pilot:
        screen, table = await open_rules(None, pilot, app)
        assert table.row_keys == []
        assert "alerts are off" in str(screen.query_one("#notice", Static).content)
        await pilot.press("space")  # nothing to change, and no traceback


async def test_slash_filters_rows_and_bang_inverts(store: RecordingStore) -> None:
    app = make(store)
    async with app.run_test(size=(100, 30)) as pilot:
        screen, table = await open_rules(store, pilot, app)
        await pilot.press("slash", *"ERROR")
        assert table.row_keys == [ERRORS]
        bar = screen.query_one(FilterBar)
        bar.value = ""
        await pilot.press(*"!error")
        assert set(table.row_keys) == {P95, NODATA}
        await pilot.press("escape")
        assert len(table.row_keys) == 3 and table.has_focus


async def test_t_cycles_the_theme_files_and_wraps(store: RecordingStore) -> None:
    app = make(store)
    async with app.run_test() as pilot:
        await pilot.pause()
        cycle = app.theme_cycle
        assert {"dark", "light", "high-contrast", "monochrome"} <= set(cycle)
        start = app.theme
        seen = []
        for _ in cycle:
            await pilot.press("t")
            seen.append(app.theme)
        assert seen[-1] == start and sorted(seen) == sorted(cycle)
        assert f"theme: {seen[0]}" in app.notices


async def test_command_palette_runs_actions_from_the_key_table(store: RecordingStore) -> None:
    app = make(store)
    async with app.run_test(size=(100, 30)) as pilot:
        source = app.source
        assert isinstance(source, AlertingSource)
        await source.started.wait()
        await pilot.press("ctrl+p", *"Rules")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, RulesScreen)


async def test_the_filter_is_said_in_the_status_bar_and_esc_clears_it_first(
    store: RecordingStore,
) -> None:
    app = make(store)
    async with app.run_test(size=(100, 30)) as pilot:
        screen, table = await open_rules(store, pilot, app)
        await pilot.press("slash", *"p95", "enter")
        assert table.row_keys == [P95] and table.has_focus
        status = str(screen.query_one(StatusBar).render())
        assert "filter: p95 · 1 of 3 shown" in status
        source = app.source
        assert isinstance(source, AlertingSource)
        source.publish(replace(SNAPSHOT, tick=4))
        await pilot.pause()
        assert table.row_keys == [P95]  # a new snapshot keeps the filter
        await pilot.press("escape")
        assert isinstance(app.screen, RulesScreen) and len(table.row_keys) == 3
        assert "filter" not in str(screen.query_one(StatusBar).render())
        await pilot.press("escape")
        assert not isinstance(app.screen, RulesScreen)
