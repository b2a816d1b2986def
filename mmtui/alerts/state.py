"""The alert state machine: rules × observations → alerts and actions. Pure: no I/O, no clock.

Each call takes ``now`` (epoch seconds) from the caller. Per tick the Monitor passes every
series value it has (:class:`Observation`) and every endpoint's status; the engine returns a
:class:`Step`: the state transitions (for the event log) and the notification actions (for the
channels, grouped by endpoint with :meth:`Step.by_endpoint`). It never sends anything itself.

Lifecycle of one alert (one rule × one series, keyed by its fingerprint)::

    inactive ──cond──▶ pending ──cond for `for`──▶ firing ──!cond for keep_firing_for──▶ resolved
                          │ !cond                                                          │ cond
                          ▼                                                                ▼
                       inactive (forgotten)                                             pending

* ``for = 0`` fires on the first tick the condition holds (no pending).
* Hysteresis: once firing, the rule's ``clear`` threshold replaces ``threshold`` in the
  condition, so the alert resolves only when the value is back past ``clear``.
* No data (a series missing from this tick's observations, or its value None) makes the
  condition false, as in Prometheus: a series that disappears resolves its alert, unless
  ``keep_firing_for`` holds it. Relative rules have no data until the baseline is warm.
* Inhibition: while an endpoint is ``down``, ``error`` or ``stale`` its other alerts (all but
  NoData rules) are marked ``inhibited``: firing ones keep their state (missing data is no
  evidence of recovery), pending ones are dropped, no new ones start, and none notify.
* Flapping: an alert with ``Policy.flap_transitions`` firing/resolved transitions within
  ``Policy.flap_window`` is marked ``flapping`` (shown; actions carry it; nothing suppressed).
* Resolved alerts are kept ``Policy.resolved_retention`` seconds, then forgotten.

Notifications (:class:`Action`): ``firing`` once per activation when the alert fires and is
neither silenced nor inhibited (a silence or inhibition that ends while the alert still fires
sends it then); ``resolved`` when a notified alert resolves, with the same fingerprint;
``acknowledged`` when a notified alert gains an ack; ``renotify`` when a notified, firing
alert loses its ack (``unacknowledged``, or ``ack expired``), sent once it is not muted.

Acks and silences live in the store; the Monitor hands the current ones to the engine with
:meth:`AlertEngine.set_acks` / :meth:`AlertEngine.set_silences` whenever the store's change
counter moves. An ack older than the alert's activation belongs to an earlier incident and is
ignored; a resolved alert drops its ack.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import re
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Literal, cast

from mmtui.alerts.rules import SEVERITY_RANK, BaselineTracker, Rule, Severity, render
from mmtui.names import DRIFT_PREFIX
from mmtui.snapshot import STATUS_DOWN, STATUS_ERROR, STATUS_STALE

State = Literal["inactive", "pending", "firing", "resolved"]
ActionKind = Literal["firing", "resolved", "renotify", "acknowledged"]
MatchOp = Literal["=", "!=", "=~", "!~"]
SeriesKey = tuple[str, str | None, str]
"""(endpoint, model, metric)."""

INHIBITING: Final = frozenset({STATUS_DOWN, STATUS_ERROR, STATUS_STALE})
"""Endpoint statuses that fire NoData rules and inhibit the endpoint's other alerts."""
ID_LENGTH: Final = 8
"""Characters of the fingerprint that make an alert's short id."""
_STATE_ORDER: Final = {"firing": 0, "pending": 1, "resolved": 2, "inactive": 3}


@dataclass(frozen=True, slots=True)
class Observation:
    """One series value this tick. ``metric`` is a derived name; per-feature drift is
    ``drift.<feature>``. ``value`` None means no data for the series."""

    endpoint: str
    model: str | None
    metric: str
    value: float | None

    @property
    def feature(self) -> str | None:
        return self.metric[len(DRIFT_PREFIX):] if self.metric.startswith(DRIFT_PREFIX) else None


@dataclass(frozen=True, slots=True)
class Ack:
    """An acknowledgement: who (``$USER@host``), when, an optional note and expiry."""

    by: str
    at: float
    note: str | None = None
    until: float | None = None

    def active(self, now: float) -> bool:
        return self.until is None or now < self.until


