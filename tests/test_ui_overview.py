"""Pilot tests of the live overview, on pinned snapshots from a small in-test source."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from mmtui.names import ERROR_RATE, LATENCY_MEAN, LATENCY_P95, THROUGHPUT
from mmtui.snapshot import RowSnapshot, Snapshot
from mmtui.ui.app import MmtuiApp
from mmtui.ui.messages import SnapshotArrived
from mmtui.ui.screens.help import HelpScreen
from mmtui.ui.screens.overview import OverviewScreen
from mmtui.ui.widgets.overview_columns import plan_columns
from mmtui.ui.widgets.overview_table import OverviewTable
from mmtui.ui.widgets.status_bar import StatusBar
from tests.pinned import NOW, Clock, FakeSource

WIDE = (210, 30)


def up_row(
    endpoint: str, model: str | None, p95: float, rps: float, err: float, preset: str = "vllm"
) -> RowSnapshot:
    return RowSnapshot(
        endpoint=endpoint,
        model=model,
        preset=preset,
        status="up",
        error=None,
        last_ok=NOW - 0.5,
        metrics={LATENCY_P95: p95, THROUGHPUT: rps, ERROR_RATE: err},
        history={LATENCY_P95: (100.0, 110.0, p95), THROUGHPUT: (10.0, 11.0, rps)},
    )


REASON = "connection refused: http://127.0.0.1:9301/models/ranker/metrics [Errno 111]"
ROWS = (
    up_row("fraud-scorer", None, 123.4, 12.34, 0.004, preset="triton"),
    up_row("llm-gateway", "llama-3-8b", 1234.0, 3.5, 0.0),
    up_row("llm-gateway", "mistral-7b", 456.0, 0.25, 0.12),
    RowSnapshot("ranker", None, "torchserve", "down", REASON, NOW - 80.0, {}),
    RowSnapshot("embedder", None, "tgi", "pending", None, None, {}),
)
FIRST = Snapshot(at=NOW, tick=1, paused=False, interval=2.0, rows=ROWS)
KEYS = [
    "fraud-scorer",
    "llm-gateway/llama-3-8b",
    "llm-gateway/mistral-7b",
    "ranker",
    "embedder",
]


class NotingApp(MmtuiApp):
    """The app, keeping the text of every notice it shows, through the public ``notify`` that
    every widget's and screen's notice goes through (Textual keeps its own list private)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.notices: list[str] = []

    def notify(self, message: str, *, title: str = "", severity: Any = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        self.notices.append(message)
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)


def make_app(
    source: FakeSource | None = None,
    clock: Clock | None = None,
    *,
    theme: str | None = None,
    theme_dirs: Sequence[Path] = (),
) -> NotingApp:
    return NotingApp(
        source or FakeSource(), clock=clock or Clock(), theme=theme, theme_dirs=theme_dirs
    )


async def started(app: MmtuiApp, pilot: Pilot[int]) -> OverviewTable:
    """Wait for the source to run, publish the first snapshot, return the table."""
    source = app.source
    assert isinstance(source, FakeSource)
    await source.started.wait()
    source.publish(FIRST)
    await pilot.pause()
    return app.screen.query_one(OverviewTable)


def lines(table: OverviewTable) -> list[str]:
    """What the table shows, line by line."""
    return [
        "".join(segment.text for segment in table.render_line(y)) for y in range(table.size.height)
    ]


def status_text(app: MmtuiApp) -> str:
    return str(app.screen.query_one(StatusBar).render())


async def test_rows_appear_for_endpoints_and_each_model() -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        table = await started(app, pilot)
        assert table.row_keys == KEYS
        shown = "\n".join(lines(table))
        assert "llm-gateway/llama-3-8b" in shown
        assert "llm-gateway/mistral-7b" in shown
        assert "3/5 up" in status_text(app)


