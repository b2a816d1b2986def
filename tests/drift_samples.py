"""Pinned drift data for the drift screens' tests: real DriftResults from seeded tables."""

from __future__ import annotations

import numpy as np

from mmtui.explore import FeatureHistogram
from mmtui.feeds.records import FeedStats
from mmtui.snapshot import RowSnapshot, Snapshot
from mmtui.stats.concept import QualityReport
from mmtui.stats.drift import DriftResult, compute_drift
from mmtui.stats.profile import Profile, build_profile
from mmtui.tracking import RecordsView

NOW = 1_700_000_000.0
N_REFERENCE, N_CURRENT = 2000, 400
LONG_NAME = "merchant_category_velocity_7d"


def _table(seed: int, n: int, shift: float) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    country_p = [0.5, 0.3, 0.2] if shift == 0 else [0.2, 0.3, 0.5]
    return {
        "amount": rng.normal(50.0 + 10.0 * shift, 10.0, n),
        "age": rng.normal(40.0, 12.0, n),
        "country": rng.choice(np.array(["de", "fr", "us"]), n, p=country_p),
        "device": rng.choice(np.array(["ios", "android", "web"]), n),
        LONG_NAME: rng.exponential(3.0 + 2.0 * shift, n),
    }


def profile() -> Profile:
    return build_profile(_table(1, N_REFERENCE, 0.0), source="validation.csv")


def drift(seed: int = 2, shift: float = 1.0) -> DriftResult:
    """amount, country and the long-named feature drift when ``shift`` is 1; age, device not."""
    return compute_drift(profile(), _table(seed, N_CURRENT, shift), correction="bh")


def quality() -> QualityReport:
    return QualityReport(
        task="classification",
        n_labeled=340,
        metrics={"accuracy": 0.912, "precision": 0.8},
        baseline={"accuracy": 0.946, "precision": 0.79},
        change={"accuracy": 0.912 - 0.946, "precision": 0.8 - 0.79},
        errors_seen=340,
        error_estimate=0.088,
        detections=(),
    )


def feed(bad: dict[str, int] | None = None) -> FeedStats:
    return FeedStats(records=12_345, labels=340, bad=bad or {}, last_bad=None)


def view(
    result: DriftResult | None,
    *,
    status: str = "ok",
    records: int = N_CURRENT,
    error: str | None = None,
    with_quality: bool = True,
) -> RecordsView:
    return RecordsView(
        status=status,
        error=error,
        records=records,
        labeled=340 if with_quality else 0,
        feed=feed({"not json": 3} if with_quality else None),
        drift=result,
        quality=quality() if with_quality else None,
    )


def row(endpoint: str, records: RecordsView | None, model: str | None = None) -> RowSnapshot:
    return RowSnapshot(endpoint, model, "triton", "up", None, NOW - 0.5, {}, records=records)


def snapshot(*rows: RowSnapshot, tick: int = 1, at: float = NOW) -> Snapshot:
    return Snapshot(at=at, tick=tick, paused=False, interval=2.0, rows=rows)


def fleet(fraud: DriftResult | None = None) -> Snapshot:
    """fraud-scorer drifts; ranker has records without drift; embedder waits; llm has no feed."""
    calm = drift(seed=3, shift=0.0)
    return snapshot(
        row("fraud-scorer", view(fraud or drift())),
        row("ranker", view(calm, with_quality=False)),
        row("embedder", view(None, status="waiting", records=0, with_quality=False)),
        row("llm-gateway", None, model="llama-3-8b"),
    )


HISTOGRAM = FeatureHistogram(
    endpoint="fraud-scorer",
    feature="amount",
    kind="numeric",
    bins=("[20, 40)", "[40, 60)", "[60, 80)", "[80, 100)"),
    reference=(0.16, 0.68, 0.16, 0.0),
    current=(0.02, 0.48, 0.46, 0.04),
    n_reference=N_REFERENCE,
    n_current=N_CURRENT,
)
