"""The `/` filter's matching: case-blind substring, `!` inverts."""

from __future__ import annotations

import pytest

from mmtui.ui.widgets.filter_bar import filter_items, matches


@pytest.mark.parametrize(
    ("text", "query", "expected"),
    [
        ("fraud-scorer", "", True),
        ("fraud-scorer", "fraud", True),
        ("fraud-scorer", "SCORER", True),
        ("Fraud-Scorer", "d-s", True),
        ("fraud-scorer", "ranker", False),
        ("fraud-scorer", "!fraud", False),
        ("ranker", "!fraud", True),
        ("ranker", "!RANK", False),
        ("ranker", "!", True),
        ("a!b", "!b", False),
        ("a!b", "a!", True),
    ],
)
def test_matches(text: str, query: str, expected: bool) -> None:
    assert matches(text, query) is expected


def test_filter_items_keeps_order_and_uses_the_text_of_each() -> None:
    rows = [("p95 latency", 1), ("error rate", 2), ("P99 latency", 3)]
    assert filter_items(rows, "latency", lambda r: r[0]) == [rows[0], rows[2]]
    assert filter_items(rows, "!latency", lambda r: r[0]) == [rows[1]]
