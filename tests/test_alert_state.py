"""The alert state machine, table-driven with an injected clock: every transition, acks, silences,
inhibition, flapping, relative rules, fingerprints and the JSON shape."""

from __future__ import annotations

import dataclasses
import doctest
import math
from collections.abc import Sequence
from typing import Any

import pytest

from mmtui.alerts import state as state_module
from mmtui.alerts.rules import Rule
from mmtui.alerts.state import (
    Ack,
    Alert,
    AlertEngine,
    Matcher,
    Observation,
    Policy,
    Silence,
    Step,
    alert_labels,
    fingerprint,
    parse_matcher,
)

EP = "api"
UP, DOWN, ERROR, STALE, PENDING = "up", "down", "error", "stale", "pending"
MISSING = object()
"""No observation at all for the series this tick (as opposed to one with value None)."""

LAT = {"metric": "latency_p95_ms", "op": ">", "threshold": 250.0}


def lat(**kw: Any) -> Rule:
    return Rule("slow", **{**LAT, **kw})


def observe(value: object, metric: str = "latency_p95_ms") -> list[Observation]:
    if value is MISSING:
        return []
    assert value is None or isinstance(value, float | int)
    return [Observation(EP, None, metric, None if value is None else float(value))]


def only(engine: AlertEngine, rule: str | None = None) -> Alert | None:
    alerts = [a for a in engine.alerts() if rule is None or a.rule == rule]
    assert len(alerts) <= 1, alerts
    return alerts[0] if alerts else None


def kinds(step: Step) -> tuple[str, ...]:
    return tuple(a.kind for a in step.actions)


Tick = tuple[float, object, str, str | None, tuple[str, ...]]
"""(now, value or MISSING, endpoint status, expected state or None, expected action kinds)."""

