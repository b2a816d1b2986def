"""Derived serving metrics from one scrape, or from the deltas between two.

With two scrapes, every figure is over the interval between them: throughput = Δrequests / Δt,
error_rate = Δfailed / Δtotal, mean latency = Δsum / Δcount, quantiles from the bucket deltas.
With one scrape, figures are over the counters' whole lifetime and throughput is None.

Counter resets follow Prometheus' ``rate``: a series lower than in the previous scrape starts
again from 0, so its delta is its current value. A histogram (or summary) series is reset as a
whole when its count or any bucket went down. A changed ``process_start_time_seconds`` resets
every series. A series that is new since the previous scrape counts from 0.

Histogram quantiles are computed as Prometheus' ``histogram_quantile`` does for classic
histograms: buckets summed by upper bound, made monotonic, the rank located by the first bucket
whose cumulative count reaches it and interpolated linearly within it (lower bound 0 for the
first bucket when its upper bound is positive), and the highest finite bound when the rank falls
in the +Inf bucket. Summary quantiles are the server's own gauges (its window, not ours): the
nearest quantile within 0.05 of the one asked for (0.95 for p95; ties go to the higher), and
across several series (versions, models) their mean weighted by each series' Δcount.

Series without the model label describe the whole server. On a server that reports exactly one
model they are that model's; otherwise they count toward the endpoint total only, and only when
no ``models`` filter is given (or no series has a model label at all).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from mmtui.feeds.model import MetricFamily
from mmtui.feeds.presets import PROCESS_START, Preset, Select, Timing
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

__all__ = ["Derived", "Scrape", "derive", "histogram_quantile"]

_Key = str | None
"""A model label value; None for series without one."""
_Labels = frozenset[tuple[str, str]]
_INF = float("inf")
_QUANTILES = (0.5, 0.95, 0.99)
_SUMMARY_TOLERANCE = 0.05


@dataclass(frozen=True, slots=True)
class Scrape:
    """One parsed scrape."""

    at: float
    """Wall-clock seconds when scraped."""
    families: dict[str, MetricFamily]
    readings: dict[str | None, _Reader] = field(default_factory=dict, compare=False, repr=False)
    """What :func:`derive` read of it, per model label: the scrape is the current one of one
    derive and the previous one of the next, which reads it again for free."""


@dataclass(frozen=True, slots=True)
class Derived:
    """Serving metrics of an endpoint and of each model on it."""

    metrics: Metrics
    """The endpoint total: the selected models summed (quantiles from merged buckets)."""
    models: dict[str, Metrics]
    """Per model label value; {} when the server has no model label."""


# --------------------------------------------------------------------------- quantiles


def histogram_quantile(q: float, buckets: dict[float, float]) -> float | None:
    """The ``q`` quantile of cumulative ``buckets`` (upper bound → count), as Prometheus does.

    None when there is no +Inf bucket, fewer than two buckets, or no observation.

    >>> histogram_quantile(0.5, {1.0: 2, 2.0: 4, float("inf"): 4})
    1.0
    """
    return _quantiles(buckets, (q,))[0]


def _quantiles(buckets: dict[float, float], qs: Sequence[float]) -> list[float | None]:
    bounds = sorted(buckets)
    n = len(bounds)
    if n < 2 or bounds[-1] != _INF:
        return [None] * len(qs)
    counts = [buckets[b] for b in bounds]
    prev = counts[0]
    for i in range(1, n):  # Prometheus' ensureMonotonicAndIgnoreSmallDeltas
        cur = counts[i]
        if cur == prev:
            continue
        if cur < prev or abs(cur - prev) < 1e-12 * (abs(cur) + abs(prev)):
            counts[i] = prev
            continue
        prev = cur
    total = counts[-1]
    if not total > 0:
        return [None] * len(qs)
    out: list[float | None] = []
    for q in qs:
        rank = q * total
        b = bisect_left(counts, rank, 0, n - 1)  # the first bucket reaching the rank, or +Inf
        if b == n - 1:
            out.append(bounds[-2])
        elif b == 0 and bounds[0] <= 0:
            out.append(bounds[0])
        else:
            start, below = (bounds[b - 1], counts[b - 1]) if b else (0.0, 0.0)
            out.append(start + (bounds[b] - start) * (rank - below) / (counts[b] - below))
    return out


def _summary_quantile(parts: list[tuple[dict[float, float], float]], q: float) -> float | None:
    num = den = 0.0
    for values, weight in parts:
        if not weight > 0 or not values:
            continue
        nearest = min(values, key=lambda have: (abs(have - q), -have))
        v = values[nearest]
        if abs(nearest - q) <= _SUMMARY_TOLERANCE and v == v:
            num += v * weight
            den += weight
    return num / den if den > 0 else None


# --------------------------------------------------------------------------- reading


def _find(families: dict[str, MetricFamily], name: str) -> MetricFamily | None:
    fam = families.get(name)
    if fam is None:
        if name.endswith("_total"):
            fam = families.get(name[:-6])
        else:
            fam = families.get(name + "_total")
    return fam


_LE: dict[str, float] = {}


def _bound(text: str) -> float | None:
    v = _LE.get(text)
    if v is None:
        try:
            v = float(text)
        except ValueError:
            return None
        if len(_LE) < 4096:
            _LE[text] = v
    return v


class _Reader:
    """Reads one scrape's series for a preset: model key and value per label set."""

    __slots__ = ("families", "label", "_scalars", "_dists")

    def __init__(self, families: dict[str, MetricFamily], label: str | None) -> None:
        self.families = families
        self.label = label
        self._scalars: dict[Select, dict[_Labels, tuple[_Key, float]] | None] = {}
        self._dists: dict[tuple[str, Select], dict[_Labels, _Series]] = {}

    @classmethod
    def of(cls, scrape: Scrape, label: str | None) -> _Reader:
        """The scrape's reader for ``label``, made on first use."""
        reader = scrape.readings.get(label)
        if reader is None:
            reader = scrape.readings[label] = cls(scrape.families, label)
        return reader

    def key(self, sel: Select, labels: dict[str, str]) -> _Key:
        if sel.server_wide or self.label is None:
            return None
        return labels.get(self.label) or None

    def scalars(self, sel: Select) -> dict[_Labels, tuple[_Key, float]] | None:
        """Counter or gauge values (a histogram's or summary's ``_count``); None if absent."""
        try:
            return self._scalars[sel]
        except KeyError:
            out = self._scalars[sel] = self._read_scalars(sel)
            return out

    def _read_scalars(self, sel: Select) -> dict[_Labels, tuple[_Key, float]] | None:
        fam = _find(self.families, sel.family)
        if fam is None:
            return None
        counted = fam.type in ("histogram", "summary")
        check = sel.filtered
        out: dict[_Labels, tuple[_Key, float]] = {}
        for s in fam.samples:
            if counted:
                if not s.name.endswith("_count"):
                    continue
            elif s.name.endswith("_created"):
                continue
            v = s.value
            if v != v or (check and not sel.matches(s.labels)):
                continue
            out[frozenset(s.labels.items())] = (self.key(sel, s.labels), v)
        return out

    def distribution(self, fam: MetricFamily, sel: Select) -> dict[_Labels, _Series]:
        """The series of a histogram or summary family (read once: they are not changed)."""
        key = (fam.name, sel)
        out = self._dists.get(key)
        if out is None:
            read = self.histogram if fam.type == "histogram" else self.summary
            out = self._dists[key] = read(fam, sel)
        return out

    def histogram(self, fam: MetricFamily, sel: Select) -> dict[_Labels, _Series]:
        out: dict[_Labels, _Series] = {}
        check = sel.filtered
        last: _Series | None = None
        last_rest: dict[str, str] | None = None
        known_bound = _LE.get  # _bound's cache, looked up here: this loop runs for every bucket
        for s in fam.samples:
            labels = s.labels
            v = s.value
            if v != v or (check and not sel.matches(labels)):
                continue
            name = s.name
            if name.endswith("_bucket"):
                le = labels.get("le")
                if le is None:
                    continue
                bound = known_bound(le)
                if bound is None and (bound := _bound(le)) is None:
                    continue
                rest = labels.copy()
                del rest["le"]
                if last is None or rest != last_rest:  # a series' buckets are adjacent
                    last, last_rest = self._series(out, sel, rest), rest
                last.values[bound] = v
            elif name.endswith("_sum"):
                self._series(out, sel, labels).sum = v
            elif name.endswith("_count"):
                self._series(out, sel, labels).count = v
        for series in out.values():
            if series.count is None:
                series.count = series.values.get(_INF)
        return out

    def summary(self, fam: MetricFamily, sel: Select) -> dict[_Labels, _Series]:
        out: dict[_Labels, _Series] = {}
        check = sel.filtered
        last: _Series | None = None
        last_rest: dict[str, str] | None = None
        for s in fam.samples:
            labels = s.labels
            v = s.value
            if check and not sel.matches(labels):
                continue
            quantile = labels.get("quantile")
            if quantile is not None:
                q = _bound(quantile)
                if q is None:
                    continue
                rest = labels.copy()
                del rest["quantile"]
                if last is None or rest != last_rest:  # a series' quantiles are adjacent
                    last, last_rest = self._series(out, sel, rest), rest
                last.values[q] = v  # NaN (an empty window) is skipped when read
            elif v != v:
                continue
            elif s.name.endswith("_sum"):
                self._series(out, sel, labels).sum = v
            elif s.name.endswith("_count"):
                self._series(out, sel, labels).count = v
        return out

    def _series(self, out: dict[_Labels, _Series], sel: Select, labels: dict[str, str]) -> _Series:
        k = frozenset(labels.items())
        series = out.get(k)
        if series is None:
            series = out[k] = _Series(self.key(sel, labels))
        return series


