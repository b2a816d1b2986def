"""Pure drawing: sparklines and human-readable figures, tested as strings."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mmtui.snapshot import RowSnapshot
from mmtui.ui.draw import (
    describe_row,
    format_age,
    format_count,
    format_data_age,
    format_interval,
    format_latency_ms,
    format_rate,
    format_ratio,
    format_status,
    format_summary,
    fresh_within,
    sparkline,
    truncate,
)


def test_sparkline_scales_min_to_max_of_the_window() -> None:
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([10, 80, 45]) == "▁█▅"
    assert sparkline([-5.0, 5.0]) == "▁█"


def test_sparkline_flat_series_sits_mid_height() -> None:
    assert sparkline([3.0, 3.0, 3.0]) == "▄▄▄"
    assert sparkline([0.0]) == "▄"


def test_sparkline_gaps_are_spaces_and_do_not_affect_scale() -> None:
    assert sparkline([1.0, None, 8.0, float("nan"), 1.0]) == "▁ █ ▁"
    assert sparkline([None, None]) == "  "


def test_sparkline_width_keeps_newest_and_pads_left() -> None:
    assert sparkline([1, 2, 3, 4, 5, 100], width=3) == "▁▁█"
    assert sparkline([1, 2], width=5) == "   ▁█"
    assert sparkline([], width=4) == "    "
    assert sparkline([1, 2, 3], width=0) == ""
    assert sparkline([]) == ""


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (None, "—"),
        (0.42, "0.4 ms"),
        (4.25, "4.2 ms"),
        (9.97, "10 ms"),
        (123.4, "123 ms"),
        (999.4, "999 ms"),
        (999.6, "1.0 s"),
        (1234.0, "1.2 s"),
        (12_345.0, "12.3 s"),
        (150_000.0, "2.5 min"),
    ],
)
def test_format_latency(ms: float | None, text: str) -> None:
    assert format_latency_ms(ms) == text


@pytest.mark.parametrize(
    ("rps", "text"),
    [
        (None, "—"),
        (0.0, "0/s"),
        (0.25, "0.25/s"),
        (12.34, "12.3/s"),
        (456.2, "456/s"),
        (12_345.0, "12.3k/s"),
    ],
)
def test_format_rate(rps: float | None, text: str) -> None:
    assert format_rate(rps) == text


@pytest.mark.parametrize(
    ("ratio", "text"),
    [
        (None, "—"),
        (0.0, "0%"),
        (0.0001, "<0.1%"),
        (0.004, "0.4%"),
        (0.0996, "10%"),
        (0.5, "50%"),
        (1.0, "100%"),
    ],
)
def test_format_ratio(ratio: float | None, text: str) -> None:
    assert format_ratio(ratio) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (-2.0, "0s"),
        (3.9, "3s"),
        (80.0, "1m20s"),
        (65.0, "1m05s"),
        (7500.0, "2h05m"),
        (3 * 86_400 + 4 * 3600, "3d04h"),
    ],
)
def test_format_age(seconds: float | None, text: str) -> None:
    assert format_age(seconds) == text


def test_data_age_reads_current_within_one_and_a_half_intervals() -> None:
    assert fresh_within(2.0) == 3
    assert fresh_within(0.2) == 1
    assert format_data_age(0.4, 2.0) == "<3s"
    assert format_data_age(2.9, 2.0) == "<3s"
    assert format_data_age(3.0, 2.0) == "3s"
    assert format_data_age(95.0, 2.0) == "1m35s"
    assert format_data_age(None, 2.0) == "—"


def test_format_status_is_readable_without_colour() -> None:
    assert format_status("up") == "↑ up"
    assert format_status("down") == "↓ down"
    assert format_status("error") == "! error"
    assert format_status("stale") == "~ stale"
    assert format_status("pending") == "… pending"
    assert format_status("down", short=True) == "↓"


def test_format_interval_and_count() -> None:
    assert format_interval(2.0) == "2s"
    assert format_interval(0.5) == "0.5s"
    assert format_interval(90.0) == "1m30s"
    assert format_count(3.0) == "3"
    assert format_count(2.5) == "2.5"
    assert format_count(None) == "—"


def test_truncate_one_line_with_ellipsis() -> None:
    assert truncate("connection refused", 30) == "connection refused"
    assert truncate("connection refused", 10) == "connectio…"
    assert truncate("line one\nline  two", 40) == "line one line two"
    assert truncate("abc", 0) == ""


def test_summary_line() -> None:
    assert format_summary(3, 4, 1.0, 2.0) == "3/4 up · data <3s old · every 2s"
    assert format_summary(0, 2, 75.0, 2.0) == "0/2 up · data 1m15s old · every 2s"
    assert format_summary(0, 0, None, 2.0) == "0/0 up · no data yet · every 2s"


def test_describe_row_gives_full_reason_or_extra_figures() -> None:
    down = RowSnapshot(
        "ranker", None, "torchserve", "down", "connect  refused\n127.0.0.1:9301", None, {}
    )
    assert describe_row(down) == "ranker (torchserve) ↓ down: connect refused 127.0.0.1:9301"
    up = RowSnapshot(
        "llm",
        "llama-3-8b",
        "vllm",
        "up",
        None,
        1.0,
        {"latency_p50_ms": 42.0, "latency_p99_ms": 1500.0, "queue_ms": None, "inflight": 3.0},
    )
    assert describe_row(up) == (
        "llm/llama-3-8b (vllm) ↑ up · p50 42 ms · p99 1.5 s · queue — · in flight 3"
    )


def test_draw_does_not_import_textual() -> None:
    code = "import sys, mmtui.ui.draw; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
