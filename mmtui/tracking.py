"""One endpoint's inference records: feed → window → drift against the baseline, and quality.

Textual-free. ``fetch`` does the network I/O on the event loop (async httpx) or in a thread (a
tailed file); ``add`` puts what it read into the window and ``evaluate`` does the numpy/scipy work,
both meant for a worker thread. A per-tracker lock serialises the window between them, so a tracker
may be driven from any thread, one call at a time. Fetching apart from adding is what lets a
recording keep each poll's items and a replay add them again (:mod:`mmtui.recording`).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

from mmtui.config import EndpointConfig
from mmtui.explore import FeatureHistogram
from mmtui.feeds.records import (
    FeedStats,
    FileRecordsFeed,
    HttpRecordsFeed,
    Item,
    RecordsFeedError,
    RecordsParser,
    records_feed,
)
from mmtui.names import DRIFT_PREFIX, DRIFT_SHARE, Metrics
from mmtui.stats.columns import CATEGORICAL, NUMERIC, to_float, to_labels
from mmtui.stats.concept import ConceptDrift, QualityReport, task_of_kind
from mmtui.stats.drift import DriftResult, FeatureDrift, compute_drift
from mmtui.stats.features import NumericProfile
from mmtui.stats.histogram import histogram_pair
from mmtui.stats.profile import Profile, ProfileError, build_profile, load_profile
from mmtui.stats.window import RecordWindow

DATA_SUFFIXES = (".csv", ".ndjson", ".jsonl", ".json")
"""A ``baseline`` ending in one of these is validation data, profiled in memory at start."""


class BaselineError(ValueError):
    """The endpoint's baseline cannot be loaded; one line naming the file."""


Baseline = Profile | BaselineError | None
"""An endpoint's baseline as loaded: the profile, why it could not be loaded, or none configured."""


def load_baseline(
    endpoint: EndpointConfig, loaded: Mapping[str, Baseline] | None = None
) -> Profile | None:
    """The endpoint's baseline profile: a profile file, or validation data profiled in memory;
    from ``loaded`` (a replay's, kept in its recording) when it has the endpoint."""
    if loaded is not None and endpoint.name in loaded:
        given = loaded[endpoint.name]
        if isinstance(given, BaselineError):
            raise given
        return given
    if endpoint.baseline is None:
        return None
    path = Path(endpoint.baseline)
    if path.suffix.lower() in DATA_SUFFIXES:
        from mmtui.tabular import TableError, read_table

        try:
            table = read_table(path)
        except (TableError, OSError) as exc:
            raise BaselineError(f"baseline {path}: {exc}") from None
        try:
            return build_profile(
                table,
                target=endpoint.target,
                prediction=endpoint.prediction,
                source=str(path),
            )
        except ValueError as exc:
            raise BaselineError(f"baseline {path}: {exc}") from None
    try:
        return load_profile(path)
    except ProfileError as exc:
        raise BaselineError(str(exc)) from None


@dataclass(frozen=True, slots=True)
class RecordsView:
    """What the UI and the alerts see of one endpoint's records."""

    status: str
    """``ok``, ``waiting`` (no records yet), ``error`` (the feed or the baseline failed)."""
    error: str | None
    records: int
    """Records in the window."""
    labeled: int
    feed: FeedStats
    drift: DriftResult | None
    quality: QualityReport | None


