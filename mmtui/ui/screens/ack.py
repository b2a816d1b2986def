"""Ack and silence prompts, and the actions behind the ``a``, ``u`` and ``s`` keys.

The prompts are small modal screens: ``enter`` confirms, ``esc`` cancels, and a bad expiry or
duration is said in the prompt. :class:`AlertActions` runs the chosen action through the alert
service in a thread worker (its calls are blocking SQLite writes) and shows an ack at once
(optimistic); the next snapshot that agrees replaces the guess.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, OptionList, Static

from mmtui.alerts.identity import whoami
from mmtui.alerts.state import Ack, Alert, Matcher, Silence
from mmtui.alerts.store import Event
from mmtui.config import parse_duration

SILENCE_CHOICES = ("15m", "1h", "4h")
"""Silence durations offered; the last option of the list takes a typed one."""
_TYPED = "typed…"
ACTIONS = "alert-actions"
"""Worker group of the service calls."""


class EventLog(Protocol):
    def events(self, ref: str | None = None, *, after: int = 0, limit: int | None = None
               ) -> list[Event]: ...


class AlertIntent(Protocol):
    """What the keys need of :class:`~mmtui.alerts.service.AlertService` (blocking calls)."""

    @property
    def store(self) -> EventLog: ...

    def ack(self, ref: str, note: str | None = None, expires: float | None = None,
            who: str | None = None) -> Alert: ...

    def unack(self, ref: str, who: str | None = None) -> Alert: ...

    def silence(self, matchers: Sequence[Matcher | str], duration: float, reason: str,
                who: str | None = None) -> Silence: ...


def alert_service(screen: Screen[Any]) -> AlertIntent | None:
    """The source's alert service (``Monitor.alerts``), or None when alerts are not set up."""
    service: AlertIntent | None = getattr(getattr(screen.app, "source", None), "alerts", None)
    return service


def parse_positive(text: str, what: str) -> float:
    """Seconds from ``30m``/``2h``/``90``; ValueError naming ``what`` otherwise."""
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None
    if seconds <= 0:
        raise ValueError(f"{what}: expected a duration > 0 like 30m or 2h, got {text!r}")
    return seconds


@dataclass(frozen=True, slots=True)
class AckRequest:
    note: str | None
    expires: float | None
    """Seconds from now; None until the alert resolves."""


@dataclass(frozen=True, slots=True)
class SilenceRequest:
    matchers: tuple[Matcher, ...]
    duration: float
    reason: str


def default_matchers(alert: Alert) -> tuple[Matcher, ...]:
    """``label="value"`` for each of the alert's identity labels."""
    return tuple(Matcher(k, "=", v) for k, v in sorted(alert.labels.items()))


