"""What keeps the idle TUI cheap, tested as behaviour: keys during an ingest, ageing figures
that wake the screen only when due, a footer that is not rebuilt for nothing, the rows a snapshot
changed repainted in one refresh, rows drawn to their width, and partial updates that start at
the first changed cell."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Iterator

import pytest
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual._compositor import ChopsUpdate
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets._footer import FooterKey

from mmtui.config import parse_config
from mmtui.feeds.poller import ScrapeResult
from mmtui.monitor import Monitor, Processed
from mmtui.names import THROUGHPUT
from mmtui.sim.server import SimServer
from mmtui.snapshot import RowSnapshot, Snapshot
from mmtui.ui.app import MmtuiApp
from mmtui.ui.partial_updates import render_segments
from mmtui.ui.screens.overview import OverviewScreen
from mmtui.ui.widgets.cursor_table import style_runs
from mmtui.ui.widgets.overview_table import OverviewTable
from tests.pinned import NOW, Clock, FakeSource


@pytest.fixture
def sim() -> Iterator[SimServer]:
    server = SimServer(scenario="calm", seed=3)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_keys_are_handled_while_a_poll_is_being_ingested(sim: SimServer) -> None:
    """An ingest (parse, derive) held in its worker thread does not hold up the keys."""
    monitor = Monitor(parse_config(sim.config_toml(interval="0.5s"), env={}))
    hold = threading.Event()
    held = threading.Event()
    release = threading.Event()
    finished = threading.Event()
    ingest = monitor.ingest

    def held_ingest(result: ScrapeResult) -> Processed:
        if hold.is_set() and not held.is_set():
            held.set()
            release.wait(5)  # on the event loop, this would hold the keys up as long
            finished.set()
        return ingest(result)

    monitor.ingest = held_ingest  # type: ignore[method-assign]
    app = MmtuiApp(monitor)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(500):  # the first cycle's figures
            snap = app.latest_snapshot
            if snap is not None and snap.rows and all(r.status == "up" for r in snap.rows):
                break
            await pilot.pause(0.01)
        else:
            raise AssertionError("no figures from the simulator")
        hold.set()
        assert await asyncio.to_thread(held.wait, 10), "no poll reached its ingest"
        try:
            table = app.screen.query_one(OverviewTable)
            before = table.cursor_row
            await pilot.press("down")
            assert table.cursor_row == before + 1
            await pilot.press("p")
            assert monitor.paused and app.paused
            assert not finished.is_set()  # handled while the ingest is still held
        finally:
            release.set()


def row(key: str, age: float, status: str = "up") -> RowSnapshot:
    return RowSnapshot(key, None, "vllm", status, None, NOW - age, {})


async def test_ageing_figures_are_due_only_when_their_text_changes() -> None:
    source = FakeSource()
    app = MmtuiApp(source, clock=Clock())
    async with app.run_test(size=(120, 40)) as pilot:
        await source.started.wait()
        table = app.screen.query_one(OverviewTable)
        fresh = Snapshot(NOW, 1, False, 2.0, (row("a", 0.5), row("b", 1.0)))
        source.publish(fresh)
        await pilot.pause()
        assert table.changes_in() == pytest.approx(2.0)  # "<3s" until b is 3 s old
        ageing = Snapshot(NOW, 2, False, 2.0, (row("a", 0.5), row("b", 14.25)))
        source.publish(ageing)
        await pilot.pause()
        assert table.changes_in() == pytest.approx(0.75)  # b's "14s" reads "15s" then
        assert table.cell_text("b", "age").strip() == "14s"
        idle = Snapshot(NOW, 3, False, 2.0, (RowSnapshot("c", None, "vllm", "down", "x", None,
                                                          {}),))
        source.publish(idle)
        await pilot.pause()
        assert table.changes_in() is None  # nothing to age: no tick at all


async def test_the_footer_is_rebuilt_only_when_its_keys_change() -> None:
    source = FakeSource()
    app = MmtuiApp(source, clock=Clock())
    async with app.run_test(size=(120, 40)) as pilot:
        await source.started.wait()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, OverviewScreen)
        keys = list(screen.query(FooterKey))
        assert "Charts" in {k.description for k in keys}
        screen.refresh_bindings()  # what a focus change or a resumed screen does
        await pilot.pause()
        await pilot.pause()
        assert list(screen.query(FooterKey)) == keys  # the same widgets: not rebuilt
        await pilot.press("tab")  # the alert pane: its keys differ
        await pilot.pause()
        descriptions = {k.description for k in screen.query(FooterKey)}
        assert "Alert detail" in descriptions
        assert list(screen.query(FooterKey)) != keys


async def test_a_snapshot_repaints_the_rows_it_changed_in_one_refresh() -> None:
    """Every poll changes most rows' figures: their spans go to Textual in one refresh (each call
    clears the table's caches and asks for a repaint again), and only theirs."""
    source = FakeSource()
    app = MmtuiApp(source, clock=Clock())
    async with app.run_test(size=(120, 40)) as pilot:
        await source.started.wait()
        rows = [RowSnapshot(f"ep{i}", None, "vllm", "up", None, NOW - 1, {THROUGHPUT: 1.0})
                for i in range(5)]
        source.publish(Snapshot(NOW, 1, False, 2.0, tuple(rows)))
        await pilot.pause()
        table = app.screen.query_one(OverviewTable)
        calls: list[tuple[Region, ...]] = []
        refresh = table.refresh

        def counted(*regions: Region, **kwargs: bool) -> OverviewTable:
            calls.append(regions)
            return refresh(*regions, **kwargs)

        table.refresh = counted  # type: ignore[method-assign]
        busier = [dataclasses.replace(r, metrics={THROUGHPUT: 2.0}) for r in rows[:4]]
        source.publish(Snapshot(NOW, 2, False, 2.0, (*busier, rows[4])))
        await pilot.pause()
        assert [sorted(r.y for r in regions) for regions in calls] == [[1, 2, 3, 4]]
        assert "2.0/s" in table.cell_text("ep3", "rps")
        assert "1.0/s" in table.cell_text("ep4", "rps")


def test_rows_of_known_width_match_measured_ones() -> None:
    a, b = Style(color="red"), Style(color="blue")
    cells = [("↑", a), ("name    ", b), ("12 ms", b), ("ok", a)]
    used = sum(len(text) + 2 for text, _ in cells)
    for width in (used - 5, used - 1, used, used + 7):
        measured = style_runs(cells, width, b)
        known = style_runs(cells, width, b, used=used)
        assert list(known) == list(measured)
        assert known.cell_length == measured.cell_length == width


def plain(update: ChopsUpdate) -> str:
    return render_segments(update, Console(color_system=None, force_terminal=True))


def test_a_partial_update_starts_at_the_first_changed_cell() -> None:
    line = {0: Strip([Segment(" ↑  fraud-scorer   12 ms   4.0/s ")]), 34: Strip([Segment("|x")])}
    update = ChopsUpdate([line], [(0, 19, 33)], [[34, 36]])
    assert plain(update) == "\x1b[1;20H12 ms   4.0/s "  # Textual's own: from column 1


def test_a_partial_update_never_starts_inside_a_wide_character() -> None:
    line = {0: Strip([Segment(" 漢字 12 ms ")])}
    update = ChopsUpdate([line], [(0, 2, 11)], [[12]])  # cell 2 is 漢's right half
    assert plain(update) == "\x1b[1;2H漢字 12 ms"