class RecordsTracker:
    """Polls one endpoint's records feed into a window; evaluates drift and quality on demand."""

    def __init__(
        self,
        endpoint: EndpointConfig,
        profile: Profile | None,
        *,
        clock: Callable[[], float],
        baseline_error: str | None = None,
        drift_share: float = 0.5,
    ) -> None:
        assert endpoint.records_url is not None
        self.endpoint = endpoint
        self.profile = profile
        self.drift_share = drift_share
        """The share of drifted features from which the data set counts as drifted."""
        self._lock = threading.Lock()
        parser = RecordsParser(feature_names=endpoint.feature_names, clock=clock)
        self.feed: HttpRecordsFeed | FileRecordsFeed = records_feed(
            endpoint.records_url, headers=endpoint.headers, parser=parser,
            timeout=endpoint.timeout,
        )
        self._clock = clock
        self._at: float | None = None
        """The time ``evaluate`` runs as of, while it runs (the window's age cut)."""
        self.window = RecordWindow(
            endpoint.window, max_age=endpoint.window_age, profile=profile, clock=self._now
        )
        self.concept: ConceptDrift | None = None
        if profile is not None and profile.task is not None:
            self.concept = ConceptDrift.from_profile(profile, positive=endpoint.positive)
        self._baseline_error = baseline_error
        self._feed_error: str | None = None
        self._stats = self.feed.stats
        self._dirty = True
        self._last: RecordsView | None = None

    def baseline(self) -> Baseline:
        """The baseline as loaded, or why it could not be (what a recording keeps)."""
        if self._baseline_error is not None:
            return BaselineError(self._baseline_error)
        return self.profile

    def _now(self) -> float:
        at = self._at
        return self._clock() if at is None else at

    async def fetch(self, client: httpx.AsyncClient) -> tuple[list[Item], str | None]:
        """What is new on the feed, or no items and why the feed cannot be read."""
        try:
            if isinstance(self.feed, HttpRecordsFeed):
                return await self.feed.poll(client), None
            return await asyncio.to_thread(self.feed.poll), None
        except RecordsFeedError as exc:
            return [], str(exc)

    async def poll(self, client: httpx.AsyncClient) -> int:
        """Read what is new into the window; returns the number of items read."""
        items, error = await self.fetch(client)
        await asyncio.to_thread(self.add, items, error=error, stats=self.feed.stats)
        return len(items)

    def add(self, items: Sequence[Item], *, error: str | None, stats: FeedStats) -> None:
        """Put one poll's items into the window, with the feed's error (None: it was read) and
        its counts after that poll (blocking: numpy)."""
        with self._lock:
            if items or error is not None or (error, stats) != (self._feed_error, self._stats):
                self._dirty = True
            self._feed_error, self._stats = error, stats
            if not items:
                return
            labelled = self.window.add(items)
            if self.concept is None and labelled:
                kind = self.window.target_kind()
                if kind is not None:
                    self.concept = ConceptDrift(task_of_kind(kind), positive=self.endpoint.positive)
            if self.concept is not None and labelled:
                self.concept.observe(labelled)

    def histogram(self, feature: str, bins: int = 20) -> FeatureHistogram | None:
        """The feature's reference-vs-current histogram over the window (numpy; off the loop)."""
        if self.profile is None:
            return None
        with self._lock:
            if not len(self.window):
                return None
            values = self.window.table().get(feature)
        if values is None:
            return None
        return feature_histogram(self.endpoint.name, self.profile, feature, values, bins)

    def report_inputs(self) -> tuple[Profile, dict[str, np.ndarray]] | None:
        """The profile and a copy of the window, for a drift report; None without either."""
        if self.profile is None:
            return None
        with self._lock:
            return (self.profile, self.window.table()) if len(self.window) else None

    def evaluate(self, at: float | None = None) -> RecordsView:
        """Drift of the window against the baseline, and windowed quality (numpy; off the loop).

        ``at`` is the time the window's ``window_age`` is cut at (default: the clock's now); a
        replay passes the recorded one, so that the same records are in the window.
        """
        with self._lock:
            if not self._dirty and self._last is not None:
                return self._last
            self._at = at
            try:
                return self._evaluate()
            finally:
                self._at = None

    def _evaluate(self) -> RecordsView:
        """The work of :meth:`evaluate`, with the lock held."""
        n = len(self.window)
        drift = None
        if self.profile is not None and n:
            drift = compute_drift(
                self.profile, self.window.table(), codes=self.window.codes(),
                positions=self.window.positions(), drift_share=self.drift_share,
            )
        quality = self.concept.evaluate(self.window) if self.concept is not None else None
        error = self._baseline_error or self._feed_error
        status = "error" if error else ("ok" if n else "waiting")
        view = RecordsView(
            status=status,
            error=error,
            records=n,
            labeled=quality.n_labeled if quality is not None else 0,
            feed=self._stats,
            drift=drift,
            quality=quality,
        )
        self._last, self._dirty = view, False
        return view


def _bin_label(lo: float, hi: float) -> str:
    return f"[{lo:.4g}, {hi:.4g})"


def feature_histogram(
    endpoint: str, profile: Profile, feature: str, values: np.ndarray, bins: int
) -> FeatureHistogram | None:
    """Reference-vs-current histogram of one profiled feature (None if it is not profiled)."""
    fp = profile.features.get(feature)
    if fp is None:
        return None
    edges, ref, cur = histogram_pair(fp, values, bins)
    numeric = isinstance(fp, NumericProfile)
    if numeric:
        labels = tuple(_bin_label(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True))
        n_current = int(np.isfinite(to_float(values, feature)).sum())
    else:
        labels = tuple(str(x) for x in edges)
        n_current = int((to_labels(values, feature) != "").sum())
    return FeatureHistogram(
        endpoint=endpoint,
        feature=feature,
        kind=NUMERIC if numeric else CATEGORICAL,
        bins=labels,
        reference=tuple(float(x) for x in ref),
        current=tuple(float(x) for x in cur),
        n_reference=fp.n_valid,
        n_current=n_current,
    )


def drift_score(feature: FeatureDrift) -> float:
    """A feature's drift score for ``drift.<feature>`` rules: the Jensen-Shannon distance (base 2,
    0 = same distribution, 1 = disjoint) between reference and current, one scale for numeric
    and categorical features alike. Whether the change is *significant* is the test's verdict
    (``drifted``, counted in ``drift_share``); the score says how *large* it is."""
    return feature.scores.get("js", 0.0)


def records_metrics(view: RecordsView) -> Metrics:
    """Derived metrics from a records view: drift_share, drift.<feature>, and quality."""
    out: Metrics = {}
    if view.drift is not None:
        out[DRIFT_SHARE] = view.drift.drift_share
        for f in view.drift.features:
            out[DRIFT_PREFIX + f.name] = drift_score(f)
    if view.quality is not None:
        out.update(view.quality.metrics)
    return out
