"""What the drift screens show, as text: table rows, header lines, details (pure, no Textual)."""

from __future__ import annotations

import math
from typing import Final

from mmtui.report import marker
from mmtui.snapshot import RowSnapshot, Snapshot
from mmtui.stats.concept import REGRESSION, QualityReport
from mmtui.stats.drift import INSUFFICIENT, DriftResult, FeatureDrift
from mmtui.tracking import RecordsView
from mmtui.ui.draw import NO_DATA, format_data_age, format_ratio
from mmtui.ui.sortrows import Cell, Column, Row

FEATURE, KIND, METHOD, STATISTIC, P_VALUE, SIG, FLAG = (
    "feature", "kind", "method", "statistic", "p", "sig", "drift"
)
ENDPOINT, FEED, RECORDS, DRIFTED, SHARE, DATASET = (
    "endpoint", "feed", "records", "drifted", "share", "dataset"
)
LEGEND: Final = "*** p<0.001  ** p<0.01  * p<0.05 (p before correction)"
"""What the significance markers mean."""
CORRECTION_NAMES: Final = {
    "bh": "Benjamini-Hochberg", "bonferroni": "Bonferroni", "none": "no correction"
}

_PAD, _SCROLLBAR, _NAME_MIN, _NAME_MAX = 2, 1, 10, 40
_FEATURE_FIXED = (
    Column(KIND, "kind", 5),
    Column(METHOD, "method", 12),
    Column(STATISTIC, "statistic", 10, numeric=True, descending=True),
    Column(P_VALUE, "p-value", 8, numeric=True),
    Column(SIG, "sig", 4, descending=True),
    Column(FLAG, "drift", 6, descending=True),
)
_ENDPOINT_FIXED = (
    Column(FEED, "feed", 7),
    Column(RECORDS, "records", 9, numeric=True, descending=True),
    Column(DRIFTED, "drifted", 8, numeric=True, descending=True),
    Column(SHARE, "share", 6, numeric=True, descending=True),
    Column(DATASET, "dataset", 8, descending=True),
)
_SHORT_KIND = {"numeric": "num", "categorical": "cat"}
_FEED_STYLE = {"ok": "good", "waiting": "muted", "error": "bad"}
_PERCENT_METRICS = frozenset({"accuracy", "precision", "recall", "f1"})


def feature_columns(width: int, longest: int) -> tuple[Column, ...]:
    """The drift table's columns for ``width`` cells (70 at least); the feature name takes what
    is left, up to the ``longest`` name."""
    return (_name_column(FEATURE, "feature", width, longest, _FEATURE_FIXED), *_FEATURE_FIXED)


def endpoint_columns(width: int, longest: int) -> tuple[Column, ...]:
    """The endpoint chooser's columns for ``width`` cells (63 at least)."""
    return (_name_column(ENDPOINT, "endpoint", width, longest, _ENDPOINT_FIXED), *_ENDPOINT_FIXED)


def _name_column(
    key: str, label: str, width: int, longest: int, rest: tuple[Column, ...]
) -> Column:
    room = width - _SCROLLBAR - sum(c.width + _PAD for c in rest) - _PAD
    return Column(key, label, max(_NAME_MIN, min(room, max(longest, _NAME_MIN), _NAME_MAX)))


def format_p_value(p: float | None) -> str:
    """``"0.034"``, ``"1.2e-05"``, ``"<1e-300"`` for an underflowed 0; ``None`` → ``"—"``."""
    if p is None or math.isnan(p):
        return NO_DATA
    if p == 0.0:
        return "<1e-300"
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def format_statistic(x: float) -> str:
    """Four significant figures: ``"0.2346"``, ``"1.235e+04"``; NaN → ``"—"``."""
    return NO_DATA if math.isnan(x) else f"{x:.4g}"


def _flag(f: FeatureDrift) -> Cell:
    if f.method == INSUFFICIENT:
        return Cell("n/a", "muted")
    return Cell("DRIFT", "bad") if f.drifted else Cell("ok", "good")


