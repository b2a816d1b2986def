"""Partial screen updates that start where the change starts.

Textual 8 repaints a changed region of a line from the left edge of the widget it is in (its
``ChopsUpdate`` crops each piece of a line on the right only; its own code says "TODO: crop to x
extents"). When a poll changes the figures of an overview row, the row's status and name, which
did not change, are written again with them: half the bytes an idle TUI writes. :func:`install`
makes partial updates start at the first changed cell (or at the wide character it falls in).

The replacement is the same method with the left crop added; it is installed only over the
Textual it was written against (8.x, the dependency's range), and only when that class still
has the fields it reads.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len, get_character_cell_size
from rich.console import Console
from rich.control import Control
from textual.strip import Strip

_installed = False


def install() -> bool:
    """Use :func:`render_segments` for Textual's partial updates; False when this Textual is not
    the one it was written against (its own method is kept)."""
    global _installed
    if _installed:
        return True
    import textual
    from textual._compositor import ChopsUpdate

    try:
        probe = ChopsUpdate([], [(0, 0, 0)], [])
    except TypeError:
        return False
    fields_there = all(hasattr(probe, name) for name in ("chops", "spans", "chop_ends"))
    if not textual.__version__.startswith("8.") or not fields_there:
        return False
    ChopsUpdate.render_segments = render_segments  # type: ignore[method-assign]
    _installed = True
    return True


def render_segments(self: Any, console: Console) -> str:
    """``ChopsUpdate.render_segments`` (Textual 8.2), each piece of a line cropped on the left
    to the changed span as well as on the right."""
    sequences: list[str] = []
    append = sequences.append
    move_to = Control.move_to
    chops = self.chops
    chop_ends = self.chop_ends
    last_y = self.spans[-1][0]

    for y, x1, x2 in self.spans:
        line = chops[y]
        ends = chop_ends[y]
        for end, (x, strip) in zip(ends, line.items(), strict=False):
            if strip is None or x > x2 or end <= x1:
                continue
            if x2 > x >= x1 and end <= x2:
                append(move_to(x, y).segment.text)
                append(strip.render(console))
                continue
            start = x + char_start(strip, x1 - x) if x < x1 else x
            strip = strip.crop(start - x, min(end, x2) - x)
            append(move_to(start, y).segment.text)
            append(strip.render(console))
        if y != last_y:
            append("\n")
    return "".join(sequences)


def char_start(strip: Strip, offset: int) -> int:
    """The first cell of the character at cell ``offset`` of ``strip``: ``offset`` itself, or
    the cell before it when a wide character covers both (half of one cannot be written).

    >>> from rich.segment import Segment
    >>> char_start(Strip([Segment("ab"), Segment("漢c")]), 3)
    2
    >>> char_start(Strip([Segment("abc")]), 2)
    2
    """
    pos = 0
    for segment in strip:
        text = segment.text
        width = cell_len(text)
        if pos + width <= offset:
            pos += width
            continue
        for char in text:
            size = get_character_cell_size(char)
            if pos + size > offset:
                return pos
            pos += size
    return offset
