"""Alert rules: the ``[[rules]]`` tables of the config, validated into frozen ``Rule`` records.

Config shape (every key but ``name`` and ``metric`` is optional)::

    [[rules]]
    name = "p95 latency"            # unique; the ``alertname`` label
    metric = "latency_p95_ms"       # a derived metric, drift_share, drift.<feature> or drift.<glob>
    op = ">"                        # > >= < <=
    threshold = 250                 # absolute rules
    for = "30s"                     # how long the condition holds before firing (pending first)
    keep_firing_for = "1m"          # how long a firing alert outlives its condition
    clear = 200                     # hysteresis: once firing, resolves only past this value
    severity = "critical"           # critical|warning|info
    endpoint = "fraud-*"            # glob on the endpoint name
    model = "*"                     # glob on the model label; "" selects endpoint-level series only
    labels = { team = "ml-platform" }
    annotations = { summary = "{endpoint} p95 {value:.0f} ms > {threshold:.0f} ms",
                    runbook_url = "https://runbooks.example/latency", description = "..." }
    compliance = true               # a compliance bound (error budget, accuracy floor)
    enabled = true

Relative rules compare with the series' learned baseline instead of a fixed threshold::

    relative_to = "baseline"        # the only reference so far
    factor = 3                      # fires when value > 3 × baseline (op as above)
    baseline_window = "30m"         # history the baseline is the robust median of (default 30m)

For a relative rule ``clear`` is a factor too (``clear = 2``: resolves below 2 × baseline). The
baseline is a :class:`BaselineTracker` per series; until it has enough history the rule has no
data and cannot fire.

A NoData rule watches an endpoint's status instead of a metric::

    kind = "nodata"                 # fires when the endpoint is down, error or stale ...
    for = "1m"                      # ... for longer than this (default 1m)

It takes ``name``, ``kind``, ``for``, ``keep_firing_for``, ``endpoint``, ``severity``,
``labels``, ``annotations``, ``compliance`` and ``enabled``; other keys are config errors.

Globs are ``fnmatch`` globs (``*``, ``?``, ``[abc]``, ``[!abc]``), matched case-sensitively; an
unclosed ``[`` is an error. Placeholders in annotations: ``{endpoint}``, ``{model}``,
``{series}`` (``endpoint`` or ``endpoint/model``), ``{feature}``, ``{value}``, ``{threshold}``,
``{rule}``, ``{metric}``, ``{severity}``, with optional format specs (``{value:.3g}``); a
missing value renders as ``-``.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import math
import operator
import re
import statistics
import string
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Literal, cast

from mmtui.names import DRIFT_PREFIX, DRIFT_SHARE, QUALITY_METRICS, SERVING_METRICS

if TYPE_CHECKING:  # config.py calls read_rules: no import of mmtui.config at run time
    from mmtui.config import TableReader

Op = Literal[">", ">=", "<", "<="]
Severity = Literal["critical", "warning", "info"]
RuleKind = Literal["threshold", "nodata"]

OPS: Final[tuple[Op, ...]] = (">", ">=", "<", "<=")
SEVERITIES: Final[tuple[Severity, ...]] = ("critical", "warning", "info")
SEVERITY_RANK: Final[Mapping[str, int]] = {"info": 0, "warning": 1, "critical": 2}
"""Higher is more severe: a channel with a minimum severity sends ``rank >= its rank``."""
KINDS: Final[tuple[RuleKind, ...]] = ("threshold", "nodata")
RESERVED_LABELS: Final = frozenset({"alertname", "endpoint", "model", "feature", "severity"})
"""Labels every alert gets from its rule and series; rule ``labels`` may not set them."""
PLACEHOLDERS: Final = frozenset(
    {"endpoint", "model", "series", "feature", "value", "threshold", "rule", "metric", "severity"}
)
NODATA_FOR: Final = 60.0
"""Default ``for`` of a NoData rule: one failed scrape is not an outage."""
DEFAULT_BASELINE_WINDOW: Final = 1800.0

_LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_COMMON_KEYS = (
    "name", "kind", "for", "keep_firing_for", "endpoint", "severity", "labels", "annotations",
    "compliance", "enabled",
)
_THRESHOLD_KEYS = (
    *_COMMON_KEYS, "metric", "op", "threshold", "clear", "model", "relative_to", "factor",
    "baseline_window",
)


class RuleError(ValueError):
    """A rule that cannot work; ``key`` is the config key at fault."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True, slots=True)
