"""A keyed, sortable table of drift figures (features of one endpoint, or the endpoints).

A Line API widget like the overview table: an update repaints only the cells whose text changed
when the order holds, and the cursor follows its row's key across updates and sorts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.style import Style
from textual.binding import Binding
from textual.events import Resize
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip

from mmtui.ui.sortrows import Column, Row, fit, next_column, sort_mark, sort_rows
from mmtui.ui.widgets.cursor_table import CURSOR_BINDINGS, STYLE_NAMES, CursorTable, style_runs

Planner = Callable[[int, int], tuple[Column, ...]]
"""Columns for a width and the longest row key."""

_PAD = 2


class DriftTable(CursorTable, inherit_bindings=False):
    """Rows of :class:`~mmtui.ui.sortrows.Row`, sorted by one column; enter selects a row."""

    BINDINGS = [
        Binding("enter", "select", "Open"),
        Binding("o", "cycle_sort", "Sort column"),
        Binding("O", "reverse_sort", "Reverse sort"),
        *CURSOR_BINDINGS,
    ]
    PREFIX = "drift-table"
    COMPONENT_CLASSES = {
        "drift-table--header",
        "drift-table--cursor",
        *(f"drift-table--{name}" for name in STYLE_NAMES),
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

    def row_count(self) -> int:
        return len(self._rows)

    def moved(self) -> None:
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

    def render_line(self, y: int) -> Strip:
        width = self._line_width()
        if y == 0:
            return self._header_strip("".join(f" {self._header(c)} " for c in self._columns), width)
        index = y - 1 + self.scroll_offset.y
        if not 0 <= index < len(self._rows):
            return Strip.blank(width, self.rich_style)
        row = self._rows[index]
        if index == self.cursor_row:
            return self._strip(row, width, self._cursor_style())
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
        self._place_cursor(self._index.get(cursor_key) if cursor_key is not None else None)
        self._scroll_to_cursor()
        self.refresh()
        self.post_message(self.Highlighted(self.highlighted))

    def _repaint_cells(self, index: int, before: Row, after: Row) -> None:
        keys = [c.key for c in self._columns]
        changed = [i for i, k in enumerate(keys) if before.cells[k] != after.cells[k]]
        self._strips.pop(after.key, None)
        if changed:
            widths = [c.width + _PAD for c in self._columns]
            self._repaint_spans([(index, changed[0], changed[-1])], widths)

    def _strip(self, row: Row, width: int, style_of: Callable[[str], Style]) -> Strip:
        base = self.rich_style
        cells = [row.cells[c.key] for c in self._columns]
        runs = [
            (fit(cell.text, c.width, right=c.numeric), base + style_of(cell.style))
            for cell, c in zip(cells, self._columns, strict=True)
        ]
        return style_runs(runs, width, base)
