"""The exposition-format parser against real payloads, prometheus_client, and broken input."""

from __future__ import annotations

import doctest
import math
import re
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as om_families,
)
from prometheus_client.parser import text_string_to_metric_families as text_families

from mmtui.feeds import parser
from mmtui.feeds.model import MetricFamily, ParseError, Sample
from mmtui.feeds.parser import ParseMemo, parse, parse_bytes

FEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "feeds"
SKIP_DIRS = {"invalid", "request_logs"}

SampleKey = tuple[str, tuple[tuple[str, str], ...], Any, float | None]


def _valid_feeds() -> list[Path]:
    """Every valid payload (collected at import so each file is its own test case)."""
    if not FEEDS.is_dir():
        return []
    files = (p for p in FEEDS.rglob("*.txt") if not SKIP_DIRS & set(p.relative_to(FEEDS).parts))
    return sorted(files)


def _invalid_feeds() -> list[Path]:
    return sorted((FEEDS / "edge_cases" / "invalid").glob("*.txt")) if FEEDS.is_dir() else []


def _is_openmetrics(path: Path) -> bool:
    """SOURCES.md: the openmetrics_* files are OpenMetrics, everything else Prometheus text."""
    return path.name.startswith("openmetrics_")


def _key(name: str, labels: dict[str, str], value: float, ts: Any) -> SampleKey:
    """A comparable sample: NaN equals NaN, and timestamps are float seconds."""
    v = "NaN" if math.isnan(value) else float(value)
    return (name, tuple(sorted(labels.items())), v, None if ts is None else float(ts))


def _keys(samples: Iterable[Sample]) -> list[SampleKey]:
    return [_key(s.name, s.labels, s.value, s.timestamp) for s in samples]


def _read(feeds_dir: Path, relative: str) -> str:
    return (feeds_dir / relative).read_text(encoding="utf-8")


# Agreement with prometheus_client on every real payload.
@pytest.mark.parametrize("path", _valid_feeds(), ids=lambda p: str(p.relative_to(FEEDS)))
def test_agrees_with_prometheus_client(feeds_dir: Path, path: Path) -> None:
    """Same samples, labels, values, timestamps, family names, types and help.

    Differences from prometheus_client that are ours on purpose, and how they are compared:

    - prometheus_client's text parser renames a counter family whose TYPE name ends in ``_total``
      (``foo_total`` -> ``foo``) and renames the samples of a counter whose TYPE name does not
      (``foo`` -> ``foo_total``). We keep both as written, so our family ``foo_total`` matches its
      ``foo``, and our sample ``foo`` of counter ``foo`` matches its ``foo_total``.
    - Its text parser calls untyped families ``unknown``; we call them ``untyped``.
    - It only attaches samples that directly follow their family's TYPE line; later ones (the
      interleaved summaries of promtext_expfmt_parse_3) become one-sample ``unknown`` families
      there. Like Go's parser we keep them in their declared family.
    - It makes a one-sample ``unknown`` family of every undeclared sample; we group undeclared
      series shaped like a histogram under their stem (the Triton doc quirk).
    """
    text = path.read_text(encoding="utf-8")
    om = _is_openmetrics(path)
    ours = parse(text)  # the format is detected, which this checks too
    theirs = list((om_families if om else text_families)(text))
    untyped = "unknown" if om else "untyped"

    def pc_name(family: MetricFamily, sample: Sample) -> str:
        renamed = family.type == "counter" and not family.name.endswith("_total")
        return (
            sample.name + "_total"
            if not om and renamed and sample.name == family.name
            else sample.name
        )

    our_samples: dict[SampleKey, list[tuple[str, str]]] = defaultdict(list)
    for fam in ours.values():
        for s in fam.samples:
            our_samples[_key(pc_name(fam, s), s.labels, s.value, s.timestamp)].append(
                (fam.name, fam.type)
            )
    their_samples: dict[SampleKey, list[tuple[str, str]]] = defaultdict(list)
    for metric in theirs:
        for ts in metric.samples:
            their_samples[_key(ts.name, ts.labels, ts.value, ts.timestamp)].append(
                (metric.name, metric.type)
            )
    assert sorted(our_samples, key=repr) == sorted(their_samples, key=repr)
    assert {k: len(v) for k, v in our_samples.items()} == {
        k: len(v) for k, v in their_samples.items()
    }

    their_typed = {(m.name, m.type) for m in theirs if m.type != "unknown"}
    for key, families in our_samples.items():
        for (name, type_), (pc_family, pc_type) in zip(
            sorted(families), sorted(their_samples[key]), strict=True
        ):
            if pc_type != "unknown":
                assert type_ == pc_type, key
                assert name in (pc_family, pc_family + "_total"), key
            elif type_ == untyped:
                assert key[0].startswith(name), key  # ours may group it under its stem
            else:
                assert (name, type_) in their_typed, key  # an interleaved declared sample

    their_names = {m.name for m in theirs}
    for name, fam in ours.items():
        assert name == fam.name
        assert name in their_names or (fam.type == "counter" and name[:-6] in their_names)
    for metric in theirs:
        if metric.type == "unknown":
            continue
        fam = ours.get(metric.name) or ours[metric.name + "_total"]
        assert (fam.type, fam.help) == (metric.type, metric.documentation)


