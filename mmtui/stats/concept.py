"""Concept drift: the model's quality over the labelled records of a window against the baseline's,
and an ADWIN change detector on the stream of errors.

The monitor's loop, per endpoint::

    pairs = window.add(await feed.poll(client))   # (label, prediction) newly labelled
    concept.observe(pairs)                        # the error stream → ADWIN
    report = concept.evaluate(window)             # windowed metrics vs the baseline's

Errors are 0/1 misclassifications (classification) or absolute errors divided by ``error_scale``
(regression; by default the baseline's MAE, so the detector sees values around 1 whatever the
target's unit: ADWIN's bound is written for values in [0, 1]).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from mmtui.feeds.records import Value
from mmtui.stats.adwin import ADWIN
from mmtui.stats.columns import CATEGORICAL, NUMERIC
from mmtui.stats.profile import CategoricalProfile, Profile
from mmtui.stats.quality import POSITIVE_LABELS, classification_metrics, regression_metrics
from mmtui.stats.window import RecordWindow, as_floats, category

__all__ = ["CLASSIFICATION", "REGRESSION", "ConceptDrift", "QualityReport", "task_of_kind"]

CLASSIFICATION = "classification"
REGRESSION = "regression"


def task_of_kind(kind: str) -> str:
    """The task for a target kind (:meth:`RecordWindow.target_kind`): numeric → regression."""
    return REGRESSION if kind == NUMERIC else CLASSIFICATION


@dataclass(frozen=True, slots=True)
class QualityReport:
    """Windowed quality and the detector's state, at one evaluation."""

    task: str
    n_labeled: int
    """Labelled records (with a prediction) in the window."""
    metrics: dict[str, float]
    """accuracy/precision/recall/f1 or mae/rmse over them; empty below ``min_labeled``. With a
    positive class, recall is left out when the window holds no positive label, precision when
    nothing was predicted positive, and F1 with either."""
    baseline: dict[str, float]
    """The same metrics on the validation data (the profile's quality)."""
    change: dict[str, float]
    """``metrics[k] - baseline[k]`` for the metrics both have."""
    errors_seen: int
    """Length of the error stream given to the detector."""
    error_estimate: float | None
    """The detector's mean error since its last detected change (None before any error)."""
    detections: tuple[int, ...]
    """Positions in the error stream where a change was detected (the last 1,000)."""

    @property
    def last_detection(self) -> int | None:
        return self.detections[-1] if self.detections else None


class ConceptDrift:
    """Windowed quality against a baseline, and ADWIN on the error stream.

    Parameters
    ----------
    task
        ``"classification"`` or ``"regression"``.
    baseline
        Quality on the validation data (``Profile.quality``).
    positive
        The positive class for precision/recall/F1 (classification).
    delta
        ADWIN's confidence.
    min_labeled
        Fewer labelled records in the window give no windowed metrics.
    error_scale
        Regression: absolute errors are divided by this; default the baseline's ``mae`` (or 1).

    Examples
    --------
    >>> concept = ConceptDrift("classification", min_labeled=2)
    >>> concept.observe([("1", "1"), ("0", "1"), (None, "1")])
    []
    >>> concept.errors_seen
    2
    """

    def __init__(
        self,
        task: str,
        *,
        baseline: Mapping[str, float] | None = None,
        positive: str | None = None,
        delta: float = 0.002,
        min_labeled: int = 30,
        error_scale: float | None = None,
    ) -> None:
        if task not in (CLASSIFICATION, REGRESSION):
            raise ValueError(f"task must be 'classification' or 'regression', got {task!r}")
        if min_labeled < 1:
            raise ValueError(f"min_labeled must be >= 1, got {min_labeled!r}")
        self.task = task
        self.baseline = dict(baseline or {})
        self.positive = positive
        self.min_labeled = min_labeled
        scale = error_scale if error_scale is not None else self.baseline.get("mae", 1.0)
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"error_scale must be a positive number, got {scale!r}")
        self.error_scale = scale
        self.detector = ADWIN(delta)

    @classmethod
    def from_profile(
        cls,
        profile: Profile,
        *,
        task: str | None = None,
        positive: str | None = None,
        delta: float = 0.002,
        min_labeled: int = 30,
    ) -> ConceptDrift:
        """Task and baseline quality from the profile; ``task`` for a profile without one.

        Without ``positive``, a binary classifier's positive class is the one of the baseline's
        two prediction levels that :func:`~mmtui.stats.quality.classification_metrics` would
        recognise, so windows holding one class only are scored like the baseline.
        """
        chosen = task or profile.task
        if positive is None and isinstance(profile.prediction_profile, CategoricalProfile):
            levels = profile.prediction_profile.levels
            found = [level for level in levels if level.lower() in POSITIVE_LABELS]
            positive = found[0] if len(levels) <= 2 and len(found) == 1 else None
        if chosen is None:
            raise ValueError(
                f"baseline {profile.source or '<profile>'} has no task (it was built without a "
                "target and a prediction): give the task"
            )
        return cls(
            chosen,
            baseline=profile.quality,
            positive=positive,
            delta=delta,
            min_labeled=min_labeled,
        )

    @property
    def errors_seen(self) -> int:
        return self.detector.n

    def observe(self, pairs: Iterable[tuple[Value, Value]]) -> list[int]:
        """Feed ``(label, prediction)`` pairs (as :meth:`RecordWindow.add` returns them) to the
        detector, skipping those with a missing side; return where it fired in the error stream.
        """
        fired: list[int] = []
        for label, prediction in pairs:
            error = self._error(label, prediction)
            if error is not None and self.detector.update(error):
                fired.append(self.detector.n - 1)
        return fired

    def evaluate(self, window: RecordWindow) -> QualityReport:
        """Quality over the window's labelled records, against the baseline's."""
        if self.task == CLASSIFICATION:
            y_true, y_pred = window.labeled(CATEGORICAL)
        else:
            y_true, y_pred = window.labeled(NUMERIC)
        n = len(y_true)
        metrics: dict[str, float] = {}
        if n >= self.min_labeled:
            if self.task == CLASSIFICATION:
                metrics = classification_metrics(y_true, y_pred, positive=self.positive)
                metrics = _defined(metrics, y_true, y_pred, self.positive)
            else:
                metrics = regression_metrics(y_true, y_pred)
        change = {k: v - self.baseline[k] for k, v in metrics.items() if k in self.baseline}
        estimate = self.detector.estimation
        return QualityReport(
            task=self.task,
            n_labeled=n,
            metrics=metrics,
            baseline=dict(self.baseline),
            change=change,
            errors_seen=self.detector.n,
            error_estimate=None if math.isnan(estimate) else estimate,
            detections=self.detector.detections,
        )

    def _error(self, label: Value, prediction: Value) -> float | None:
        if self.task == CLASSIFICATION:
            y, p = category(label), category(prediction)
            return None if not y or not p else float(y != p)
        y_f, p_f = (float(v) for v in as_floats([label, prediction]))
        if math.isnan(y_f) or math.isnan(p_f):
            return None
        return abs(y_f - p_f) / self.error_scale


def _defined(
    metrics: dict[str, float], y_true: np.ndarray, y_pred: np.ndarray, positive: str | None
) -> dict[str, float]:
    """Leave out the positive class's recall when the window holds no positive label, and its
    precision when nothing was predicted positive (and F1 with either): 0 would read as a drop."""
    if positive is None:
        return metrics
    undefined = set()
    if not (y_true == positive).any():
        undefined |= {"recall", "f1"}
    if not (y_pred == positive).any():
        undefined |= {"precision", "f1"}
    return {k: v for k, v in metrics.items() if k not in undefined}
