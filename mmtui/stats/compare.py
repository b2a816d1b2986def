"""Compare every feature of a profile with a current table, numeric ones batched.

Tables of some size use two cores; numpy's sorts, running sums, searches and string
comparisons release the GIL. A worker thread sorts half of the numeric columns, sums them up and
places the profile's edges among their values while the calling thread does the other half,
then goes on to the categorical features while the calling thread computes the numeric
statistics. On large tables the worker takes whole features instead, statistics included.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from mmtui.stats.categorical import cached_categorical_plan, compare_categorical_batch
from mmtui.stats.columns import to_float, to_labels
from mmtui.stats.comparison import Comparison
from mmtui.stats.features import CategoricalProfile, NumericProfile
from mmtui.stats.numeric import (
    EdgePositions,
    Located,
    cached_plan,
    compare_numeric_batch,
    compare_numeric_positions,
)
from mmtui.stats.profile import Profile

if TYPE_CHECKING:  # concurrent.futures (and logging) load only when a table is large
    from concurrent.futures import Future, ThreadPoolExecutor

PARALLEL_VALUES = 50_000
"""Tables with at least this many values (rows x features) are compared on two threads."""

SPLIT_VALUES = 500_000
"""From this many numeric values on, the worker thread also takes part of the numeric features."""

CATEGORICAL_WEIGHT = 0.6
"""The work of a categorical feature, in numeric features, for sharing the work out."""

T = TypeVar("T")

_CORES = os.cpu_count() or 1
"""Read once: ``os.cpu_count()`` costs 60 us a call here, 1% of a window's drift check."""

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def compare_features(
    profile: Profile,
    table: Mapping[str, np.ndarray],
    rows: int,
    codes: Mapping[str, np.ndarray] | None = None,
    positions: EdgePositions | None = None,
) -> dict[str, Comparison]:
    """Each profiled feature's :class:`Comparison` with its column of ``table``.

    A column absent from ``table`` is compared as ``rows`` missing values. ``codes``: categorical
    columns already matched to their levels (``RecordWindow.codes``), counted instead;
    ``positions``: the numeric features already placed among the profile's edges
    (``RecordWindow.positions``), counted instead of sorted, on one thread (it is quick); their
    columns in ``table`` are not read then.
    """
    numeric = [f for f in profile.features.values() if isinstance(f, NumericProfile)]
    categorical = [f for f in profile.features.values() if isinstance(f, CategoricalProfile)]
    if positions is not None and not positions.fits(numeric):
        positions = None  # another profile's edges: compared from the table
    columns = [] if positions is not None else [_floats(table, f.name, rows) for f in numeric]
    coded = [(codes or {}).get(f.name) for f in categorical]
    labels = [np.empty(0, "<U1") if c is not None else _labels(table, f.name, rows)
              for f, c in zip(categorical, coded, strict=True)]

    def numbers(start: int, stop: int) -> list[Comparison]:
        plan = cached_plan(numeric[start:stop], rows, profile.cache)
        return compare_numeric_batch(plan, columns[start:stop])

    def categories() -> list[Comparison]:
        plan = cached_categorical_plan(categorical, profile.cache)
        return compare_categorical_batch(plan, labels, coded)

    parallel = _CORES > 1 and rows * len(profile.features) >= PARALLEL_VALUES
    if positions is not None:
        plan = cached_plan(numeric, positions.rows, profile.cache)
        done = compare_numeric_positions(plan, positions) + categories()
    elif not parallel or len(numeric) < 2:
        done = numbers(0, len(numeric)) + categories()
    elif rows * len(numeric) >= SPLIT_VALUES:
        share = round((len(numeric) + CATEGORICAL_WEIGHT * len(categorical)) / 2)
        share = min(max(share, 1), len(numeric))
        worker = _submit(lambda: numbers(share, len(numeric)) + categories())
        done = numbers(0, share) + worker.result()
    else:
        located = Located(cached_plan(numeric, rows, profile.cache), columns)
        half = located.features // 2
        halved = threading.Event()

        def work() -> list[Comparison]:
            try:
                located.locate(half, located.features)
            finally:
                halved.set()
            return categories()

        helper = _submit(work)
        located.locate(0, half)
        halved.wait()
        if helper.done():
            helper.result()  # an error in the other half
        done = located.compare() + helper.result()
    names = [f.name for f in numeric] + [f.name for f in categorical]
    return dict(zip(names, done, strict=True))


def _submit(work: Callable[[], T]) -> Future[T]:
    from concurrent.futures import ThreadPoolExecutor

    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mmtui-drift")
    return _pool.submit(work)


def _floats(table: Mapping[str, np.ndarray], name: str, rows: int) -> np.ndarray:
    values = table.get(name)
    return np.full(rows, np.nan) if values is None else to_float(values, name)


def _labels(table: Mapping[str, np.ndarray], name: str, rows: int) -> np.ndarray:
    values = table.get(name)
    return np.full(rows, "") if values is None else to_labels(values, name)
