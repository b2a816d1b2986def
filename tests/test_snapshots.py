"""SVG snapshots of whole screens, on the pinned fleet of tests/pinned.py at its fixed clock.

After an intended change to what a screen shows, regenerate the baselines (one SVG per test in
tests/__snapshots__/test_snapshots/) and look at them before committing:

    make snapshots    # .venv/bin/python -m pytest tests/test_snapshots.py --snapshot-update

A mismatch fails the test and writes snapshot_report.html, the old and new screens side by side.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from mmtui.ui.app import MmtuiApp
from mmtui.ui.screens.endpoint import EndpointScreen
from tests.pinned import PinnedSource, pinned_app, until_shown

LARGE = (120, 40)
SMALL = (80, 24)

Compare = Callable[..., bool]
"""The ``snap_compare`` fixture of pytest-textual-snapshot."""


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MmtuiApp]:
    monkeypatch.delenv("NO_COLOR", raising=False)  # the app reads it: colour on, always
    app = pinned_app(tmp_path / "state.db")
    yield app
    assert isinstance(app.source, PinnedSource)
    app.source.close()


def then(*keys: str, until: Callable[[MmtuiApp], bool] | None = None
         ) -> Callable[[Pilot[int]], Awaitable[None]]:
    """Show the pinned snapshot, press ``keys``, then wait for ``until`` (a worker's result)."""

    async def run_before(pilot: Pilot[int]) -> None:
        app = pilot.app
        assert isinstance(app, MmtuiApp)
        await until_shown(pilot)
        await pilot.press(*keys)
        for _ in range(500):
            await pilot.pause(0.01)
            if until is None or until(app):
                break
        else:
            raise AssertionError("the screen never settled")
        await pilot.pause()

    return run_before


def charts_drawn(app: MmtuiApp) -> bool:
    screen = app.screen
    return isinstance(screen, EndpointScreen) and screen.settled


def rules_loaded(app: MmtuiApp) -> bool:
    """The console's read of the stored overrides (a thread worker) is done."""
    return not any(w.group == "rules-store" and not w.is_finished for w in app.workers)


def test_overview_with_alert_pane(snap_compare: Compare, app: MmtuiApp) -> None:
    """Eight rows (a multi-model endpoint, one down with its reason, one stale) beside the
    alert pane: critical firing first, an acknowledged one, an SLO bound, a pending one."""
    assert snap_compare(app, terminal_size=LARGE, run_before=then())


def test_overview_small_terminal(snap_compare: Compare, app: MmtuiApp) -> None:
    """80×24: sparklines in the table, the alert pane under it."""
    assert snap_compare(app, terminal_size=SMALL, run_before=then())


def test_alerts_console(snap_compare: Compare, app: MmtuiApp) -> None:
    """``2``: every alert, resolved included; the cursor on the acknowledged one shows its note."""
    assert snap_compare(app, terminal_size=LARGE, run_before=then("2", "down", "down"))


def test_drift_table(snap_compare: Compare, app: MmtuiApp) -> None:
    """``3`` on fraud-scorer: a real drift result of a seeded window against the shipped
    validation data, quality against the baseline's, the records feed's counts."""
    assert snap_compare(app, terminal_size=LARGE, run_before=then("3"))


def test_endpoint_charts(snap_compare: Compare, app: MmtuiApp) -> None:
    """``enter`` on chat-llm: p95 latency climbing through the critical rule's line."""
    run_before = then("down", "enter", until=charts_drawn)
    assert snap_compare(app, terminal_size=LARGE, run_before=run_before)


def test_rules_console(snap_compare: Compare, app: MmtuiApp) -> None:
    """``4``: the shipped rules with their states and values; the highlighted rule's stored
    override says who changed it and when."""
    assert snap_compare(app, terminal_size=LARGE, run_before=then("4", until=rules_loaded))
