"""Concept drift: windowed quality against the baseline, and ADWIN on the error stream."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mmtui.feeds.records import LabelUpdate, Record, Value
from mmtui.stats.concept import ConceptDrift, task_of_kind
from mmtui.stats.profile import Profile, build_profile
from mmtui.stats.quality import classification_metrics, regression_metrics
from mmtui.stats.window import RecordWindow

SEED = 11


def classifier_profile(accuracy: float = 0.9, n: int = 200) -> Profile:
    rng = np.random.default_rng(0)
    target = rng.choice(np.array(["0", "1"]), n)
    wrong = np.arange(n) < round((1 - accuracy) * n)
    pred = np.where(wrong, np.where(target == "1", "0", "1"), target)
    table = {"x": rng.normal(size=n), "target": target, "pred": pred}
    return build_profile(table, target="target", prediction="pred", source="validation.csv")


def labelled_records(truth: list[str], pred: list[str]) -> list[Record]:
    return [
        Record(f"r{i}", float(i), {"x": 0.0}, p, y)
        for i, (y, p) in enumerate(zip(truth, pred, strict=True))
    ]


def test_windowed_quality_against_the_baseline() -> None:
    profile = classifier_profile(0.9)
    assert profile.task == "classification" and profile.quality["accuracy"] == 0.9
    concept = ConceptDrift.from_profile(profile, min_labeled=10)
    window = RecordWindow(100, profile=profile)
    rng = np.random.default_rng(SEED)
    truth = rng.choice(["0", "1"], 40).tolist()
    pred = [y if i % 4 else ("0" if y == "1" else "1") for i, y in enumerate(truth)]
    concept.observe(window.add(labelled_records(truth, pred)))
    window.add([Record("unlabelled", 99.0, {"x": 1.0}, "1")])

    report = concept.evaluate(window)
    expected = classification_metrics(np.array(truth), np.array(pred), positive="1")
    assert report.metrics == pytest.approx(expected)
    assert report.metrics["accuracy"] == 0.75
    assert report.baseline == profile.quality
    assert report.change["accuracy"] == pytest.approx(0.75 - 0.9)
    assert set(report.change) == {"accuracy", "precision", "recall", "f1"}
    assert report.n_labeled == 40 and report.errors_seen == 40
    assert report.error_estimate == pytest.approx(0.25)


def test_positive_class_is_the_baselines() -> None:
    """A window is scored on the baseline's positive class, as the baseline was, not
    macro-averaged over whatever classes the window happens to hold; and a metric the window
    cannot define (recall without a positive label) is left out rather than reported as 0."""
    profile = classifier_profile()
    window = RecordWindow(100, profile=profile)
    window.add(labelled_records(["0"] * 20, ["0"] * 18 + ["1"] * 2))
    report = ConceptDrift.from_profile(profile, min_labeled=5).evaluate(window)
    assert report.metrics == {"accuracy": 0.9, "precision": 0.0}
    assert set(report.change) == {"accuracy", "precision"}

    window = RecordWindow(100, profile=profile)
    window.add(labelled_records(["0"] * 20, ["0"] * 20))
    consistent = ConceptDrift.from_profile(profile, min_labeled=5).evaluate(window)
    assert consistent.metrics == {"accuracy": 1.0}
    naive = ConceptDrift("classification", min_labeled=5).evaluate(window)
    assert naive.metrics == {"accuracy": 1.0, "precision": 1.0, "recall": 1.0, "f1": 1.0}


def test_too_few_labels_give_no_metrics() -> None:
    profile = classifier_profile()
    concept = ConceptDrift.from_profile(profile)
    window = RecordWindow(100, profile=profile)
    concept.observe(window.add(labelled_records(["1"] * 29, ["1"] * 29)))
    report = concept.evaluate(window)
    assert report.metrics == {} and report.change == {} and report.n_labeled == 29


def test_regression_quality_and_scaled_errors() -> None:
    rng = np.random.default_rng(SEED)
    y = rng.normal(100.0, 20.0, 300)
    table = {"x": rng.normal(size=300), "y": y, "yhat": y + rng.normal(0.0, 5.0, 300)}
    profile = build_profile(table, target="y", prediction="yhat")
    assert profile.task == "regression"
    concept = ConceptDrift.from_profile(profile, min_labeled=5)
    assert concept.error_scale == profile.quality["mae"]
    window = RecordWindow(100, profile=profile)
    truth = [10.0, 20.0, 30.0, 40.0, 50.0]
    guess: list[Value] = [12.0, 18.0, 33.0, 40.0, None]
    records = [
        Record(str(i), 0.0, {}, p, t) for i, (t, p) in enumerate(zip(truth, guess, strict=True))
    ]
    concept.observe(window.add(records))
    concept.observe(window.add([Record("late", 0.0, {}, 7.5), LabelUpdate("late", 7.0)]))
    report = concept.evaluate(window)
    expected = regression_metrics(
        np.array(truth[:4] + [7.0]), np.array([12.0, 18.0, 33.0, 40.0, 7.5])
    )
    assert report.metrics == pytest.approx(expected)
    assert report.errors_seen == 5  # the pair without a prediction is skipped
    assert report.error_estimate == pytest.approx((2 + 2 + 3 + 0 + 0.5) / 5 / concept.error_scale)


def stream(seed: int, accuracy: list[float]) -> tuple[list[Record], dict[str, float]]:
    """Records of a binary classifier with the given accuracy per record; their labels apart."""
    rng = np.random.default_rng(seed)
    n = len(accuracy)
    truth = rng.integers(0, 2, n)
    pred = np.where(rng.random(n) < np.array(accuracy), truth, 1 - truth)
    records = [Record(f"r{i}", float(i), {"x": 0.0}, float(pred[i])) for i in range(n)]
    return records, {f"r{i}": float(truth[i]) for i in range(n)}


def run_with_late_labels(
    records: list[Record], labels: dict[str, float], lag: int = 50
) -> tuple[ConceptDrift, RecordWindow, list[int]]:
    """Records arrive 10 at a time; each one's label arrives ``lag`` records later."""
    profile = classifier_profile(0.9)
    concept = ConceptDrift.from_profile(profile)
    window = RecordWindow(500, profile=profile)
    fired: list[int] = []
    for start in range(0, len(records) + lag, 10):
        batch: list[Record | LabelUpdate] = list(records[start : start + 10])
        if start >= lag:
            batch += [
                LabelUpdate(r.id, labels[r.id]) for r in records[start - lag : start - lag + 10]
            ]
        fired += concept.observe(window.add(batch))
    return concept, window, fired