class Rule:
    """One alert rule (``[[rules]]``); validated on construction (``RuleError``)."""

    name: str
    metric: str = ""
    """Derived metric, ``drift_share``, ``drift.<feature>`` or ``drift.<glob>``; "" for nodata."""
    op: Op = ">"
    threshold: float | None = None
    """Absolute threshold; None for relative and nodata rules."""
    for_: float = 0.0
    """Seconds the condition must hold before the alert fires."""
    endpoint: str = "*"
    severity: Severity = "warning"
    keep_firing_for: float = 0.0
    clear: float | None = None
    """Hysteresis: a firing alert stays until ``value op clear`` is false (a factor if relative)."""
    model: str = ""
    """Glob on the model label. The default "" is the endpoint as a whole (its total row), so a
    rule does not alert once per model as well; "*" takes the total and every model."""
    kind: RuleKind = "threshold"
    relative_to: Literal["baseline"] | None = None
    factor: float | None = None
    baseline_window: float = DEFAULT_BASELINE_WINDOW
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    compliance: bool = False
    enabled: bool = True

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def relative(self) -> bool:
        return self.relative_to is not None

    @property
    def per_feature(self) -> bool:
        """True for ``drift.<feature>`` rules: one alert per matching feature."""
        return self.metric.startswith(DRIFT_PREFIX)

    def matches_metric(self, metric: str) -> bool:
        if not self.per_feature:
            return metric == self.metric
        return metric.startswith(DRIFT_PREFIX) and glob_matches(
            self.metric[len(DRIFT_PREFIX):], metric[len(DRIFT_PREFIX):]
        )

    def matches_series(self, endpoint: str, model: str | None) -> bool:
        return glob_matches(self.endpoint, endpoint) and glob_matches(self.model, model or "")

    def limits(self, baseline: float | None) -> tuple[float | None, float | None]:
        """(threshold, clear threshold) in the metric's units; None where there is none yet."""
        if not self.relative:
            return self.threshold, self.clear
        if baseline is None:
            return None, None
        assert self.factor is not None
        clear = None if self.clear is None else self.clear * baseline
        return self.factor * baseline, clear

    def compare(self, value: float, limit: float) -> bool:
        """``value op limit``."""
        return _COMPARE[self.op](value, limit)