LIFECYCLE: list[tuple[str, Rule, list[Tick]]] = [
    ("for holds, then fires, then resolves", lat(for_=10.0), [
        (0, 300, UP, "pending", ()),
        (5, 300, UP, "pending", ()),
        (10, 300, UP, "firing", ("firing",)),
        (12, 300, UP, "firing", ()),
        (14, 100, UP, "resolved", ("resolved",)),
        (16, 100, UP, "resolved", ()),
    ]),
    ("a dip resets pending", lat(for_=10.0), [
        (0, 300, UP, "pending", ()),
        (4, 100, UP, None, ()),
        (8, 300, UP, "pending", ()),
        (17, 300, UP, "pending", ()),
        (18, 300, UP, "firing", ("firing",)),
    ]),
    ("for = 0 fires on the first tick", lat(), [
        (0, 100, UP, None, ()),
        (1, 300, UP, "firing", ("firing",)),
        (2, 100, UP, "resolved", ("resolved",)),
    ]),
    ("> is strict, >= is not", lat(), [(0, 250, UP, None, ())]),
    (">= at the threshold fires", lat(op=">="), [(0, 250, UP, "firing", ("firing",))]),
    ("< for floors", Rule("floor", "accuracy", "<", 0.85), [
        (0, 0.9, UP, None, ()),
        (1, 0.8, UP, "firing", ("firing",)),
        (2, 0.86, UP, "resolved", ("resolved",)),
    ]),
    ("keep_firing_for outlives the condition", lat(keep_firing_for=10.0), [
        (0, 300, UP, "firing", ("firing",)),
        (5, 100, UP, "firing", ()),
        (9, 100, UP, "firing", ()),
        (10, 100, UP, "resolved", ("resolved",)),
    ]),
    ("keep_firing_for counts from the last true tick", lat(keep_firing_for=10.0), [
        (0, 300, UP, "firing", ("firing",)),
        (5, 100, UP, "firing", ()),
        (8, 300, UP, "firing", ()),
        (17, 100, UP, "firing", ()),
        (18, 100, UP, "resolved", ("resolved",)),
    ]),
    ("hysteresis: a firing alert resolves only past clear", lat(clear=200.0), [
        (0, 300, UP, "firing", ("firing",)),
        (1, 220, UP, "firing", ()),
        (2, 201, UP, "firing", ()),
        (3, 200, UP, "resolved", ("resolved",)),
        (4, 220, UP, "resolved", ()),
        (5, 260, UP, "firing", ("firing",)),
    ]),
    ("hysteresis does not hold a pending alert", lat(clear=200.0, for_=5.0), [
        (0, 300, UP, "pending", ()),
        (1, 220, UP, None, ()),
    ]),
    ("a series that disappears resolves", lat(), [
        (0, 300, UP, "firing", ("firing",)),
        (1, MISSING, UP, "resolved", ("resolved",)),
    ]),
    ("a None value is no data", lat(), [
        (0, 300, UP, "firing", ("firing",)),
        (1, None, UP, "resolved", ("resolved",)),
    ]),
    ("NaN is no data", lat(), [(0, math.nan, UP, None, ())]),
    ("no data is held by keep_firing_for", lat(keep_firing_for=5.0), [
        (0, 300, UP, "firing", ("firing",)),
        (3, MISSING, UP, "firing", ()),
        (5, MISSING, UP, "resolved", ("resolved",)),
    ]),
    ("a resolved alert fires again as a new activation", lat(), [
        (0, 300, UP, "firing", ("firing",)),
        (1, 100, UP, "resolved", ("resolved",)),
        (2, 300, UP, "firing", ("firing",)),
    ]),
    ("a resolved alert is forgotten after the retention", lat(), [
        (0, 300, UP, "firing", ("firing",)),
        (1, 100, UP, "resolved", ("resolved",)),
        (900, 100, UP, "resolved", ()),
        (901, 100, UP, None, ()),
    ]),
    ("down freezes and mutes a firing alert", lat(), [
        (0, 300, UP, "firing", ("firing",)),
        (1, MISSING, DOWN, "firing", ()),
        (50, MISSING, STALE, "firing", ()),
        (60, 100, UP, "resolved", ("resolved",)),
    ]),
    ("down drops a pending alert", lat(for_=10.0), [
        (0, 300, UP, "pending", ()),
        (1, 300, DOWN, None, ()),
        (2, 300, UP, "pending", ()),
        (12, 300, UP, "firing", ("firing",)),
    ]),
    ("nothing starts while the endpoint is in error", lat(), [
        (0, 300, ERROR, None, ()),
        (1, 300, UP, "firing", ("firing",)),
    ]),
    ("not polled yet is not down", lat(), [(0, 300, PENDING, "firing", ("firing",))]),
]


@pytest.mark.parametrize(("rule", "ticks"), [c[1:] for c in LIFECYCLE],
                         ids=[c[0] for c in LIFECYCLE])
def test_lifecycle(rule: Rule, ticks: list[Tick]) -> None:
    engine = AlertEngine([rule])
    for now, value, status, expected_state, expected_actions in ticks:
        step = engine.evaluate(float(now), observe(value, rule.metric), {EP: status})
        alert = only(engine)
        got = (now, None if alert is None else alert.state, kinds(step))
        assert got == (now, expected_state, expected_actions)


NODATA: list[tuple[float, dict[str, str], str | None, tuple[str, ...]]] = [
    (0, {EP: UP}, None, ()),
    (1, {EP: DOWN}, "pending", ()),
    (6, {EP: ERROR}, "pending", ()),
    (11, {EP: STALE}, "firing", ("firing",)),
    (12, {EP: UP}, "resolved", ("resolved",)),
    (13, {EP: PENDING}, "resolved", ()),
    (14, {EP: DOWN}, "pending", ()),
    (15, {}, None, ()),  # the endpoint left the config: its pending alert goes
]


def test_nodata_lifecycle() -> None:
    engine = AlertEngine([Rule("down", kind="nodata", for_=10.0)])
    for now, statuses, expected_state, expected_actions in NODATA:
        step = engine.evaluate(now, [], statuses)
        alert = only(engine)
        got = (now, None if alert is None else alert.state, kinds(step))
        assert got == (now, expected_state, expected_actions)