def test_detector_fires_on_a_concept_shift_with_late_labels() -> None:
    """Accuracy 0.9 for 1,000 predictions, then 0.6: the error stream (in label order, here the
    records' order) changes at 1,000; ADWIN fires at error 1,119 (checks run every 32 values)."""
    records, labels = stream(SEED, [0.9] * 1000 + [0.6] * 1000)
    concept, window, fired = run_with_late_labels(records, labels)
    assert fired[0] == 1119
    report = concept.evaluate(window)
    assert report.detections[0] == 1119 and report.last_detection == fired[-1]
    assert report.errors_seen == 2000 and report.n_labeled == 500
    assert report.metrics["accuracy"] == pytest.approx(0.6, abs=0.06)
    assert report.change["accuracy"] < -0.2
    assert report.error_estimate == pytest.approx(0.4, abs=0.06)


def test_no_alarm_while_quality_holds() -> None:
    records, labels = stream(SEED, [0.9] * 3000)
    concept, window, fired = run_with_late_labels(records, labels)
    assert fired == [] and concept.errors_seen == 3000
    assert concept.evaluate(window).change["accuracy"] == pytest.approx(0.0, abs=0.05)


def test_constructor_errors_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="task must be 'classification' or 'regression'"):
        ConceptDrift("ranking")
    with pytest.raises(ValueError, match="min_labeled must be >= 1"):
        ConceptDrift("classification", min_labeled=0)
    with pytest.raises(ValueError, match="error_scale must be a positive number"):
        ConceptDrift("regression", error_scale=0.0)
    no_task = build_profile({"x": np.arange(10.0)}, source="features-only.csv")
    with pytest.raises(ValueError, match="features-only.csv has no task"):
        ConceptDrift.from_profile(no_task)
    window = RecordWindow(10)
    window.add([Record("a", 0.0, {}, 2.5, 3.25)])
    task = task_of_kind(window.target_kind())  # what a caller without a task can do
    assert ConceptDrift.from_profile(no_task, task=task).task == "regression"
    assert math.isnan(ConceptDrift("regression").detector.estimation)