class _Series:
    """One histogram or summary series: buckets (or quantiles), sum and count."""

    __slots__ = ("count", "key", "sum", "values")

    def __init__(self, key: _Key) -> None:
        self.key = key
        self.values: dict[float, float] = {}
        self.sum = 0.0
        self.count: float | None = None


# --------------------------------------------------------------------------- deltas


class _Sources:
    """Per-model deltas (or lifetime values) of the preset's sources in one derive call."""

    def __init__(self, cur: _Reader, prev: _Reader | None) -> None:
        self.cur = cur
        self.prev = prev
        self._counters: dict[tuple[Select, ...], dict[_Key, float] | None] = {}

    def counters(self, sels: tuple[Select, ...]) -> dict[_Key, float] | None:
        """Summed deltas per model key; None when no family of ``sels`` is in the scrape."""
        try:
            return self._counters[sels]
        except KeyError:
            out = self._counters[sels] = self._sum_deltas(sels)
            return out

    def _sum_deltas(self, sels: tuple[Select, ...]) -> dict[_Key, float] | None:
        out: dict[_Key, float] | None = None
        for sel in sels:
            cur = self.cur.scalars(sel)
            if cur is None:
                continue
            if out is None:
                out = {}
            prev = (self.prev.scalars(sel) if self.prev else None) or {}
            for labels, (key, v) in cur.items():
                p = prev.get(labels)
                d = v if p is None or v < p[1] else v - p[1]
                out[key] = out.get(key, 0.0) + d
        return out

    def gauges(self, sels: Iterable[Select]) -> dict[_Key, float] | None:
        out: dict[_Key, float] | None = None
        for sel in sels:
            cur = self.cur.scalars(sel)
            if cur is None:
                continue
            if out is None:
                out = {}
            for key, v in cur.values():
                out[key] = out.get(key, 0.0) + v
        return out

    def distributions(
        self, t: Timing, fam: MetricFamily, histogram: bool
    ) -> dict[_Key, list[_Series]]:
        """Per model key, each series' delta (quantile values are kept, not differenced)."""
        cur = self.cur.distribution(fam, t.select)
        prev: dict[_Labels, _Series] = {}
        if self.prev is not None:
            pf = _find(self.prev.families, t.select.family)
            if pf is not None and pf.type == fam.type:
                prev = self.prev.distribution(pf, t.select)
        out: dict[_Key, list[_Series]] = {}
        for labels, s in cur.items():
            p = prev.get(labels)
            out.setdefault(s.key, []).append(s if p is None else _delta(s, p, histogram))
        return out


