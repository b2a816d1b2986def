"""Record windows: the last N records (and/or the last T seconds) of one endpoint, column-wise.

Features live in numpy ring buffers, one per column, in the table contract of
:mod:`mmtui.stats.drift`: numeric columns float64 with NaN for missing, categorical columns numpy
unicode with ``""`` for missing. Reading a table is a few fancy-indexing copies, no per-record
Python; adding a batch loops over its records once.

A window belongs to one thread: call :meth:`RecordWindow.add` and :meth:`RecordWindow.table` on
the same one (the arrays returned are copies, safe to hand to a worker thread).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import numpy.typing as npt

from mmtui.feeds.records import LabelUpdate, Record, Value
from mmtui.stats.columns import CATEGORICAL, NUMERIC
from mmtui.stats.features import CategoricalProfile, NumericProfile
from mmtui.stats.numeric import EdgePlacer, EdgePositions
from mmtui.stats.profile import Profile

__all__ = [
    "CATEGORICAL",
    "NUMERIC",
    "RecordWindow",
    "category",
    "kinds_from_profile",
    "as_floats",
]

MAX_CATEGORY_CHARS = 256
"""Longer categorical values are cut to this many characters."""
MAX_DISCOVERED_FEATURES = 512
"""Without a profile or kinds, feature columns are created as seen, up to this many."""

FloatArray = npt.NDArray[np.float64]
StrArray = npt.NDArray[np.str_]
BoolArray = npt.NDArray[np.bool_]


def category(v: Value) -> str:
    """The categorical spelling of a value: ``""`` when missing, integral numbers without ``.0``
    (as :func:`mmtui.stats.columns.to_labels` spells them).

    >>> category(3.0), category(2.5), category(None), category("FR")
    ('3', '2.5', '', 'FR')
    """
    if v is None:
        return ""
    if isinstance(v, str):
        return v[:MAX_CATEGORY_CHARS]
    f = float(v)
    if math.isnan(f):
        return ""
    if f.is_integer() and abs(f) < 2.0**53:
        return str(int(f))
    return repr(f)


def as_floats(values: Sequence[Value]) -> FloatArray:
    """Values as float64; missing, unparsable and non-finite values become NaN.

    >>> as_floats([1.0, None, "2.5", "x", float("inf")]).tolist()
    [1.0, nan, 2.5, nan, nan]
    """
    try:
        out = np.array(values, dtype=np.float64)
    except (ValueError, TypeError):
        out = np.array([_float(v) for v in values], dtype=np.float64)
    out[~np.isfinite(out)] = np.nan
    return out


def _float(v: Value) -> float:
    try:
        return math.nan if v is None else float(v)
    except ValueError:
        return math.nan


def kinds_from_profile(profile: Profile) -> dict[str, str]:
    """Feature name → ``"numeric"`` or ``"categorical"``, as the baseline profiled them."""
    return {name: fp.kind for name, fp in profile.features.items()}


class RecordWindow:
    """The last ``max_records`` records, further limited to the last ``max_age`` seconds.

    Parameters
    ----------
    max_records
        Capacity: the newest records kept.
    max_age
        When set, only records whose ``ts`` is within this many seconds of ``clock()`` are read.
    profile
        The baseline: its features (and only those) are kept, with its kinds; its ``task`` gives
        the kind of labels and predictions.
    kinds
        Feature name → kind, when there is no profile (and only those features are kept). With
        neither, features are kept as seen, numeric when their first value is a number.
    clock
        Wall clock for ``max_age``.

    Examples
    --------
    >>> w = RecordWindow(2)
    >>> w.add([Record("a", 1.0, {"x": 1.0, "c": "FR"}, 1.0),
    ...        Record("b", 2.0, {"x": None, "c": "DE"}, 0.0),
    ...        Record("c", 3.0, {"x": 3.0}, 1.0, label=1.0)])
    [(1.0, 1.0)]
    >>> t = w.table()
    >>> t["x"].tolist(), t["c"].tolist()
    ([nan, 3.0], ['DE', ''])
    >>> w.add([LabelUpdate("b", 1.0)])
    [(1.0, 0.0)]
    >>> [a.tolist() for a in w.labeled()]
    [['1', '1'], ['0', '1']]
    """

    def __init__(
        self,
        max_records: int = 5000,
        *,
        max_age: float | None = None,
        profile: Profile | None = None,
        kinds: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_records < 1:
            raise ValueError(f"max_records must be >= 1, got {max_records!r}")
        if max_age is not None and not max_age > 0:
            raise ValueError(f"max_age must be > 0 seconds or None, got {max_age!r}")
        if profile is not None:
            kinds = kinds_from_profile(profile)
        for name, kind in (kinds or {}).items():
            if kind not in (NUMERIC, CATEGORICAL):
                raise ValueError(f"feature {name!r}: kind must be numeric or categorical")
        self._cap = max_records
        self._max_age = max_age
        self._clock = clock
        self._fixed = kinds is not None
        task = profile.task if profile is not None else None
        self._target_kind = {"regression": NUMERIC, "classification": CATEGORICAL}.get(task or "")
        self._kinds: dict[str, str] = {}
        self._num: dict[str, FloatArray] = {}
        self._cat: dict[str, StrArray] = {}
        self._levels: dict[str, dict[str, int]] = {}
        """Per categorical feature of the profile: its reference levels' positions."""
        self._codes: dict[str, npt.NDArray[np.int32]] = {}
        """Per categorical feature of the profile, each record's level as :meth:`codes` says."""
        numeric = [f for f in (profile.features.values() if profile is not None else ())
                   if isinstance(f, NumericProfile)]
        self._placer = EdgePlacer(numeric, max_records)
        """The profile's numeric features live in rows of ``_block``; as records arrive their
        values are placed among the edges a drift check of the window runs on (``_placed``),
        and how many of each code there are in the ring and the sum of their values kept up
        to date (``_counts``, ``_sums``), so that a check counts nothing."""
        f, width = len(numeric), self._placer.width
        self._rows = {p.name: i for i, p in enumerate(numeric)}
        self._block: FloatArray = np.full((f, max_records), np.nan)
        self._placed = np.repeat(self._placer.missing[:, None], max_records, axis=1)
        self._counts = np.zeros((f, width), np.int64)
        self._counts.reshape(-1)[self._placer.missing] = max_records
        self._sums = np.zeros((f, width))
        self._summed_at = 0
        """``_count`` when ``_sums`` were last summed afresh (added and taken away since)."""
        for feature in profile.features.values() if profile is not None else ():
            if isinstance(feature, CategoricalProfile):
                self._levels[feature.name] = {v: i for i, v in enumerate(feature.levels)}
                missing = len(feature.levels) + 1
                self._codes[feature.name] = np.full(max_records, missing, np.int32)
        for name, kind in (kinds or {}).items():
            self._new_column(name, kind)
        self._ts: FloatArray = np.full(max_records, np.nan)
        self._ids: npt.NDArray[np.object_] = np.full(max_records, None, dtype=object)
        self._pred: npt.NDArray[np.object_] = np.full(max_records, None, dtype=object)
        self._pred_f: FloatArray = np.full(max_records, np.nan)
        self._pred_s: StrArray = np.full(max_records, "", dtype="<U1")
        self._label_f: FloatArray = np.full(max_records, np.nan)
        self._label_s: StrArray = np.full(max_records, "", dtype="<U1")
        self._has_label = np.zeros(max_records, dtype=bool)
        self._count = 0
        """Records ever added; record number ``k`` lives in slot ``k % max_records``."""
        self._number: dict[str, int] = {}
        """id → record number, for the records still in the ring."""
        self._early: OrderedDict[str, Value] = OrderedDict()
        """Labels whose record has not arrived yet (bounded by ``max_records``)."""
        self.labels_joined = 0
        """Labels set on a record already in the window (or that arrived before it)."""
        self.labels_unmatched = 0
        """Labels let go unjoined: their record never came or had left the window (counted when
        the waiting labels overflow ``max_records``)."""

    @property
    def capacity(self) -> int:
        return self._cap

    @property
    def kinds(self) -> dict[str, str]:
        """Feature name → ``"numeric"`` or ``"categorical"``."""
        return dict(self._kinds)

    def __len__(self) -> int:
        """Records :meth:`table` would return."""
        skip, mask = self._selection()
        return min(self._count, self._cap) - skip if mask is None else int(mask.sum())

    def add(self, items: Iterable[Record | LabelUpdate]) -> list[tuple[Value, Value]]:
        """Add records and join late labels; return ``(label, prediction)`` of each record that
        got its label in this call (records first, then late labels), for a change detector.
        """
        records: list[Record] = []
        updates: list[LabelUpdate] = []
        for item in items:
            if isinstance(item, Record):
                records.append(item)
            else:
                updates.append(item)
        labelled: list[tuple[Value, Value]] = []
        if records:
            self._write(records, labelled)
        for u in updates:
            self._join(u, labelled)
        return labelled

    def table(self) -> dict[str, np.ndarray]:
        """Feature columns of the records in the window, oldest first (copies)."""
        sel = self._selection()
        block = self._take(self._block, sel)  # the profile's numeric features, in one copy
        return {
            name: block[self._rows[name]] if name in self._rows
            else self._take(self._num[name] if kind == NUMERIC else self._cat[name], sel)
            for name, kind in self._kinds.items()
        }

    def codes(self) -> dict[str, np.ndarray]:
        """Per categorical feature of the profile, the records' values as positions among its
        ``k`` reference levels, ``k`` for a value that is no level, ``k + 1`` for a missing one
        (the matching is done once, as records arrive), oldest first. For
        :func:`~mmtui.stats.drift.compute_drift`'s ``codes``."""
        sel = self._selection()
        return {name: self._take(codes, sel) for name, codes in self._codes.items()}

    def positions(self) -> EdgePositions:
        """The profile's numeric features of the records in the window, placed among the
        edges a drift check of this window runs on (done once, as records arrive), oldest
        first, with their counts and sums. For :func:`~mmtui.stats.drift.compute_drift`'s
        ``positions``."""
        sel = self._selection()
        codes, values = self._take(self._placed, sel), self._take(self._block, sel)
        stored = min(self._count, self._cap)
        left_out = stored - codes.shape[1]
        counts: np.ndarray | None = None
        sums: np.ndarray | None = None
        if left_out <= codes.shape[1]:
            counts, sums = self._counts.copy(), self._sums.copy()
            counts.reshape(-1)[self._placer.missing] -= self._cap - stored  # slots never used
            if left_out:
                skip, mask = sel
                out = self._segment(self._placed, 0)
                out_values = self._segment(self._block, 0)
                keep = np.zeros(stored, bool)
                keep[skip:] = True if mask is None else mask
                _tally(counts, sums, out[:, ~keep], out_values[:, ~keep], -1)
        placer = self._placer
        return EdgePositions(placer.rows, placer.features, values, codes, counts, sums)

    def timestamps(self) -> FloatArray:
        """``ts`` of the records in the window, oldest first."""
        return self._take(self._ts, self._selection())

    def predictions(self, kind: str | None = None) -> np.ndarray:
        """Predictions of the records in the window: float64 (NaN missing) for ``"numeric"``,
        unicode (``""`` missing) for ``"categorical"``; ``kind`` defaults to :meth:`target_kind`.
        """
        sel = self._selection()
        kind = kind or self._kind_of(sel)
        return self._take(self._pred_f if kind == NUMERIC else self._pred_s, sel)

    def labeled(self, kind: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(y_true, y_pred)`` of the records in the window that have both a label and a
        prediction, oldest first, in the representation :meth:`predictions` gives.
        """
        sel = self._selection()
        has = self._take(self._has_label, sel)
        if (kind or self._kind_of(sel)) == NUMERIC:
            y_true, y_pred = self._take(self._label_f, sel)[has], self._take(self._pred_f, sel)[has]
            keep = ~(np.isnan(y_true) | np.isnan(y_pred))
        else:
            y_true, y_pred = self._take(self._label_s, sel)[has], self._take(self._pred_s, sel)[has]
            keep = (y_true != "") & (y_pred != "")
        return y_true[keep], y_pred[keep]

    def target_kind(self) -> str:
        """Kind of labels and predictions: from the profile's task, else inferred from the
        window: ``"numeric"`` (regression) when every label and prediction is a number and some
        are not integers, else ``"categorical"`` (classification).
        """
        return self._kind_of(self._selection())

    # ------------------------------------------------------------------ internals

    def _segment(self, ring: np.ndarray, skip: int) -> np.ndarray:
        """A copy of the ring's values for the stored records, oldest first, less ``skip``
        (along the last axis: a 2-D ring holds a feature per row)."""
        n = min(self._count, self._cap)
        start = (self._count - n + skip) % self._cap
        end = start + n - skip
        if end <= self._cap:
            return ring[..., start:end].copy()
        return np.concatenate((ring[..., start:], ring[..., : end - self._cap]), axis=-1)

    def _selection(self) -> tuple[int, BoolArray | None]:
        """The records in the window: skip the oldest ``skip`` stored, then keep ``mask``."""
        if self._max_age is None:
            return 0, None
        keep = self._segment(self._ts, 0) >= self._clock() - self._max_age
        skip = int(np.argmax(keep)) if keep.any() else len(keep)
        rest = keep[skip:]
        return skip, None if rest.all() else rest

    def _take(self, ring: np.ndarray, selection: tuple[int, BoolArray | None]) -> np.ndarray:
        skip, mask = selection
        out = self._segment(ring, skip)
        return out if mask is None else out[..., mask]

    def _kind_of(self, selection: tuple[int, BoolArray | None]) -> str:
        if self._target_kind is not None:
            return self._target_kind
        text = np.concatenate(
            (self._take(self._label_s, selection), self._take(self._pred_s, selection))
        )
        num = np.concatenate(
            (self._take(self._label_f, selection), self._take(self._pred_f, selection))
        )
        present = text != ""
        if not present.any() or (present & np.isnan(num)).any():
            return CATEGORICAL
        values = num[present]
        return NUMERIC if (values != np.floor(values)).any() else CATEGORICAL

    def _new_column(self, name: str, kind: str) -> None:
        self._kinds[name] = kind
        row = self._rows.get(name)
        if kind == NUMERIC and row is not None:
            self._num[name] = self._block[row]  # a view: written in place
        elif kind == NUMERIC:
            self._num[name] = np.full(self._cap, np.nan)
        else:
            self._cat[name] = np.full(self._cap, "", dtype="<U1")

    def _write(self, records: list[Record], labelled: list[tuple[Value, Value]]) -> None:
        labels: list[Value] = []
        for r in records:
            label = r.label
            if label is None and r.id in self._early:
                label = self._early.pop(r.id)
                self.labels_joined += 1
            if label is not None:
                labelled.append((label, r.prediction))
            labels.append(label)
        kept, labels = records[-self._cap :], labels[-self._cap :]
        first = self._count
        slots = (first + np.arange(len(kept))) % self._cap
        for k, (slot, r) in enumerate(zip(slots.tolist(), kept, strict=True)):
            old = self._ids[slot]
            if old is not None and self._number.get(old) == first + k - self._cap:
                del self._number[old]
            self._ids[slot] = r.id
            self._number[r.id] = first + k
        self._count += len(kept)
        preds = [r.prediction for r in kept]
        self._ts[slots] = [r.ts for r in kept]
        self._pred[slots] = preds
        self._pred_f[slots] = as_floats(preds)
        self._pred_s = _put(self._pred_s, slots, preds)
        self._label_f[slots] = as_floats(labels)
        self._label_s = _put(self._label_s, slots, labels)
        self._has_label[slots] = [y is not None for y in labels]
        if not self._fixed:
            self._discover(kept)
        replaced = self._block[:, slots]
        for name, kind in self._kinds.items():
            values = [r.features.get(name) for r in kept]
            if kind == NUMERIC:
                self._num[name][slots] = as_floats(values)
                continue
            spelled = [category(v) for v in values]
            self._cat[name] = _put(self._cat[name], slots, spelled)
            levels = self._levels.get(name)
            if levels is not None:
                other = len(levels)
                self._codes[name][slots] = [
                    levels.get(text, other) if text else other + 1 for text in spelled
                ]
        if self._rows:
            self._place(slots, replaced)

    def _place(self, slots: npt.NDArray[np.intp], replaced: FloatArray) -> None:
        """Place the values just written to ``slots`` (which held ``replaced``) among the
        edges, and count them in instead of the old ones. The sums are summed afresh once per
        window's worth of records, so rounding does not build up."""
        values = self._block[:, slots]
        codes = self._placer.place(values)
        old = self._placed[:, slots]
        self._placed[:, slots] = codes
        if self._count - self._summed_at >= self._cap:
            counts, sums = self._placer.count(self._placed, np.nan_to_num(self._block))
            self._counts[:], self._sums[:] = counts, sums
            self._summed_at = self._count
            return
        _tally(self._counts, self._sums, old, replaced, -1)
        _tally(self._counts, self._sums, codes, values, 1)

    def _discover(self, records: list[Record]) -> None:
        for r in records:
            for name, v in r.features.items():
                if name in self._kinds or len(self._kinds) >= MAX_DISCOVERED_FEATURES:
                    continue
                if v is not None and not (isinstance(v, float) and math.isnan(v)):
                    self._new_column(name, CATEGORICAL if isinstance(v, str) else NUMERIC)

    def _join(self, update: LabelUpdate, labelled: list[tuple[Value, Value]]) -> None:
        number = self._number.get(update.id)
        if number is None:
            self._early[update.id] = update.label
            if len(self._early) > self._cap:
                self._early.popitem(last=False)
                self.labels_unmatched += 1
            return
        slot = number % self._cap
        self._label_f[slot] = as_floats([update.label])[0]
        self._label_s = _put(self._label_s, np.array([slot]), [update.label])
        self._has_label[slot] = update.label is not None
        self.labels_joined += 1
        labelled.append((update.label, self._pred[slot]))


def _tally(
    counts: np.ndarray, sums: np.ndarray, codes: np.ndarray, values: np.ndarray, sign: int
) -> None:
    """Count ``codes`` (with their ``values``) in (``sign`` 1) or out (-1) of running totals."""
    flat = codes.reshape(-1)
    np.add.at(counts.reshape(-1), flat, sign)
    np.add.at(sums.reshape(-1), flat, np.nan_to_num(values.reshape(-1)) * sign)


def _put(column: StrArray, slots: npt.NDArray[np.intp], values: Sequence[Value]) -> StrArray:
    """Write values (as categories) into a unicode ring, widening its dtype when needed."""
    new = np.array([category(v) for v in values], dtype=np.str_)
    if new.dtype.itemsize > column.dtype.itemsize:
        column = column.astype(new.dtype)
    column[slots] = new
    return column
