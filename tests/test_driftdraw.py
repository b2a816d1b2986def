"""Pure text of the drift screens: rows, sorting, header lines and details, as strings."""

from __future__ import annotations

import doctest
from dataclasses import replace

import pytest

import mmtui.ui.sortrows as sortrows_module
from mmtui.stats.concept import QualityReport
from mmtui.stats.drift import INSUFFICIENT
from mmtui.ui.driftdraw import (
    drift_context,
    drift_headline,
    endpoint_columns,
    endpoint_rows,
    feature_columns,
    feature_detail,
    feature_rows,
    feed_line,
    find_endpoint,
    format_p_value,
    format_statistic,
    no_drift_reason,
    quality_line,
    screen_summary,
)
from mmtui.ui.sortrows import Column, Row, fit, next_column, sort_mark, sort_rows
from tests.drift_samples import LONG_NAME, NOW, drift, feed, fleet, quality, row, snapshot, view


def test_sortrows_doctests() -> None:
    assert doctest.testmod(sortrows_module).failed == 0


def test_p_values_and_statistics_read_short() -> None:
    assert format_p_value(0.0344) == "0.034"
    assert format_p_value(1.234e-5) == "1.2e-05"
    assert format_p_value(0.0) == "<1e-300"
    assert format_p_value(None) == "—"
    assert format_p_value(float("nan")) == "—"
    assert format_statistic(0.23456) == "0.2346"
    assert format_statistic(12345.6) == "1.235e+04"
    assert format_statistic(float("nan")) == "—"


def test_feature_rows_carry_markers_flags_and_sort_values() -> None:
    rows = {r.key: r for r in feature_rows(drift())}
    assert list(rows) == ["amount", "age", "country", "device", LONG_NAME]
    amount = rows["amount"]
    assert {k: c.text for k, c in amount.cells.items()} == {
        "feature": "amount", "kind": "num", "method": "ks", "statistic": "0.368",
        "p": "1.2e-39", "sig": "***", "drift": "DRIFT",
    }
    assert amount.cells["drift"].style == "bad" and rows["age"].cells["drift"].style == "good"
    assert rows["age"].cells["sig"].text == "" and rows["age"].sort["sig"] == 0.0
    assert rows["country"].cells["kind"].text == "cat"
    assert amount.sort["drift"] == 1.0 and rows["age"].sort["drift"] == 0.0


def test_an_untested_feature_reads_insufficient_and_sorts_last() -> None:
    result = drift()
    untested = replace(
        result.features[1], method=INSUFFICIENT, statistic=0.0, p_value=None, drifted=False
    )
    result = replace(result, features=(result.features[0], untested, *result.features[2:]))
    age = feature_rows(result)[1]
    assert [age.cells[k].text for k in ("method", "statistic", "p", "sig", "drift")] == [
        "insufficient", "—", "—", "", "n/a"
    ]
    for key in ("statistic", "p", "sig", "drift"):
        column = next(c for c in feature_columns(80, 10) if c.key == key)
        for reverse in (False, True):
            assert sort_rows(feature_rows(result), column, reverse=reverse)[-1].key == "age"


def test_sort_orders_numbers_as_numbers_and_text_case_blind() -> None:
    rows = [Row(k, {}, {"n": v, "t": k}) for k, v in (("b", 10.0), ("A", 9.0), ("c", 100.0))]
    numeric = Column("n", "n", 4, numeric=True)
    assert [r.key for r in sort_rows(rows, numeric)] == ["A", "b", "c"]
    assert [r.key for r in sort_rows(rows, Column("t", "t", 4))] == ["A", "b", "c"]
    largest_first = Column("n", "n", 4, numeric=True, descending=True)
    assert [r.key for r in sort_rows(rows, largest_first)] == ["c", "b", "A"]
    assert sort_mark(largest_first, False) == "▼" and sort_mark(largest_first, True) == "▲"
    ties = [Row(k, {}, {"n": 1.0}) for k in "xyz"]
    assert [r.key for r in sort_rows(ties, numeric, reverse=True)] == ["x", "y", "z"]


def test_next_column_wraps_round() -> None:
    columns = feature_columns(80, 10)
    assert next_column(columns, "feature").key == "kind"
    assert next_column(columns, "drift").key == "feature"
    assert next_column(columns, "gone").key == "feature"


def test_fit_pads_aligns_and_cuts() -> None:
    assert fit("ok", 5) == "ok   " and fit("12", 5, right=True) == "   12"
    assert fit("merchant_category", 8) == "merchan…"
    assert fit("x", 0) == ""
    assert Column("p", "p-value", 8, numeric=True).header("▲") == "p-value▲"


@pytest.mark.parametrize("width", [70, 80, 100, 160])
def test_columns_fit_the_width_with_room_for_sort_marks(width: int) -> None:
    for plan in (feature_columns, endpoint_columns):
        columns = plan(width, len(LONG_NAME))
        assert sum(c.width + 2 for c in columns) + 1 <= width
        assert all(len(c.label) + 1 <= c.width for c in columns)
    names = {w: feature_columns(w, len(LONG_NAME))[0].width for w in (80, 160)}
    assert names == {80: 20, 160: len(LONG_NAME)}