def _delta(cur: _Series, prev: _Series, histogram: bool) -> _Series:
    c, pc = cur.count or 0.0, prev.count or 0.0
    if c < pc or (histogram and any(v < prev.values.get(b, 0.0) for b, v in cur.values.items())):
        return cur
    d = _Series(cur.key)
    d.sum = cur.sum - prev.sum
    d.count = c - pc
    if histogram:
        d.values = {b: v - prev.values.get(b, 0.0) for b, v in cur.values.items()}
    else:
        d.values = cur.values
    return d


# --------------------------------------------------------------------------- figures


@dataclass(slots=True)
class _Duration:
    """One duration figure's sources: the mean parts and the quantile parts, per model key."""

    mean: dict[_Key, tuple[float, float]] | None = None
    """(Δsum in ms, Δcount)."""
    buckets: dict[_Key, list[_Series]] | None = None
    summaries: dict[_Key, list[_Series]] | None = None
    to_ms: float = 1.0


def _provides(fam: MetricFamily) -> tuple[bool, bool]:
    """(mean, quantiles) this family can give; a gauge is no duration source."""
    if fam.type in ("histogram", "summary"):
        mean = quantiles = False
        for s in fam.samples:
            mean = mean or s.name.endswith("_sum")
            quantiles = quantiles or ("le" if fam.type == "histogram" else "quantile") in s.labels
        return mean, quantiles
    return fam.type != "gauge" and bool(fam.samples), False