def test_every_real_payload_is_covered(feeds_dir: Path) -> None:
    names = {p.name for p in _valid_feeds()}
    assert {"vllm_metrics.txt", "triton_metrics.txt", "openmetrics_roundtrip.txt"} <= names
    assert len(names) >= 20


# Broken input.
INVALID = {
    "openmetrics_bad_blank_line.txt": (2, "blank lines are not allowed"),
    "openmetrics_bad_counter_values_0.txt": (2, "must be >= 0 and not NaN"),
    "promtext_expfmt_parse_error_12.txt": (3, "a second # HELP for 'metric'"),
    "promtext_expfmt_parse_error_17.txt": (1, "expected a metric name"),
    "promtext_expfmt_parse_error_3.txt": (1, "expected a label name, got '@'"),
    "promtext_expfmt_parse_error_7.txt": (3, "expected a float as the 'quantile' label"),
}


@pytest.mark.parametrize("path", _invalid_feeds(), ids=lambda p: p.name)
def test_invalid_feed_is_rejected_naming_the_line(feeds_dir: Path, path: Path) -> None:
    lineno, what = INVALID[path.name]  # a new file here needs its expectation written down
    with pytest.raises(ParseError) as info:
        parse(path.read_text(encoding="utf-8"), openmetrics=_is_openmetrics(path))
    message = str(info.value)
    assert message.startswith(f"line {lineno}: "), message
    assert what in message


BROKEN_TEXT = [
    ('a{b="c} 1\n', 1, "unterminated value of label 'b'"),
    ('a{b="c"\n', 1, "expected ',' or '}' after a label value"),
    ("a 1x\n", 1, "expected a float value, got '1x'"),
    ("a 1_000\n", 1, "expected a float value, got '1_000'"),
    ('a{b="c"}\n', 1, "expected a value"),
    ('a{1b="c"} 1\n', 1, "expected a label name, got '1'"),
    ('a{b "c"} 1\n', 1, "expected '=' after label name 'b'"),
    ("a{b=c} 1\n", 1, "expected '\"' to open the value of label 'b'"),
    ('a{b="1",b="2"} 1\n', 1, "duplicate label name 'b'"),
    ('a{b="\\z"} 1\n', 1, "invalid escape sequence '\\z'"),
    ("a-b 1\n", 1, "invalid character '-' in metric name"),
    ("a 1 1.5\n", 1, "expected a timestamp in integer milliseconds, got '1.5'"),
    ("a 1 2 3\n", 1, "unexpected '3' after the timestamp"),
    ("# TYPE 1a gauge\n", 1, "invalid metric name '1a' after # TYPE"),
    ("# TYPE a gauge\n# TYPE a counter\n", 2, "a second # TYPE for 'a'"),
    ("a 1\n# TYPE a gauge\n", 2, "# TYPE for 'a' comes after its samples"),
    ("# TYPE a gauges\n", 1, "unknown metric type 'gauges'"),
    ('# TYPE h histogram\nh_bucket{le="x"} 1\n', 2, "expected a float as the 'le' label"),
    ("# TYPE h histogram\nh_bucket 1\n", 2, "a histogram bucket needs an 'le' label"),
    ('# TYPE s summary\ns{quantile="0.5x"} 1\n', 2, "expected a float as the 'quantile'"),
    ("ok 1\nok 2\n\n# a comment\nbad{ 1\n", 5, "expected a label name, got '1'"),
]