def test_nodata_value_is_seconds_without_data_and_threshold_its_for() -> None:
    engine = AlertEngine([Rule("down", kind="nodata", for_=10.0, endpoint="img-*")])
    engine.evaluate(100.0, [], {"img-1": DOWN, "api": DOWN})
    engine.evaluate(112.0, [], {"img-1": DOWN, "api": DOWN})
    (alert,) = engine.alerts()
    assert (alert.endpoint, alert.state, alert.value, alert.threshold) == ("img-1", "firing",
                                                                           12.0, 10.0)
    assert alert.labels == {"alertname": "down", "endpoint": "img-1"}
    assert "img-1: no data" in alert.annotations["summary"]
    assert not alert.inhibited


def test_down_endpoint_inhibits_its_other_alerts_but_not_nodata() -> None:
    engine = AlertEngine([lat(), Rule("down", kind="nodata", for_=0.0)])
    engine.evaluate(0.0, observe(300), {EP: UP})
    step = engine.evaluate(1.0, [], {EP: DOWN})
    slow, down = only(engine, "slow"), only(engine, "down")
    assert slow is not None and down is not None
    assert slow.state == "firing" and slow.inhibited and slow.muted
    assert down.state == "firing" and not down.inhibited
    assert [(a.kind, a.alert.rule) for a in step.actions] == [("firing", "down")]
    engine.evaluate(2.0, observe(300), {EP: UP})
    slow = only(engine, "slow")
    assert slow is not None and not slow.inhibited and slow.state == "firing"


def test_drift_star_gives_one_alert_per_feature() -> None:
    rule = Rule("feature drift", "drift.*", ">", 0.2, severity="info")
    engine = AlertEngine([rule, Rule("share", "drift_share", ">=", 0.5)])
    obs = [
        Observation(EP, None, "drift.age", 0.5),
        Observation(EP, None, "drift.income", 0.1),
        Observation(EP, None, "drift.zip", 0.3),
        Observation(EP, None, "drift_share", 0.6),
    ]
    engine.evaluate(0.0, obs, {EP: UP})
    got = sorted((a.rule, a.feature, a.labels.get("feature")) for a in engine.alerts())
    assert got == [("feature drift", "age", "age"), ("feature drift", "zip", "zip"),
                   ("share", None, None)]
    ages = [a for a in engine.alerts() if a.feature == "age"]
    assert ages[0].to_json()["feature"] == "age"
    assert Observation(EP, None, "drift.age", 1.0).feature == "age"
    assert Observation(EP, None, "drift_share", 1.0).feature is None


def test_models_are_separate_alerts_and_model_globs_select() -> None:
    rule = Rule("errors", "error_rate", ">", 0.05, model="fraud_*")
    engine = AlertEngine([rule])
    obs = [Observation("fs", None, "error_rate", 0.2),
           Observation("fs", "fraud_xgb", "error_rate", 0.3),
           Observation("fs", "embed", "error_rate", 0.3)]
    engine.evaluate(0.0, obs, {"fs": UP})
    (alert,) = engine.alerts()
    assert (alert.model, alert.labels["model"]) == ("fraud_xgb", "fraud_xgb")
    assert alert.annotations["summary"] == "fs/fraud_xgb: error_rate 0.3 > 0.05"


def test_relative_rule_fires_against_the_learned_baseline() -> None:
    rule = Rule("vs usual", "latency_p95_ms", relative_to="baseline", factor=3.0, clear=2.0,
                baseline_window=60.0)  # 1 s buckets, warm after 6 closed buckets
    engine = AlertEngine([rule])
    step = engine.evaluate(0.0, observe(1000), {EP: UP})
    assert engine.alerts() == () and step.actions == ()  # no baseline yet: no data
    for t in range(1, 10):
        engine.evaluate(float(t), observe(100), {EP: UP})
    assert engine.baseline(rule, EP, None, "latency_p95_ms") == 100.0
    engine.evaluate(10.0, observe(290), {EP: UP})
    assert engine.alerts() == ()
    step = engine.evaluate(11.0, observe(400), {EP: UP})
    alert = only(engine)
    assert alert is not None and kinds(step) == ("firing",)
    assert (alert.value, alert.threshold) == (400.0, 300.0)
    engine.evaluate(12.0, observe(250), {EP: UP})  # below 3× but above clear (2×)
    assert only(engine).state == "firing"  # type: ignore[union-attr]
    step = engine.evaluate(13.0, observe(150), {EP: UP})
    assert kinds(step) == ("resolved",)


