"""Pilot tests of the alert pane, the ack/silence prompts, the alerts console and alert detail."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from mmtui.alerts.state import Ack, Alert, Matcher, Silence, fingerprint
from mmtui.alerts.store import Event, StoreError
from mmtui.snapshot import Snapshot
from mmtui.ui.alert_actions import ACTIONS, READONLY
from mmtui.ui.app import MmtuiApp
from mmtui.ui.screens.ack import AckPrompt, SilencePrompt, parse_positive
from mmtui.ui.screens.alert_detail import TIMELINE, AlertDetailScreen, format_event
from mmtui.ui.screens.alerts import AlertsScreen
from mmtui.ui.screens.overview import OverviewScreen
from mmtui.ui.widgets.alert_pane import AlertList, AlertPane, pane_rows, state_text
from mmtui.ui.widgets.overview_table import OverviewTable
from tests.pinned import NOW, Clock, FakeSource
from tests.test_ui_overview import ROWS, NotingApp

WIDE = (200, 30)
RUNBOOK = "https://runbooks.example/p95"


def make_alert(
    rule: str, endpoint: str, *, state: str = "firing", severity: str = "critical",
    age: float = 60.0, ack: Ack | None = None, silenced: tuple[str, ...] = (),
) -> Alert:
    labels = {"alertname": rule, "endpoint": endpoint}
    return Alert(
        fingerprint=fingerprint(labels), rule=rule, endpoint=endpoint, model=None, feature=None,
        metric="latency_p95_ms", severity=severity, state=state,  # type: ignore[arg-type]
        since=NOW - age, active_at=NOW - age, value=812.0, threshold=500.0, labels=labels,
        annotations={"summary": f"{rule} on {endpoint}", "runbook_url": RUNBOOK}, ack=ack,
        silenced_by=silenced,
    )


P95 = make_alert("p95 latency", "fraud-scorer", age=30.0)
ERRORS = make_alert("error rate", "ranker", severity="warning", age=300.0)
OLD_CRIT = make_alert("down", "ranker", age=900.0)
PENDING = make_alert("queue", "llm-gateway", state="pending", severity="warning", age=5.0)
ACKED = make_alert("drift", "embedder", severity="info", ack=Ack("ana@jump1", NOW - 10))
SILENCED = make_alert("errors", "embedder", severity="warning", silenced=("a1b2c3d4e5",))
RESOLVED = make_alert("cpu", "fraud-scorer", state="resolved", age=20.0)
ALERTS = (P95, ERRORS, OLD_CRIT, PENDING, ACKED, SILENCED, RESOLVED)


def snap(alerts: Sequence[Alert], tick: int = 1) -> Snapshot:
    return Snapshot(at=NOW, tick=tick, paused=False, interval=2.0, rows=ROWS,
                    alerts=tuple(alerts))


@dataclass
class FakeStore:
    events_by_ref: dict[str, list[Event]] = field(default_factory=dict)

    def events(self, ref: str | None = None, *, after: int = 0, limit: int | None = None
               ) -> list[Event]:
        assert threading.current_thread() is not threading.main_thread()
        return self.events_by_ref.get(ref or "", [])


class FakeService:
    """Records the keys' calls; each must come from a worker thread."""

    def __init__(self, *, fail: Exception | None = None) -> None:
        self.calls: list[tuple[object, ...]] = []
        self.store = FakeStore()
        self.release = threading.Event()
        self.release.set()
        self._fail = fail

    def _record(self, *call: object) -> None:
        assert threading.current_thread() is not threading.main_thread()
        self.release.wait(5)
        self.calls.append(call)
        if self._fail is not None:
            raise self._fail

    def ack(self, ref: str, note: str | None = None, expires: float | None = None,
            who: str | None = None) -> Alert:
        self._record("ack", ref, note, expires)
        return P95

    def unack(self, ref: str, who: str | None = None) -> Alert:
        self._record("unack", ref)
        return P95

    def silence(self, matchers: Sequence[Matcher | str], duration: float, reason: str,
                who: str | None = None) -> Silence:
        self._record("silence", tuple(map(str, matchers)), duration, reason)
        return Silence("s" * 16, (Matcher("endpoint", "=", "x"),), NOW, NOW + duration, "me",
                       reason, NOW)


class AlertSource(FakeSource):
    def __init__(self, service: FakeService | None) -> None:
        super().__init__()
        self.alerts = service


