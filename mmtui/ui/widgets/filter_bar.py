"""The ``/`` filter: an input over a table whose text keeps the rows that contain it.

Matching is a case-blind substring test; a leading ``!`` keeps the rows that do *not* contain
the rest. ``enter`` keeps the filter and returns to the table, ``esc`` clears it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input

T = TypeVar("T")


def matches(text: str, query: str) -> bool:
    """Whether a row whose text is ``text`` passes the filter ``query``.

    >>> matches("fraud-scorer p95", "FRAUD"), matches("fraud-scorer", "!fraud"), matches("x", "")
    (True, False, True)
    >>> matches("ranker", "!fraud"), matches("a", "!")
    (True, True)
    """
    invert = query.startswith("!")
    needle = (query[1:] if invert else query).casefold()
    if not needle:
        return True
    return (needle in text.casefold()) != invert


def filter_items(items: Iterable[T], query: str, text_of: Callable[[T], str]) -> list[T]:
    """The ``items`` whose text passes ``query``, in their order."""
    return [item for item in items if matches(text_of(item), query)]


class FilterBar(Input):
    """Hidden until :meth:`open`; posts :class:`FilterBar.QueryChanged` as the query changes."""

    BINDINGS = [
        Binding("escape", "clear", "Clear filter"),
        Binding("enter", "done", "Keep filter", show=False),
    ]
    DEFAULT_CSS = """
    FilterBar {
        dock: bottom;
        display: none;
        height: 3;
        border: tall $accent;
        &.-open { display: block; }
    }
    """

    @dataclass
    class QueryChanged(Message):
        """The filter's query changed (empty: no filter)."""

        query: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="filter rows (! inverts) · enter keeps · esc clears", id=id)
        self._return_to: str | None = None
        self.query_text = ""
        """The query in force."""

    def open(self, return_to: str | None = None) -> None:
        """Show the bar and focus it; ``return_to`` is the id of the widget to refocus after."""
        self._return_to = return_to
        self.add_class("-open")
        self.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._set(event.value)

    def action_done(self) -> None:
        if not self.query_text:
            self.remove_class("-open")
        self._refocus()

    def action_clear(self) -> None:
        self.value = ""
        self._set("")
        self.remove_class("-open")
        self._refocus()

    def _set(self, query: str) -> None:
        if query != self.query_text:
            self.query_text = query
            self.post_message(self.QueryChanged(query))

    def _refocus(self) -> None:
        if self._return_to is not None:
            self.screen.query_one(f"#{self._return_to}").focus()