_COMPARE: Final[Mapping[str, Callable[[float, float], bool]]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


@dataclass(frozen=True, slots=True)
class RuleOverride:
    """An edit to a configured rule made at run time (the TUI), kept in the state store.

    ``threshold`` sets ``factor`` on relative rules and is ignored on NoData rules. None leaves
    the configured value.
    """

    rule: str
    enabled: bool | None = None
    threshold: float | None = None
    for_: float | None = None
    by: str | None = None
    at: float | None = None


def apply_override(rule: Rule, override: RuleOverride) -> Rule:
    """``rule`` with ``override`` applied; ``RuleError`` if the result is not a valid rule."""
    changes: dict[str, object] = {}
    if override.enabled is not None:
        changes["enabled"] = override.enabled
    if override.for_ is not None:
        changes["for_"] = override.for_
    if override.threshold is not None and rule.kind == "threshold":
        changes["factor" if rule.relative else "threshold"] = override.threshold
    return dataclasses.replace(rule, **changes)  # type: ignore[arg-type]


def apply_overrides(
    rules: Sequence[Rule], overrides: Mapping[str, RuleOverride]
) -> tuple[tuple[Rule, ...], list[str]]:
    """Rules with their overrides applied, and one line per override that had to be skipped."""
    out: list[Rule] = []
    problems: list[str] = []
    for rule in rules:
        override = overrides.get(rule.name)
        if override is None:
            out.append(rule)
            continue
        try:
            out.append(apply_override(rule, override))
        except RuleError as exc:
            problems.append(f"override of rule {rule.name!r} ignored: {exc.key}: {exc}")
            out.append(rule)
    return tuple(out), problems


# --------------------------------------------------------------------------- validation


def _validate(rule: Rule) -> None:
    if not rule.name.strip():
        raise RuleError("name", "must not be empty")
    if rule.kind not in KINDS:
        raise RuleError("kind", f"expected one of {', '.join(KINDS)}, got {rule.kind!r}")
    if rule.severity not in SEVERITIES:
        raise RuleError("severity", f"expected one of {', '.join(SEVERITIES)}")
    _check_glob("endpoint", rule.endpoint, allow_empty=False)
    for key, seconds in (("for", rule.for_), ("keep_firing_for", rule.keep_firing_for)):
        if not math.isfinite(seconds) or seconds < 0:
            raise RuleError(key, f"expected a non-negative duration, got {seconds!r}")
    _check_labels(rule.labels)
    _check_annotations(rule.annotations)
    if rule.kind == "threshold":
        _validate_threshold_rule(rule)
    elif rule.metric or rule.threshold is not None or rule.relative or rule.clear is not None:
        raise RuleError("kind", "a nodata rule takes no metric, threshold, clear or relative_to")


def _validate_threshold_rule(rule: Rule) -> None:
    _check_metric(rule.metric)
    _check_glob("model", rule.model, allow_empty=True)
    if rule.op not in OPS:
        raise RuleError("op", f"expected one of {', '.join(OPS)}, got {rule.op!r}")
    if rule.relative:
        reference = _check_relative(rule)
        ref_key = "factor"
    else:
        if rule.factor is not None:
            raise RuleError("factor", 'is for relative rules: add relative_to = "baseline"')
        if rule.threshold is None or not math.isfinite(rule.threshold):
            raise RuleError(
                "threshold", 'expected a number (or relative_to = "baseline" with a factor)'
            )
        reference = rule.threshold
        ref_key = "threshold"
    if rule.clear is None:
        return
    if not math.isfinite(rule.clear):
        raise RuleError("clear", f"expected a finite number, got {rule.clear!r}")
    above = rule.op in (">", ">=")
    if (above and rule.clear > reference) or (not above and rule.clear < reference):
        side = "at or below" if above else "at or above"
        raise RuleError(
            "clear",
            f"clear {rule.clear:g} must be {side} {ref_key} {reference:g} for op {rule.op!r} "
            "(the alert resolves once the value is back past it)",
        )


def _check_relative(rule: Rule) -> float:
    if rule.relative_to != "baseline":
        raise RuleError("relative_to", f'expected "baseline", got {rule.relative_to!r}')
    if rule.threshold is not None:
        raise RuleError(
            "threshold",
            "a relative rule compares with factor × baseline: use factor, not threshold",
        )
    if rule.factor is None or not math.isfinite(rule.factor) or rule.factor <= 0:
        raise RuleError("factor", "a relative rule needs a factor > 0 (e.g. factor = 3)")
    if not math.isfinite(rule.baseline_window) or rule.baseline_window <= 0:
        raise RuleError("baseline_window", "expected a duration > 0")
    if rule.clear is not None and rule.clear <= 0:
        raise RuleError("clear", "on a relative rule clear is a factor > 0")
    return rule.factor


def _check_metric(metric: str) -> None:
    if metric in SERVING_METRICS or metric in QUALITY_METRICS or metric == DRIFT_SHARE:
        return
    if metric.startswith(DRIFT_PREFIX) and len(metric) > len(DRIFT_PREFIX):
        _check_glob("metric", metric[len(DRIFT_PREFIX):], allow_empty=False)
        return
    raise RuleError(
        "metric",
        f"unknown metric {metric!r} (expected a derived metric such as latency_p95_ms, "
        "error_rate, accuracy, drift_share, or drift.<feature> / drift.*)",
    )


def _check_labels(labels: Mapping[str, str]) -> None:
    for name in labels:
        if not _LABEL_NAME.fullmatch(name):
            raise RuleError(f"labels.{name}", "expected a label name like team or tier")
        if name in RESERVED_LABELS:
            raise RuleError(f"labels.{name}", f"{name!r} is set by mmtui and cannot be a label")


def _check_annotations(annotations: Mapping[str, str]) -> None:
    for name, text in annotations.items():
        try:
            check_template(text)
        except ValueError as exc:
            raise RuleError(f"annotations.{name}", str(exc)) from None
    url = annotations.get("runbook_url")
    if url is not None and not re.match(r"^https?://\S+$", url):
        raise RuleError("annotations.runbook_url", f"expected an http(s) URL, got {url!r}")


# --------------------------------------------------------------------------- globs and templates


def _check_glob(key: str, pattern: str, *, allow_empty: bool) -> None:
    if not pattern and not allow_empty:
        raise RuleError(key, "expected a glob such as '*' or 'fraud-*', got an empty string")
    try:
        compile_glob(pattern)
    except ValueError as exc:
        raise RuleError(key, str(exc)) from None


@functools.lru_cache(maxsize=512)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """The regex of an fnmatch glob; ValueError for an unclosed ``[``."""
    i = 0
    while i < len(pattern):
        if pattern[i] == "[":
            j = i + 1
            if j < len(pattern) and pattern[j] == "!":
                j += 1
            if j < len(pattern) and pattern[j] == "]":
                j += 1
            while j < len(pattern) and pattern[j] != "]":
                j += 1
            if j >= len(pattern):
                raise ValueError(f"bad glob {pattern!r}: '[' at position {i} is never closed")
            i = j
        i += 1
    return re.compile(fnmatch.translate(pattern))


def glob_matches(pattern: str, name: str) -> bool:
    return pattern == "*" or compile_glob(pattern).match(name) is not None


class _Formatter(string.Formatter):
    """``str.format`` where None renders as ``-`` whatever the format spec."""

    def format_field(self, value: object, format_spec: str) -> str:
        if value is None:
            return "-"
        return cast(str, super().format_field(value, format_spec))


_FORMATTER = _Formatter()
_SAMPLE = {
    "endpoint": "ep", "model": "m", "series": "ep/m", "feature": "f", "value": 1.5,
    "threshold": 2.5, "rule": "r", "metric": "latency_p95_ms", "severity": "warning",
}


def check_template(text: str) -> None:
    """ValueError naming the problem if ``text`` is not a valid annotation template."""
    try:
        parsed = list(_FORMATTER.parse(text))
    except ValueError as exc:
        raise ValueError(f"bad template {text!r}: {exc}") from None
    for _, name, _, _ in parsed:
        if name is not None and name not in PLACEHOLDERS:
            known = ", ".join("{" + p + "}" for p in sorted(PLACEHOLDERS))
            raise ValueError(f"unknown placeholder {{{name}}} in {text!r} (expected {known})")
    try:
        _FORMATTER.vformat(text, (), _SAMPLE)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"bad template {text!r}: {exc}") from None


