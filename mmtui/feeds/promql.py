"""PromQL for a preset's serving figures, and their folding into the DESIGN's metrics.

:mod:`mmtui.feeds.promsource` sends the query; this module writes it and reads its answer. The
query is the ``or`` of every part the preset needs, each part tagged with a ``mmtui_part`` label
(``label_replace``), so all figures are evaluated at one instant and cost one round trip.

Parts and how they become the figures (w is the rate window, L the model label):

============= =======================================================================
figure        PromQL parts, folded here per model exactly as :mod:`mmtui.feeds.derive`
============= =======================================================================
throughput    ``sum by (L) (rate(<requests>[w]))`` per request counter, summed
error_rate    ``rate`` of the failed and the total counters of the first error source whose
              total has series: failed / total, clamped to 0..1
latency p*    histograms: ``histogram_quantile(q, sum by (le, L) (rate(<x>_bucket[w])))``
              per model and ``sum by (le)`` for the endpoint; summaries: the server's own
              quantile gauges weighted by each series' ``rate(<x>_count[w])``
latency mean  ``rate(<x>_sum[w]) / rate(<x>_count[w])``, or for a cumulative-duration
              counter ``rate(<x>[w]) / rate(<per>[w])``; times the preset's unit factor (ms)
queue_ms      as the latency mean
inflight      ``sum by (L) (<gauges>)``
============= =======================================================================

Families are matched by series name (``x``, ``x_total``, ``x_count``, ``x_sum``, ``x_bucket``),
so a part whose form the server does not have is simply empty, and each figure comes from the
first source with data, as derive takes the first family present in a scrape. The preset's
label globs become ``=~``/``!~`` matchers; label sets and counter resets are Prometheus' business.
Parts that are sums are folded per model here (so the models filter, server-wide families and
the one-model rule are derive's); histogram quantiles, which do not add, are the server's.

Known differences from direct polling: ``rate`` misses the first increment of a series that
appears inside the window (a first 5xx), which derive counts from 0; summary quantiles are read
at exactly 0.5, 0.95 and 0.99 (derive takes the nearest within 0.05); with a ``models`` filter,
histogram quantiles of the endpoint leave out series that have no model label.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from mmtui.feeds.derive import sum_keys
from mmtui.feeds.presets import ErrorRate, Preset, Select, Timing
from mmtui.names import (
    ERROR_RATE,
    INFLIGHT,
    LATENCY_MEAN,
    LATENCY_P50,
    LATENCY_P95,
    LATENCY_P99,
    QUEUE,
    THROUGHPUT,
    Metrics,
)

__all__ = [
    "PART_LABEL", "Key", "Parts", "Plan", "build_plan", "duration", "evaluate", "glob_regex",
]

PART_LABEL = "mmtui_part"
"""The label that tags each part of the query in the answer."""
_QUANTILES = (0.5, 0.95, 0.99)
Key = str | None
"""A model label value; None for series without one (or a server-wide part)."""
Parts = dict[str, dict[Key, float | None]]
"""Part id → model key → value (None for NaN/±Inf)."""
_RE_SPECIAL = frozenset(".^$*+?()[]{}|\\")
_NO_QUANTILE = 'quantile=""'
"""Keeps a summary's quantile gauges out of a counter or gauge selector named like it."""


def duration(seconds: float) -> str:
    """A PromQL duration literal (integers only in Prometheus 2.x).

    >>> duration(2.5)
    '2500ms'
    """
    return f"{max(1, round(seconds * 1000))}ms"


# --------------------------------------------------------------------------- PromQL


def glob_regex(pattern: str) -> str:
    """An RE2 regex (PromQL anchors it) for an ``fnmatch`` glob, ``|`` separating alternatives.

    >>> glob_regex("5*|validation")
    '5.*|validation'
    >>> glob_regex("fraud_[!x]?.v1")
    'fraud_[^x].\\\\.v1'
    """
    return "|".join(_glob(alt) for alt in pattern.split("|"))