def _duration(
    src: _Sources, alts: Sequence[Timing], requests: tuple[Select, ...], quantiles: bool
) -> _Duration:
    out = _Duration()
    mean_done = False
    for t in alts:
        fam = _find(src.cur.families, t.select.family)
        if fam is None:
            continue
        has_mean, has_q = _provides(fam)
        take_mean = has_mean and not mean_done
        take_q = quantiles and has_q and out.buckets is None and out.summaries is None
        if not (take_mean or take_q):
            continue
        histogram = fam.type == "histogram"
        if histogram or fam.type == "summary":
            dists = src.distributions(t, fam, histogram)
            if take_mean:
                out.mean = {
                    key: (sum(s.sum for s in ss) * t.to_ms, sum(s.count or 0.0 for s in ss))
                    for key, ss in dists.items()
                }
            if take_q:
                out.to_ms = t.to_ms
                if histogram:
                    out.buckets = dists
                else:
                    out.summaries = dists
        else:
            total = src.counters((t.select,)) or {}
            per = src.counters(t.per or requests) or {}
            out.mean = {k: (v * t.to_ms, per[k]) for k, v in total.items() if k in per}
        mean_done = mean_done or take_mean
        if mean_done and (not quantiles or out.buckets is not None or out.summaries is not None):
            break
    return out


def sum_keys(d: dict[_Key, float] | None, keys: Iterable[_Key]) -> float | None:
    if d is None:
        return None
    out: float | None = None
    for k in keys:
        v = d.get(k)
        if v is not None:
            out = v if out is None else out + v
    return out