def test_seeded_baselines_work_at_once_and_gone_series_are_dropped() -> None:
    rule = Rule("vs usual", "latency_p95_ms", relative_to="baseline", factor=3.0,
                baseline_window=60.0)
    engine = AlertEngine([rule])
    engine.seed({(EP, None, "latency_p95_ms"): [(float(t), 100.0) for t in range(20)],
                 (EP, None, "error_rate"): [(0.0, 1.0)]})
    step = engine.evaluate(20.0, observe(400), {EP: UP})
    assert kinds(step) == ("firing",)
    engine.evaluate(200.0, [], {EP: UP})  # no value for longer than the window
    assert engine.baseline(rule, EP, None, "latency_p95_ms") is None


def test_flapping_is_marked_and_clears_once_stable() -> None:
    engine = AlertEngine([lat()], Policy(flap_window=60.0, flap_transitions=4))
    flags = []
    for t, v in enumerate([300, 100, 300, 100, 300]):
        step = engine.evaluate(float(t), observe(v), {EP: UP})
        flags.append(only(engine).flapping)  # type: ignore[union-attr]
    assert flags == [False, False, False, True, True]
    assert step.actions[0].alert.flapping
    engine.evaluate(63.0, observe(300), {EP: UP})
    assert not only(engine).flapping  # type: ignore[union-attr]


Op = tuple[float, str, object, tuple[str, ...]]
"""(now, operation, argument, expected (kind, reason) pairs as "kind:reason" or "kind")."""

ANA = "ana@jump1"


def silence(until: float, **labels: str) -> Silence:
    matchers = tuple(Matcher(k, "=", v) for k, v in (labels or {"endpoint": EP}).items())
    return Silence("s1", matchers, 0.0, until, ANA, "deploying", 0.0)


def ack(at: float, until: float | None = None, note: str | None = None) -> Ack:
    return Ack(ANA, at, note, until)


HUMAN: list[tuple[str, Rule, list[Op]]] = [
    ("ack while firing: acknowledged; resolve drops the ack", lat(), [
        (0, "eval", 300, ("firing",)),
        (1, "acks", ack(1), ("acknowledged:acknowledged by ana@jump1",)),
        (2, "eval", 300, ()),
        (3, "eval", 100, ("resolved",)),
    ]),
    ("an ack that expires while firing re-notifies", lat(), [
        (0, "eval", 300, ("firing",)),
        (1, "acks", ack(1, until=10), ("acknowledged:acknowledged by ana@jump1",)),
        (5, "eval", 300, ()),
        (10, "eval", 300, ("renotify:ack expired",)),
        (12, "eval", 300, ()),
    ]),
    ("unacknowledge re-notifies", lat(), [
        (0, "eval", 300, ("firing",)),
        (1, "acks", ack(1), ("acknowledged:acknowledged by ana@jump1",)),
        (2, "acks", None, ("renotify:unacknowledged",)),
    ]),
    ("a new ack with another note is quiet", lat(), [
        (0, "eval", 300, ("firing",)),
        (1, "acks", ack(1, note="looking"), ("acknowledged:acknowledged by ana@jump1",)),
        (2, "acks", ack(2, note="rolled back"), ()),
    ]),
    ("an ack on a pending alert: firing, then acknowledged", lat(for_=5.0), [
        (0, "eval", 300, ()),
        (1, "acks", ack(1), ()),
        (5, "eval", 300, ("firing", "acknowledged:acknowledged by ana@jump1")),
    ]),
    ("an ack from an earlier incident is ignored", lat(), [
        (0, "eval", 300, ("firing",)),
        (1, "acks", ack(1), ("acknowledged:acknowledged by ana@jump1",)),
        (2, "eval", 100, ("resolved",)),
        (3, "eval", 300, ("firing",)),
        (4, "eval", 300, ()),
    ]),
    ("an ack expiring during a silence re-notifies when the silence ends", lat(), [
        (0, "eval", 300, ("firing",)),
        (1, "acks", ack(1, until=10), ("acknowledged:acknowledged by ana@jump1",)),
        (2, "silences", [silence(20)], ()),
        (10, "eval", 300, ()),
        (20, "eval", 300, ("renotify:ack expired",)),
    ]),
    ("fired while silenced: notified when the silence ends", lat(), [
        (0, "silences", [silence(10)], ()),
        (1, "eval", 300, ()),
        (10, "eval", 300, ("firing",)),
    ]),
    ("fired and resolved while silenced: never notified", lat(), [
        (0, "silences", [silence(10)], ()),
        (1, "eval", 300, ()),
        (5, "eval", 100, ()),
    ]),
    ("a silence removed early unmutes at once", lat(), [
        (0, "silences", [silence(100)], ()),
        (1, "eval", 300, ()),
        (2, "silences", [], ("firing",)),
    ]),
    ("resolved is sent even if silenced after firing", lat(), [
        (0, "eval", 300, ("firing",)),
        (1, "silences", [silence(100)], ()),
        (2, "eval", 100, ("resolved",)),
    ]),
    ("a silence that matches nothing changes nothing", lat(), [
        (0, "silences", [silence(100, endpoint="other")], ()),
        (1, "eval", 300, ("firing",)),
    ]),
    ("silences match severity too", lat(severity="info"), [
        (0, "silences", [silence(100, severity="info")], ()),
        (1, "eval", 300, ()),
    ]),
    ("a removed rule resolves its alerts", lat(), [
        (0, "eval", 300, ("firing",)),
        (1, "rules", [], ()),
        (2, "eval", 300, ("resolved",)),
    ]),
    ("a disabled rule resolves its alerts", lat(), [
        (0, "eval", 300, ("firing",)),
        (1, "rules", [lat(enabled=False)], ()),
        (2, "eval", 300, ("resolved",)),
        (3, "rules", [lat()], ()),
        (4, "eval", 300, ("firing",)),
    ]),
]


