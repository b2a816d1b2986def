"""The machinery the Line-API tables share: a header line, rows under a cursor that follows its
row across updates, cell-precise repaints, and rows drawn in as few style runs as possible.

Subclasses keep their rows and say how many there are (:meth:`CursorTable.row_count`), what to
post when the cursor lands on a row (:meth:`CursorTable.moved`), and prefix their component
classes with :attr:`CursorTable.PREFIX` (``"<prefix>--cursor"``, ``"<prefix>--good"``...).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.events import Click
from textual.geometry import Region
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

STYLE_NAMES = ("good", "bad", "warn", "muted")
"""Cell styles a table maps onto its theme through its component classes."""

CURSOR_BINDINGS = [
    Binding("down,j", "cursor_down", "Cursor down", show=False),
    Binding("up,k", "cursor_up", "Cursor up", show=False),
    Binding("pagedown", "page_down", "Page down", show=False),
    Binding("pageup", "page_up", "Page up", show=False),
    Binding("home", "first", "First row", show=False),
    Binding("end", "last", "Last row", show=False),
]


def style_runs(
    cells: Sequence[tuple[str, Style]], width: int, base: Style, *, used: int | None = None
) -> Strip:
    """One line of ``(text, style)`` cells, one space either side of each, in as few segments
    as possible: a cell joins the run before it when their styles match, and the padding to
    ``width`` joins the last run. ``used``: the cells' width, padding included, when the caller
    knows it (measuring every text is most of the work)."""
    texts: list[str] = []
    styles: list[Style] = []
    for text, style in cells:
        if styles and styles[-1] == style:
            texts[-1] += f"  {text}"
        else:
            if texts:
                texts[-1] += " "
            texts.append(f" {text}")
            styles.append(style)
    if not texts:
        return Strip.blank(width, base)
    # What the runs fill so far: every cell and its padding but the last cell's right space.
    filled = sum(cell_len(text) for text in texts) if used is None else used - 1
    texts[-1] += " " * max(0, width - filled)
    strip = Strip([Segment(t, s) for t, s in zip(texts, styles, strict=True)], max(width, filled))
    return strip if filled <= width else strip.crop(0, width)


class CursorTable(ScrollView, can_focus=True, inherit_bindings=False):
    """A header line then rows; the cursor's row is drawn in the cursor style."""

    PREFIX = "cursor-table"
    """Component-class prefix of the subclass."""

    cursor_row: reactive[int] = reactive(0, repaint=False)
    """Index of the highlighted row, in display order."""

    _base: Style | None = None
    """``rich_style``, kept until the styles change (see :meth:`_base_style`)."""
    _runs: dict[str, Style] | None = None
    """Cell styles on the base style, by name, kept with it (see :meth:`_run_style`)."""

    _painting: int | None = None
    """The content width while Textual paints the table (see :meth:`render_lines`)."""

    def row_count(self) -> int:
        raise NotImplementedError

    def render_lines(self, crop: Region) -> list[Strip]:
        """Textual's, with the width looked up once for the lines it paints: ``size`` asks the
        screen's map for the widget, which costs as much as drawing a row."""
        self._painting = self.size.width
        try:
            return super().render_lines(crop)
        finally:
            self._painting = None

    def _line_width(self) -> int:
        """The width of a line: :attr:`_painting` while painting, else looked up."""
        return self.size.width if self._painting is None else self._painting

    def moved(self) -> None:
        """The cursor landed on another row (or the rows changed under it)."""
        raise NotImplementedError

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base = self._runs = None

    def on_focus(self) -> None:
        self._refresh_row(self.cursor_row)

    def on_blur(self) -> None:
        self._refresh_row(self.cursor_row)

    def on_click(self, event: Click) -> None:
        index = event.y - 1 + self.scroll_offset.y
        if event.y >= 1 and 0 <= index < self.row_count():
            self.cursor_row = index

    def validate_cursor_row(self, value: int) -> int:
        return max(0, min(value, self.row_count() - 1))

    def watch_cursor_row(self, old: int, new: int) -> None:
        self._refresh_row(old)
        self._refresh_row(new)
        self._scroll_to_cursor()
        self.moved()

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
        self.cursor_row = self.row_count() - 1

    def _place_cursor(self, index: int | None) -> None:
        """After a relayout: the cursor on ``index`` (its row's new place), else kept in range."""
        value = index if index is not None else self.validate_cursor_row(self.cursor_row)
        self.set_reactive(CursorTable.cursor_row, value)

    def _repaint_spans(
        self, spans: Iterable[tuple[int, int, int]], widths: Sequence[int]
    ) -> None:
        """Repaint columns ``first..last`` of each row ``index`` in ``spans`` (``widths`` include
        padding), in one refresh: each call clears the widget's caches and asks for a repaint
        again, and a snapshot repaints a span on every row."""
        top, height = self.scroll_offset.y, self.size.height
        regions = []
        for index, first, last in spans:
            y = index + 1 - top
            if 1 <= y < height:
                start = sum(widths[:first])
                regions.append(Region(start, y, sum(widths[first : last + 1]), 1))
        if regions:
            self.refresh(*regions)

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

    def _base_style(self) -> Style:
        """The widget's own style. ``rich_style`` walks the styles of every ancestor, and a
        snapshot repaints dozens of lines: worked out once, until the styles change."""
        if self._base is None:
            self._base = self.rich_style
        return self._base

    def _header_strip(self, text: str, width: int) -> Strip:
        style = self.get_component_rich_style(f"{self.PREFIX}--header")
        return Strip([Segment(text, style)]).adjust_cell_length(width, style)

    def _cursor_style(self) -> Callable[[str], Style]:
        cursor = self.get_component_rich_style(f"{self.PREFIX}--cursor")
        return lambda _: cursor

    def _run_style(self, name: str) -> Style:
        """The base style with the named cell style on it (worked out once per name)."""
        if self._runs is None:
            self._runs = {}
        style = self._runs.get(name)
        if style is None:
            style = self._runs[name] = self._base_style() + self._cell_style(name)
        return style

    def _cell_style(self, name: str) -> Style:
        if not name:
            return Style()
        return self.get_component_rich_style(f"{self.PREFIX}--{name}", partial=True)