async def test_figures_are_formatted_for_humans() -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        table = await started(app, pilot)
        fraud = lines(table)[1]
        for text in ("↑ up", "fraud-scorer", "123 ms", "12.3/s", "0.4%", "<3s", "triton"):
            assert text in fraud
        assert "▇▇█" in table.cell_text("fraud-scorer", "p95")  # scaled from 0, not from min
        assert "1.2 s" in table.cell_text("llm-gateway/llama-3-8b", "p95")
        assert "0.25/s" in table.cell_text("llm-gateway/mistral-7b", "rps")
        assert "12%" in table.cell_text("llm-gateway/mistral-7b", "err")
        pending = lines(table)[5]
        assert "… pending" in pending
        assert pending.count("—") == 4  # p95, traffic, error, age: no data yet


async def test_down_row_shows_reason_and_the_detail_line_the_full_text() -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        table = await started(app, pilot)
        ranker = lines(table)[4]
        assert "↓ down" in ranker
        assert "connection refused" in ranker
        assert "1m20s" in ranker
        await pilot.press("j", "j", "j")
        assert table.highlighted is not None and table.highlighted.key == "ranker"
        detail = app.screen.query_one("#detail", Static)
        assert REASON in str(detail.content)


async def test_p_toggles_pause_on_the_source_and_in_the_status_line() -> None:
    source = FakeSource()
    app = make_app(source)
    async with app.run_test() as pilot:
        await started(app, pilot)
        assert "PAUSED" not in status_text(app)
        await pilot.press("p")
        assert source.paused is True
        assert "PAUSED" in status_text(app)
        await pilot.press("p")
        assert source.paused is False
        assert "PAUSED" not in status_text(app)


async def test_r_polls_now() -> None:
    source = FakeSource()
    app = make_app(source)
    async with app.run_test() as pilot:
        await started(app, pilot)
        await pilot.press("r")
        assert source.polls == 1