@pytest.mark.parametrize(("rule", "ops"), [c[1:] for c in HUMAN], ids=[c[0] for c in HUMAN])
def test_acks_silences_and_rule_changes(rule: Rule, ops: list[Op]) -> None:
    engine = AlertEngine([rule])
    fp = fingerprint(alert_labels(rule, EP, None, None))
    for now, op, arg, expected in ops:
        if op == "eval":
            step = engine.evaluate(float(now), observe(arg), {EP: UP})
        else:
            if op == "acks":
                assert arg is None or isinstance(arg, Ack)
                engine.set_acks({} if arg is None else {fp: arg})
            elif op == "silences":
                assert isinstance(arg, list)
                engine.set_silences(arg)
            else:
                assert isinstance(arg, list)
                engine.set_rules(arg)
            step = engine.reconcile(float(now))
        got = tuple(a.kind if a.reason == a.kind else f"{a.kind}:{a.reason}" for a in step.actions)
        assert (now, got) == (now, expected)


def test_alert_view_carries_ack_and_silence() -> None:
    engine = AlertEngine([lat()])
    engine.evaluate(0.0, observe(300), {EP: UP})
    alert = only(engine)
    assert alert is not None
    engine.set_acks({alert.fingerprint: Ack(ANA, 1.0, "on it", 50.0)})
    engine.set_silences([silence(100)])
    engine.reconcile(2.0)
    alert = only(engine)
    assert alert is not None
    assert alert.acknowledged and alert.ack == Ack(ANA, 1.0, "on it", 50.0)
    assert alert.silenced_by == ("s1",) and alert.muted
    assert alert.match_labels() == {"alertname": "slow", "endpoint": EP, "severity": "warning"}
    engine.reconcile(50.0)
    assert not only(engine).acknowledged  # type: ignore[union-attr]


def test_fired_at_marks_the_start_of_firing_and_survives_resolution() -> None:
    engine = AlertEngine([lat(for_=5.0)])
    engine.evaluate(0.0, observe(300), {EP: UP})
    assert only(engine).fired_at is None  # type: ignore[union-attr]
    engine.evaluate(5.0, observe(300), {EP: UP})
    step = engine.evaluate(9.0, observe(100), {EP: UP})
    resolved = step.actions[0].alert
    assert (resolved.state, resolved.active_at, resolved.fired_at, resolved.since) == (
        "resolved", 0.0, 5.0, 9.0
    )
    engine.evaluate(10.0, observe(300), {EP: UP})
    again = only(engine)
    assert again is not None and (again.state, again.active_at, again.fired_at) == (
        "pending", 10.0, None
    )


