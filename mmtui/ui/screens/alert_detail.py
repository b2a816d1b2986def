"""One alert: its state, annotations (summary, runbook URL) and its timeline from the event log.

The timeline is read from the store in a thread worker, again whenever the alert's state or ack
changes. ``c`` copies the runbook URL to the clipboard (OSC 52, through the terminal).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.signal import Signal
from textual.widgets import Footer, Static

from mmtui.alerts.state import Alert, iso_time
from mmtui.alerts.store import Event
from mmtui.snapshot import Snapshot
from mmtui.ui.alert_actions import ALERT_BINDINGS, AlertActions, AlertKeys, alert_service
from mmtui.ui.draw import format_age
from mmtui.ui.keymap import binding
from mmtui.ui.widgets.alert_pane import state_text, subject
from mmtui.ui.widgets.status_bar import StatusBar

AGE_TICK = 1.0
TIMELINE = "timeline"
"""Worker group of the event-log reads."""


def _figure(x: object) -> str:
    if isinstance(x, int | float) and math.isfinite(x):
        return f"{x:.4g}"
    return "—"


def format_event(event: Event) -> str:
    """One timeline line: ``2024-05-01T12:00:03Z  pending → firing  value 0.12 (threshold 0.05)``.
    """
    d = event.detail
    who = f" by {event.who}" if event.who else ""
    if event.kind == "transition":
        text = f"{d.get('from')} → {d.get('to')}  value {_figure(d.get('value'))}" \
               f" (threshold {_figure(d.get('threshold'))})"
    elif event.kind == "ack":
        text = f"acknowledged{who}"
        if d.get("note"):
            text += f": {d['note']}"
        until = d.get("until")
        if isinstance(until, int | float):
            text += f" (until {iso_time(until)})"
    elif event.kind == "note":
        text = f"note{who}: {d.get('text', '')}"
    elif event.kind == "notification":
        outcome = "sent" if d.get("ok") else f"failed: {d.get('error') or 'unknown error'}"
        text = f"notification {d.get('kind', '')} via {d.get('channel', '?')} {outcome}"
    elif event.kind == "ack_cleared":
        text = f"ack cleared ({d.get('because', '')})"
    else:
        text = event.kind.replace("_", " ") + who
    return f"{iso_time(event.at)}  {text}"


def describe_alert(alert: Alert, now: float) -> str:
    """The head of the detail screen: what, state, value against threshold, ack."""
    lines = [
        f"{alert.id}  {subject(alert)}",
        f"{alert.severity} · {state_text(alert)} for {format_age(now - alert.since)}"
        f" · value {_figure(alert.value)} (threshold {_figure(alert.threshold)})",
    ]
    if alert.ack is not None:
        note = f": {alert.ack.note}" if alert.ack.note else ""
        lines.append(f"acknowledged by {alert.ack.by} at {iso_time(alert.ack.at)}{note}")
    if alert.silenced_by:
        lines.append("silenced by " + ", ".join(s[:8] for s in alert.silenced_by))
    if alert.inhibited:
        lines.append("inhibited: its endpoint is down")
    if alert.flapping:
        lines.append("flapping")
    return "\n".join(lines)


def describe_annotations(alert: Alert) -> str:
    summary = alert.annotations.get("summary", "")
    runbook = alert.annotations.get("runbook_url", "")
    lines = [summary] if summary else []
    lines.append(f"runbook: {runbook}  (c copies it)" if runbook else "runbook: none")
    return "\n".join(lines)


class AlertDetailScreen(AlertKeys, Screen[None]):
    """An alert's state, annotations and timeline, live; ``a``/``u``/``s`` as elsewhere."""

    BINDINGS = [binding("back"), binding("copy_runbook"), *ALERT_BINDINGS]
    DEFAULT_CSS = """
    AlertDetailScreen #head, AlertDetailScreen #annotations {
        height: auto; padding: 0 1; background: $panel;
    }
    AlertDetailScreen #annotations { color: $text-muted; }
    AlertDetailScreen #timeline-box { height: 1fr; }
    AlertDetailScreen #timeline { padding: 0 1; }
    """

    def __init__(
        self,
        snapshots: Signal[Snapshot],
        alert_id: str,
        *,
        latest: Snapshot | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.alert_id = alert_id
        self._snapshots = snapshots
        self._snapshot = latest
        self._clock = clock
        self._alert: Alert | None = None
        self._loaded_for: tuple[str, bool] | None = None
        self.actions = AlertActions(self, self._show)
        self.events: list[Event] = []
        """The timeline last read from the store."""

    @property
    def alert(self) -> Alert | None:
        """The alert as last seen (with an unconfirmed ack applied)."""
        return self._alert

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static("", id="head", markup=False)
        yield Static("", id="annotations", markup=False)
        with VerticalScroll(id="timeline-box"):
            yield Static("timeline: loading…", id="timeline", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._snapshots.subscribe(self, self.show_snapshot, immediate=True)
        self.set_interval(AGE_TICK, self._show)
        self._show()

    def show_snapshot(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot
        self._show()

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def action_copy_runbook(self) -> None:
        url = self._alert.annotations.get("runbook_url") if self._alert is not None else None
        if not url:
            self.app.notify("this alert has no runbook URL", severity="warning", markup=False)
            return
        self.app.copy_to_clipboard(url)
        self.app.notify(f"copied {url}", markup=False)

    def alert_target(self) -> Alert | None:
        return self._alert

    def _find(self, alerts: Sequence[Alert]) -> Alert | None:
        key = self.alert_id
        return next((a for a in alerts if a.fingerprint.startswith(key)), None)

    def _show(self) -> None:
        alerts = self._snapshot.alerts if self._snapshot is not None else ()
        found = self._find(self.actions.view(alerts))
        if found is not None:
            self._alert = found
        alert = self._alert
        now = self._clock()
        status = self.query_one(StatusBar)
        status.summary = f"alert {self.alert_id}"
        if alert is None:
            self._set("#head", f"alert {self.alert_id} is not in the latest snapshot")
            self._set("#annotations", "")
            self._set("#timeline", "")
            return
        gone = "" if found is not None else "\n(no longer reported: shown as last seen)"
        self._set("#head", describe_alert(alert, now) + gone)
        self._set("#annotations", describe_annotations(alert))
        version = (alert.state, alert.ack is not None)
        if version != self._loaded_for:
            self._loaded_for = version
            self._load_timeline(alert.fingerprint)

    def _load_timeline(self, fingerprint: str) -> None:
        service = alert_service(self)
        if service is None:
            self._set("#timeline", "timeline: alerts are not configured (no event log)")
            return
        store = service.store

        async def work() -> None:
            try:
                events = await asyncio.to_thread(store.events, fingerprint)
            except Exception as exc:  # StoreError: one line on the screen
                self._set("#timeline", f"timeline: {exc}")
            else:
                self._show_timeline(events)

        self.run_worker(work(), exit_on_error=False, group=TIMELINE, exclusive=True)

    def _show_timeline(self, events: list[Event]) -> None:
        self.events = events
        lines = [format_event(e) for e in events] or ["no events recorded yet"]
        self._set("#timeline", "timeline\n" + "\n".join(lines))

    def _set(self, selector: str, text: str) -> None:
        widget = self.query_one(selector, Static)
        if str(widget.content) != text:
            widget.update(text)