def render(text: str, fields: Mapping[str, object]) -> str:
    """Fill a template checked by :func:`check_template`; never raises on such a template."""
    try:
        return _FORMATTER.vformat(text, (), fields)
    except (ValueError, TypeError, KeyError):
        return text  # e.g. a numeric spec on a string a later placeholder value turned out to be


# --------------------------------------------------------------------------- reading config


def read_rule(r: TableReader) -> Rule:
    """One ``[[rules]]`` table as a ``Rule``; ``ConfigError`` naming file, key and rule."""
    name = r.req_str("name")
    try:
        return _read_rule(r, name)
    except ValueError as exc:  # the reader's ConfigError
        message = str(exc)
        if f"rule {name!r}" in message:
            raise
        raise type(exc)(f"{message} (rule {name!r})") from None


def read_rules(readers: Sequence[TableReader]) -> tuple[Rule, ...]:
    """Every ``[[rules]]`` table; also rejects two rules with one name (names key alerts)."""
    rules: list[Rule] = []
    first: dict[str, str] = {}
    for r in readers:
        rule = read_rule(r)
        if rule.name in first:
            raise r.error("name", f"duplicate rule name {rule.name!r} (also {first[rule.name]})")
        first[rule.name] = r.path
        rules.append(rule)
    return tuple(rules)


