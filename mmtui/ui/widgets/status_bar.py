"""The one-line status bar above the overview: health summary, data age, pause state."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import Reactive, reactive
from textual.widget import Widget


class StatusBar(Widget):
    """``mmtui  3/4 up · data 2s old · every 2s  PAUSED``; repaints only when its text changes."""

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $panel;
        color: $foreground;
        padding: 0 1;
    }
    StatusBar > .status-bar--title {
        text-style: bold;
        color: $primary;
    }
    StatusBar > .status-bar--alert {
        text-style: bold reverse;
        color: $warning;
    }
    """
    COMPONENT_CLASSES = {"status-bar--title", "status-bar--alert"}

    summary: reactive[str] = reactive("waiting for the first poll…")
    """Endpoints up/total, data age and poll interval."""
    paused: reactive[bool] = reactive(False)
    """Whether polling is paused."""
    problem: reactive[str] = reactive("")
    """Why the monitor stopped, when it did; empty while it runs."""
    replay: reactive[str] = reactive("")
    """Where a replay is (``REPLAY t=… (k/n)``); empty when the data is live."""

    def on_mount(self) -> None:
        # A replay's app (mmtui.ui.replay_app) has a ``replay`` reactive: every bar follows it.
        if isinstance(getattr(type(self.app), "replay", None), Reactive):
            self.watch(self.app, "replay", self._set_replay)

    def _set_replay(self, text: str) -> None:
        self.replay = text

    def render(self) -> Text:
        title = self.get_component_rich_style("status-bar--title")
        alert = self.get_component_rich_style("status-bar--alert")
        text = Text.assemble(("mmtui", title), "  ")
        if self.replay:
            text.append(f" {self.replay} ", alert)
            text.append("  ")
        text.append(self.summary)
        if self.paused:
            text.append("  ")
            text.append(" PAUSED ", alert)
        if self.problem:
            text.append("  ")
            text.append(f" {self.problem} ", alert)
        return text
