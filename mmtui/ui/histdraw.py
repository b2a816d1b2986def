"""Reference-versus-current histogram bars, side by side per bin (pure, no Textual)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from mmtui.explore import FeatureHistogram
from mmtui.ui.sortrows import fit

EIGHTHS: Final = " ▏▎▍▌▋▊▉█"
"""Partial cells, in eighths."""
_PERCENT, _CHANGE, _GAP = 6, 6, 2
_LABEL_MIN, _BAR_MIN = 6, 4


@dataclass(frozen=True, slots=True)
class HistogramDrawing:
    """The lines of a histogram, and where its bars are (for colour)."""

    lines: tuple[str, ...]
    """A header line, then one line per bin."""
    reference: tuple[int, int]
    """Start and end column of the reference bars on every bin line."""
    current: tuple[int, int]


def bar(fraction: float, top: float, width: int) -> str:
    """``fraction / top`` of ``width`` cells in eighths of a cell, padded to ``width``.

    A fraction above zero always shows at least ``▏``, so no occupied bin looks empty.

    Examples
    --------
    >>> bar(0.5, 1.0, 4), bar(0.3, 0.4, 4), bar(0.001, 1.0, 4), bar(0.0, 1.0, 2)
    ('██  ', '███ ', '▏   ', '  ')
    """
    if top <= 0 or fraction <= 0:
        return " " * width
    eighths = max(1, round(min(fraction / top, 1.0) * width * 8))
    full, part = divmod(eighths, 8)
    return ("█" * full + (EIGHTHS[part] if part else "")).ljust(width)


def format_change(reference: float, current: float) -> str:
    """The change of a bin's share in percentage points: ``"+2.8"``, ``"-0.4"``, ``"0.0"``."""
    change = (current - reference) * 100
    return "0.0" if round(change, 1) == 0 else f"{change:+.1f}"


def draw_histogram(hist: FeatureHistogram, width: int) -> HistogramDrawing:
    """Bars of the reference and the current share of each bin, scaled alike, in ``width`` cells.

    Each line: the bin, the reference bar and share, the current bar and share, and the change
    in percentage points. Bin labels are cut with ``…`` when the width is short; from 40 cells
    up every line fits.
    """
    longest = max((len(label) for label in hist.bins), default=3)
    sides = 3 * _GAP + 2 * (1 + _PERCENT) + _CHANGE
    label_w = max(_LABEL_MIN, min(longest, width // 4, width - sides - 2 * _BAR_MIN))
    fixed = label_w + sides
    bar_w = max(_BAR_MIN, (width - fixed) // 2)
    top = max((*hist.reference, *hist.current), default=0.0)
    ref_at = label_w + _GAP
    cur_at = ref_at + bar_w + 1 + _PERCENT + _GAP
    side = bar_w + 1 + _PERCENT
    header = (
        fit("bin" if hist.kind == "numeric" else "level", label_w, right=True)
        + " " * _GAP + fit(f"reference ({hist.n_reference:,})", side)
        + " " * _GAP + fit(f"current ({hist.n_current:,})", side)
        + " " * _GAP + fit("Δ pp", _CHANGE, right=True)
    )
    lines = [header]
    for label, ref, cur in zip(hist.bins, hist.reference, hist.current, strict=True):
        lines.append(
            fit(label, label_w, right=True)
            + " " * _GAP + bar(ref, top, bar_w) + f" {ref:{_PERCENT}.1%}"
            + " " * _GAP + bar(cur, top, bar_w) + f" {cur:{_PERCENT}.1%}"
            + " " * _GAP + format_change(ref, cur).rjust(_CHANGE)
        )
    return HistogramDrawing(tuple(lines), (ref_at, ref_at + bar_w), (cur_at, cur_at + bar_w))


def histogram_note(hist: FeatureHistogram) -> str | None:
    """Why one side is empty, if it is: no baseline, or no records yet."""
    if hist.n_reference == 0 and hist.n_current == 0:
        return "no baseline and no records yet for this feature"
    if hist.n_reference == 0:
        return "no baseline values for this feature: only the current window is drawn"
    if hist.n_current == 0:
        return "no records yet: only the baseline is drawn"
    return None
