"""App-level keys that move between views: `3` drift (of the highlighted endpoint), `1` overview."""

from __future__ import annotations

from mmtui.ui.screens.drift import DriftScreen
from mmtui.ui.screens.endpoint import EndpointScreen
from mmtui.ui.screens.histogram import HistogramScreen
from mmtui.ui.screens.overview import OverviewScreen
from tests import drift_samples as samples
from tests.pinned import FakeSource
from tests.test_ui_drift import make_app


async def test_3_opens_drift_of_the_highlighted_endpoint_and_1_goes_back() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        source = app.source
        assert isinstance(source, FakeSource)
        await source.started.wait()
        source.publish(samples.fleet())
        await pilot.pause()
        assert app.latest_snapshot is not None
        await pilot.press("3")  # fraud-scorer is highlighted and has records
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DriftScreen)
        assert screen.endpoint == "fraud-scorer"
        await pilot.press("enter")  # a feature's histogram, two screens deep
        await pilot.pause()
        assert isinstance(app.screen, HistogramScreen)
        await pilot.press("1")
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)
        assert len(app.screen_stack) == 1


async def test_3_on_an_endpoint_without_records_opens_the_chooser() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        source = app.source
        assert isinstance(source, FakeSource)
        await source.started.wait()
        source.publish(samples.fleet())
        await pilot.pause()
        await pilot.press("end")  # the last row has no records feed
        await pilot.press("3")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DriftScreen)
        assert screen.endpoint is None
        await pilot.press("enter")  # choose the first endpoint in the list
        await pilot.pause()
        assert isinstance(app.screen, DriftScreen) and app.screen.endpoint is not None


async def test_enter_on_a_row_opens_its_charts_and_esc_returns() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        source = app.source
        assert isinstance(source, FakeSource)
        await source.started.wait()
        source.publish(samples.fleet())
        await pilot.pause()
        await pilot.press("down", "enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, EndpointScreen)
        assert screen.endpoint == samples.fleet().rows[1].endpoint
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)


async def test_2_opens_the_alerts_console_and_1_returns() -> None:
    from mmtui.ui.screens.alerts import AlertsScreen

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        source = app.source
        assert isinstance(source, FakeSource)
        await source.started.wait()
        source.publish(samples.fleet())
        await pilot.pause()
        await pilot.press("2")
        await pilot.pause()
        assert isinstance(app.screen, AlertsScreen)
        await pilot.press("1")
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)