class _Prompt(ModalScreen[Any]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    _Prompt { align: center middle; }
    _Prompt > Vertical {
        width: 64; max-width: 100%; height: auto; padding: 0 1;
        border: round $primary; background: $surface;
    }
    _Prompt .error { color: $error; text-style: bold; height: auto; }
    _Prompt .hint { color: $text-muted; }
    _Prompt Input { margin: 0; }
    _Prompt OptionList { height: auto; max-height: 5; }
    """

    def action_cancel(self) -> None:
        self.dismiss(None)

    def show_error(self, text: str) -> None:
        self.query_one(".error", Static).update(text)


class AckPrompt(_Prompt):
    """Optional note and expiry; ``enter`` acknowledges, ``esc`` cancels."""

    def __init__(self, alert: Alert) -> None:
        super().__init__()
        self.alert = alert

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Acknowledge {self.alert.id}  {self.alert.rule} · "
                         f"{self.alert.endpoint}", markup=False)
            yield Input(placeholder="note (optional)", id="note")
            yield Input(placeholder="expires after, e.g. 30m or 2h (optional)", id="expiry")
            yield Static("enter acknowledges · tab next field · esc cancels", classes="hint")
            yield Static("", classes="error", markup=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        note = self.query_one("#note", Input).value.strip() or None
        expiry = self.query_one("#expiry", Input).value.strip()
        try:
            expires = parse_positive(expiry, "expiry") if expiry else None
        except ValueError as exc:
            self.show_error(str(exc))
            return
        self.dismiss(AckRequest(note, expires))


class SilencePrompt(_Prompt):
    """A duration (15m, 1h, 4h or typed) and a reason; matchers are the alert's labels."""

    def __init__(self, alert: Alert) -> None:
        super().__init__()
        self.alert = alert
        self.matchers = default_matchers(alert)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Silence {self.alert.id}", markup=False)
            yield Static("matching " + ", ".join(map(str, self.matchers)), markup=False,
                         classes="hint")
            yield OptionList(*SILENCE_CHOICES, _TYPED, id="duration")
            yield Input(placeholder="typed duration, e.g. 90m", id="typed")
            yield Input(placeholder="reason (required)", id="reason")
            yield Static("enter silences · tab next field · esc cancels", classes="hint")
            yield Static("", classes="error", markup=False)

    def on_mount(self) -> None:
        self.query_one(OptionList).highlighted = 1

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        target = "#typed" if event.option_index == len(SILENCE_CHOICES) else "#reason"
        self.query_one(target, Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            duration = self._duration()
        except ValueError as exc:
            self.show_error(str(exc))
            return
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            self.show_error("a silence needs a reason")
            self.query_one("#reason", Input).focus()
            return
        self.dismiss(SilenceRequest(self.matchers, duration, reason))

    def _duration(self) -> float:
        index = self.query_one(OptionList).highlighted
        if index is not None and index < len(SILENCE_CHOICES):
            return parse_duration(SILENCE_CHOICES[index])
        return parse_positive(self.query_one("#typed", Input).value.strip(), "duration")


class AlertActions:
    """The ``a``/``u``/``s`` actions of one screen, with its optimistic acks.

    Parameters
    ----------
    screen
        The screen that owns the keys; prompts and workers run on it.
    changed
        Called (on the event loop) when the optimistic view changed and should be redrawn.
    """

    def __init__(self, screen: Screen[Any], changed: Callable[[], None]) -> None:
        self._screen = screen
        self._changed = changed
        self._guess: dict[str, Ack | None] = {}

    def view(self, alerts: Sequence[Alert]) -> tuple[Alert, ...]:
        """``alerts`` with the acks not yet confirmed applied; confirmed guesses are dropped."""
        out = []
        for alert in alerts:
            if alert.fingerprint in self._guess:
                ack = self._guess[alert.fingerprint]
                if (ack is None) == (alert.ack is None) or alert.state == "resolved":
                    del self._guess[alert.fingerprint]
                else:
                    alert = dataclasses.replace(alert, ack=ack)
            out.append(alert)
        return tuple(out)

    def ack(self, alert: Alert | None) -> None:
        """Prompt for a note and expiry, then acknowledge ``alert``."""
        if (service := self._service(alert, "acknowledge")) is None or alert is None:
            return
        if alert.state not in ("firing", "pending"):
            self._notify(f"alert {alert.id} is {alert.state}: nothing to acknowledge", "warning")
            return

        def confirmed(request: AckRequest | None) -> None:
            if request is None:
                return
            who = whoami()
            clock = getattr(self._screen.app, "clock", None)
            now = clock() if callable(clock) else 0.0
            self._guess_ack(alert, Ack(who, now, request.note, None))
            self._run(lambda: service.ack(alert.fingerprint, request.note, request.expires, who),
                      f"acknowledged {alert.id}", alert)

        self._screen.app.push_screen(AckPrompt(alert), confirmed)

    def unack(self, alert: Alert | None) -> None:
        """Withdraw ``alert``'s ack."""
        if (service := self._service(alert, "unacknowledge")) is None or alert is None:
            return
        if alert.ack is None:
            self._notify(f"alert {alert.id} is not acknowledged", "warning")
            return
        self._guess_ack(alert, None)
        who = whoami()
        self._run(lambda: service.unack(alert.fingerprint, who), f"unacknowledged {alert.id}",
                  alert)

    def silence(self, alert: Alert | None) -> None:
        """Prompt for a duration and reason, then silence alerts with ``alert``'s labels."""
        if (service := self._service(alert, "silence")) is None or alert is None:
            return

        def confirmed(request: SilenceRequest | None) -> None:
            if request is None:
                return
            who = whoami()
            self._run(
                lambda: service.silence(request.matchers, request.duration, request.reason, who),
                f"silenced {alert.id}", None,
            )

        self._screen.app.push_screen(SilencePrompt(alert), confirmed)

    def _service(self, alert: Alert | None, verb: str) -> AlertIntent | None:
        service = alert_service(self._screen)
        if service is None:
            self._notify(f"cannot {verb}: alerts are not configured", "warning")
            return None
        if alert is None:
            self._notify(f"no alert selected to {verb}", "warning")
            return None
        return service

    def _guess_ack(self, alert: Alert, ack: Ack | None) -> None:
        self._guess[alert.fingerprint] = ack
        self._changed()

    def _run(self, call: Callable[[], object], done: str, alert: Alert | None) -> None:
        """``call`` in a worker thread; report the outcome, undo the guess if it failed."""

        async def work() -> None:
            try:
                await asyncio.to_thread(call)
            except Exception as exc:  # StoreError, ValueError: one line to the user
                if alert is not None and alert.fingerprint in self._guess:
                    del self._guess[alert.fingerprint]
                    self._changed()
                self._notify(str(exc) or type(exc).__name__, "error")
            else:
                self._notify(done, "information")

        self._screen.run_worker(work(), exit_on_error=False, group=ACTIONS)

    def _notify(self, text: str, severity: Any) -> None:
        self._screen.app.notify(text, title="Alerts", severity=severity, markup=False)
