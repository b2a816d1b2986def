"""The key help: every active binding, taken from the bindings themselves."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from mmtui.snapshot import STATUS_DOWN, STATUS_ERROR, STATUS_PENDING, STATUS_STALE, STATUS_UP
from mmtui.ui.draw import format_status

LEGEND = "   ".join(
    format_status(s) for s in (STATUS_UP, STATUS_DOWN, STATUS_ERROR, STATUS_STALE, STATUS_PENDING)
)


class HelpScreen(ModalScreen[None]):
    """A modal listing ``(keys, what they do)`` pairs and the status glyphs."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", show=False),
    ]
    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > VerticalScroll {
        width: auto;
        max-width: 90%;
        height: auto;
        max-height: 90%;
        padding: 1 2;
        border: round $primary;
        background: $surface;
    }
    HelpScreen Static {
        width: auto;
    }
    """

    def __init__(self, keys: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self._keys = tuple(keys)

    def compose(self) -> ComposeResult:
        width = max((len(key) for key, _ in self._keys), default=0)
        lines = Text()
        for key, description in self._keys:
            lines.append(key.ljust(width + 2), "bold")
            lines.append(f"{description}\n")
        lines.append(f"\nStatus  {LEGEND}")
        with VerticalScroll() as scroll:
            scroll.border_title = "Keys"
            scroll.border_subtitle = "esc closes"
            yield Static(lines, id="keys")