BROKEN_OPENMETRICS = [
    ("a 1\n# EOF\nb 1\n", 3, "nothing may follow '# EOF'"),
    ("a 1\n# EOF\n\n", 3, "nothing may follow '# EOF'"),
    ("a 1\n", 1, "expected '# EOF' as the last line"),
    ("", 1, "expected '# EOF' as the last line"),
    ("# TYPE a counter\na_total -1\n# EOF\n", 2, "must be >= 0 and not NaN"),
    ('# TYPE h histogram\nh_bucket{le="1"} NaN\n# EOF\n', 2, "must be >= 0 and not NaN"),
    ("# TYPE h histogram\nh_sum NaN\n# EOF\n", 2, "a sum must not be NaN"),
    ("# hello there\n# EOF\n", 1, "expected '# HELP', '# TYPE', '# UNIT' or '# EOF'"),
    ("# TYPE a gauge\na 1\n# HELP a late\n# EOF\n", 3, "# HELP for 'a' comes after its samples"),
    ("# TYPE a untyped\n# EOF\n", 1, "unknown metric type 'untyped'"),
    ("a 1 NaN\n# EOF\n", 1, "expected a timestamp in float seconds, got 'NaN'"),
    (" a 1\n# EOF\n", 1, "indentation is not allowed"),
    ('a_total{b="c"} 1 # 0.5\n# EOF\n', 1, "expected an exemplar"),
]


