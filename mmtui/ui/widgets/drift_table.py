"""A keyed, sortable table of drift figures (features of one endpoint, or the endpoints).

A Line API widget like the overview table: an update repaints only the cells whose text changed
when the order holds, and the cursor follows its row's key across updates and sorts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.events import Click, Resize
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from mmtui.ui.sortrows import Column, Row, fit, next_column, sort_mark, sort_rows

Planner = Callable[[int, int], tuple[Column, ...]]
"""Columns for a width and the longest row key."""

_STYLE_NAMES = ("good", "bad", "warn", "muted")
_PAD = 2


class DriftTable(ScrollView, can_focus=True, inherit_bindings=False):
    """Rows of :class:`~mmtui.ui.sortrows.Row`, sorted by one column; enter selects a row."""

    BINDINGS = [
        Binding("enter", "select", "Open"),
        Binding("o", "cycle_sort", "Sort column"),
        Binding("O", "reverse_sort", "Reverse sort"),
        Binding("down,j", "cursor_down", "Cursor down", show=False),
        Binding("up,k", "cursor_up", "Cursor up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("home", "first", "First row", show=False),
        Binding("end", "last", "Last row", show=False),
    ]
    COMPONENT_CLASSES = {
        "drift-table--header",
        "drift-table--cursor",
        *(f"drift-table--{name}" for name in _STYLE_NAMES),
    }
    DEFAULT_CSS = """
    DriftTable {
        height: 1fr;
        background: $surface;
        color: $foreground;
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
        & > .drift-table--header { text-style: bold; background: $panel; }
        & > .drift-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .drift-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        & > .drift-table--good { color: $success; }
        & > .drift-table--bad { color: $error; text-style: bold; }
        & > .drift-table--warn { color: $warning; }
        & > .drift-table--muted { color: $text-muted; }
    }
    """

    cursor_row: reactive[int] = reactive(0, repaint=False)
    """Index of the highlighted row, in display order."""

    @dataclass
    class Highlighted(Message):
        """The cursor moved to another row (or its row changed)."""

        key: str | None

    @dataclass
    class Selected(Message):
        """Enter was pressed on a row."""

        key: str

    def __init__(self, planner: Planner, *, sort: str, id: str | None = None) -> None:
        super().__init__(id=id)
        self._planner = planner
        self._sort_key = sort
        self._reverse = False
        self._columns: tuple[Column, ...] = ()
        self._given: list[Row] = []
        self._rows: list[Row] = []
        self._index: dict[str, int] = {}
        self._strips: dict[str, Strip] = {}

    @property
    def highlighted(self) -> str | None:
        """Key of the row under the cursor, if any."""
        return self._rows[self.cursor_row].key if self._rows else None

    @property
    def row_keys(self) -> list[str]:
        """Row keys in display order."""
        return [row.key for row in self._rows]

    @property
    def sort(self) -> tuple[str, bool]:
        """The sort column's key, and whether its natural order is reversed."""
        return self._sort_key, self._reverse

    def cell_text(self, key: str, column: str) -> str:
        """What a cell shows now, padded to its column's width."""
        col = next(c for c in self._columns if c.key == column)
        return fit(self._rows[self._index[key]].cells[column].text, col.width, right=col.numeric)

    def show_rows(self, rows: Sequence[Row]) -> None:
        """Show ``rows`` (given in their natural order), sorted; the cursor stays on its key.
        Only changed cells are repainted when the order and columns hold."""
        columns = self._plan_for(rows)
        if list(rows) == self._given and columns == self._columns:
            return
        self._given = list(rows)
        old = {row.key: row for row in self._rows}
        ordered = self._sorted(columns)
        if [r.key for r in ordered] != self.row_keys or columns != self._columns:
            self._relayout(ordered, columns)
            return
        self._rows = ordered
        for index, row in enumerate(ordered):
            before = old[row.key]
            if before.cells != row.cells:
                self._repaint_cells(index, before, row)
        self.post_message(self.Highlighted(self.highlighted))

    def on_resize(self, event: Resize) -> None:
        self._relayout(self._rows, self._plan())

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def on_focus(self) -> None:
        self._refresh_row(self.cursor_row)

    def on_blur(self) -> None:
        self._refresh_row(self.cursor_row)

    def on_click(self, event: Click) -> None:
        index = event.y - 1 + self.scroll_offset.y
        if event.y >= 1 and 0 <= index < len(self._rows):
            self.cursor_row = index

    def validate_cursor_row(self, value: int) -> int:
        return max(0, min(value, len(self._rows) - 1))

    def watch_cursor_row(self, old: int, new: int) -> None:
        self._refresh_row(old)
        self._refresh_row(new)
        self._scroll_to_cursor()
        self.post_message(self.Highlighted(self.highlighted))

    def action_select(self) -> None:
        if (key := self.highlighted) is not None:
            self.post_message(self.Selected(key))

    def action_cycle_sort(self) -> None:
        if self._columns:
            self._sort_key, self._reverse = next_column(self._columns, self._sort_key).key, False
            self._relayout(self._sorted(self._columns), self._columns)

    def action_reverse_sort(self) -> None:
        self._reverse = not self._reverse
        self._relayout(self._sorted(self._columns), self._columns)

    def action_cursor_down(self) -> None:
        self.cursor_row += 1

    def action_cursor_up(self) -> None:
        self.cursor_row -= 1

    def action_page_down(self) -> None:
        self.cursor_row += self._page()

    def action_page_up(self) -> None:
        self.cursor_row -= self._page()

    def action_first(self) -> None:
        self.cursor_row = 0

    def action_last(self) -> None:
        self.cursor_row = len(self._rows) - 1

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y == 0:
            style = self.get_component_rich_style("drift-table--header")
            header = "".join(f" {self._header(c)} " for c in self._columns)
            return Strip([Segment(header, style)]).adjust_cell_length(width, style)
        index = y - 1 + self.scroll_offset.y
        if not 0 <= index < len(self._rows):
            return Strip.blank(width, self.rich_style)
        row = self._rows[index]
        if index == self.cursor_row:
            cursor = self.get_component_rich_style("drift-table--cursor")
            return self._strip(row, width, lambda _: cursor)
        if row.key not in self._strips:
            self._strips[row.key] = self._strip(row, width, self._cell_style)
        return self._strips[row.key]

    def _header(self, column: Column) -> str:
        """The column's label, with the direction mark when the table sorts on it."""
        if column.key != self._sort_key:
            return column.header()
        return column.header(sort_mark(column, self._reverse))

    def _plan(self) -> tuple[Column, ...]:
        return self._plan_for(self._given)

    def _plan_for(self, rows: Sequence[Row]) -> tuple[Column, ...]:
        width = self.size.width or self.app.size.width
        return self._planner(width, max((len(row.key) for row in rows), default=0))

    def _sorted(self, columns: tuple[Column, ...]) -> list[Row]:
        column = next((c for c in columns if c.key == self._sort_key), None)
        if column is None:
            return list(self._given)
        return sort_rows(self._given, column, reverse=self._reverse)

    def _relayout(self, rows: list[Row], columns: tuple[Column, ...]) -> None:
        cursor_key = self.highlighted
        self._rows = rows
        self._index = {row.key: i for i, row in enumerate(rows)}
        self._columns = columns
        self._strips.clear()
        self.virtual_size = Size(self.size.width, len(rows) + 1)
        if cursor_key in self._index:
            self.set_reactive(DriftTable.cursor_row, self._index[cursor_key])
        else:
            self.set_reactive(DriftTable.cursor_row, self.validate_cursor_row(self.cursor_row))
        self._scroll_to_cursor()
        self.refresh()
        self.post_message(self.Highlighted(self.highlighted))

    def _repaint_cells(self, index: int, before: Row, after: Row) -> None:
        keys = [c.key for c in self._columns]
        changed = [i for i, k in enumerate(keys) if before.cells[k] != after.cells[k]]
        self._strips.pop(after.key, None)
        y = index + 1 - self.scroll_offset.y
        if changed and 1 <= y < self.size.height:
            start = sum(c.width + _PAD for c in self._columns[: changed[0]])
            end = sum(c.width + _PAD for c in self._columns[: changed[-1] + 1])
            self.refresh(Region(start, y, end - start, 1))

    def _refresh_row(self, index: int) -> None:
        y = index + 1 - self.scroll_offset.y
        if 1 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def _scroll_to_cursor(self) -> None:
        visible = self.size.height - 1
        top = self.scroll_offset.y
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif visible > 0 and self.cursor_row >= top + visible:
            self.scroll_to(y=self.cursor_row - visible + 1, animate=False, immediate=True)

    def _page(self) -> int:
        return max(1, self.size.height - 2)

    def _cell_style(self, name: str) -> Style:
        if not name:
            return Style()
        return self.get_component_rich_style(f"drift-table--{name}", partial=True)

    def _strip(self, row: Row, width: int, style_of: Callable[[str], Style]) -> Strip:
        """One row in as few style runs as possible: a cell joins the run before it when their
        styles match."""
        base = self.rich_style
        texts: list[str] = []
        styles: list[Style] = []
        for column in self._columns:
            cell = row.cells[column.key]
            text = fit(cell.text, column.width, right=column.numeric)
            style = base + style_of(cell.style)
            if styles and styles[-1] == style:
                texts[-1] += f"  {text}"
            else:
                if texts:
                    texts[-1] += " "
                texts.append(f" {text}")
                styles.append(style)
        if not texts:
            return Strip.blank(width, base)
        texts[-1] += " " * max(0, width - sum(cell_len(text) for text in texts))
        return Strip([Segment(t, s) for t, s in zip(texts, styles, strict=True)]).crop(0, width)