def test_restore_resumes_without_repeating_notifications() -> None:
    first = AlertEngine([lat()])
    first.evaluate(0.0, observe(300), {EP: UP})
    first.set_acks({only(first).fingerprint: Ack(ANA, 1.0)})  # type: ignore[union-attr]
    first.reconcile(1.0)
    second = AlertEngine([lat()])
    second.restore(first.alerts(), 5.0)
    second.set_acks({only(first).fingerprint: Ack(ANA, 1.0)})  # type: ignore[union-attr]
    assert second.alerts() == first.alerts()
    assert kinds(second.evaluate(6.0, observe(300), {EP: UP})) == ()
    assert kinds(second.evaluate(7.0, observe(100), {EP: UP})) == ("resolved",)


def test_fingerprint_is_stable_and_built_from_the_labels() -> None:
    rule = lat(labels={"team": "ml"})
    labels = alert_labels(rule, "fraud-scorer", "fraud_xgb", None)
    assert labels == {"alertname": "slow", "endpoint": "fraud-scorer", "model": "fraud_xgb",
                      "team": "ml"}
    # sha256 of [["alertname","slow"],["endpoint","fraud-scorer"],["model","fraud_xgb"],
    # ["team","ml"]]: pinned, because ids in state files and PagerDuty dedup keys must not move
    assert fingerprint(labels) == "9373d1b183b61e1e"
    assert fingerprint(dict(reversed(labels.items()))) == fingerprint(labels)
    others = [
        alert_labels(rule, "fraud-scorer", None, None),
        alert_labels(rule, "fraud-scorer", "fraud_xgb", "age"),
        alert_labels(lat(), "fraud-scorer", "fraud_xgb", None),
        alert_labels(rule, "fraud", "scorer_fraud_xgb", None),
    ]
    assert len({fingerprint(x) for x in [labels, *others]}) == 5


def test_a_threshold_edit_keeps_the_fingerprint() -> None:
    engine = AlertEngine([lat()])
    engine.evaluate(0.0, observe(300), {EP: UP})
    before = only(engine)
    engine.set_rules([lat(threshold=280.0, severity="critical")])
    assert kinds(engine.evaluate(1.0, observe(300), {EP: UP})) == ()
    after = only(engine)
    assert before is not None and after is not None
    assert after.fingerprint == before.fingerprint
    assert (after.threshold, after.severity) == (280.0, "critical")


def test_actions_group_by_endpoint() -> None:
    engine = AlertEngine([lat(endpoint="*", model="*")])
    obs = [Observation(e, None, "latency_p95_ms", 300.0) for e in ("b", "a", "b2")]
    obs.append(Observation("a", "m", "latency_p95_ms", 300.0))
    groups = engine.evaluate(0.0, obs, {}).by_endpoint()
    assert list(groups) == ["b", "a", "b2"]
    assert [a.alert.model for a in groups["a"]] == [None, "m"]


def test_alerts_are_sorted_most_urgent_first() -> None:
    rules = [Rule("w", "error_rate", ">", 0.1, severity="warning"),
             Rule("c", "error_rate", ">", 0.1, severity="critical"),
             Rule("p", "error_rate", ">", 0.1, severity="critical", for_=60.0)]
    engine = AlertEngine(rules)
    engine.evaluate(0.0, [Observation(EP, None, "error_rate", 0.5)], {EP: UP})
    assert [a.rule for a in engine.alerts()] == ["c", "w", "p"]