def make_app(service: FakeService | None = None, *, readonly: bool = False) -> NotingApp:
    return NotingApp(AlertSource(service), clock=Clock(), readonly=readonly)


async def started(app: MmtuiApp, pilot: Pilot[int], alerts: Sequence[Alert] = ALERTS) -> None:
    source = app.source
    assert isinstance(source, FakeSource)
    await source.started.wait()
    source.publish(snap(alerts))
    await pilot.pause()


async def settle(app: MmtuiApp, pilot: Pilot[int]) -> None:
    """Wait for the service calls and event-log reads (not the never-ending monitor worker)."""
    await pilot.pause()
    busy = [w for w in app.workers if w.group in (ACTIONS, TIMELINE)]
    if busy:  # an empty list would wait for every worker
        await app.workers.wait_for_complete(busy)
    await pilot.pause()


def pane_lines(app: MmtuiApp) -> list[str]:
    table = app.screen.query_one(AlertList)
    return ["".join(s.text for s in table.render_line(y)) for y in range(table.size.height)]


def pane_text(app: MmtuiApp) -> str:
    return "\n".join(pane_lines(app))


# -- pure -------------------------------------------------------------------------------------


def test_pane_rows_are_firing_and_pending_by_severity_then_age() -> None:
    keys = [row.key for row in pane_rows(ALERTS, NOW)]
    assert keys == [a.fingerprint for a in (OLD_CRIT, P95, ERRORS, SILENCED, PENDING, ACKED)]


def test_state_is_text_not_only_colour() -> None:
    assert [state_text(a) for a in (P95, PENDING, ACKED, SILENCED, RESOLVED)] == [
        "FIRING", "pending", "acked by ana", "silenced", "resolved"]


@pytest.mark.parametrize("text", ["soon", "-5m", "0", ""])
def test_bad_expiry_is_a_value_error_naming_the_field(text: str) -> None:
    with pytest.raises(ValueError, match="^expiry: "):
        parse_positive(text, "expiry")


def test_format_event_reads_like_a_log() -> None:
    event = Event(3, NOW, "transition", P95.fingerprint, None,
                  {"from": "pending", "to": "firing", "value": 812.0, "threshold": 500.0})
    assert format_event(event) == "2023-11-14T22:13:20Z  pending → firing  value 812 " \
                                  "(threshold 500)"


# -- the pane and the three-key ack -----------------------------------------------------------


async def test_pane_shows_state_in_text_and_dims_acked() -> None:
    app = make_app(FakeService())
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        lines = pane_lines(app)
        assert "CRIT" in lines[1] and "FIRING" in lines[1] and "down · ranker" in lines[1]
        assert "ack ana" in lines[6] and "silenced" in lines[4]
        assert "cpu" not in pane_text(app)  # resolved: console only
        title = str(app.screen.query_one("#alert-title", Static).content)
        assert title == "ALERTS  5 firing · 1 pending · 1 acked"


async def test_tab_a_enter_acknowledges_in_three_keys_optimistically() -> None:
    service = FakeService()
    service.release.clear()  # the store write is slow: the pane must not wait for it
    app = make_app(service)
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        await pilot.press("tab", "a", "enter")
        assert isinstance(app.screen, OverviewScreen)
        assert "ack " in pane_lines(app)[1] and service.calls == []
        service.release.set()
        await settle(app, pilot)
        assert service.calls == [("ack", OLD_CRIT.fingerprint, None, None)]
        confirmed = snap([*ALERTS[:2], make_alert("down", "ranker", age=900.0,
                                                  ack=Ack("bob@h", NOW))], tick=2)
        assert isinstance(app.source, FakeSource)
        app.source.publish(confirmed)
        await pilot.pause()
        assert "ack bob" in pane_text(app)


async def test_ack_prompt_takes_note_and_expiry_and_shows_a_bad_expiry() -> None:
    service = FakeService()
    app = make_app(service)
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        await pilot.press("tab", "a", *"rollback", "tab", *"soon", "enter")
        assert isinstance(app.screen, AckPrompt)
        assert "expiry: " in str(app.screen.query_one(".error", Static).content)
        app.screen.query_one("#expiry", Input).value = "30m"
        await pilot.press("enter")
        await settle(app, pilot)
        assert service.calls == [("ack", OLD_CRIT.fingerprint, "rollback", 1800.0)]