# --------------------------------------------------------------------------- silences


@dataclass(frozen=True, slots=True)
class Matcher:
    """An Alertmanager label matcher: ``=``, ``!=``, ``=~``, ``!~`` (regexes fully anchored).

    A missing label matches as the empty string, as in Alertmanager.
    """

    name: str
    op: MatchOp
    value: str

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", self.name):
            raise ValueError(f"bad matcher: {self.name!r} is not a label name")
        if self.op not in ("=", "!=", "=~", "!~"):
            raise ValueError(f"bad matcher operator {self.op!r} (expected =, !=, =~ or !~)")
        if self.op in ("=~", "!~"):
            _regex(self.value)

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        found = _regex(self.value).fullmatch(actual) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        return f"{self.name}{self.op}{json.dumps(self.value, ensure_ascii=False)}"


@functools.lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"bad matcher regex {pattern!r}: {exc}") from None


_MATCHER = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*")


def parse_matcher(text: str) -> Matcher:
    """``endpoint=fraud-scorer``, ``alertname!="p95 latency"``, ``endpoint=~"fraud-.*"``.

    >>> str(parse_matcher('endpoint=~fraud-.*'))
    'endpoint=~"fraud-.*"'
    """
    m = _MATCHER.fullmatch(text)
    if m is None:
        raise ValueError(
            f"bad matcher {text!r}: expected LABEL=VALUE, LABEL!=VALUE, LABEL=~REGEX "
            "or LABEL!~REGEX"
        )
    name, op, value = m.groups()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError(f"bad matcher {text!r}: malformed quoted value") from None
    return Matcher(name, cast(MatchOp, op), value)


@dataclass(frozen=True, slots=True)
class Silence:
    """Mutes the alerts its matchers all match, from ``starts_at`` until ``ends_at``."""

    id: str
    matchers: tuple[Matcher, ...]
    starts_at: float
    ends_at: float
    created_by: str
    reason: str
    created_at: float

    def __post_init__(self) -> None:
        if not self.matchers:
            raise ValueError("a silence needs at least one matcher")
        if all(m.matches({}) for m in self.matchers):
            raise ValueError("a silence needs a matcher that does not match everything")
        if self.ends_at < self.starts_at:
            raise ValueError("a silence cannot end before it starts")
        if not self.reason.strip():
            raise ValueError("a silence needs a reason")

    @property
    def short_id(self) -> str:
        return self.id[:ID_LENGTH]

    def active(self, now: float) -> bool:
        return self.starts_at <= now < self.ends_at

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(m.matches(labels) for m in self.matchers)

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.short_id,
            "matchers": [str(m) for m in self.matchers],
            "starts_at": iso_time(self.starts_at),
            "ends_at": iso_time(self.ends_at),
            "created_by": self.created_by,
            "reason": self.reason,
        }


# --------------------------------------------------------------------------- alerts


def alert_labels(
    rule: Rule, endpoint: str, model: str | None, feature: str | None
) -> dict[str, str]:
    """The identity labels of an alert: rule name, endpoint, model, feature and rule labels."""
    labels = {"alertname": rule.name, "endpoint": endpoint, **rule.labels}
    if model is not None:
        labels["model"] = model
    if feature is not None:
        labels["feature"] = feature
    return labels


