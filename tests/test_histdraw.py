"""Pure drawing of reference-versus-current histograms, tested as strings."""

from __future__ import annotations

import doctest
from dataclasses import replace

import mmtui.ui.histdraw as histdraw_module
from mmtui.ui.histdraw import bar, draw_histogram, format_change, histogram_note
from tests.drift_samples import HISTOGRAM


def test_bars_of_a_numeric_feature_side_by_side() -> None:
    drawing = draw_histogram(HISTOGRAM, 60)
    assert drawing.lines == (
        "      bin  reference (2,000)    current (400)          Δ pp",
        " [20, 40)  ██▉           16.0%  ▍              2.0%   -14.0",
        " [40, 60)  ████████████  68.0%  ████████▌     48.0%   -20.0",
        " [60, 80)  ██▉           16.0%  ████████▏     46.0%   +30.0",
        "[80, 100)                 0.0%  ▊              4.0%    +4.0",
    )
    assert drawing.reference == (11, 23) and drawing.current == (32, 44)
    for line in drawing.lines[1:]:
        ref, cur = line[11:23], line[32:44]
        assert set(ref + cur) <= set(" ▏▎▍▌▋▊▉█")


def test_both_sides_share_one_scale() -> None:
    lines = draw_histogram(HISTOGRAM, 60).lines
    tallest = lines[2][11:23]
    assert tallest == "█" * 12  # 68% is the largest share on either side
    assert lines[3][32:44].rstrip() == "████████▏"  # 46% of 68% of 12 cells


def test_lines_fit_the_width_and_bars_grow_with_it() -> None:
    bars = []
    for width in (40, 41, 60, 80, 120, 200):
        drawing = draw_histogram(HISTOGRAM, width)
        assert all(len(line) <= width for line in drawing.lines), width
        start, end = drawing.reference
        assert drawing.current[1] - drawing.current[0] == end - start
        bars.append(end - start)
    assert bars == [4, 4, 12, 22, 42, 82]


def test_long_category_labels_are_cut() -> None:
    hist = replace(
        HISTOGRAM,
        kind="categorical",
        bins=("a-very-long-merchant-category-name", "b", "__other__", "__unseen__"),
    )
    lines = draw_histogram(hist, 80).lines
    assert lines[0].lstrip().startswith("level")
    assert lines[1].startswith("a-very-long-merchan…  ")  # a quarter of the width
    assert lines[4].lstrip().startswith("__unseen__")
    assert all(len(line) <= 80 for line in lines)


def test_bar_resolution_and_tiny_shares() -> None:
    assert bar(0.5, 1.0, 4) == "██  "
    assert bar(1 / 32, 1.0, 4) == "▏   "
    assert bar(1e-9, 1.0, 4) == "▏   "  # occupied bins never look empty
    assert bar(0.0, 1.0, 3) == "   "
    assert bar(0.0, 0.0, 3) == "   "
    assert bar(2.0, 1.0, 3) == "███"


def test_change_in_percentage_points() -> None:
    assert format_change(0.16, 0.46) == "+30.0"
    assert format_change(0.68, 0.48) == "-20.0"
    assert format_change(0.1, 0.10004) == "0.0"


def test_empty_sides_are_explained() -> None:
    assert histogram_note(HISTOGRAM) is None
    no_current = replace(HISTOGRAM, current=(0.0,) * 4, n_current=0)
    assert histogram_note(no_current) == "no records yet: only the baseline is drawn"
    no_reference = replace(HISTOGRAM, reference=(0.0,) * 4, n_reference=0)
    note = histogram_note(no_reference)
    assert note is not None and note.startswith("no baseline values")
    both = replace(no_current, reference=(0.0,) * 4, n_reference=0)
    assert histogram_note(both) == "no baseline and no records yet for this feature"
    blank = draw_histogram(both, 60).lines
    assert all(line[11:23].strip() == "" for line in blank[1:])


def test_doctests() -> None:
    assert doctest.testmod(histdraw_module).failed == 0
