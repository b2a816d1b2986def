"""The ``a``, ``u`` and ``s`` keys, once for every screen that shows alerts.

A screen mixes in :class:`AlertKeys`, binds :data:`ALERT_BINDINGS` and says which alert the keys
act on (:meth:`AlertKeys.alert_target`). :class:`AlertActions` then does the rest the same way
everywhere: refuse in read-only mode, prompt, run the call through the alert service in a
worker thread (its calls are blocking SQLite writes), show an ack at once (optimistic; the next
snapshot that agrees replaces the guess, a failure undoes it) and say the outcome in a notice.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, Final, Protocol

from textual.app import App
from textual.binding import Binding
from textual.screen import Screen

from mmtui.alerts.identity import whoami
from mmtui.alerts.state import Ack, Alert, Matcher, Silence
from mmtui.alerts.store import Event
from mmtui.ui.keymap import binding
from mmtui.ui.screens.ack import AckPrompt, AckRequest, SilencePrompt, SilenceRequest

ACTIONS: Final = "alert-actions"
"""Worker group of the service calls."""
ALERT_BINDINGS: Final[list[Binding]] = [binding(key) for key in ("ack", "unack", "silence")]
"""The keys, from the one key table (so ``[keys]`` remaps reach every screen)."""
READONLY: Final = "read-only: acks and silences are disabled (--readonly)"


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


def is_readonly(app: App[Any]) -> bool:
    """Whether the app runs with ``--readonly``: every change of state is refused."""
    return bool(getattr(app, "readonly", False))


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
        if is_readonly(self._screen.app):
            self._notify(READONLY, "warning")
            return None
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


class AlertKeys:
    """The key actions of a screen that mixes this in; :attr:`actions` must be set in its
    ``__init__`` and :meth:`alert_target` say which alert the keys act on."""

    actions: AlertActions

    def alert_target(self) -> Alert | None:
        """The alert ``a`` and ``s`` act on (the highlighted one, usually)."""
        raise NotImplementedError

    def unack_target(self) -> Alert | None:
        """The alert ``u`` acts on; :meth:`alert_target` unless the screen knows better."""
        return self.alert_target()

    def action_ack(self) -> None:
        self.actions.ack(self.alert_target())

    def action_unack(self) -> None:
        self.actions.unack(self.unack_target())

    def action_silence(self) -> None:
        self.actions.silence(self.alert_target())