@pytest.mark.parametrize(("text", "lineno", "what"), BROKEN_TEXT)
def test_broken_text_is_rejected(text: str, lineno: int, what: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(text, openmetrics=False)
    message = str(info.value)
    assert message.startswith(f"line {lineno}: "), message
    assert what in message


@pytest.mark.parametrize(("text", "lineno", "what"), BROKEN_OPENMETRICS)
def test_broken_openmetrics_is_rejected(text: str, lineno: int, what: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(text, openmetrics=True)
    message = str(info.value)
    assert message.startswith(f"line {lineno}: "), message
    assert what in message


def test_error_message_quotes_the_line() -> None:
    with pytest.raises(ParseError, match=r"^line 2: .*: 'a\{@=\"x\"\} 1'$"):
        parse('ok 1\na{@="x"} 1\n')


def test_text_after_eof_is_rejected_when_the_format_is_detected() -> None:
    with pytest.raises(ParseError, match="^line 3: nothing may follow '# EOF'"):
        parse("a 1\n# EOF\nb 1\n")


def test_parse_bytes_rejects_bad_utf8_naming_the_line() -> None:
    with pytest.raises(ParseError, match=r"^line 2: the body is not valid UTF-8"):
        parse_bytes(b'a 1\nb{c="\xff"} 1\n', "text/plain; version=0.0.4")


# only=
VLLM_FAMILIES = {
    "vllm:e2e_request_latency_seconds",
    "vllm:time_to_first_token_seconds",
    "vllm:request_success_total",
    "vllm:num_requests_running",
    "vllm:num_requests_waiting",
    "vllm:prompt_tokens_total",
}


def _comparable(families: dict[str, MetricFamily]) -> dict[str, Any]:
    return {n: (f.type, f.help, _keys(f.samples)) for n, f in families.items()}


def test_only_keeps_just_those_vllm_families(feeds_dir: Path) -> None:
    text = _read(feeds_dir, "vllm_metrics.txt")
    full = parse(text)
    some = parse(text, only=VLLM_FAMILIES)
    assert set(some) == VLLM_FAMILIES
    assert _comparable(some) == _comparable({n: full[n] for n in VLLM_FAMILIES})
    buckets = [s for s in some["vllm:e2e_request_latency_seconds"].samples if "le" in s.labels]
    assert buckets[-1].labels["le"] == "+Inf"


@pytest.mark.parametrize("path", _valid_feeds(), ids=lambda p: str(p.relative_to(FEEDS)))
def test_only_matches_a_full_parse(feeds_dir: Path, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    full = parse(text)
    wanted = set(list(full)[::2]) | {"no_such_family"}
    assert _comparable(parse(text, only=wanted)) == _comparable(
        {n: f for n, f in full.items() if n in wanted}
    )


def test_only_with_undeclared_series_matches_a_full_parse() -> None:
    text = 'x_bucket{le="1"} 1\nx_sum 2\nx_count 1\ny_total 3\ny_created 9\nz_sum 1\n'
    full = parse(text)
    for wanted in ({"x"}, {"y_total"}, {"z_sum"}, {"x_sum"}, {"x", "z_sum"}):
        assert _comparable(parse(text, only=wanted)) == _comparable(
            {n: f for n, f in full.items() if n in wanted}
        )


def test_only_matches_a_family_by_its_type_name(feeds_dir: Path) -> None:
    text = _read(feeds_dir, "triton_trtllm_zero_counters.txt")
    fams = parse(text, only=["nv_inference_request_success"])
    assert list(fams) == ["nv_inference_request_success"]
    [sample] = fams["nv_inference_request_success"].samples
    assert sample.name == "nv_inference_request_success"  # not renamed to _total
    assert sample.labels == {"model": "tensorrt_llm", "version": "1"}


# A memo carried from scrape to scrape.
def test_a_memo_carried_over_every_real_payload_changes_no_result() -> None:
    """One memo through every payload in turn, as if one endpoint's scrapes changed that much
    between polls: each parse equals the parse without it."""
    feeds = _valid_feeds()
    if not feeds:
        pytest.skip("no feeds directory")
    texts = [p.read_text(encoding="utf-8") for p in feeds]
    wanted = VLLM_FAMILIES | {"nv_inference_request_success", "nv_inference_request_duration_us",
                              "ts_inference_requests_total", "http_requests", "up", "no_such"}
    memo = ParseMemo()
    for path, text in zip(feeds * 2, texts * 2, strict=True):  # twice: the memo is full then
        fmt = _is_openmetrics(path)
        assert parse(text, openmetrics=fmt, only=wanted, memo=memo) == parse(
            text, openmetrics=fmt, only=wanted
        ), path.name


@pytest.mark.parametrize(
    ("only", "scrapes"),
    [
        # Undeclared first, then declared as the gauge histogram that owns it.
        ({"g"}, ["g_gcount 1\n# EOF\n",
                 '# TYPE g gaugehistogram\ng_bucket{le="+Inf"} 1\ng_gcount 1\ng_gsum 2\n# EOF\n']),
        # A family asked for changes type; one asked for goes and comes back.
        ({"x"}, ["# TYPE x counter\nx_total 1\n# EOF\n",
                 '# TYPE x histogram\nx_bucket{le="+Inf"} 2\nx_count 2\nx_sum 3\n# EOF\n',
                 "# EOF\n", "# TYPE x counter\nx_total 4\n# EOF\n"]),
        # A family not asked for changes type around one that is.
        ({"y"}, ["# TYPE z gauge\nz 1\ny 2\n# EOF\n",
                 '# TYPE z histogram\nz_bucket{le="1"} 1\nz_count 1\nz_sum 1\ny 3\n# EOF\n',
                 "z_count 1\nz_sum 1\ny_total 4\ny_created 1\n# EOF\n"]),
    ],
)
def test_a_memo_follows_metadata_that_changes_between_scrapes(
    only: set[str], scrapes: list[str]
) -> None:
    memo = ParseMemo()
    for text in scrapes:
        assert parse(text, only=only, memo=memo) == parse(text, only=only), text


def test_a_memo_starts_again_for_other_families() -> None:
    text = '# TYPE a counter\na_total 1\n# TYPE b gauge\nb{k="v"} 2\n'
    memo = ParseMemo()
    assert list(parse(text, only={"a"}, memo=memo)) == ["a"]
    assert memo.skipped  # b's names: not asked for
    assert parse(text, only={"b"}, memo=memo) == parse(text, only={"b"})
    assert "b" not in memo.skipped


# What real servers emit.
def test_torchserve_trailing_comma_and_families_without_samples(feeds_dir: Path) -> None:
    fams = parse(_read(feeds_dir, "torchserve_metrics.txt"))
    assert fams["Requests2XX"].type == "counter"
    assert fams["Requests2XX"].samples == [
        Sample("Requests2XX", {"Level": "Host", "Hostname": "88665a372f4b.ant.amazon.com"}, 8.0)
    ]
    for empty in ("Requests4XX", "Requests5XX", "GPUMemoryUtilization"):
        assert fams[empty].samples == []
    assert fams["Requests5XX"].help == "Torchserve prometheus counter metric with unit: Count"


def test_torchserve_histogram_buckets(feeds_dir: Path) -> None:
    fam = parse(_read(feeds_dir, "torchserve_custom_metrics_histogram.txt"))["ExamplePercentMetric"]
    assert fam.type == "histogram"
    les = [s.labels["le"] for s in fam.samples if s.name == "ExamplePercentMetric_bucket"]
    assert les[0] == "0.005" and les[-1] == "+Inf"


def test_vllm_without_final_newline(feeds_dir: Path) -> None:
    text = _read(feeds_dir, "vllm_metrics.txt")
    assert not text.endswith("\n")
    last_line = text.rsplit("\n", 1)[1]
    name = last_line.partition("{")[0]
    fams = parse(text)
    assert len(fams) == 67
    last = [s for f in fams.values() for s in f.samples if s.name == name][-1]
    assert last.value == float(last_line.rsplit(" ", 1)[1])


def test_vllm_families_keep_their_type_names(feeds_dir: Path) -> None:
    fams = parse(_read(feeds_dir, "vllm_metrics.txt"))
    latency = fams["vllm:e2e_request_latency_seconds"]
    assert latency.type == "histogram"
    assert {s.name for s in latency.samples} == {
        "vllm:e2e_request_latency_seconds_bucket",
        "vllm:e2e_request_latency_seconds_count",
        "vllm:e2e_request_latency_seconds_sum",
    }
    assert fams["vllm:prompt_tokens_total"].type == "counter"
    assert fams["vllm:prompt_tokens_created"].type == "gauge"
    assert fams["vllm:iteration_tokens_total"].type == "histogram"  # a histogram named *_total
    assert not fams["vllm:gpu_prefix_cache_queries_total"].help.endswith(" ")


def test_escapes_in_label_values_and_help(feeds_dir: Path) -> None:
    fams = parse(_read(feeds_dir, "edge_cases/promtext_expfmt_parse_2.txt"))
    name = fams["name"]
    assert name.type == "counter"
    assert name.help == "two-line\n doc  str\\ing"
    assert name.samples[1].labels == {"labelname": "val2", "basename": 'base"v\\al\nue'}
    assert math.isnan(name.samples[0].value)
    name2 = fams["name2"]
    assert name2.help == 'doc str"ing 2'
    assert [s.value for s in name2.samples] == [math.inf, -math.inf]
    assert name2.samples[1].labels == {"labelname": "val1"}  # spaces and a trailing comma


def test_openmetrics_escapes(feeds_dir: Path) -> None:
    fam = parse(_read(feeds_dir, "edge_cases/openmetrics_escaping.txt"))["a"]
    assert fam.help == "he\n\\l\\tp"
    assert [s.labels["foo"] for s in fam.samples] == [
        'b"a\nr',
        "b\\a\\z",
        'b"a\nr # ',
        "b\\a\\z # ",
    ]


def test_bentoml_sum_before_buckets(feeds_dir: Path) -> None:
    fam = parse(_read(feeds_dir, "bentoml_custom_metrics.txt"))["inference_time_seconds"]
    assert fam.type == "histogram"
    names = [s.name for s in fam.samples]
    assert names[0] == "inference_time_seconds_sum"
    assert names.count("inference_time_seconds_bucket") == 8
    assert names[-1] == "inference_time_seconds_count"
    assert fam.samples[0].value == 51.74311947822571


def test_text_timestamps_are_milliseconds_converted_to_seconds(feeds_dir: Path) -> None:
    fams = parse(_read(feeds_dir, "edge_cases/promtext_expfmt_parse_1.txt"))
    assert fams["another_metric"].samples == [Sample("another_metric", {}, -3000.0, 103.948)]
    assert fams["minimal_metric"].samples[0].timestamp is None
    assert parse("a 1 -2\n")["a"].samples[0].timestamp == -0.002


def test_openmetrics_timestamps_are_seconds(feeds_dir: Path) -> None:
    fam = parse(_read(feeds_dir, "edge_cases/openmetrics_timestamps.txt"))["a"]
    assert [s.timestamp for s in fam.samples] == [0.0, 0.0, 1.1, 12345678901234567890.0, 1500.0]


def test_exemplars_are_stripped(feeds_dir: Path) -> None:
    fam = parse(_read(feeds_dir, "edge_cases/openmetrics_histogram_exemplars.txt"))["a"]
    assert [(s.labels, s.value, s.timestamp) for s in fam.samples] == [
        ({"le": "1.0"}, 0.0, None),
        ({"le": "2.0"}, 2.0, None),
        ({"le": "+Inf"}, 3.0, None),
    ]
    counter = parse('# TYPE c counter\nc_total 4 # {t="x"} 1 2\n# EOF\n')["c"]
    assert counter.samples == [Sample("c_total", {}, 4.0)]


def test_plus_inf_le_stays_a_string(feeds_dir: Path) -> None:
    fam = parse(_read(feeds_dir, "openmetrics_roundtrip.txt"))["foo"]
    les = [s.labels["le"] for s in fam.samples if s.name == "foo_bucket"]
    assert les[-1] == "+Inf"
    assert "1.55555555555552e+06" in les


def test_triton_doc_quirk_is_documented_behaviour(feeds_dir: Path) -> None:
    fams = parse(_read(feeds_dir, "triton_histogram_doc_quirky.txt"))
    declared = fams["nv_first_response_histogram_ms"]
    assert (declared.type, declared.samples) == ("histogram", [])
    assert declared.help == "Duration from request to first response in milliseconds"
    quirky = fams["nv_inference_first_response_histogram_ms"]
    assert quirky.type == "untyped"
    assert len(quirky.samples) == 7
    assert quirky.samples[0].name == "nv_inference_first_response_histogram_ms_count"
    assert quirky.samples[-1].labels == {"model": "my_model", "version": "1", "le": "+Inf"}
    assert set(fams) == {
        "nv_first_response_histogram_ms",
        "nv_inference_first_response_histogram_ms",
    }


def test_interleaved_summary_samples_stay_in_their_family(feeds_dir: Path) -> None:
    fams = parse(_read(feeds_dir, "edge_cases/promtext_expfmt_parse_3.txt"))
    assert set(fams) == {"my_summary", "decoy", "fake_sum", "another_summary"}
    assert fams["my_summary"].type == "summary"
    assert len(fams["my_summary"].samples) == 8
    assert fams["decoy"].samples == [Sample("decoy", {}, -1.0, -0.002)]


def test_undeclared_series_are_grouped_by_shape() -> None:
    text = 'x_bucket{le="1"} 1\nx_sum 2\nx_count 1\nbar_count 3\ny_total 3\ny_created 9\n'
    fams = parse(text)
    assert list(fams) == ["x", "bar_count", "y_total"]
    assert [s.name for s in fams["x"].samples] == ["x_bucket", "x_sum", "x_count"]
    assert {f.type for f in fams.values()} == {"untyped"}
    assert [s.name for s in fams["y_total"].samples] == ["y_total", "y_created"]
    om = parse(text + "# EOF\n")
    assert list(om) == ["x", "bar_count", "y_total"]
    assert {f.type for f in om.values()} == {"unknown"}


def test_declared_family_is_not_merged_with_undeclared_series() -> None:
    fams = parse("# TYPE x gauge\nx 1\nx_sum 2\nx_count 3\n")
    assert list(fams) == ["x", "x_sum", "x_count"]
    assert fams["x"].type == "gauge"


def test_format_detection_and_content_types() -> None:
    om_body = b'# TYPE a counter\na_total{b="c"} 1 # {t="1"} 1\n# EOF\n'
    assert (
        parse_bytes(om_body, "application/openmetrics-text; version=1.0.0")["a"].type == "counter"
    )
    assert parse_bytes(om_body)["a"].samples == [Sample("a_total", {"b": "c"}, 1.0)]
    text_body = b"# HELP a x\n# TYPE a gauge\na 1 1000\n"
    assert parse_bytes(text_body, "text/plain; version=0.0.4; charset=utf-8")["a"].samples == [
        Sample("a", {}, 1.0, 1.0)
    ]
    # A text/plain body is Prometheus text, where "# EOF" is just a comment and blank lines are ok.
    fams = parse_bytes(b"a 1\n\n# EOF\n", "text/plain")
    assert fams["a"].type == "untyped"


def test_openmetrics_types_and_suffixes() -> None:
    text = (
        "# TYPE d_seconds counter\n# UNIT d_seconds seconds\n# HELP d_seconds Time.\n"
        "d_seconds_total 1\nd_seconds_created 1.7e9\n"
        '# TYPE i info\ni_info{v="1"} 1\n# TYPE st stateset\nst{st="a"} 1\n'
        '# TYPE g gaugehistogram\ng_bucket{le="+Inf"} 2\ng_gcount 2\ng_gsum -1\n# EOF\n'
    )
    fams = parse(text)
    assert {n: (f.type, [s.name for s in f.samples]) for n, f in fams.items()} == {
        "d_seconds": ("counter", ["d_seconds_total", "d_seconds_created"]),
        "i": ("info", ["i_info"]),
        "st": ("stateset", ["st"]),
        "g": ("gaugehistogram", ["g_bucket", "g_gcount", "g_gsum"]),
    }
    assert fams["d_seconds"].help == "Time."
    assert fams["d_seconds"].samples[1].value == 1.7e9


def test_metadata_lines_without_content_are_comments() -> None:
    fams = parse("# HELP\n# HELP a\n# TYPE a\n#\n# just words\na 1\n")
    assert list(fams) == ["a"]
    assert (fams["a"].type, fams["a"].help) == ("untyped", "")


def test_help_without_samples_and_case_of_type() -> None:
    fams = parse("# HELP lonely some help\n# TYPE g GAUGE\ng 2\n")
    assert (fams["lonely"].type, fams["lonely"].help, fams["lonely"].samples) == (
        "untyped",
        "some help",
        [],
    )
    assert fams["g"].type == "gauge"


def test_slow_path_reads_lines_like_the_fast_path(feeds_dir: Path) -> None:
    """Indented lines and a blank before '{' take the careful tokenizer: same result."""
    text = _read(feeds_dir, "vllm_metrics.txt")
    reshaped = "\n".join(
        line if line.startswith("#") else " " + line.replace("{", " {", 1)
        for line in text.split("\n")
    )
    assert reshaped != text
    assert _comparable(parse(reshaped)) == _comparable(parse(text))


def test_an_exact_family_name_wins_over_a_suffix() -> None:
    fams = parse("# TYPE x_count gauge\nx_count 1\n# TYPE x summary\nx_sum 2\nx_count 3\n")
    assert [s.value for s in fams["x_count"].samples] == [1.0, 3.0]
    assert [s.name for s in fams["x"].samples] == ["x_sum"]


def test_label_values_are_kept_verbatim() -> None:
    fams = parse('a{b=" x ",c="",d="=,{"} 1\n')
    assert fams["a"].samples[0].labels == {"b": " x ", "c": "", "d": "=,{"}


def test_samples_equal_constructed_ones() -> None:
    fams = parse('# TYPE a gauge\na{b="c",d="e"} 2.5\na{b="c",d="e"} 3\n')
    assert fams["a"] == MetricFamily(
        "a",
        "gauge",
        "",
        [Sample("a", {"b": "c", "d": "e"}, 2.5), Sample("a", {"b": "c", "d": "e"}, 3.0)],
    )
    first, second = fams["a"].samples
    assert first.labels is not second.labels  # each sample owns its labels


def test_docstring_examples() -> None:
    result = doctest.testmod(parser)
    assert result.attempted > 0
    assert result.failed == 0


def test_error_lines_are_counted_from_one_and_shown_clipped() -> None:
    long = "x" * 200
    with pytest.raises(ParseError) as info:
        parse(f'ok 1\n{long}{{b="c"}} one\n')
    assert re.match(r"^line 2: expected a float value, got 'one': 'x{117}\.\.\.'$", str(info.value))
