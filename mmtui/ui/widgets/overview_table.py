"""The overview table: one row per endpoint (or per model), repainted cell by cell.

A Line API widget rather than a ``DataTable``: a snapshot repaints only the cells whose text
changed (``DataTable.update_cell`` repaints the whole table), and each line goes out as a few
style runs. That keeps the bytes written to an idle terminal small.

A ``/`` filter (:meth:`OverviewTable.filter`) keeps the rows whose name, status, preset or
reason contain the query, in this snapshot and every later one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.style import Style
from textual.events import Resize
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip

from mmtui.snapshot import RowSnapshot, Snapshot
from mmtui.ui.draw import format_status
from mmtui.ui.widgets.cursor_table import CURSOR_BINDINGS, STYLE_NAMES, CursorTable, style_runs
from mmtui.ui.widgets.filter_bar import filter_items
from mmtui.ui.widgets.overview_cells import Cell, age_cell_changes_in, row_cells
from mmtui.ui.widgets.overview_columns import AGE, PAD, Column, plan_columns


def row_text(row: RowSnapshot) -> str:
    """What the filter matches a row on: its name (endpoint/model), status word, preset and
    reason. Not its figures: they change every poll, and rows would come and go with them.

    >>> row_text(RowSnapshot("ranker", None, "torchserve", "down", "refused", None, {}))
    'ranker ↓ down torchserve refused'
    """
    return " ".join(t for t in (row.key, format_status(row.status), row.preset, row.error) if t)


class OverviewTable(CursorTable, inherit_bindings=False):
    """Endpoints and their serving figures; the cursor and scroll stay put across updates."""

    BINDINGS = [*CURSOR_BINDINGS]
    PREFIX = "overview-table"
    COMPONENT_CLASSES = {
        "overview-table--header",
        "overview-table--cursor",
        *(f"overview-table--{name}" for name in STYLE_NAMES),
    }
    DEFAULT_CSS = """
    OverviewTable {
        height: 1fr;
        background: $surface;
        color: $foreground;
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
        & > .overview-table--header { text-style: bold; background: $panel; }
        & > .overview-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .overview-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        & > .overview-table--good { color: $success; }
        & > .overview-table--bad { color: $error; text-style: bold; }
        & > .overview-table--warn { color: $warning; }
        & > .overview-table--muted { color: $text-muted; }
    }
    """

    @dataclass
    class Highlighted(Message):
        """The cursor moved to another row."""

        row: RowSnapshot | None

    def __init__(self, *, clock: Callable[[], float], id: str | None = None) -> None:
        super().__init__(id=id)
        self._clock = clock
        self._interval = 0.0
        self._columns: tuple[Column, ...] = ()
        self._given: Sequence[RowSnapshot] = ()
        self._query = ""
        self._rows: dict[str, RowSnapshot] = {}
        self._order: list[str] = []
        self._index: dict[str, int] = {}
        self._cells: dict[str, dict[str, Cell]] = {}
        self._strips: dict[str, Strip] = {}
        self._keys: list[str] = []
        self._widths: list[int] = []
        self._used = 0

    @property
    def highlighted(self) -> RowSnapshot | None:
        """The row under the cursor, if any."""
        if not self._order:
            return None
        return self._rows[self._order[min(self.cursor_row, len(self._order) - 1)]]

    @property
    def row_keys(self) -> list[str]:
        """Row keys, top to bottom."""
        return list(self._order)

    @property
    def filter_query(self) -> str:
        """The filter in force; empty when every row is shown."""
        return self._query

    @property
    def total(self) -> int:
        """Rows in the last snapshot, before the filter."""
        return len(self._given)

    @property
    def columns(self) -> tuple[Column, ...]:
        """The columns that fit the current width."""
        return self._columns

    def cell_text(self, row_key: str, column_key: str) -> str:
        """What a cell shows now, padded to its column's width."""
        return self._cells[row_key][column_key].text

    def show_snapshot(self, snapshot: Snapshot) -> None:
        """Show ``snapshot``: only cells whose text changed are repainted. Rows are re-laid
        only when the rows (or their order) or the columns that fit change."""
        self._interval = snapshot.interval
        self._given = snapshot.rows
        self._show()

    def filter(self, query: str) -> None:
        """Show only the rows that pass ``query`` (see :func:`~mmtui.ui.widgets.filter_bar.
        matches`), now and in later snapshots; the cursor stays on its row when it passes."""
        if query != self._query:
            self._query = query
            self._show()

    def _show(self) -> None:
        rows = {row.key: row for row in filter_items(self._given, self._query, row_text)}
        order = list(rows)
        self._rows = rows
        columns = self._plan()
        if order != self._order or columns != self._columns:
            self._relayout(order, columns)
            return
        now = self._clock()
        self._update_rows({key: row_cells(row, columns, now, self._interval)
                           for key, row in rows.items()})

    def tick(self) -> None:
        """Re-date the age column, so ageing data shows even when no snapshot arrives."""
        now = self._clock()
        age = next((c for c in self._columns if c.key == AGE), None)
        if age is None:
            return
        self._update_rows({
            key: self._cells[key] | row_cells(row, (age,), now, self._interval)
            for key, row in self._rows.items()
        })

    def changes_in(self) -> float | None:
        """Seconds until some age cell is due to change (see :meth:`tick`); None: none is."""
        now = self._clock()
        dues = [age_cell_changes_in(row, now, self._interval) for row in self._rows.values()]
        return min((d for d in dues if d is not None), default=None)

    def row_count(self) -> int:
        return len(self._order)

    def moved(self) -> None:
        self.post_message(self.Highlighted(self.highlighted))

    def on_resize(self, event: Resize) -> None:
        self._relayout(self._order, self._plan())

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def render_line(self, y: int) -> Strip:
        width = self._line_width()
        if y == 0:
            return self._header_strip("".join(f" {c.header} " for c in self._columns), width)
        index = y - 1 + self.scroll_offset.y
        if not 0 <= index < len(self._order):
            return Strip.blank(width, self._base_style())
        key = self._order[index]
        if index == self.cursor_row:
            cursor = self._base_style() + self._cursor_style()("")
            return self._strip(self._cells[key], width, lambda _: cursor)
        if key not in self._strips:
            self._strips[key] = self._strip(self._cells[key], width, self._run_style)
        return self._strips[key]

    def _plan(self) -> tuple[Column, ...]:
        width = self.size.width or self.app.size.width
        # Planned on every row, so that filtering does not change the columns' widths.
        return plan_columns(width, max((len(row.key) for row in self._given), default=0))

    def _relayout(self, order: list[str], columns: tuple[Column, ...]) -> None:
        cursor_key = self._order[self.cursor_row] if self._order else None
        self._order = order
        self._index = {key: i for i, key in enumerate(order)}
        self._columns = columns
        self._keys = [c.key for c in columns]
        self._widths = [c.width + PAD for c in columns]
        self._used = sum(self._widths)  # cell texts are exactly their column's width
        now = self._clock()
        self._cells = {k: row_cells(r, columns, now, self._interval) for k, r in self._rows.items()}
        self._strips.clear()
        self.virtual_size = Size(self.size.width, len(order) + 1)
        self._place_cursor(self._index.get(cursor_key) if cursor_key is not None else None)
        self.refresh()
        self.post_message(self.Highlighted(self.highlighted))

    def _update_rows(self, rows: dict[str, dict[str, Cell]]) -> None:
        """Take each row's new cells, and repaint the span of those that changed."""
        spans = []
        for key, cells in rows.items():
            old = self._cells[key]
            changed = [i for i, k in enumerate(self._keys) if cells[k] != old[k]]
            if changed:
                self._cells[key] = cells
                self._strips.pop(key, None)
                spans.append((self._index[key], changed[0], changed[-1]))
        self._repaint_spans(spans, self._widths)

    def _strip(self, cells: dict[str, Cell], width: int, style_of: Callable[[str], Style]) -> Strip:
        """A row; ``style_of`` gives each cell's whole style from its style name."""
        runs = [(cell.text, style_of(cell.style)) for cell in map(cells.__getitem__, self._keys)]
        return style_runs(runs, width, self._base_style(), used=self._used)
