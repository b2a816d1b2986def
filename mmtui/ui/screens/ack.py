"""The ack and silence prompts behind the ``a`` and ``s`` keys.

They are small modal screens: ``enter`` confirms, ``esc`` cancels, and a bad expiry or duration
is said in the prompt. What runs after a confirmed prompt is :mod:`mmtui.ui.alert_actions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static

from mmtui.alerts.state import Alert, Matcher
from mmtui.config import parse_duration

SILENCE_CHOICES = ("15m", "1h", "4h")
"""Silence durations offered; the last option of the list takes a typed one."""
_TYPED = "typed…"


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
