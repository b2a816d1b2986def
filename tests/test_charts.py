"""Charts as text: plotext output checked as strings, and which charts an endpoint gets."""

from __future__ import annotations

import numpy as np
import pytest
from rich.text import Text

from mmtui.alerts.rules import Rule
from mmtui.explore import SeriesData
from mmtui.names import ERROR_RATE, LATENCY_MEAN, LATENCY_P50, LATENCY_P95, THROUGHPUT
from mmtui.ui.charts import (
    ChartSpec,
    Palette,
    Threshold,
    Trace,
    envelope,
    format_tick,
    nice_ticks,
    relative_label,
    render_chart,
    runs,
    thresholds_for,
    time_ticks,
)
from mmtui.ui.draw import format_latency_ms
from mmtui.ui.endpoint_charts import group_metrics, plan_charts

NOW = 1_700_000_000.0
TS = np.arange(NOW - 300, NOW + 0.5, 5.0)
P95 = Rule(name="p95 latency", metric=LATENCY_P95, threshold=250.0, severity="critical")


def latency(values: np.ndarray, thresholds: tuple[Threshold, ...] = ()) -> ChartSpec:
    return ChartSpec("latency ms", (Trace("p95", TS, values),), thresholds, fmt=format_latency_ms)


def body(chart: str, header: int = 1) -> list[str]:
    """The plot's lines, below the legend header."""
    return chart.split("\n")[header:]


def test_title_legend_axis_labels_and_a_threshold_line() -> None:
    values = 100 + 50 * np.sin(np.arange(len(TS)) / 5)
    spec = latency(values, tuple(thresholds_for([P95], LATENCY_P95, format_latency_ms)))
    chart = render_chart(spec, NOW, 300, 80, 16)
    header, *plot = chart.split("\n")
    assert "latency ms" in header
    assert f"p95 {format_latency_ms(values[-1])}" in header
    assert "━ critical: p95 latency > 250 ms" in header
    for label in ("-5m", "-4m", "-1m", "now"):
        assert label in plot[-1]
    rows = {line.split("┤")[0].strip(): y for y, line in enumerate(plot) if "┤" in line}
    assert rows["0"] > rows["200"] > rows["300"]  # latency axis starts at 0
    line = next(y for y, text in enumerate(plot) if "━━━━━━━━━━" in text)
    assert rows["200"] > line > rows["300"]  # the threshold line at 250


@pytest.mark.parametrize(("width", "height"), [(80, 16), (60, 10), (120, 30), (38, 9), (30, 6)])
def test_width_and_height_are_respected(width: int, height: int) -> None:
    values = np.linspace(10, 90, len(TS))
    for palette in (None, Palette(((76, 154, 255),), {"critical": (255, 0, 0)})):
        chart = render_chart(latency(values), NOW, 300, width, height, palette)
        lines = Text.from_ansi(chart).plain.split("\n")
        assert len(lines) == height
        assert all(len(line) == width for line in lines), lines


def test_too_small_keeps_the_legend_and_the_size() -> None:
    chart = render_chart(latency(np.ones(len(TS))), NOW, 300, 15, 3)
    lines = chart.split("\n")
    assert len(lines) == 3 and all(len(line) == 15 for line in lines)
    assert lines[0].startswith("latency")