def _read_rule(r: TableReader, name: str) -> Rule:
    kind = cast(RuleKind, r.choice("kind", KINDS, "threshold"))
    common: dict[str, object] = {
        "name": name,
        "kind": kind,
        "endpoint": r.string("endpoint", "*"),
        "severity": r.choice("severity", SEVERITIES, "warning"),
        "keep_firing_for": r.duration("keep_firing_for", 0.0),
        "labels": r.str_map("labels"),
        "annotations": r.str_map("annotations"),
        "compliance": r.boolean("compliance", False),
        "enabled": r.boolean("enabled", True),
    }
    if kind == "nodata":
        common["for_"] = r.duration("for", NODATA_FOR)
        r.check_unknown(_COMMON_KEYS)
    else:
        common.update(_read_threshold_keys(r, name))
        r.check_unknown(_THRESHOLD_KEYS)
    try:
        return Rule(**common)  # type: ignore[arg-type]
    except RuleError as exc:
        raise r.error(exc.key, f"rule {name!r}: {exc}") from None


def _read_threshold_keys(r: TableReader, name: str) -> dict[str, object]:
    relative_to = r.string("relative_to")
    threshold = _optional_number(r, "threshold", name)
    factor = _optional_number(r, "factor", name)
    if relative_to is None and threshold is None and factor is None:
        value = r.table.get("threshold")
        raise r.error("threshold", f"rule {name!r}: expected a number, got {value!r}")
    return {
        "metric": r.req_str("metric"),
        "op": r.choice("op", OPS, ">"),
        "threshold": threshold,
        "for_": r.duration("for", 0.0),
        "clear": _optional_number(r, "clear", name),
        "model": r.string("model", ""),
        "relative_to": relative_to,
        "factor": factor,
        "baseline_window": r.duration("baseline_window", DEFAULT_BASELINE_WINDOW, positive=True),
    }


def _optional_number(r: TableReader, key: str, name: str) -> float | None:
    value = r.table.get(key)
    r.used.add(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise r.error(key, f"rule {name!r}: expected a number, got {value!r}")
    return float(value)


# --------------------------------------------------------------------------- baselines


class BaselineTracker:
    """Robust baseline of one series: the median of per-bucket means over a sliding window.

    Memory is bounded by ``buckets`` floats. Values are averaged within buckets of
    ``window / buckets`` seconds; the baseline is the median of the closed buckets, so an
    incident shorter than half the window barely moves it.

    Parameters
    ----------
    window
        Seconds of history the baseline covers.
    buckets
        Buckets in the window.
    min_buckets
        Closed buckets needed before :attr:`value` is not None (the warm-up).

    Examples
    --------
    >>> b = BaselineTracker(window=60, buckets=6, min_buckets=3)
    >>> for t in range(0, 40):
    ...     b.update(float(t), 100.0 if t != 25 else 900.0)
    >>> b.value
    100.0
    """

    def __init__(self, window: float = DEFAULT_BASELINE_WINDOW, buckets: int = 60,
                 min_buckets: int = 6) -> None:
        if not window > 0:
            raise ValueError(f"window must be > 0 seconds, got {window!r}")
        if buckets < 1 or not 1 <= min_buckets <= buckets:
            raise ValueError(f"expected 1 <= min_buckets <= buckets, got {min_buckets}, {buckets}")
        self.width = window / buckets
        self.min_buckets = min_buckets
        self._closed: deque[tuple[int, float]] = deque(maxlen=buckets)
        self._open: tuple[int, float, int] | None = None
        self.last_update: float | None = None

    def update(self, t: float, value: float | None) -> None:
        """Add one observation; None, NaN and values older than the open bucket are ignored."""
        if value is None or not math.isfinite(value):
            return
        index = math.floor(t / self.width)
        if self._open is not None:
            open_index, total, n = self._open
            if index < open_index:
                return
            if index == open_index:
                self._open = (index, total + value, n + 1)
                self.last_update = t
                return
            self._closed.append((open_index, total / n))
        self._open = (index, value, 1)
        self.last_update = t
        horizon = index - (self._closed.maxlen or 0)
        while self._closed and self._closed[0][0] <= horizon:
            self._closed.popleft()

    @property
    def value(self) -> float | None:
        """The baseline, or None while fewer than ``min_buckets`` buckets are closed."""
        if len(self._closed) < self.min_buckets:
            return None
        return float(statistics.median(mean for _, mean in self._closed))