def feature_rows(drift: DriftResult) -> list[Row]:
    """One row per feature, in profile order."""
    rows = []
    for f in drift.features:
        tested = f.method != INSUFFICIENT
        mark = marker(f.p_value)
        rows.append(
            Row(
                key=f.name,
                cells={
                    FEATURE: Cell(f.name),
                    KIND: Cell(_SHORT_KIND.get(f.kind, f.kind)),
                    METHOD: Cell(f.method, "") if tested else Cell("insufficient", "muted"),
                    STATISTIC: Cell(format_statistic(f.statistic) if tested else NO_DATA),
                    P_VALUE: Cell(format_p_value(f.p_value)),
                    SIG: Cell(mark, "warn"),
                    FLAG: _flag(f),
                },
                sort={
                    FEATURE: f.name,
                    KIND: f.kind,
                    METHOD: f.method,
                    STATISTIC: f.statistic if tested else None,
                    P_VALUE: f.p_value,
                    SIG: None if f.p_value is None else float(len(mark)),
                    FLAG: float(f.drifted) if tested else None,
                },
            )
        )
    return rows


def records_rows(snapshot: Snapshot) -> list[RowSnapshot]:
    """The rows that carry an endpoint's records (one per endpoint with a records feed)."""
    return [row for row in snapshot.rows if row.records is not None]


def find_endpoint(snapshot: Snapshot, endpoint: str) -> RowSnapshot | None:
    """``endpoint``'s row with its records, else any of its rows, else None."""
    rows = [row for row in snapshot.rows if row.endpoint == endpoint]
    return next((row for row in rows if row.records is not None), rows[0] if rows else None)


def endpoint_rows(snapshot: Snapshot) -> list[Row]:
    """One chooser row per endpoint with records, in snapshot order."""
    rows = []
    for row in records_rows(snapshot):
        view = row.records
        assert view is not None
        drift = view.drift
        n_drifted = len(drift.drifted_features) if drift else None
        drifted = NO_DATA if drift is None else f"{n_drifted}/{len(drift.features)}"
        dataset = (
            Cell(NO_DATA, "muted") if drift is None
            else Cell("DRIFT", "bad") if drift.dataset_drift else Cell("ok", "good")
        )
        rows.append(
            Row(
                key=row.endpoint,
                cells={
                    ENDPOINT: Cell(row.endpoint),
                    FEED: Cell(view.status, _FEED_STYLE.get(view.status, "")),
                    RECORDS: Cell(f"{view.records:,}"),
                    DRIFTED: Cell(drifted),
                    SHARE: Cell(format_ratio(drift.drift_share if drift else None)),
                    DATASET: dataset,
                },
                sort={
                    ENDPOINT: row.endpoint,
                    FEED: view.status,
                    RECORDS: float(view.records),
                    DRIFTED: None if n_drifted is None else float(n_drifted),
                    SHARE: drift.drift_share if drift else None,
                    DATASET: float(drift.dataset_drift) if drift else None,
                },
            )
        )
    return rows


def drift_headline(drift: DriftResult) -> str:
    """``"DATASET DRIFT · 3 of 8 features drifted (38%, threshold 50%)"``."""
    verdict = "DATASET DRIFT" if drift.dataset_drift else "no dataset drift"
    return (
        f"{verdict} · {len(drift.drifted_features)} of {len(drift.features)} features drifted "
        f"({drift.drift_share:.0%}, threshold {drift.drift_share_threshold:.0%})"
    )


def drift_context(drift: DriftResult) -> str:
    """``"5,000 reference vs 1,200 current rows · Benjamini-Hochberg, alpha 0.05"``."""
    correction = CORRECTION_NAMES.get(drift.correction, drift.correction)
    return (
        f"{drift.n_reference:,} reference vs {drift.n_current:,} current rows · "
        f"{correction}, alpha {drift.alpha:g}"
    )