class _Figures:
    """Everything derive needs, per model key; ``metrics(keys)`` folds a set of keys."""

    def __init__(self, preset: Preset, src: _Sources, dt: float | None) -> None:
        self.dt = dt
        self.requests = src.counters(preset.requests)
        self.failed: dict[_Key, float] | None = None
        self.total: dict[_Key, float] | None = None
        self.failed_server_wide = False
        for alt in preset.errors:
            if any(src.cur.scalars(s) for s in alt.total):
                self.total = src.counters(alt.total)
                self.failed = src.counters(alt.failed) or {}
                self.failed_server_wide = any(s.server_wide for s in alt.failed)
                break
        self.latency = _duration(src, preset.latency, preset.requests, quantiles=True)
        self.queue = _duration(src, preset.queue, preset.requests, quantiles=False)
        self.inflight = src.gauges(preset.inflight)

    def keys(self) -> set[_Key]:
        keys: set[_Key] = set()
        for d in (self.requests, self.total, self.failed, self.inflight):
            if d:
                keys.update(d)
        for dur in (self.latency, self.queue):
            for m in (dur.mean, dur.buckets, dur.summaries):
                if m:
                    keys.update(m)
        return keys

    def metrics(self, keys: set[_Key]) -> Metrics:
        requests = sum_keys(self.requests, keys)
        throughput = requests / self.dt if requests is not None and self.dt else None
        error_rate: float | None = None
        total = sum_keys(self.total, keys)
        if total and total > 0 and (None in keys or not self.failed_server_wide):
            failed = sum_keys(self.failed, keys) or 0.0
            error_rate = min(1.0, max(0.0, failed / total))
        p50, p95, p99 = self._quantiles(keys)
        return {
            THROUGHPUT: throughput,
            ERROR_RATE: error_rate,
            LATENCY_MEAN: _mean(self.latency, keys),
            LATENCY_P50: p50,
            LATENCY_P95: p95,
            LATENCY_P99: p99,
            QUEUE: _mean(self.queue, keys),
            INFLIGHT: sum_keys(self.inflight, keys),
        }

    def _quantiles(self, keys: set[_Key]) -> list[float | None]:
        lat = self.latency
        if lat.buckets is not None:
            merged: dict[float, float] = {}
            for k in keys:
                for s in lat.buckets.get(k, ()):
                    for b, v in s.values.items():
                        merged[b] = merged.get(b, 0.0) + v
            qs = _quantiles(merged, _QUANTILES)
        elif lat.summaries is not None:
            parts = [(s.values, s.count or 0.0) for k in keys for s in lat.summaries.get(k, ())]
            qs = [_summary_quantile(parts, q) for q in _QUANTILES]
        else:
            return [None, None, None]
        return [None if v is None else v * lat.to_ms for v in qs]


def _mean(dur: _Duration, keys: set[_Key]) -> float | None:
    if dur.mean is None:
        return None
    num = den = 0.0
    for k in keys:
        part = dur.mean.get(k)
        if part is not None:
            num += part[0]
            den += part[1]
    return num / den if den > 0 else None


def _restarted(cur: dict[str, MetricFamily], prev: dict[str, MetricFamily]) -> bool:
    a, b = cur.get(PROCESS_START), prev.get(PROCESS_START)
    if a is None or b is None or not a.samples or not b.samples:
        return False
    return {s.value for s in a.samples} != {s.value for s in b.samples}


# --------------------------------------------------------------------------- derive


def derive(
    preset: Preset,
    current: Scrape,
    previous: Scrape | None = None,
    *,
    models: Sequence[str] = (),
) -> Derived:
    """Serving metrics of ``current``, over the interval since ``previous`` when given.

    Parameters
    ----------
    preset
        Where the figures come from (:func:`mmtui.feeds.presets.get_preset`).
    current, previous
        Two scrapes of the same endpoint; without ``previous``, lifetime figures and no rates.
    models
        Glob patterns on the model label; empty keeps every model.

    Returns
    -------
    Derived
        Every name of ``mmtui.names.SERVING_METRICS`` in every Metrics dict, None where the
        server gives no value (no traffic, one scrape for a rate, no such metric).
    """
    label = preset.model_label
    prev_reader: _Reader | None = None
    dt: float | None = None
    if previous is not None:
        dt = current.at - previous.at
        if dt <= 0:
            dt = None
        if _restarted(current.families, previous.families):
            prev_reader = _Reader({}, label)
        else:
            prev_reader = _Reader.of(previous, label)
    figures = _Figures(preset, _Sources(_Reader.of(current, label), prev_reader), dt)

    named = sorted(k for k in figures.keys() if k is not None)
    selected = [m for m in named if not models or any(fnmatchcase(m, p) for p in models)]
    sole = len(named) == 1
    per_model = {m: figures.metrics({m, None} if sole else {m}) for m in selected}
    total_keys: set[_Key] = set(selected)
    if (sole and selected) or not models or not named:
        total_keys.add(None)
    if sole and selected:  # the sole model's figures ({model, None}) are the endpoint's
        total = dict(per_model[selected[0]])
    else:
        total = figures.metrics(total_keys)
    return Derived(total, per_model if label is not None else {})