def _glob(p: str) -> str:
    out: list[str] = []
    i, n = 0, len(p)
    while i < n:
        c = p[i]
        i += 1
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[":
            j = i + (1 if i < n and p[i] == "!" else 0)
            j += 1 if j < n and p[j] == "]" else 0
            while j < n and p[j] != "]":
                j += 1
            if j >= n:
                out.append("\\[")
                continue
            body, i = p[i:j], j + 1
            body = body.replace("\\", "\\\\")
            if body.startswith("!"):
                body = "^" + body[1:]
            elif body.startswith("^"):
                body = "\\" + body
            out.append(f"[{body}]")
        else:
            out.append("\\" + c if c in _RE_SPECIAL else c)
    return "".join(out)


def _escape(name: str) -> str:
    return "".join("\\" + c if c in _RE_SPECIAL else c for c in name)


def _q(text: str) -> str:
    """A PromQL string literal (Go escapes, which JSON's are)."""
    return json.dumps(text)


def _selector_matchers(selector: str) -> str:
    """The matchers inside a ``{...}`` selector, for joining with mmtui's own."""
    inner = selector.strip()
    if inner.startswith("{") and inner.endswith("}"):
        inner = inner[1:-1]
    return inner.strip().rstrip(",").strip()


@dataclass(frozen=True, slots=True)
class _TimingPlan:
    to_ms: float
    sum: str
    count: str
    duration: str
    """The cumulative-duration counter form."""
    per: tuple[str, ...]
    """Its divisor (the Timing's ``per``, default the requests)."""
    histogram: tuple[tuple[str | None, str], ...] = ()
    """Per quantile: (per-model part or None, endpoint part)."""
    summary: tuple[tuple[str, str], ...] = ()
    """Per quantile: (weighted-sum part, weight part), per model."""


@dataclass(frozen=True, slots=True)
class _ErrorPlan:
    failed: tuple[str, ...]
    total: tuple[str, ...]
    server_wide: bool


@dataclass(frozen=True, slots=True)
class Plan:
    """One preset's PromQL for one endpoint: the query and which part is which."""

    query: str
    model_label: str | None
    models: tuple[str, ...]
    requests: tuple[str, ...]
    errors: tuple[_ErrorPlan, ...]
    latency: tuple[_TimingPlan, ...]
    queue: tuple[_TimingPlan, ...]
    inflight: tuple[str, ...]
    up: tuple[str, str]
    """(sum of ``up``, count of ``up``) over the selector's targets."""


class _Builder:
    def __init__(self, preset: Preset, selector: str, window: float, models: Sequence[str]):
        self.label = preset.model_label
        self.user = _selector_matchers(selector)
        self.window = duration(window)
        self.models = tuple(models)
        self.parts: dict[str, str] = {}
        """Expression → part id (identical parts are queried once)."""

    def part(self, expr: str) -> str:
        pid = self.parts.get(expr)
        if pid is None:
            pid = self.parts[expr] = f"p{len(self.parts)}"
        return pid

    def vector(self, names: Sequence[str], sel: Select | None, *extra: str) -> str:
        if len(names) == 1:
            matchers = [f"__name__={_q(names[0])}"]
        else:
            matchers = [f"__name__=~{_q('|'.join(_escape(n) for n in names))}"]
        if self.user:
            matchers.append(self.user)
        if sel is not None:
            matchers += [f"{label}=~{_q(glob_regex(p))}" for label, p in sel.where]
            matchers += [f"{label}!~{_q(glob_regex(p))}" for label, p in sel.unless]
        matchers += extra
        return "{" + ", ".join(matchers) + "}"

    def by(self, sel: Select, *more: str) -> str:
        labels = [*more]
        if self.label is not None and not sel.server_wide:
            labels.append(self.label)
        return f" by ({', '.join(labels)})" if labels else ""

    def rate(self, names: Sequence[str], sel: Select, *extra: str) -> str:
        return self.part(
            f"sum{self.by(sel)} (rate({self.vector(names, sel, *extra)}[{self.window}]))"
        )

    def counted(self, sel: Select) -> str:
        """A counter, or a histogram/summary counted by its ``_count``."""
        b = _base(sel.family)
        return self.rate((b, b + "_total", b + "_count"), sel, _NO_QUANTILE)

    def gauge(self, sel: Select) -> str:
        b = _base(sel.family)
        return self.part(f"sum{self.by(sel)} ({self.vector((b, b + '_total'), sel, _NO_QUANTILE)})")

    def timing(self, t: Timing, requests: tuple[Select, ...], quantiles: bool) -> _TimingPlan:
        """Every form the family may have: histogram, summary, cumulative-duration counter."""
        sel = t.select
        b = _base(sel.family)
        return _TimingPlan(
            to_ms=t.to_ms,
            sum=self.rate((b + "_sum",), sel),
            count=self.rate((b + "_count",), sel),
            duration=self.rate((b, b + "_total"), sel, _NO_QUANTILE),
            per=tuple(self.counted(s) for s in (t.per or requests)),
            histogram=self.histogram_quantiles(sel) if quantiles else (),
            summary=self.summary_quantiles(sel) if quantiles else (),
        )

    def histogram_quantiles(self, sel: Select) -> tuple[tuple[str | None, str], ...]:
        """Per quantile: (per model, or None for a server-wide family; the endpoint)."""
        bucket = (_base(sel.family) + "_bucket",)
        per_model = self.vector(bucket, sel)
        only: tuple[str, ...] = ()
        if self.models and self.label is not None:
            only = (f"{self.label}=~{_q('|'.join(glob_regex(m) for m in self.models))}",)
        endpoint = self.vector(bucket, sel, *only)
        by_model = self.by(sel, "le") if self.label is not None and not sel.server_wide else None
        out: list[tuple[str | None, str]] = []
        for q in _QUANTILES:
            model_part = None if by_model is None else self.part(
                f"histogram_quantile({q}, sum{by_model} (rate({per_model}[{self.window}])))")
            out.append((model_part, self.part(
                f"histogram_quantile({q}, sum by (le) (rate({endpoint}[{self.window}])))")))
        return tuple(out)

    def summary_quantiles(self, sel: Select) -> tuple[tuple[str, str], ...]:
        """Per quantile: (Σ gauge × rate of its count, Σ rate of the count), NaN gauges (an empty
        summary window) left out of both."""
        b = _base(sel.family)
        count = f"rate({self.vector((b + '_count',), sel)}[{self.window}])"
        out: list[tuple[str, str]] = []
        for q in _QUANTILES:
            gauge = f"({self.vector((b,), sel, f'quantile=~{_q(_quantile_regex(q))}')} >= 0)"
            out.append((
                self.part(f"sum{self.by(sel)} ({gauge} * ignoring(quantile) {count})"),
                self.part(f"sum{self.by(sel)} ({count} and ignoring(quantile) {gauge})"),
            ))
        return tuple(out)

    def error(self, e: ErrorRate) -> _ErrorPlan:
        return _ErrorPlan(
            failed=tuple(self.counted(s) for s in e.failed),
            total=tuple(self.counted(s) for s in e.total),
            server_wide=any(s.server_wide for s in e.failed),
        )

    def query(self) -> str:
        tag = f'"{PART_LABEL}", "{{}}", "", ""'
        return " or ".join(
            f"label_replace({expr}, {tag.format(pid)})" for expr, pid in self.parts.items()
        )


def _base(family: str) -> str:
    return family[:-6] if family.endswith("_total") else family


def _quantile_regex(q: float) -> str:
    """The ``quantile`` label value of ``q`` with or without trailing zeros (``0.95``, ``0.950``).

    >>> _quantile_regex(0.5)
    '0\\\\.50*'
    """
    return _escape(repr(q)) + "0*"


def build_plan(
    preset: Preset, selector: str, window: float, models: Sequence[str] = ()
) -> Plan:
    """The query (and its parts) for ``preset``'s figures over series matching ``selector``.

    >>> from mmtui.feeds.presets import get_preset
    >>> plan = build_plan(get_preset("torchserve"), '{job="img"}', 60.0)
    >>> 'sum by (model_name) (rate({__name__=~"ts_inference_requests|' in plan.query
    True
    """
    b = _Builder(preset, selector, window, models)
    requests = tuple(b.counted(s) for s in preset.requests)
    errors = tuple(b.error(e) for e in preset.errors)
    latency = tuple(b.timing(t, preset.requests, quantiles=True) for t in preset.latency)
    queue = tuple(b.timing(t, preset.requests, quantiles=False) for t in preset.queue)
    inflight = tuple(b.gauge(s) for s in preset.inflight)
    up_sel = b.vector(("up",), None)
    up = (b.part(f"sum({up_sel})"), b.part(f"count({up_sel})"))
    return Plan(b.query(), preset.model_label, b.models, requests, errors, latency, queue,
                inflight, up)


# --------------------------------------------------------------------------- folding


@dataclass(slots=True)
class _Duration:
    mean: dict[Key, tuple[float, float]] | None = None
    """(Σ rate of the duration in ms, Σ rate of the count) per key."""
    histogram: tuple[tuple[str | None, str], ...] | None = None
    summary: tuple[tuple[str, str], ...] | None = None
    to_ms: float = 1.0


def _values(parts: Parts, ids: Iterable[str]) -> dict[Key, float] | None:
    """The parts summed per key; None when none of them has series."""
    out: dict[Key, float] | None = None
    for pid in ids:
        got = parts.get(pid)
        if got is None:
            continue
        if out is None:
            out = {}
        for key, v in got.items():
            if v is not None:
                out[key] = out.get(key, 0.0) + v
    return out


def _duration_of(parts: Parts, alts: Sequence[_TimingPlan]) -> _Duration:
    """Mean and quantiles each from the first source with series (derive's rule)."""
    out = _Duration()
    for t in alts:
        if out.mean is None:
            sums, counts = parts.get(t.sum), parts.get(t.count)
            if sums is not None and counts is not None:
                s, c = _values(parts, (t.sum,)) or {}, _values(parts, (t.count,)) or {}
                out.mean = {k: (s.get(k, 0.0) * t.to_ms, c.get(k, 0.0)) for k in s.keys() | c}
            elif t.duration in parts:
                total = _values(parts, (t.duration,)) or {}
                per = _values(parts, t.per) or {}
                out.mean = {k: (v * t.to_ms, per[k]) for k, v in total.items() if k in per}
        if out.histogram is None and out.summary is None:
            if any(pid in parts for pair in t.histogram for pid in pair if pid is not None):
                out.histogram, out.to_ms = t.histogram, t.to_ms
            elif any(num in parts for num, _ in t.summary):
                out.summary, out.to_ms = t.summary, t.to_ms
    return out


def _mean(parts: dict[Key, tuple[float, float]] | None, keys: Iterable[Key]) -> float | None:
    if parts is None:
        return None
    num = den = 0.0
    for k in keys:
        p = parts.get(k)
        if p is not None:
            num += p[0]
            den += p[1]
    return num / den if den > 0 else None


class _Fold:
    """The figures of one instant, per set of model keys (derive's ``_Figures``)."""

    def __init__(self, plan: Plan, parts: Parts) -> None:
        self.parts = parts
        self.requests = _values(parts, plan.requests)
        self.failed: dict[Key, float] | None = None
        self.total: dict[Key, float] | None = None
        self.failed_server_wide = False
        for e in plan.errors:
            if any(parts.get(pid) for pid in e.total):
                self.total = _values(parts, e.total)
                self.failed = _values(parts, e.failed) or {}
                self.failed_server_wide = e.server_wide
                break
        self.latency = _duration_of(parts, plan.latency)
        self.queue = _duration_of(parts, plan.queue)
        self.inflight = _values(parts, plan.inflight)

    def keys(self) -> set[Key]:
        keys: set[Key] = set()
        for d in (self.requests, self.total, self.failed, self.inflight,
                  self.latency.mean, self.queue.mean):
            if d:
                keys.update(d)
        for per_model, _ in self.latency.histogram or ():
            keys.update(self.parts.get(per_model or "", {}))
        for num, _ in self.latency.summary or ():
            keys.update(self.parts.get(num, {}))
        return keys

    def metrics(self, keys: set[Key], model: str | None) -> Metrics:
        """Figures over ``keys``; quantiles of histograms are the server's, per ``model`` or
        for the endpoint (None)."""
        throughput = sum_keys(self.requests, keys)
        error_rate: float | None = None
        total = sum_keys(self.total, keys)
        if total and total > 0 and (None in keys or not self.failed_server_wide):
            failed = sum_keys(self.failed, keys) or 0.0
            error_rate = min(1.0, max(0.0, failed / total))
        p50, p95, p99 = self._quantiles(keys, model)
        return {
            THROUGHPUT: throughput,
            ERROR_RATE: error_rate,
            LATENCY_MEAN: _mean(self.latency.mean, keys),
            LATENCY_P50: p50,
            LATENCY_P95: p95,
            LATENCY_P99: p99,
            QUEUE: _mean(self.queue.mean, keys),
            INFLIGHT: sum_keys(self.inflight, keys),
        }

    def _quantiles(self, keys: set[Key], model: str | None) -> list[float | None]:
        lat = self.latency
        out: list[float | None] = []
        if lat.histogram is not None:
            for per_model, total in lat.histogram:
                if model is None:
                    v = self.parts.get(total, {}).get(None)
                else:
                    v = self.parts.get(per_model or "", {}).get(model)
                out.append(v)
        elif lat.summary is not None:
            for num, den in lat.summary:
                n = sum_keys(_values(self.parts, (num,)), keys)
                d = sum_keys(_values(self.parts, (den,)), keys)
                out.append(n / d if n is not None and d else None)
        else:
            return [None, None, None]
        return [None if v is None else v * lat.to_ms for v in out]


def evaluate(plan: Plan, parts: Parts) -> tuple[Metrics, dict[str, Metrics], bool]:
    """(endpoint figures, per-model figures, whether any series answered) of one instant."""
    up = {plan.up[0], plan.up[1]}
    data = any(pid not in up for pid in parts)
    fold = _Fold(plan, parts)
    named = sorted(k for k in fold.keys() if k is not None)
    selected = [m for m in named if not plan.models or any(fnmatchcase(m, p) for p in
                                                           plan.models)]
    sole = len(named) == 1
    total_keys: set[Key] = set(selected)
    if (sole and selected) or not plan.models or not named:
        total_keys.add(None)
    metrics = fold.metrics(total_keys, None)
    models: dict[str, Metrics] = {}
    if plan.model_label is not None:
        for m in selected:
            models[m] = metrics if sole else fold.metrics({m}, m)
    return metrics, models, data