def fingerprint(labels: Mapping[str, str]) -> str:
    """Stable dedup key: sha256 of the sorted labels, first 16 hex digits.

    >>> fingerprint({"endpoint": "a", "alertname": "r"}) == fingerprint({"alertname": "r",
    ...                                                                  "endpoint": "a"})
    True
    """
    text = json.dumps(sorted(labels.items()), separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def iso_time(t: float) -> str:
    """``2024-05-01T12:00:03Z``."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert as the UI, the CLI, the channels and the store see it (immutable)."""

    fingerprint: str
    rule: str
    endpoint: str
    model: str | None
    feature: str | None
    metric: str
    severity: Severity
    state: State
    since: float
    """When the alert entered its current state."""
    active_at: float
    """When this activation (incident) began: its first pending (or firing) tick."""
    value: float | None
    threshold: float | None
    """The threshold in force: a relative rule's is factor × baseline; a NoData rule's is its
    ``for`` (and ``value`` the seconds without data)."""
    labels: Mapping[str, str]
    annotations: Mapping[str, str] = field(default_factory=dict)
    compliance: bool = False
    ack: Ack | None = None
    silenced_by: tuple[str, ...] = ()
    inhibited: bool = False
    flapping: bool = False
    notified: bool = False
    """A ``firing`` notification went out for this activation."""
    fired_at: float | None = None
    """When this activation started firing (kept once resolved: Alertmanager's ``startsAt``);
    None while pending."""

    @property
    def id(self) -> str:
        return self.fingerprint[:ID_LENGTH]

    @property
    def acknowledged(self) -> bool:
        return self.ack is not None

    @property
    def muted(self) -> bool:
        """Silenced or inhibited: shown, never notified."""
        return bool(self.silenced_by) or self.inhibited

    def match_labels(self) -> dict[str, str]:
        """Labels silences match on: the identity labels plus ``severity``."""
        return {**self.labels, "severity": self.severity}

    def to_json(self) -> dict[str, object]:
        """The DESIGN.md shape of ``check`` / ``alerts list``."""
        ack = self.ack
        return {
            "id": self.id,
            "rule": self.rule,
            "endpoint": self.endpoint,
            "feature": self.feature,
            "severity": self.severity,
            "state": self.state,
            "acknowledged": ack is not None,
            "acked_by": None if ack is None else ack.by,
            "value": _finite(self.value),
            "threshold": _finite(self.threshold),
            "since": iso_time(self.since),
            "acked_at": None if ack is None else iso_time(ack.at),
            "ack_note": None if ack is None else ack.note,
        }


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def sort_key(alert: Alert) -> tuple[int, int, str, str]:
    """Firing first, then pending, then resolved; most severe first; then by rule, endpoint."""
    return (_STATE_ORDER[alert.state], -SEVERITY_RANK[alert.severity], alert.rule, alert.endpoint)


@dataclass(frozen=True, slots=True)
class Transition:
    """One state change, for the event log. ``old`` is ``inactive`` for a new alert."""

    fingerprint: str
    rule: str
    endpoint: str
    old: State
    new: State
    at: float
    value: float | None
    threshold: float | None


@dataclass(frozen=True, slots=True)
class Action:
    """A notification to send; ``alert`` is the alert as it was when the action arose."""

    kind: ActionKind
    alert: Alert
    reason: str


@dataclass(frozen=True, slots=True)
class Step:
    """What one engine call produced."""

    transitions: tuple[Transition, ...] = ()
    actions: tuple[Action, ...] = ()

    def by_endpoint(self) -> dict[str, tuple[Action, ...]]:
        """Actions grouped by endpoint, in order: one notification per group."""
        groups: dict[str, list[Action]] = {}
        for action in self.actions:
            groups.setdefault(action.alert.endpoint, []).append(action)
        return {k: tuple(v) for k, v in groups.items()}


@dataclass(frozen=True, slots=True)
class Policy:
    """Engine-wide settings."""

    flap_window: float = 600.0
    flap_transitions: int = 6
    """Firing/resolved transitions within ``flap_window`` that mark an alert flapping."""
    resolved_retention: float = 900.0

    def __post_init__(self) -> None:
        if self.flap_transitions < 2 or self.flap_window <= 0 or self.resolved_retention < 0:
            raise ValueError("expected flap_transitions >= 2, flap_window > 0, retention >= 0")


# --------------------------------------------------------------------------- the engine


_SeriesId = tuple[str, str, str | None, str]
"""(rule name, endpoint, model, metric): finds a series' alert without hashing its labels."""


@dataclass(slots=True)
class _Tracked:
    fingerprint: str
    rule: str
    labels: dict[str, str]
    endpoint: str
    model: str | None
    feature: str | None
    metric: str
    severity: Severity
    compliance: bool
    state: State = "inactive"
    since: float = 0.0
    active_at: float = 0.0
    last_true: float = 0.0
    value: float | None = None
    threshold: float | None = None
    annotations: dict[str, str] = field(default_factory=dict)
    notified: bool = False
    ack: Ack | None = None
    owed: str | None = None
    """Reason of a re-notification owed once the alert is no longer muted."""
    silenced_by: tuple[str, ...] = ()
    inhibited: bool = False
    flaps: deque[float] = field(default_factory=deque)
    flapping: bool = False
    fired_at: float | None = None

    @property
    def series(self) -> _SeriesId:
        return (self.rule, self.endpoint, self.model, self.metric)

    def view(self) -> Alert:
        return Alert(
            fingerprint=self.fingerprint, rule=self.rule, endpoint=self.endpoint,
            model=self.model, feature=self.feature, metric=self.metric, severity=self.severity,
            state=self.state, since=self.since, active_at=self.active_at, value=self.value,
            threshold=self.threshold, labels=dict(self.labels),
            annotations=dict(self.annotations), compliance=self.compliance, ack=self.ack,
            silenced_by=self.silenced_by, inhibited=self.inhibited, flapping=self.flapping,
            notified=self.notified, fired_at=self.fired_at,
        )


@dataclass(frozen=True, slots=True)
class _Candidate:
    """One rule × one series this tick."""

    rule: Rule
    labels: dict[str, str] | None
    """Only for a series without an alert yet (computing them is the costly part)."""
    endpoint: str
    model: str | None
    feature: str | None
    metric: str
    value: float | None
    threshold: float | None
    clear: float | None
    down: bool | None = None
    """NoData rules: whether the endpoint is down/error/stale; None for threshold rules."""


class _Builder:
    def __init__(self) -> None:
        self.transitions: list[Transition] = []
        self.actions: list[Action] = []

    def act(self, kind: ActionKind, t: _Tracked, reason: str) -> None:
        self.actions.append(Action(kind, t.view(), reason))

    def build(self) -> Step:
        return Step(tuple(self.transitions), tuple(self.actions))


class AlertEngine:
    """Evaluates rules tick by tick and keeps every alert's state (see the module docstring).

    Not thread-safe: call it from one thread at a time (the Monitor's worker thread).

    Examples
    --------
    >>> engine = AlertEngine([Rule("slow", "latency_p95_ms", ">", 250.0, for_=10.0)])
    >>> obs = [Observation("api", None, "latency_p95_ms", 900.0)]
    >>> [t.new for t in engine.evaluate(0.0, obs, {"api": "up"}).transitions]
    ['pending']
    >>> [a.kind for a in engine.evaluate(10.0, obs, {"api": "up"}).actions]
    ['firing']
    """

    def __init__(self, rules: Sequence[Rule] = (), policy: Policy | None = None) -> None:
        self.policy = policy or Policy()
        self._rules: dict[str, Rule] = {}
        self._alerts: dict[str, _Tracked] = {}
        self._index: dict[_SeriesId, str] = {}
        self._acks: Mapping[str, Ack] = {}
        self._silences: tuple[Silence, ...] = ()
        self._baselines: dict[tuple[str, str | None, str, float], BaselineTracker] = {}
        self.set_rules(rules)

    # -- inputs --------------------------------------------------------------------------------

    @property
    def rules(self) -> tuple[Rule, ...]:
        return tuple(self._rules.values())

    def set_rules(self, rules: Sequence[Rule]) -> None:
        """Replace the rule set (config reload, overrides); alerts of a rule that is gone or
        disabled resolve at the next :meth:`evaluate`, as do those whose labels changed (their
        fingerprint changes: new alerts replace them)."""
        new = {r.name: r for r in rules}
        relabelled = {n for n, r in self._rules.items() if n in new and new[n].labels != r.labels}
        self._rules = new
        for sid in [sid for sid in self._index if sid[0] in relabelled]:
            del self._index[sid]

    def set_acks(self, acks: Mapping[str, Ack]) -> None:
        """The current acks by fingerprint (from the store); effects at the next call."""
        self._acks = dict(acks)

    def set_silences(self, silences: Iterable[Silence]) -> None:
        """The current silences (from the store); effects at the next call."""
        self._silences = tuple(silences)

    def restore(self, alerts: Iterable[Alert], now: float) -> None:
        """Resume from alerts saved before a restart; no notification is repeated."""
        for a in alerts:
            if a.state == "inactive":
                continue
            t = _Tracked(
                fingerprint=a.fingerprint, rule=a.rule, labels=dict(a.labels),
                endpoint=a.endpoint, model=a.model, feature=a.feature, metric=a.metric,
                severity=a.severity, compliance=a.compliance, state=a.state, since=a.since,
                active_at=a.active_at, last_true=now, value=a.value, threshold=a.threshold,
                annotations=dict(a.annotations), notified=a.notified, ack=a.ack,
                silenced_by=a.silenced_by, inhibited=a.inhibited, fired_at=a.fired_at,
            )
            self._track(t)

    def seed(self, history: Mapping[SeriesKey, Sequence[tuple[float, float]]]) -> None:
        """Warm the baselines of relative rules from stored history, oldest point first."""
        for (endpoint, model, metric), points in history.items():
            for rule in self._relative_rules():
                if rule.matches_metric(metric) and rule.matches_series(endpoint, model):
                    tracker = self._tracker(rule, endpoint, model, metric)
                    for t, value in points:
                        tracker.update(t, value)

    # -- outputs -------------------------------------------------------------------------------

    def alerts(self) -> tuple[Alert, ...]:
        """Every pending, firing and recently resolved alert, most urgent first."""
        views = [t.view() for t in self._alerts.values() if t.state != "inactive"]
        return tuple(sorted(views, key=sort_key))

    def baseline(self, rule: Rule, endpoint: str, model: str | None, metric: str) -> float | None:
        tracker = self._baselines.get((endpoint, model, metric, rule.baseline_window))
        return None if tracker is None else tracker.value

    # -- evaluation ----------------------------------------------------------------------------

    def evaluate(
        self, now: float, observations: Iterable[Observation], statuses: Mapping[str, str]
    ) -> Step:
        """One tick: every series value and every endpoint's status at ``now``."""
        by_metric: dict[str, list[Observation]] = {}
        for o in observations:
            by_metric.setdefault(o.metric, []).append(o)
        out = _Builder()
        candidates = self._candidates(by_metric, statuses)
        order = [*candidates, *(fp for fp in self._alerts if fp not in candidates)]
        for fp in order:
            self._step(now, fp, candidates.get(fp), statuses, out)
        self._learn(now, by_metric)
        self._forget(now)
        self._reconcile(now, out)
        return out.build()

    def reconcile(self, now: float) -> Step:
        """Apply acks, silences and time without new data (e.g. right after an ack)."""
        out = _Builder()
        self._reconcile(now, out)
        return out.build()

    def _candidates(
        self, by_metric: Mapping[str, Sequence[Observation]], statuses: Mapping[str, str]
    ) -> dict[str, _Candidate]:
        """Series that have an alert or whose condition holds, by fingerprint; the rest (most
        series, most ticks) cost a comparison and no hashing."""
        out: dict[str, _Candidate] = {}
        for rule in self._rules.values():
            if not rule.enabled:
                continue
            if rule.kind == "nodata":
                for endpoint, status in statuses.items():
                    if rule.matches_series(endpoint, None):
                        self._offer(out, _Candidate(rule, None, endpoint, None, None, "", None,
                                                    rule.for_, None, status in INHIBITING))
                continue
            for metric, items in by_metric.items():
                if rule.matches_metric(metric):
                    self._offer_series(out, rule, items)
        return out

    def _offer_series(
        self, out: dict[str, _Candidate], rule: Rule, items: Sequence[Observation]
    ) -> None:
        for o in items:
            if not rule.matches_series(o.endpoint, o.model):
                continue
            if (rule.name, o.endpoint, o.model, o.metric) in self._index or self._triggers(rule, o):
                self._offer(out, self._candidate(rule, o))

    def _triggers(self, rule: Rule, o: Observation) -> bool:
        """The condition of a series without an alert (the fast path of most series)."""
        if o.value is None or not math.isfinite(o.value):
            return False
        baseline = self.baseline(rule, o.endpoint, o.model, o.metric) if rule.relative else None
        limit = rule.limits(baseline)[0]
        return limit is not None and rule.compare(o.value, limit)

    def _candidate(self, rule: Rule, o: Observation) -> _Candidate:
        baseline = self.baseline(rule, o.endpoint, o.model, o.metric) if rule.relative else None
        threshold, clear = rule.limits(baseline)
        value = o.value if o.value is not None and math.isfinite(o.value) else None
        return _Candidate(
            rule, None, o.endpoint, o.model, o.feature, o.metric, value, threshold, clear
        )

    def _offer(self, out: dict[str, _Candidate], cand: _Candidate) -> None:
        fp = self._index.get((cand.rule.name, cand.endpoint, cand.model, cand.metric))
        if fp is None:
            if not _condition(cand, "inactive"):
                return
            labels = alert_labels(cand.rule, cand.endpoint, cand.model, cand.feature)
            cand = dataclasses.replace(cand, labels=labels)
            fp = fingerprint(labels)
        out[fp] = cand

    def _track(self, t: _Tracked) -> None:
        self._alerts[t.fingerprint] = t
        self._index[t.series] = t.fingerprint

    def _untrack(self, t: _Tracked) -> None:
        self._alerts.pop(t.fingerprint, None)
        if self._index.get(t.series) == t.fingerprint:
            del self._index[t.series]

    def _step(
        self, now: float, fp: str, cand: _Candidate | None, statuses: Mapping[str, str],
        out: _Builder,
    ) -> None:
        t = self._alerts.get(fp)
        if t is None:
            if cand is None or cand.labels is None:
                return
            if cand.down is None and statuses.get(cand.endpoint) in INHIBITING:
                return  # no new alerts on an endpoint that is down
            t = self._new(fp, cand)
        rule = self._rules.get(t.rule)
        if rule is None or not rule.enabled:
            self._advance(now, t, None, False, out)
            return
        t.severity, t.compliance = rule.severity, rule.compliance
        t.inhibited = rule.kind != "nodata" and statuses.get(t.endpoint) in INHIBITING
        if t.inhibited:
            if t.state == "pending":
                self._move(now, t, "inactive", out)
            return
        cond = cand is not None and _condition(cand, t.state)
        if cand is not None and cand.down is None:
            t.value, t.threshold = cand.value, cand.threshold
        elif cand is None:
            t.value = None
        self._advance(now, t, rule, cond, out)
        if rule.kind == "nodata":
            t.threshold = rule.for_
            t.value = now - t.active_at if cond and t.state in ("pending", "firing") else None
        t.annotations = _annotations(rule, t)

    def _new(self, fp: str, cand: _Candidate) -> _Tracked:
        rule = cand.rule
        assert cand.labels is not None
        return _Tracked(
            fingerprint=fp, rule=rule.name, labels=cand.labels, endpoint=cand.endpoint,
            model=cand.model, feature=cand.feature, metric=cand.metric, severity=rule.severity,
            compliance=rule.compliance,
        )

    def _advance(
        self, now: float, t: _Tracked, rule: Rule | None, cond: bool, out: _Builder
    ) -> None:
        """The lifecycle proper; ``rule`` None means the rule is gone or disabled."""
        if cond:
            t.last_true = now
        if t.state in ("inactive", "resolved"):
            if cond and rule is not None:
                t.active_at = now
                t.notified, t.ack, t.owed, t.fired_at = False, None, None, None
                self._track(t)
                self._move(now, t, "firing" if rule.for_ <= 0 else "pending", out)
        elif t.state == "pending":
            if not cond:
                self._move(now, t, "inactive", out)
            elif rule is not None and now - t.active_at >= rule.for_:
                self._move(now, t, "firing", out)
        elif not cond:
            keep = 0.0 if rule is None else rule.keep_firing_for
            if rule is None or now - t.last_true >= keep:
                self._move(now, t, "resolved", out)

    def _move(self, now: float, t: _Tracked, new: State, out: _Builder) -> None:
        out.transitions.append(
            Transition(t.fingerprint, t.rule, t.endpoint, t.state, new, now, t.value, t.threshold)
        )
        t.state, t.since = new, now
        if new == "firing":
            t.fired_at = now
        if new in ("firing", "resolved"):
            t.flaps.append(now)
            while len(t.flaps) > self.policy.flap_transitions:
                t.flaps.popleft()
        if new == "inactive":
            self._untrack(t)
        elif new == "resolved":
            if t.notified:
                out.act("resolved", t, "resolved")
            t.ack, t.owed = None, None

    def _forget(self, now: float) -> None:
        horizon = now - self.policy.resolved_retention
        for t in [t for t in self._alerts.values()
                  if t.state == "resolved" and t.since <= horizon]:
            self._untrack(t)

    def _reconcile(self, now: float, out: _Builder) -> None:
        for t in self._alerts.values():
            t.flapping = (len(t.flaps) >= self.policy.flap_transitions
                          and t.flaps[0] >= now - self.policy.flap_window)
            labels = {**t.labels, "severity": t.severity}
            t.silenced_by = tuple(
                s.id for s in self._silences if s.active(now) and s.matches(labels)
            )
            self._reconcile_ack(now, t, out)
            if t.state != "firing" or t.silenced_by or t.inhibited:
                continue
            if not t.notified:
                t.notified, t.owed = True, None
                out.act("firing", t, "firing")
                if t.ack is not None:
                    out.act("acknowledged", t, f"acknowledged by {t.ack.by}")
            elif t.owed is not None and t.ack is None:
                out.act("renotify", t, t.owed)
                t.owed = None

    def _reconcile_ack(self, now: float, t: _Tracked, out: _Builder) -> None:
        ack = self._acks.get(t.fingerprint)
        if ack is not None and not (
            ack.active(now) and ack.at >= t.active_at and t.state in ("pending", "firing")
        ):
            ack = None
        old, t.ack = t.ack, ack
        if t.state != "firing" or not t.notified:
            return
        if old is not None and ack is None:
            expired = old.until is not None and now >= old.until
            t.owed = "ack expired" if expired else "unacknowledged"
        elif old is None and ack is not None:
            t.owed = None
            out.act("acknowledged", t, f"acknowledged by {ack.by}")

    # -- baselines -----------------------------------------------------------------------------

    def _relative_rules(self) -> list[Rule]:
        return [r for r in self._rules.values() if r.enabled and r.relative]

    def _tracker(self, rule: Rule, endpoint: str, model: str | None, metric: str
                 ) -> BaselineTracker:
        key = (endpoint, model, metric, rule.baseline_window)
        tracker = self._baselines.get(key)
        if tracker is None:
            tracker = self._baselines[key] = BaselineTracker(rule.baseline_window)
        return tracker

    def _learn(self, now: float, by_metric: Mapping[str, Sequence[Observation]]) -> None:
        """Feed this tick's values to the baselines of relative rules (after evaluating, so a
        value is compared with the past only); drop baselines of series gone for a window."""
        for rule in self._relative_rules():
            for metric, items in by_metric.items():
                if not rule.matches_metric(metric):
                    continue
                for o in items:
                    if o.value is not None and rule.matches_series(o.endpoint, o.model):
                        self._tracker(rule, o.endpoint, o.model, metric).update(now, o.value)
        for key in [k for k, b in self._baselines.items()
                    if b.last_update is None or b.last_update < now - k[3]]:
            del self._baselines[key]


def _condition(cand: _Candidate, state: State) -> bool:
    if cand.down is not None:
        return cand.down
    limit = cand.clear if state == "firing" and cand.clear is not None else cand.threshold
    return cand.value is not None and limit is not None and cand.rule.compare(cand.value, limit)


def _annotations(rule: Rule, t: _Tracked) -> dict[str, str]:
    where = t.endpoint if t.model is None else f"{t.endpoint}/{t.model}"
    fields: dict[str, object] = {
        "endpoint": t.endpoint, "model": t.model, "series": where, "feature": t.feature,
        "value": t.value,
        "threshold": t.threshold, "rule": rule.name, "metric": t.metric,
        "severity": rule.severity,
    }
    out = {k: render(v, fields) for k, v in rule.annotations.items()}
    out.setdefault("summary", _default_summary(rule, t, where))
    return out


def _default_summary(rule: Rule, t: _Tracked, where: str) -> str:
    if rule.kind == "nodata":
        return f"{where}: no data (down, error or stale) for longer than {rule.for_:g}s"
    value = "no data" if t.value is None else f"{t.value:.4g}"
    limit = "-" if t.threshold is None else f"{t.threshold:.4g}"
    relative = f" ({rule.factor:g}× baseline)" if rule.relative else ""
    return f"{where}: {t.metric} {value} {rule.op} {limit}{relative}"
