"""Alert rules: config → Rule with errors naming file, key and rule; globs, templates, baselines."""

from __future__ import annotations

import dataclasses
import doctest
import math
import tomllib
from pathlib import Path

import pytest

from mmtui.alerts import rules as rules_module
from mmtui.alerts.rules import (
    BaselineTracker,
    Rule,
    RuleError,
    RuleOverride,
    apply_override,
    apply_overrides,
    check_template,
    compile_glob,
    read_rule,
    read_rules,
    render,
)
from mmtui.config import ConfigError, TableReader

SAMPLE_RULES = Path(__file__).resolve().parents[1] / "sample_data" / "rules.toml"


def parse(text: str, source: str = "conf.toml") -> tuple[Rule, ...]:
    data = tomllib.loads(text)
    readers = [TableReader(source, f"rules[{i}]", t, {}) for i, t in enumerate(data["rules"])]
    return read_rules(readers)


def test_design_md_rule_shape_still_parses() -> None:
    (rule,) = parse(
        '[[rules]]\nname = "p95 latency"\nmetric = "latency_p95_ms"\nop = ">"\n'
        'threshold = 250\nfor = "30s"\nendpoint = "*"\nseverity = "critical"\n'
    )
    assert (rule.name, rule.metric, rule.op, rule.threshold, rule.for_) == (
        "p95 latency", "latency_p95_ms", ">", 250.0, 30.0
    )
    assert (rule.endpoint, rule.severity, rule.kind, rule.enabled) == (
        "*", "critical", "threshold", True
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        rule.threshold = 1.0  # type: ignore[misc]


def test_every_key_parses() -> None:
    (rule,) = parse(
        """
[[rules]]
name = "accuracy floor"
metric = "accuracy"
op = "<"
threshold = 0.85
clear = 0.87
for = "5m"
keep_firing_for = "1m"
endpoint = "fraud-*"
model = "fraud_[xy]*"
severity = "critical"
labels = { team = "risk" }
annotations = { summary = "{series} accuracy {value:.1%}", runbook_url = "https://rb.example/a" }
compliance = true
enabled = false
"""
    )
    assert (rule.clear, rule.for_, rule.keep_firing_for) == (0.87, 300.0, 60.0)
    assert (rule.endpoint, rule.model, rule.labels) == ("fraud-*", "fraud_[xy]*", {"team": "risk"})
    assert rule.annotations["runbook_url"] == "https://rb.example/a"
    assert rule.compliance and not rule.enabled


def test_relative_and_nodata_rules() -> None:
    relative, nodata, nodata_default = parse(
        """
[[rules]]
name = "slow vs usual"
metric = "latency_p95_ms"
relative_to = "baseline"
factor = 3
clear = 2
baseline_window = "10m"

[[rules]]
name = "down"
kind = "nodata"
for = "1m30s"
endpoint = "image-*"

[[rules]]
name = "down default"
kind = "nodata"
"""
    )
    assert relative.relative and relative.factor == 3.0 and relative.threshold is None
    assert relative.baseline_window == 600.0
    assert relative.limits(None) == (None, None)
    assert relative.limits(120.0) == (360.0, 240.0)
    assert (nodata.kind, nodata.for_, nodata.metric, nodata.endpoint) == (
        "nodata", 90.0, "", "image-*"
    )
    assert nodata_default.for_ == 60.0


def test_sample_rule_set_parses_and_covers_the_issue() -> None:
    rules = parse(SAMPLE_RULES.read_text(), source=str(SAMPLE_RULES))
    by_name = {r.name: r for r in rules}
    assert len(by_name) == len(rules) >= 8
    metrics = {r.metric for r in rules}
    assert {"latency_p95_ms", "error_rate", "drift_share", "drift.*", "accuracy"} <= metrics
    assert any(r.relative for r in rules)
    assert any(r.kind == "nodata" for r in rules)
    assert by_name["accuracy floor"].compliance and by_name["error budget"].compliance
    assert {r.severity for r in rules} == {"critical", "warning", "info"}


RULE = "[[rules]]\nname = 'r'\n"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("metric = 'latency_p96'\nthreshold = 1", "rules[0].metric: rule 'r': unknown metric"),
        ("metric = 'drift.'\nthreshold = 1", "rules[0].metric: rule 'r': unknown metric"),
        ("metric = 'error_rate'", "rules[0].threshold: rule 'r': expected a number"),
        ("metric = 'error_rate'\nthreshold = 'high'", "rules[0].threshold: rule 'r': expected"),
        ("metric = 'error_rate'\nthreshold = 1\nfor = '5 minutes'",
         "rules[0].for: expected a duration"),
        ("metric = 'error_rate'\nthreshold = 1\nkeep_firing_for = 'a while'",
         "rules[0].keep_firing_for: expected a duration"),
        ("metric = 'error_rate'\nthreshold = 1\nop = '=='", "rules[0].op: expected one of >, >="),
        ("metric = 'error_rate'\nthreshold = 1\nseverity = 'page'",
         "rules[0].severity: expected one of critical, warning, info"),
        ("kind = 'absent'", "rules[0].kind: expected one of threshold, nodata"),
        ("metric = 'error_rate'\nthreshold = 1\nendpoint = 'fraud-['",
         "rules[0].endpoint: rule 'r': bad glob 'fraud-['"),
        ("metric = 'error_rate'\nthreshold = 1\nendpoint = ''",
         "rules[0].endpoint: rule 'r': expected a glob"),
        ("metric = 'error_rate'\nthreshold = 1\nmodel = '[!x'",
         "rules[0].model: rule 'r': bad glob"),
        ("metric = 'drift.age[0'\nthreshold = 1", "rules[0].metric: rule 'r': bad glob"),
        ("metric = 'latency_p95_ms'\nthreshold = 250\nclear = 300",
         "rules[0].clear: rule 'r': clear 300 must be at or below threshold 250"),
        ("metric = 'accuracy'\nop = '<'\nthreshold = 0.85\nclear = 0.8",
         "rules[0].clear: rule 'r': clear 0.8 must be at or above threshold 0.85"),
        ("metric = 'latency_p95_ms'\nrelative_to = 'baseline'",
         "rules[0].factor: rule 'r': a relative rule needs a factor > 0"),
        ("metric = 'latency_p95_ms'\nfactor = 3",
         "rules[0].factor: rule 'r': is for relative rules: add relative_to"),
        ("metric = 'latency_p95_ms'\nrelative_to = 'baseline'\nfactor = 3\nthreshold = 250",
         "rules[0].threshold: rule 'r': a relative rule compares with factor × baseline"),
        ("metric = 'latency_p95_ms'\nrelative_to = 'yesterday'\nfactor = 3",
         "rules[0].relative_to: rule 'r': expected \"baseline\""),
        ("metric = 'latency_p95_ms'\nrelative_to = 'baseline'\nfactor = 3\nclear = 4",
         "rules[0].clear: rule 'r': clear 4 must be at or below factor 3"),
        ("kind = 'nodata'\nmetric = 'error_rate'", "rules[0].metric: unknown key"),
        ("kind = 'nodata'\nthreshold = 3", "rules[0].threshold: unknown key"),
        ("metric = 'error_rate'\nthreshold = 1\nlabels = { endpoint = 'x' }",
         "rules[0].labels.endpoint: rule 'r': 'endpoint' is set by mmtui"),
        ("metric = 'error_rate'\nthreshold = 1\nlabels = { 'team-name' = 'x' }",
         "rules[0].labels.team-name: rule 'r': expected a label name"),
        ("metric = 'error_rate'\nthreshold = 1\nannotations = { summary = '{host} is slow' }",
         "rules[0].annotations.summary: rule 'r': unknown placeholder {host}"),
        ("metric = 'error_rate'\nthreshold = 1\nannotations = { summary = '{endpoint:.2f}' }",
         "rules[0].annotations.summary: rule 'r': bad template"),
        ("metric = 'error_rate'\nthreshold = 1\nannotations = { summary = '{value' }",
         "rules[0].annotations.summary: rule 'r': bad template"),
        ("metric = 'error_rate'\nthreshold = 1\nannotations = { runbook_url = 'wiki/x' }",
         "rules[0].annotations.runbook_url: rule 'r': expected an http(s) URL"),
        ("metric = 'error_rate'\nthreshold = 1\ntreshold = 2", "rules[0].treshold: unknown key"),
        ("metric = 'error_rate'\nthreshold = 1\nenabled = 'yes'",
         "rules[0].enabled: expected true or false"),
    ],
)
def test_bad_rules_are_config_errors_naming_file_key_and_rule(body: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse(RULE + body)
    message = str(err.value)
    assert message.startswith("conf.toml: ")
    assert fragment in message
    assert "rule 'r'" in message
    assert "\n" not in message


def test_a_rule_without_a_name_is_named_by_position() -> None:
    with pytest.raises(ConfigError, match=r"^conf.toml: rules\[0\].name: is required"):
        parse("[[rules]]\nmetric = 'error_rate'\nthreshold = 1\n")


def test_duplicate_rule_names_are_rejected() -> None:
    text = RULE + "metric = 'error_rate'\nthreshold = 1\n" + RULE + "kind = 'nodata'\n"
    with pytest.raises(ConfigError, match=r"rules\[1\].name: duplicate rule name 'r' \(also "
                                          r"rules\[0\]\)"):
        parse(text)


def test_read_rule_reads_one_table() -> None:
    reader = TableReader("f.toml", "rules[3]", {"name": "x", "metric": "f1", "threshold": 0.5,
                                                "op": "<"}, {})
    assert read_rule(reader) == Rule("x", "f1", "<", 0.5)


def test_rule_constructor_validates_too() -> None:
    with pytest.raises(RuleError) as err:
        Rule("x", "latency_p95_ms", ">", 250.0, clear=260.0)
    assert err.value.key == "clear"
    with pytest.raises(RuleError, match="unknown metric"):
        Rule("x", "latency", ">", 1.0)
    with pytest.raises(RuleError, match="nodata rule takes no metric"):
        Rule("x", "error_rate", kind="nodata")


@pytest.mark.parametrize(
    ("rule_metric", "metric", "expected"),
    [
        ("drift.*", "drift.age", True),
        ("drift.*", "drift_share", False),
        ("drift.*", "error_rate", False),
        ("drift.a*", "drift.age", True),
        ("drift.a*", "drift.income", False),
        ("drift.age", "drift.age", True),
        ("drift.age", "drift.ages", False),
        ("drift_share", "drift_share", True),
        ("error_rate", "error_rate", True),
        ("error_rate", "error_rates", False),
    ],
)
def test_metric_matching(rule_metric: str, metric: str, expected: bool) -> None:
    assert Rule("r", rule_metric, ">", 1.0).matches_metric(metric) is expected


@pytest.mark.parametrize(
    ("endpoint", "model", "series", "expected"),
    [
        ("*", "*", ("a", None), True),
        ("*", "*", ("a", "m"), True),
        ("fraud-*", "*", ("fraud-scorer", None), True),
        ("fraud-*", "*", ("chat-llm", None), False),
        ("*", "", ("a", None), True),
        ("*", "", ("a", "m"), False),
        ("*", "?*", ("a", None), False),
        ("*", "?*", ("a", "m"), True),
        ("*", "fraud_[!e]*", ("a", "fraud_xgb"), True),
        ("*", "fraud_[!e]*", ("a", "fraud_embed"), False),
        ("Fraud*", "*", ("fraud", None), False),
    ],
)
def test_series_matching(
    endpoint: str, model: str, series: tuple[str, str | None], expected: bool
) -> None:
    rule = Rule("r", "error_rate", ">", 1.0, endpoint=endpoint, model=model)
    assert rule.matches_series(*series) is expected


def test_compile_glob_rejects_only_unclosed_brackets() -> None:
    for good in ("*", "a[]]b", "a[!]]b", "x[a-c]", "plain", "a]b"):
        compile_glob(good)
    for bad in ("a[", "a[b", "a[!", "[]"):
        with pytest.raises(ValueError, match="never closed"):
            compile_glob(bad)


def test_templates_render_none_as_dash() -> None:
    check_template("{endpoint}: {value:.1f} > {threshold:.0f} ({feature})")
    fields = {"endpoint": "e", "value": None, "threshold": 3.0, "feature": None}
    assert render("{endpoint}: {value:.1f} > {threshold:.0f} ({feature})", fields) == (
        "e: - > 3 (-)"
    )
    with pytest.raises(ValueError, match="unknown placeholder"):
        check_template("{0}")
    with pytest.raises(ValueError, match="unknown placeholder"):
        check_template("{endpoint.upper}")


def test_apply_override() -> None:
    rule = Rule("r", "latency_p95_ms", ">", 250.0, clear=200.0, for_=30.0)
    edited = apply_override(rule, RuleOverride("r", enabled=False, threshold=300.0, for_=5.0))
    assert (edited.enabled, edited.threshold, edited.for_, edited.clear) == (
        False, 300.0, 5.0, 200.0
    )
    relative = Rule("q", "latency_p95_ms", relative_to="baseline", factor=3.0)
    assert apply_override(relative, RuleOverride("q", threshold=4.0)).factor == 4.0
    with pytest.raises(RuleError, match="clear 200 must be at or below threshold 150"):
        apply_override(rule, RuleOverride("r", threshold=150.0))
    rules, problems = apply_overrides(
        [rule, relative], {"r": RuleOverride("r", threshold=150.0), "q": RuleOverride("q", False)}
    )
    assert rules[0] == rule and rules[1].enabled is False
    assert problems == [
        "override of rule 'r' ignored: clear: clear 200 must be at or below threshold 150 for "
        "op '>' (the alert resolves once the value is back past it)"
    ]


def test_baseline_warms_up_then_is_a_robust_median() -> None:
    b = BaselineTracker(window=100.0, buckets=10, min_buckets=4)
    for t in range(40):  # 4 buckets of 10 s, the 4th still open
        b.update(float(t), 50.0)
        assert b.value is None
    b.update(40.0, 50.0)
    assert b.value == 50.0
    for t in range(41, 60):  # a spike filling two buckets
        b.update(float(t), 5000.0)
    assert b.value == 50.0  # closed: 50 50 50 50 4505
    for t in range(60, 100):
        b.update(float(t), 52.0)
    assert b.value == 52.0  # closed: 50 ×4, 4505, 5000, 52 ×3


def test_baseline_memory_is_bounded_and_old_buckets_leave() -> None:
    b = BaselineTracker(window=100.0, buckets=10, min_buckets=2)
    for t in range(0, 100_000, 3):
        b.update(float(t), 10.0 if t < 99_000 else 30.0)
    assert len(b._closed) <= 10
    assert b.value == 30.0  # the window holds only the last 100 s
    b.update(5.0, 1e9)  # older than the open bucket: ignored
    b.update(100_000.0, math.nan)
    b.update(100_000.0, None)
    assert b.value == 30.0


def test_baseline_parameters_are_validated() -> None:
    with pytest.raises(ValueError, match="window must be > 0"):
        BaselineTracker(window=0)
    with pytest.raises(ValueError, match="min_buckets"):
        BaselineTracker(buckets=5, min_buckets=6)


def test_doctests() -> None:
    assert doctest.testmod(rules_module).failed == 0
