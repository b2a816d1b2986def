"""The ``/`` filter: an input over a table whose text keeps the rows that contain it.

Matching is a case-blind substring test; a leading ``!`` keeps the rows that do *not* contain
the rest. One bar serves every filterable table of a screen, each with its own query: ``/``
opens it on the focused table, ``enter`` keeps the query and returns to the table, ``esc``
clears it. A query stays in force across snapshots until cleared, and the screen says so
(:func:`filter_note`), so a filtered view is never taken for the whole fleet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
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


def filter_note(query: str, shown: int, total: int) -> str:
    """What a filtered view says of itself; empty without a filter.

    >>> filter_note("!fraud", 4, 5)
    'filter: !fraud · 4 of 5 shown'
    >>> filter_note("", 5, 5)
    ''
    """
    return f"filter: {query} · {shown} of {total} shown" if query else ""


class FilterBar(Input):
    """Hidden until :meth:`open`; holds each table's query and posts
    :class:`FilterBar.QueryChanged` when one changes."""

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
        """The query of one table changed (empty: no filter)."""

        table: str
        """The id of the filtered widget."""
        query: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="filter rows (! inverts) · enter keeps · esc clears", id=id)
        self._queries: dict[str, str] = {}
        self.table: str | None = None
        """The id of the widget the bar filters (the last one it was opened on)."""

    def query_for(self, table: str) -> str:
        """The query in force on the widget ``table`` (an id); empty when none."""
        return self._queries.get(table, "")

    def open(self, table: str, label: str = "") -> None:
        """Show the bar with ``table``'s query and focus it; ``table`` is the id of the widget
        to filter and to refocus after, ``label`` names it in the bar's border."""
        self.table = table
        self.border_title = f"filter {label}" if label else None
        self.value = self.query_for(table)
        self.add_class("-open")
        self.focus()

    def clear_query(self, table: str) -> None:
        """Drop ``table``'s query."""
        if self.table == table:
            self.value = ""
        self._set(table, "")

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.table is not None:
            self._set(self.table, event.value)

    def action_done(self) -> None:
        self.remove_class("-open")
        self._refocus()

    def action_clear(self) -> None:
        if self.table is not None:
            self.clear_query(self.table)
        self.remove_class("-open")
        self._refocus()

    def _set(self, table: str, query: str) -> None:
        if query != self.query_for(table):
            self._queries[table] = query
            self.post_message(self.QueryChanged(table, query))

    def _refocus(self) -> None:
        if self.table is not None:
            self.screen.query_one(f"#{self.table}").focus()


class FilterScreen(Screen[None]):
    """A screen with a :class:`FilterBar` over the tables named in :attr:`FILTERED`.

    ``/`` (``action_filter``) filters the focused one; ``esc`` (``action_back``) clears the
    focused table's filter first, and goes back only when there is none. Subclasses redraw in
    :meth:`show_filtered` and bind the keys from :mod:`mmtui.ui.keymap`.
    """

    FILTERED: ClassVar[dict[str, str]] = {}
    """Id → label of each filterable widget; the first is filtered when none has focus."""

    @property
    def filter_bar(self) -> FilterBar:
        return self.query_one(FilterBar)

    @property
    def filter_table(self) -> str:
        """The id of the widget that ``/`` and ``esc`` act on."""
        bar = self.filter_bar
        focused = self.focused
        if focused is bar and bar.table is not None:
            return bar.table
        if focused is not None and focused.id in self.FILTERED:
            return focused.id
        return next(iter(self.FILTERED))

    def filter_query(self, table: str) -> str:
        """The query in force on ``table`` (an id of :attr:`FILTERED`)."""
        return self.filter_bar.query_for(table)

    def action_filter(self) -> None:
        table = self.filter_table
        self.filter_bar.open(table, self.FILTERED[table])

    def action_back(self) -> None:
        table = self.filter_table
        if self.filter_query(table):
            self.filter_bar.clear_query(table)
        elif len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":  # the bottom screen's esc only clears a filter
            return bool(self.filter_query(self.filter_table)) or len(self.app.screen_stack) > 1
        return True

    def on_filter_bar_query_changed(self, event: FilterBar.QueryChanged) -> None:
        event.stop()
        self.refresh_bindings()
        self.show_filtered(event.table)

    def show_filtered(self, table: str) -> None:
        """Redraw ``table`` (an id of :attr:`FILTERED`) after its query changed."""
        raise NotImplementedError