async def test_escape_cancels_the_ack() -> None:
    service = FakeService()
    app = make_app(service)
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        await pilot.press("tab", "a", *"oops", "escape")
        await settle(app, pilot)
        assert isinstance(app.screen, OverviewScreen)
        assert service.calls == [] and "FIRING" in pane_lines(app)[1]


async def test_a_on_the_table_acks_the_highlighted_endpoints_alert() -> None:
    service = FakeService()
    app = make_app(service)
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        assert app.screen.query_one(OverviewTable).has_focus
        await pilot.press("j")  # llm-gateway/llama-3-8b: its endpoint has a pending alert
        await pilot.press("a", "enter")
        await settle(app, pilot)
        assert service.calls == [("ack", PENDING.fingerprint, None, None)]


async def test_failed_ack_is_undone_and_reported() -> None:
    service = FakeService(fail=StoreError("alert 12345678 is resolved: nothing to acknowledge"))
    app = make_app(service)
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        await pilot.press("tab", "a", "enter")
        await settle(app, pilot)
        assert "FIRING" in pane_lines(app)[1]
        assert any("nothing to acknowledge" in n for n in app.notices)


async def test_u_unacknowledges_the_selected_alert() -> None:
    service = FakeService()
    app = make_app(service)
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        await pilot.press("tab", "end", "u")
        await settle(app, pilot)
        assert service.calls == [("unack", ACKED.fingerprint)]
        assert "acked" not in pane_lines(app)[6]


async def test_keys_say_when_alerts_are_not_configured() -> None:
    app = make_app(None)
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot, alerts=())
        title = str(app.screen.query_one("#alert-title", Static).content)
        assert "not configured" in title
        await pilot.press("a")
        assert isinstance(app.screen, OverviewScreen)
        assert any("not configured" in n for n in app.notices)


# -- silence ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("keys", "seconds"), [
    ((), 3600.0), (("up",), 900.0), (("down",), 14400.0),
    (("down", "down", "enter", *"90m"), 5400.0),
])
async def test_silence_choices(keys: tuple[str, ...], seconds: float) -> None:
    service = FakeService()
    app = make_app(service)
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        await pilot.press("tab", "s")
        assert isinstance(app.screen, SilencePrompt)
        await pilot.press(*keys)
        app.screen.query_one("#reason", Input).focus()
        await pilot.press(*"deploy", "enter")
        await settle(app, pilot)
        matchers = ('alertname="down"', 'endpoint="ranker"')
        assert service.calls == [("silence", matchers, seconds, "deploy")]


async def test_silence_needs_a_reason_and_a_valid_typed_duration() -> None:
    service = FakeService()
    app = make_app(service)
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        await pilot.press("tab", "s", "down", "down", "enter", *"later", "enter")
        assert "duration: " in str(app.screen.query_one(".error", Static).content)
        app.screen.query_one("#typed", Input).value = "2h"
        await pilot.press("enter")
        assert "needs a reason" in str(app.screen.query_one(".error", Static).content)
        await pilot.press("escape")
        await settle(app, pilot)
        assert service.calls == []


# -- the console and the detail ---------------------------------------------------------------


async def open_console(app: MmtuiApp, pilot: Pilot[int]) -> AlertsScreen:
    await started(app, pilot)
    screen = AlertsScreen(app.snapshots, latest=app.latest_snapshot, clock=app.clock)
    await app.push_screen(screen)
    await pilot.pause()
    return screen


async def test_console_lists_every_alert_and_sorts() -> None:
    app = make_app(FakeService())
    async with app.run_test(size=WIDE) as pilot:
        screen = await open_console(app, pilot)
        keys = screen.table.row_keys
        assert len(keys) == len(ALERTS) and keys[-1] == RESOLVED.fingerprint
        assert keys[:2] == [OLD_CRIT.fingerprint, P95.fingerprint]  # firing critical, by rule
        await pilot.press("o", "o")
        assert screen.table.sort == ("sev", False)
        assert screen.table.row_keys[-1] == ACKED.fingerprint  # info last
        await pilot.press("O")
        assert screen.table.row_keys[0] == ACKED.fingerprint


async def test_console_a_acks_and_enter_opens_the_detail() -> None:
    service = FakeService()
    app = make_app(service)
    async with app.run_test(size=WIDE) as pilot:
        await open_console(app, pilot)
        await pilot.press("a", "enter")
        await settle(app, pilot)
        assert service.calls == [("ack", OLD_CRIT.fingerprint, None, None)]
        await pilot.press("enter")
        assert isinstance(app.screen, AlertDetailScreen)
        assert app.screen.alert_id == OLD_CRIT.fingerprint