def test_to_json_is_the_design_shape() -> None:
    engine = AlertEngine([Rule("feature drift", "drift.*", ">", 0.2, severity="info")])
    engine.evaluate(1714564800.0, [Observation(EP, None, "drift.age", 0.5)], {EP: UP})
    alert = only(engine)
    assert alert is not None
    assert alert.to_json() == {
        "id": alert.fingerprint[:8], "rule": "feature drift", "endpoint": EP, "feature": "age",
        "severity": "info", "state": "firing", "acknowledged": False, "acked_by": None,
        "value": 0.5, "threshold": 0.2, "since": "2024-05-01T12:00:00Z", "acked_at": None,
        "ack_note": None,
    }
    acked = dataclasses.replace(alert, ack=Ack(ANA, 1714564830.0, "on it"), value=math.inf)
    assert {k: acked.to_json()[k] for k in ("acknowledged", "acked_by", "acked_at", "ack_note",
                                             "value")} == {
        "acknowledged": True, "acked_by": ANA, "acked_at": "2024-05-01T12:00:30Z",
        "ack_note": "on it", "value": None,
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("endpoint=fraud-scorer", ("endpoint", "=", "fraud-scorer")),
        ('alertname="p95 latency"', ("alertname", "=", "p95 latency")),
        ("alertname=p95 latency", ("alertname", "=", "p95 latency")),
        (" endpoint != api ", ("endpoint", "!=", "api")),
        ('endpoint=~"fraud-.*"', ("endpoint", "=~", "fraud-.*")),
        ("severity!~info|warning", ("severity", "!~", "info|warning")),
        ('note="say \\"hi\\""', ("note", "=", 'say "hi"')),
    ],
)
def test_parse_matcher(text: str, expected: tuple[str, str, str]) -> None:
    m = parse_matcher(text)
    assert (m.name, m.op, m.value) == expected
    assert parse_matcher(str(m)) == m


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("endpoint", "expected LABEL=VALUE"),
        ("=api", "expected LABEL=VALUE"),
        ("end-point=api", "expected LABEL=VALUE"),
        ("endpoint=~(", "bad matcher regex"),
        ('endpoint="unterminated\\"', "malformed quoted value"),
    ],
)
def test_bad_matchers(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match="bad matcher") as err:
        parse_matcher(text)
    assert fragment in str(err.value)


@pytest.mark.parametrize(
    ("matcher", "labels", "expected"),
    [
        ("endpoint=api", {"endpoint": "api"}, True),
        ("endpoint!=api", {"endpoint": "api"}, False),
        ("endpoint=~a.*", {"endpoint": "api"}, True),
        ("endpoint=~p", {"endpoint": "api"}, False),  # anchored
        ("endpoint!~a.*", {"endpoint": "api"}, False),
        ("model=", {"endpoint": "api"}, True),  # a missing label is ""
        ("model!=", {"endpoint": "api"}, False),
    ],
)
def test_matchers_match_like_alertmanager(
    matcher: str, labels: dict[str, str], expected: bool
) -> None:
    assert parse_matcher(matcher).matches(labels) is expected


def test_silences_are_validated() -> None:
    m = (Matcher("endpoint", "=", "api"),)

    def make(matchers: Sequence[Matcher] = m, ends: float = 10.0, reason: str = "r") -> Silence:
        return Silence("id", tuple(matchers), 0.0, ends, ANA, reason, 0.0)

    assert make().active(0.0) and not make().active(10.0)
    with pytest.raises(ValueError, match="at least one matcher"):
        make(())
    with pytest.raises(ValueError, match="does not match everything"):
        make((Matcher("endpoint", "=~", ".*"),))
    with pytest.raises(ValueError, match="cannot end before"):
        make(ends=-1.0)
    with pytest.raises(ValueError, match="needs a reason"):
        make(reason=" ")


def test_policy_is_validated() -> None:
    with pytest.raises(ValueError, match="flap_transitions >= 2"):
        Policy(flap_transitions=1)


def test_doctests() -> None:
    assert doctest.testmod(state_module).failed == 0


def test_a_rule_without_model_alerts_on_the_endpoint_total_only() -> None:
    engine = AlertEngine([lat(endpoint="*")])
    obs = [Observation("a", None, "latency_p95_ms", 300.0),
           Observation("a", "m", "latency_p95_ms", 300.0)]
    engine.evaluate(0.0, obs, {})
    assert [a.model for a in engine.alerts()] == [None]