async def test_help_lists_every_binding_and_escape_closes_it() -> None:
    source = FakeSource()
    app = make_app(source)
    async with app.run_test(size=(100, 40)) as pilot:
        table = await started(app, pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#keys", Static).content)
        for binding in [*MmtuiApp.BINDINGS, *OverviewTable.BINDINGS]:
            assert not isinstance(binding, tuple | str)
            assert binding.description in text
        for key in ("q", "p", "r", "?", "j", "k", "↓", "↑"):
            assert f"\n{key}" in f"\n{text}" or f", {key}" in text
        assert "↓ down" in text  # the status legend
        rows = (up_row("fraud-scorer", None, 777.0, 1.0, 0.0), *ROWS[1:])
        source.publish(Snapshot(at=NOW, tick=2, paused=False, interval=2.0, rows=rows))
        await pilot.pause()
        await pilot.press("escape")
        assert isinstance(app.screen, OverviewScreen)
        assert table.has_focus
        assert "777 ms" in table.cell_text("fraud-scorer", "p95")  # kept live underneath


async def test_arrows_and_j_k_move_the_cursor() -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        table = await started(app, pilot)
        await pilot.press("down", "down", "j")
        assert table.cursor_row == 3
        await pilot.press("up", "k")
        assert table.cursor_row == 1
        await pilot.press("k", "k", "up")
        assert table.cursor_row == 0
        await pilot.press("end")
        assert table.cursor_row == len(KEYS) - 1
        await pilot.press("j")
        assert table.cursor_row == len(KEYS) - 1


async def test_an_empty_snapshot_shows_no_rows() -> None:
    source = FakeSource()
    app = make_app(source)
    async with app.run_test() as pilot:
        table = await started(app, pilot)
        source.publish(Snapshot(at=NOW, tick=2, paused=False, interval=2.0))
        await pilot.pause()
        assert table.row_keys == []
        assert table.highlighted is None
        assert "0/0 up" in status_text(app)


async def test_q_quits_with_exit_code_zero() -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await started(app, pilot)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0
    assert not app.is_running


async def test_second_snapshot_updates_cells_in_place_and_keeps_the_cursor() -> None:
    source = FakeSource()
    app = make_app(source)
    async with app.run_test(size=WIDE) as pilot:
        table = await started(app, pilot)
        await pilot.press("j", "j")
        name_before = table.cell_text("fraud-scorer", "name")
        rows = (up_row("fraud-scorer", None, 250.0, 20.0, 0.01, preset="triton"), *ROWS[1:])
        source.publish(Snapshot(at=NOW + 2, tick=2, paused=False, interval=2.0, rows=rows))
        await pilot.pause()
        assert table.row_keys == KEYS
        assert "250 ms" in table.cell_text("fraud-scorer", "p95")
        assert "20.0/s" in table.cell_text("fraud-scorer", "rps")
        assert "1.0%" in table.cell_text("fraud-scorer", "err")
        assert table.cell_text("fraud-scorer", "name") == name_before
        assert table.cursor_row == 2


async def test_new_rows_keep_the_cursor_on_its_row() -> None:
    source = FakeSource()
    app = make_app(source)
    async with app.run_test(size=WIDE) as pilot:
        table = await started(app, pilot)
        await pilot.press("j")
        rows = (up_row("aaa-new", None, 1.0, 1.0, 0.0), *ROWS)
        source.publish(Snapshot(at=NOW + 2, tick=2, paused=False, interval=2.0, rows=rows))
        await pilot.pause()
        assert table.row_keys == ["aaa-new", *KEYS]
        assert table.highlighted is not None
        assert table.highlighted.key == "llm-gateway/llama-3-8b"


async def test_ages_tick_without_a_snapshot() -> None:
    clock = Clock()
    app = make_app(clock=clock)
    async with app.run_test(size=WIDE) as pilot:
        table = await started(app, pilot)
        assert table.cell_text("fraud-scorer", "age").strip() == "<3s"
        clock.now += 30
        for _ in range(100):  # the screen's 1 s timer; no timing is asserted
            if table.cell_text("fraud-scorer", "age").strip() != "<3s":
                break
            await pilot.pause(0.05)
        assert table.cell_text("fraud-scorer", "age").strip() == "30s"
        assert table.cell_text("ranker", "age").strip() == "1m50s"
        assert "data 30s old" in status_text(app)


async def test_snapshots_waiting_in_the_queue_are_coalesced() -> None:
    source = FakeSource()
    app = make_app(source)
    async with app.run_test(size=WIDE) as pilot:
        table = await started(app, pilot)
        shown: list[int] = []
        app.snapshots.subscribe(app.screen, lambda s: shown.append(s.tick), immediate=True)
        for tick in range(2, 52):
            rows = (up_row("fraud-scorer", None, float(tick), 1.0, 0.0), *ROWS[1:])
            source.publish(Snapshot(at=NOW, tick=tick, paused=False, interval=2.0, rows=rows))
        await pilot.pause()
        assert shown[-1] == 51
        assert len(shown) < 5
        assert "51 ms" in table.cell_text("fraud-scorer", "p95")


def test_snapshot_message_replaces_only_snapshot_messages() -> None:
    first, second = SnapshotArrived(FIRST), SnapshotArrived(FIRST)
    assert first.can_replace(second)
    assert not first.can_replace(OverviewTable.Highlighted(None))


@pytest.mark.parametrize(
    ("fail", "shown"),
    [(RuntimeError("state db locked"), "monitor stopped: state db locked"), (None, "stopped")],
)
async def test_monitor_stopping_is_shown_not_fatal(fail: Exception | None, shown: str) -> None:
    app = make_app(FakeSource(fail=fail, finish=True))
    async with app.run_test() as pilot:
        for _ in range(50):
            if "monitor stopped" in status_text(app):
                break
            await pilot.pause(0.02)
        assert shown in status_text(app)
        assert app.is_running


async def test_80x24_shows_the_essential_columns() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        table = await started(app, pilot)
        shown = lines(table)
        assert all(len(line) <= 80 for line in shown)
        header = shown[0]
        for label in ("endpoint", "p95", "traffic", "error", "age"):
            assert label in header
        fraud, ranker = shown[1], shown[4]
        for text in ("↑", "fraud-scorer", "123 ms", "12.3/s", "0.4%", "<3s"):
            assert text in fraud
        assert "↓" in ranker and "connection" in ranker


def test_column_plan_drops_the_least_important_first() -> None:
    def keys(width: int) -> list[str]:
        return [c.key for c in plan_columns(width, 22)]

    essentials = ["status", "name", "p95", "rps", "err", "age"]
    assert keys(60)[:6] == essentials
    assert "reason" in keys(80)
    assert "preset" not in keys(80) and "preset" in keys(160)
    for width in (60, 80, 100, 120, 160, 220):
        used = sum(c.width + 2 for c in plan_columns(width, 22)) + 1
        assert used <= width
    wide = {c.key: c for c in plan_columns(160, 22)}
    assert wide["status"].width == 9 and wide["p95"].spark > 0 and wide["rps"].spark > 0


async def test_theme_files_load_and_light_applies() -> None:
    app = make_app(theme="light")
    async with app.run_test():
        assert app.theme == "light"
        assert app.current_theme.dark is False
        assert {"dark", "light", "high-contrast", "monochrome"} <= set(app.available_themes)


async def test_status_colour_follows_the_theme() -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        table = await started(app, pilot)
        await pilot.press("j")  # the cursor row is drawn in the cursor's colours

        def glyph_colour() -> str:
            segment = next(s for s in table.render_line(1) if "↑" in s.text)
            assert segment.style is not None and segment.style.color is not None
            return segment.style.color.name

        def success() -> str:
            colour = app.current_theme.success
            assert colour is not None
            return colour.lower()

        assert app.theme == "dark"
        assert glyph_colour() == success()
        app.theme = "light"
        await pilot.pause()
        assert glyph_colour() == success()
        assert success() != "#5fd38d"


async def test_default_theme_is_dark_and_unknown_falls_back_with_a_notice() -> None:
    app = make_app(theme="no-such-theme")
    async with app.run_test():
        assert app.theme == "dark"
        assert any("unknown theme 'no-such-theme'" in n for n in app.notices)


async def test_broken_theme_file_is_reported_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text('primary = "#0178D4"\nprimay = "#fff"\n')
    (tmp_path / "mine.toml").write_text('name = "mine"\nprimary = "#884488"\n')
    app = make_app(theme="mine", theme_dirs=[tmp_path])
    async with app.run_test() as pilot:
        table = await started(app, pilot)
        assert table.row_keys == KEYS
        assert app.theme == "mine"
        assert any("broken.toml" in n and "'primay'" in n for n in app.notices)


async def test_every_bundled_theme_renders() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        table = await started(app, pilot)
        for theme in ("light", "high-contrast", "monochrome", "dark"):
            app.theme = theme
            await pilot.pause()
            assert app.current_theme.name == theme
            assert "fraud-scorer" in lines(table)[1]


async def test_mean_latency_stands_in_for_a_missing_p95() -> None:
    """TorchServe has no latency histogram: the p95 column shows the mean, marked '~'."""
    source = FakeSource()
    app = make_app(source)
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        row = RowSnapshot(
            "sentiment", None, "torchserve", "up", None, NOW - 0.5,
            {LATENCY_P95: None, LATENCY_MEAN: 51.0, THROUGHPUT: 3.0},
            {LATENCY_MEAN: (40.0, 51.0)},
        )
        source.publish(Snapshot(at=NOW, tick=2, paused=False, interval=2.0, rows=(row,)))
        await pilot.pause()
        table = app.screen.query_one(OverviewTable)
        assert "~51 ms" in table.cell_text("sentiment", "p95")