def test_endpoint_rows_show_drift_per_endpoint_with_records() -> None:
    rows = {r.key: r for r in endpoint_rows(fleet())}
    assert list(rows) == ["fraud-scorer", "ranker", "embedder"]
    text = {k: {c: cell.text for c, cell in r.cells.items()} for k, r in rows.items()}
    assert text["fraud-scorer"] == {
        "endpoint": "fraud-scorer", "feed": "ok", "records": "400", "drifted": "3/5",
        "share": "60%", "dataset": "DRIFT",
    }
    assert text["embedder"]["drifted"] == "—" and rows["embedder"].sort["share"] is None
    assert rows["embedder"].cells["feed"].style == "muted"


def test_find_endpoint_prefers_the_row_with_records() -> None:
    snap = snapshot(row("llm", None, model="a"), row("llm", view(None)), row("other", None))
    found = find_endpoint(snap, "llm")
    assert found is not None and found.records is not None
    other = find_endpoint(snap, "other")
    assert other is not None and other.records is None
    assert find_endpoint(snap, "missing") is None


def test_headline_and_context() -> None:
    result = drift()
    assert drift_headline(result) == (
        "DATASET DRIFT · 3 of 5 features drifted (60%, threshold 50%)"
    )
    assert drift_headline(drift(seed=3, shift=0.0)).startswith("no dataset drift · 0 of 5")
    assert drift_context(result) == (
        "2,000 reference vs 400 current rows · Benjamini-Hochberg, alpha 0.05"
    )


def test_quality_line_shows_change_against_the_baseline() -> None:
    assert quality_line(quality()) == (
        "quality over 340 labelled: accuracy 91.2% (-3.4 pp vs 94.6%) · "
        "precision 80.0% (+1.0 pp vs 79.0%)"
    )
    regression = QualityReport(
        "regression", 50, {"mae": 1.5}, {"mae": 1.25}, {"mae": 0.25}, 50, 1.2, ()
    )
    assert quality_line(regression) == "error over 50 labelled: mae 1.5 (+0.25 vs 1.25)"
    too_few = QualityReport("classification", 12, {}, {"accuracy": 0.9}, {}, 12, None, ())
    assert quality_line(too_few) == "quality: 12 labelled records, too few to score yet"
    assert quality_line(None) is None


def test_feed_line_counts_and_error() -> None:
    assert feed_line(view(drift())) == (
        "records ok · 400 in window · 340 labelled · 12,345 read · 3 bad (not json 3)"
    )
    broken = replace(
        view(None, status="error", with_quality=False),
        error="http://127.0.0.1:9/records:\nconnection refused",
        feed=feed({"not json": 2, "no features": 1}),
    )
    assert feed_line(broken) == (
        "records error · 400 in window · 0 labelled · 12,345 read · "
        "3 bad (no features 1, not json 2) · error: http://127.0.0.1:9/records: connection refused"
    )


def test_no_drift_reasons() -> None:
    assert no_drift_reason("x", None) == "x is not in the latest snapshot"
    assert "has no records feed" in (no_drift_reason("x", row("x", None)) or "")
    waiting = row("x", view(None, status="waiting", records=0))
    assert (no_drift_reason("x", waiting) or "").startswith("no records yet")
    assert (no_drift_reason("x", row("x", view(None))) or "").startswith("no baseline")
    failed = row("x", view(None, status="error", error="baseline f.csv: missing"))
    assert no_drift_reason("x", failed) == "no drift: baseline f.csv: missing"
    assert no_drift_reason("x", row("x", view(drift()))) is None


def test_feature_detail_reads_the_whole_test() -> None:
    amount = drift().features[0]
    detail = feature_detail(amount)
    assert detail.startswith(
        "amount · numeric · ks 0.368 · p 1.2e-39 *** (adjusted 3.1e-39), drift when p ≤ 0.030"
        " · DRIFT · 2,000 vs 400 values · psi "
    )
    assert "wasserstein" in detail and "missing" not in detail
    distance = replace(amount, method="psi", statistic=0.25, p_value=None, threshold=0.1)
    assert "psi 0.25 · drift when ≥ 0.1 · DRIFT" in feature_detail(distance)
    assert "psi 0.25 · psi" not in feature_detail(distance)
    missing = replace(
        amount, scores={**amount.scores, "missing_rate_reference": 0.0,
                        "missing_rate_current": 0.12},
    )
    assert feature_detail(missing).endswith("missing 0% → 12%")
    untested = replace(amount, method=INSUFFICIENT, n_current=0)
    assert feature_detail(untested) == (
        "amount · numeric · insufficient data (2,000 vs 0 values)"
    )


def test_screen_summary_dates_the_data() -> None:
    snap = snapshot(at=NOW)
    assert screen_summary("drift · x", snap, NOW + 1) == "drift · x · data <3s old"
    assert screen_summary("drift · x", snap, NOW + 75) == "drift · x · data 1m15s old"
    assert screen_summary("drift", None, NOW) == "drift · waiting for the first poll…"