def test_nan_values_are_gaps_not_a_crash() -> None:
    values = np.full(len(TS), 50.0)
    gap = (TS > NOW - 200) & (TS < NOW - 100)
    values[gap] = np.nan
    assert [len(ts) for ts, _ in runs(TS, values, NOW - 300, NOW)] == [21, 21]
    chart = render_chart(latency(values), NOW, 300, 80, 12)  # plotext aborts the process on NaN
    line = next(row for row in body(chart) if "▀" in row or "▄" in row)
    assert "┤" not in line  # 50 sits between ticks, so the row starts with the plain frame
    drawn = line[line.index("│") + 1 : line.rindex("│")]
    middle = drawn[round(len(drawn) * 0.38) : round(len(drawn) * 0.62)]
    assert middle.strip() == "", drawn
    assert drawn[: len(drawn) // 6].strip() and drawn[-len(drawn) // 6 :].strip()


def test_infinite_values_and_points_outside_the_window_are_left_out() -> None:
    values = np.full(len(TS), 5.0)
    values[3] = np.inf
    stretches = runs(TS, values, NOW - 100, NOW)
    assert [len(ts) for ts, _ in stretches] == [21]
    assert all(np.isfinite(vs).all() for _, vs in stretches)
    assert "5.0 ms" in render_chart(latency(values), NOW, 300, 60, 10)


def test_empty_state_says_there_is_no_data_in_the_window() -> None:
    empty = ChartSpec("throughput", (Trace("req/s", np.empty(0), np.empty(0)),))
    chart = render_chart(empty, NOW, 3600, 60, 10)
    assert "no data in the last 1h" in chart
    assert "req/s —" in chart
    assert "-1h" in chart and "now" in chart


def test_a_far_threshold_is_listed_off_scale_not_drawn() -> None:
    far = Threshold(5000.0, "warning: slow > 5.0 s", "warning")
    chart = render_chart(latency(np.full(len(TS), 20.0), (far,)), NOW, 300, 80, 12)
    assert "─ warning: slow > 5.0 s ↑" in chart.split("\n")[0]
    assert "5k" not in chart and "5000" not in chart


def test_ratios_are_plotted_as_percentages_with_the_threshold_scaled() -> None:
    errors = ChartSpec(
        "error rate", (Trace("errors", TS, np.zeros(len(TS))),),
        (Threshold(0.05, "warning: errors > 5%", "warning"),), scale=100, suffix="%",
    )
    chart = render_chart(errors, NOW, 300, 60, 12)
    assert "6%┤" in chart and "0%┤" in chart
    assert any("────────────" in line for line in body(chart) if "┤" not in line[:3])


def test_colour_only_adds_styles() -> None:
    spec = latency(np.linspace(10, 90, len(TS)), (Threshold(80.0, "critical: x > 80", "critical"),))
    palette = Palette(((76, 154, 255),), {"critical": (255, 107, 107)})
    coloured = render_chart(spec, NOW, 300, 70, 14, palette)
    assert "\x1b[38;2;76;154;255m" in coloured and "\x1b[38;2;255;107;107m" in coloured
    assert Text.from_ansi(coloured).plain == render_chart(spec, NOW, 300, 70, 14)
    assert "\x1b" not in render_chart(spec, NOW, 300, 70, 14)


def test_traces_differ_by_glyph_for_monochrome() -> None:
    spec = ChartSpec(
        "latency ms", tuple(Trace(n, TS, np.full(len(TS), v)) for n, v in
                            (("p50", 10.0), ("p95", 50.0), ("p99", 90.0)))
    )
    chart = render_chart(spec, NOW, 300, 80, 14)
    assert "▀ p50" in chart and "⠒ p95" in chart and "• p99" in chart
    assert "•" in "".join(body(chart, 2)) and any(c in "".join(body(chart, 2)) for c in "⠒⠉⣀⠤")


def test_envelope_thins_points_but_keeps_spikes() -> None:
    ts = np.arange(10_000, dtype=float)
    vs = np.zeros(10_000)
    vs[4_321] = 99.0
    vs[8_000] = -5.0
    xs, ys = envelope(ts, vs, 100)
    assert len(xs) <= 200
    assert ys.max() == 99.0 and ys.min() == -5.0
    assert np.all(np.diff(xs) >= 0)
    short = np.arange(10.0)
    assert envelope(short, short, 100)[0] is short


def test_thresholds_come_from_enabled_absolute_rules_on_the_metric() -> None:
    rules = [
        P95,
        Rule(name="off", metric=LATENCY_P95, threshold=1.0, enabled=False),
        Rule(name="relative", metric=LATENCY_P95, relative_to="baseline", factor=3.0),
        Rule(name="other", metric=LATENCY_P50, threshold=9.0),
        Rule(name="down", kind="nodata"),
    ]
    found = thresholds_for(rules, LATENCY_P95, format_latency_ms)
    assert found == [Threshold(250.0, "critical: p95 latency > 250 ms", "critical")]


@pytest.mark.parametrize(
    ("seconds", "label"),
    [(0, "now"), (-30, "-30s"), (-300, "-5m"), (-5400, "-90m"), (-7200, "-2h")],
)
def test_relative_time_labels(seconds: float, label: str) -> None:
    assert relative_label(seconds) == label


def test_time_ticks_fit_the_width() -> None:
    assert time_ticks(300, 80)[1] == ["-5m", "-4m", "-3m", "-2m", "-1m", "now"]
    assert time_ticks(3600, 40)[1] == ["-1h", "-30m", "now"]
    positions, labels = time_ticks(86_400, 120)
    assert positions[0] == -86_400 and positions[-1] == 0 and labels[0] == "-24h"
    assert len(labels) <= 12


def test_nice_ticks_cover_the_range_with_round_steps() -> None:
    assert nice_ticks(0, 123, 5) == [0, 50, 100, 150]
    assert nice_ticks(0.93, 0.97, 5) == pytest.approx([0.93, 0.94, 0.95, 0.96, 0.97])
    ticks = nice_ticks(0, 0.004, 3)
    assert ticks[0] == 0 and ticks[-1] >= 0.004 and len(ticks) <= 3


@pytest.mark.parametrize(
    ("value", "step", "text"),
    [(0.0, 50, "0"), (2.5, 2.5, "2.5"), (0.94, 0.01, "0.94"), (12_000, 2_000, "12k"),
     (2_500_000, 500_000, "2.5M"), (4.0, 2.0, "4")],
)
def test_tick_labels_have_the_decimals_the_step_needs(value: float, step: float, text: str) -> None:
    assert format_tick(value, step) == text
    assert format_tick(value, step, "%") == text + "%"


def series(metric: str, values: list[float]) -> SeriesData:
    return SeriesData(metric, TS[: len(values)], np.asarray(values, dtype=float))


def test_plan_draws_required_charts_and_quality_only_with_labels() -> None:
    data = {LATENCY_P95: series(LATENCY_P95, [1.0, 2.0]), ERROR_RATE: series(ERROR_RATE, [0.0])}
    plan = plan_charts(data, [P95])
    assert list(plan) == ["latency", "throughput", "errors"]
    assert [t.label for t in plan["latency"].traces] == ["p95"]  # p50/p99 have no data
    assert plan["latency"].thresholds[0].value == 250.0
    assert "no data" in render_chart(plan["throughput"], NOW, 300, 60, 10)
    data["accuracy"] = series("accuracy", [0.9, 0.95])
    data["recall"] = series("recall", [np.nan])
    plan = plan_charts(data, [])
    assert list(plan) == ["latency", "throughput", "errors", "quality"]
    assert [t.label for t in plan["quality"].traces] == ["accuracy"]


def test_plan_falls_back_to_the_mean_without_quantiles() -> None:
    data = {LATENCY_MEAN: series(LATENCY_MEAN, [51.0]), THROUGHPUT: series(THROUGHPUT, [3.0])}
    assert [t.label for t in plan_charts(data, [])["latency"].traces] == ["mean"]
    assert {LATENCY_MEAN, LATENCY_P95, "accuracy", "rmse"} <= set(group_metrics())


def test_a_flat_score_stays_below_its_ceiling_and_a_flat_rate_above_its_floor() -> None:
    score = ChartSpec("quality", (Trace("accuracy", TS, np.full(len(TS), 0.93)),), floor=None,
                      ceiling=1.0)
    ticks = [line.split("┤")[0].strip() for line in body(render_chart(score, NOW, 300, 60, 14))
             if "┤" in line]
    assert float(ticks[0]) == 1.0 and float(ticks[-1]) < 0.93
    idle = ChartSpec("throughput", (Trace("req/s", TS, np.zeros(len(TS))),))
    ticks = [line.split("┤")[0].strip() for line in body(render_chart(idle, NOW, 300, 60, 14))
             if "┤" in line]
    assert ticks[-1] == "0" and float(ticks[0]) > 0