async def test_detail_shows_timeline_annotations_and_copies_the_runbook() -> None:
    service = FakeService()
    fp = P95.fingerprint
    service.store.events_by_ref[fp] = [
        Event(1, NOW - 30, "transition", fp, None,
              {"from": "inactive", "to": "firing", "value": 812.0, "threshold": 500.0}),
        Event(2, NOW - 20, "notification", fp, None,
              {"channel": "slack", "kind": "firing", "ok": True}),
        Event(3, NOW - 10, "ack", fp, "ana@jump1", {"note": "rolling back", "until": None}),
        Event(4, NOW - 5, "note", fp, "bob@h", {"text": "rollback done"}),
    ]
    app = make_app(service)
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        await app.push_screen(AlertDetailScreen(app.snapshots, fp, latest=app.latest_snapshot,
                                                clock=app.clock))
        await settle(app, pilot)
        timeline = str(app.screen.query_one("#timeline", Static).content)
        assert "inactive → firing  value 812 (threshold 500)" in timeline
        assert "notification firing via slack sent" in timeline
        assert "acknowledged by ana@jump1: rolling back" in timeline
        assert "note by bob@h: rollback done" in timeline
        notes = str(app.screen.query_one("#annotations", Static).content)
        assert "p95 latency on fraud-scorer" in notes and RUNBOOK in notes
        await pilot.press("c")
        assert app.clipboard == RUNBOOK
        await pilot.press("escape")
        assert isinstance(app.screen, OverviewScreen)


async def test_80x24_puts_the_pane_under_the_table() -> None:
    app = make_app(FakeService())
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        table = app.screen.query_one(OverviewTable).region
        pane = app.screen.query_one(AlertPane).region
        assert pane.y >= table.bottom and pane.width >= 78 and table.height >= 5
        assert pane.bottom <= 23
        assert "FIRING" in pane_lines(app)[1] and "down · ranker" in pane_lines(app)[1]


def test_compliance_bounds_stand_out_as_text() -> None:
    from dataclasses import replace

    from mmtui.ui.widgets.alert_pane import subject

    budget = replace(make_alert("error budget", "ranker"), compliance=True)
    assert subject(budget).startswith("SLO error budget")
    assert not subject(P95).startswith("SLO")


# -- one implementation of the keys behind every screen ---------------------------------------


async def test_readonly_refuses_the_alert_keys_on_every_screen() -> None:
    service = FakeService()
    app = make_app(service, readonly=True)
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        await pilot.press("tab", "a", "u", "s")
        assert isinstance(app.screen, OverviewScreen)
        await open_console(app, pilot)
        await pilot.press("a", "s", "enter")
        assert isinstance(app.screen, AlertDetailScreen)
        await pilot.press("a", "u", "s")
        assert isinstance(app.screen, AlertDetailScreen)  # no prompt anywhere
        await settle(app, pilot)
        assert service.calls == []
        assert app.notices.count(READONLY) == 8
        assert "FIRING" in str(app.screen.query_one("#head", Static).content)  # no guess shown


async def test_remapped_alert_keys_reach_the_pane_console_and_detail() -> None:
    service = FakeService()
    app = make_app(service)
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        app.set_keymap({"ack": "A", "silence": "S"})
        await pilot.press("tab", "a")
        assert isinstance(app.screen, OverviewScreen)  # the default key no longer acks
        await pilot.press("A")
        assert isinstance(app.screen, AckPrompt)
        await pilot.press("escape")
        await open_console(app, pilot)
        await pilot.press("S")
        assert isinstance(app.screen, SilencePrompt)
        await pilot.press("escape", "enter", "A")
        assert isinstance(app.screen, AckPrompt) and app.screen.alert == OLD_CRIT


async def test_detail_keys_act_on_the_alert_shown() -> None:
    service = FakeService()
    app = make_app(service)
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        await app.push_screen(AlertDetailScreen(app.snapshots, ACKED.fingerprint,
                                                latest=app.latest_snapshot, clock=app.clock))
        await pilot.press("a")
        assert isinstance(app.screen, AckPrompt) and app.screen.alert == ACKED
        await pilot.press("escape", "u")
        await settle(app, pilot)
        assert service.calls == [("unack", ACKED.fingerprint)]
        assert f"unacknowledged {ACKED.id}" in app.notices
        assert "acked" not in str(app.screen.query_one("#head", Static).content)
