"""Model quality from labels and predictions: pure functions over arrays.

Classification: accuracy, and precision, recall and F1 of the positive class when the problem is
binary with a recognisable positive label (``1``, ``true``, ``yes``, ``positive``, ...; or the one
given), macro-averaged over every class seen otherwise. A class never predicted has precision 0
(scikit-learn's ``zero_division=0``). Regression: MAE and RMSE. Pairs where either side is missing
are left out; with none left the result is ``{}``.
"""

from __future__ import annotations

import numpy as np

from mmtui.stats.columns import to_float, to_labels

POSITIVE_LABELS = frozenset({"1", "1.0", "true", "yes", "y", "positive", "pos"})


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, positive: str | None = None
) -> dict[str, float]:
    """``accuracy``, ``precision``, ``recall`` and ``f1`` of predicted against true labels.

    Parameters
    ----------
    y_true, y_pred
        Labels as text or numbers (``3.0`` and ``"3"`` are the same label); ``""``/NaN missing.
    positive
        The positive label; None to recognise one in a binary problem, else macro averages.

    Examples
    --------
    >>> m = classification_metrics(np.array([1, 0, 1, 1]), np.array([1, 0, 0, 1]))
    >>> m["accuracy"], m["precision"], m["recall"]
    (0.75, 1.0, 0.6666666666666666)
    """
    truth = to_labels(np.asarray(y_true), "target")
    guess = to_labels(np.asarray(y_pred), "prediction")
    if len(truth) != len(guess):
        raise ValueError(f"{len(truth)} labels but {len(guess)} predictions")
    keep = (truth != "") & (guess != "")
    truth, guess = truth[keep], guess[keep]
    if len(truth) == 0:
        return {}
    classes, index = np.unique(np.concatenate((truth, guess)), return_inverse=True)
    k = len(classes)
    t, p = index[: len(truth)], index[len(truth) :]
    confusion = np.bincount(t * k + p, minlength=k * k).reshape(k, k)
    hits = np.diag(confusion).astype(np.float64)
    predicted = confusion.sum(axis=0).astype(np.float64)
    actual = confusion.sum(axis=1).astype(np.float64)
    precision = np.divide(hits, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(hits, actual, out=np.zeros(k), where=actual > 0)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros(k), where=total > 0)
    metrics = {"accuracy": float(hits.sum() / len(truth))}
    if positive is None:
        positive = _positive_label(classes)
    if positive is None:
        metrics.update(
            precision=float(precision.mean()), recall=float(recall.mean()), f1=float(f1.mean())
        )
        return metrics
    where = np.flatnonzero(classes == positive)
    if len(where) == 0:
        metrics.update(precision=0.0, recall=0.0, f1=0.0)
    else:
        j = int(where[0])
        metrics.update(precision=float(precision[j]), recall=float(recall[j]), f1=float(f1[j]))
    return metrics


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """``mae`` and ``rmse`` of predictions against true values.

    Examples
    --------
    >>> regression_metrics(np.array([1.0, 2.0, np.nan]), np.array([2.0, 4.0, 1.0]))
    {'mae': 1.5, 'rmse': 1.5811388300841898}
    """
    truth = to_float(np.asarray(y_true), "target")
    guess = to_float(np.asarray(y_pred), "prediction")
    if len(truth) != len(guess):
        raise ValueError(f"{len(truth)} targets but {len(guess)} predictions")
    error = (guess - truth)[np.isfinite(truth) & np.isfinite(guess)]
    if len(error) == 0:
        return {}
    return {
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error * error))),
    }


def _positive_label(classes: np.ndarray) -> str | None:
    if len(classes) > 2:
        return None
    found = [str(c) for c in classes.tolist() if str(c).lower() in POSITIVE_LABELS]
    return found[0] if len(found) == 1 else None