def quality_line(quality: QualityReport | None) -> str | None:
    """Windowed quality against the baseline: ``"accuracy 91.2% (-3.4 pp vs 94.6%) · ..."``;
    None without labels."""
    if quality is None:
        return None
    if not quality.metrics:
        return f"quality: {quality.n_labeled:,} labelled records, too few to score yet"
    parts = []
    for name, value in quality.metrics.items():
        text = f"{name} {_metric(name, value)}"
        if name in quality.change and name in quality.baseline:
            change, base = quality.change[name], quality.baseline[name]
            delta = f"{change * 100:+.1f} pp" if name in _PERCENT_METRICS else f"{change:+.4g}"
            text += f" ({delta} vs {_metric(name, base)})"
        parts.append(text)
    what = "error" if quality.task == REGRESSION else "quality"
    return f"{what} over {quality.n_labeled:,} labelled: " + " · ".join(parts)


def _metric(name: str, value: float) -> str:
    return f"{value:.1%}" if name in _PERCENT_METRICS else f"{value:.4g}"


def feed_line(view: RecordsView) -> str:
    """``"records ok · 1,200 in window · 340 labelled · 12,345 read · 3 bad (not json 3)"``."""
    feed = view.feed
    parts = [
        f"records {view.status}",
        f"{view.records:,} in window",
        f"{view.labeled:,} labelled",
        f"{feed.records:,} read",
    ]
    bad = sum(feed.bad.values())
    if bad:
        reasons = ", ".join(f"{reason} {n:,}" for reason, n in sorted(feed.bad.items()))
        parts.append(f"{bad:,} bad ({reasons})")
    if view.error:
        parts.append(f"error: {' '.join(view.error.split())}")
    return " · ".join(parts)


def no_drift_reason(endpoint: str, row: RowSnapshot | None) -> str | None:
    """Why ``endpoint`` shows no drift table, in one line; None when it has one."""
    if row is None:
        return f"{endpoint} is not in the latest snapshot"
    view = row.records
    if view is None:
        return f"{endpoint} has no records feed (set records_url in its config)"
    if view.drift is not None:
        return None
    if view.status == "error":
        return f"no drift: {' '.join((view.error or 'records feed error').split())}"
    if view.records == 0:
        return "no records yet: drift is computed once the records feed delivers"
    return "no baseline: set the endpoint's baseline in the config to compute drift"


def feature_detail(f: FeatureDrift) -> str:
    """Everything about one feature's test on one line (it wraps where the screen is narrow)."""
    head = f"{f.name} · {f.kind} · "
    if f.method == INSUFFICIENT:
        return head + f"insufficient data ({f.n_reference:,} vs {f.n_current:,} values)"
    mark = marker(f.p_value)
    verdict = "DRIFT" if f.drifted else "ok"
    if f.p_value is not None:
        p = f"p {format_p_value(f.p_value)}" + (f" {mark}" if mark else "")
        adjusted = f.scores.get("p_adjusted")
        if adjusted is not None:
            p += f" (adjusted {format_p_value(adjusted)})"
        test = f"{p}, drift when p ≤ {format_p_value(f.threshold)}"
    else:
        test = f"drift when ≥ {format_statistic(f.threshold)}"
    parts = [
        f"{f.method} {format_statistic(f.statistic)}",
        test,
        verdict,
        f"{f.n_reference:,} vs {f.n_current:,} values",
    ]
    others = [
        f"{name} {format_statistic(f.scores[name])}"
        for name in ("psi", "js", "wasserstein")
        if name in f.scores and not f.method.startswith(name)
    ]
    parts += others
    ref_missing = f.scores.get("missing_rate_reference", 0.0)
    cur_missing = f.scores.get("missing_rate_current", 0.0)
    if ref_missing or cur_missing:
        parts.append(f"missing {format_ratio(ref_missing)} → {format_ratio(cur_missing)}")
    return head + " · ".join(parts)


def screen_summary(where: str, snapshot: Snapshot | None, now: float) -> str:
    """The status line of a drift view: ``"drift · fraud-scorer · data <3s old"``."""
    if snapshot is None:
        return f"{where} · waiting for the first poll…"
    return f"{where} · data {format_data_age(now - snapshot.at, snapshot.interval)} old"
