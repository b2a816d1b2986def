"""Rows of a sortable text table, and how they sort and line up (pure, no Textual).

A row carries its cells' text and style, and per column a sort value; the table widget only
pads, sorts and paints. Tested as strings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

SortValue = float | str | None
"""What a column sorts on: a number, text (compared case-blind) or None (always last)."""

UP, DOWN = "▲", "▼"
"""Sort direction marks: ascending, descending."""


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    width: int
    """Content width, padding excluded; room for the label and a sort mark."""
    numeric: bool = False
    """Right-aligned, sorted as numbers."""
    descending: bool = False
    """The natural order puts the largest first (drift flag, statistic, share)."""

    def header(self, mark: str = "") -> str:
        """The label with ``mark`` after it, aligned like the column's values."""
        return fit(self.label + mark, self.width, right=self.numeric)


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    """Unpadded text; :func:`fit` pads or cuts it to the column."""
    style: str = ""
    """``""``, ``"good"``, ``"bad"``, ``"warn"`` or ``"muted"``."""


@dataclass(frozen=True, slots=True)
class Row:
    key: str
    """Unique in a table; the cursor follows it across updates and sorts."""
    cells: dict[str, Cell]
    sort: dict[str, SortValue]


def fit(text: str, width: int, *, right: bool = False) -> str:
    """``text`` padded to exactly ``width`` cells, cut with ``…`` when longer.

    Examples
    --------
    >>> fit("amount", 8), fit("0.05", 6, right=True), fit("transaction_type", 8)
    ('amount  ', '  0.05', 'transac…')
    """
    if width <= 0:
        return ""
    if len(text) > width:
        return text[: width - 1] + "…"
    return text.rjust(width) if right else text.ljust(width)


def sort_rows(rows: Sequence[Row], column: Column, *, reverse: bool = False) -> list[Row]:
    """``rows`` in ``column``'s natural order (or the reverse); rows without a value last.

    Ties keep their given order in both directions.

    Examples
    --------
    >>> rows = [Row(k, {}, {"p": v}) for k, v in (("a", 0.5), ("b", None), ("c", 0.01))]
    >>> [r.key for r in sort_rows(rows, Column("p", "p", 3, numeric=True))]
    ['c', 'a', 'b']
    >>> [r.key for r in sort_rows(rows, Column("p", "p", 3, numeric=True), reverse=True)]
    ['a', 'c', 'b']
    """
    known: list[tuple[float | str, Row]] = []
    missing: list[Row] = []
    for row in rows:
        value = row.sort.get(column.key)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            missing.append(row)
        elif column.numeric:
            known.append((float(value), row))
        else:
            known.append((str(value).casefold(), row))
    known.sort(key=lambda pair: pair[0], reverse=column.descending != reverse)
    return [row for _, row in known] + missing


def sort_mark(column: Column, reverse: bool) -> str:
    """▼ when the largest come first, ▲ when the smallest do."""
    return DOWN if column.descending != reverse else UP


def next_column(columns: Sequence[Column], key: str) -> Column:
    """The column after ``key``'s, wrapping round; the first when ``key`` is not shown."""
    keys = [c.key for c in columns]
    return columns[(keys.index(key) + 1) % len(columns) if key in keys else 0]
