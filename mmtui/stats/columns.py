"""Column values as the statistics want them: float64 with NaN, or unicode labels with "".

Tables are ``dict[str, np.ndarray]``: numeric columns float64 with NaN for a missing value,
categorical columns numpy unicode (``'U'``) with ``""`` for a missing value. These helpers also
accept integers, booleans and numeric text, so a table read with other kinds still compares.
"""

from __future__ import annotations

import numpy as np

NUMERIC = "numeric"
CATEGORICAL = "categorical"
KINDS = (NUMERIC, CATEGORICAL)

LOW_CARDINALITY = 20
"""Integer-valued columns with at most this many distinct values are inferred categorical."""


def to_float(values: np.ndarray, name: str) -> np.ndarray:
    """``values`` as a float64 array; ``""`` in text becomes NaN.

    Raises
    ------
    ValueError
        A text value is not a number, or the array holds Python objects.
    """
    kind = values.dtype.kind
    if kind == "f":
        return values.astype(np.float64, copy=False)
    if kind in "iub":
        return values.astype(np.float64)
    if kind in "US":
        out = _parse(values)
        if out is None:
            text = values.astype(str, copy=False)
            bad = next(v for v in np.unique(text[text != ""]) if not _is_number(str(v)))
            raise ValueError(f"column {name!r}: {str(bad)!r} is not a number")
        return out
    raise ValueError(f"column {name!r}: expected numbers or text, got {values.dtype} values")


def to_labels(values: np.ndarray, name: str) -> np.ndarray:
    """``values`` as a unicode array of labels; missing values (NaN, ``""``) become ``""``.

    Integral floats are written without a decimal point (``3.0`` → ``"3"``), so a categorical
    column read as numbers matches the same column read as text.
    """
    kind = values.dtype.kind
    if kind == "U":
        return values
    if kind == "S":
        return values.astype(str)
    if kind == "b":
        return np.where(values, "True", "False")
    if kind in "iuf":
        if len(values) == 0:
            return np.array([], dtype="U1")
        distinct, inverse = np.unique(values, return_inverse=True)
        as_text = str if kind in "iu" else _label
        names = np.array([as_text(v) for v in distinct.tolist()])
        return names[inverse.reshape(-1)]
    raise ValueError(f"column {name!r}: expected numbers or text, got {values.dtype} values")


def infer_kind(values: np.ndarray) -> str:
    """``"numeric"`` or ``"categorical"`` for a column.

    Text that is not all numbers (or is all empty), booleans, and integer-valued columns with
    at most :data:`LOW_CARDINALITY` distinct values are categorical; everything else is numeric.

    Examples
    --------
    >>> infer_kind(np.array([1.5, 2.0, np.nan]))
    'numeric'
    >>> infer_kind(np.array(["a", "b", ""]))
    'categorical'
    >>> infer_kind(np.array([0.0, 1.0, 1.0]))
    'categorical'
    """
    kind = values.dtype.kind
    if kind == "b":
        return CATEGORICAL
    if kind in "US":
        parsed = _parse(values)
        if parsed is None or np.isnan(parsed).all():  # words, or no text at all
            return CATEGORICAL
        numbers = parsed
    elif kind in "iuf":
        numbers = values.astype(np.float64, copy=False)
    else:
        return CATEGORICAL
    finite = numbers[np.isfinite(numbers)]
    if len(finite) == 0 or not np.array_equal(finite, np.floor(finite)):
        return NUMERIC
    return CATEGORICAL if len(np.unique(finite)) <= LOW_CARDINALITY else NUMERIC


def _parse(values: np.ndarray) -> np.ndarray | None:
    """Text as float64 with ``""`` as NaN, or None when some text is not a number."""
    text = values.astype(str, copy=False)
    present = text != ""
    out = np.full(len(text), np.nan)
    try:
        out[present] = text[present].astype(np.float64)
    except ValueError:
        return None
    return out


def _label(v: float) -> str:
    if v != v:
        return ""
    if v.is_integer() and abs(v) < 2.0**53:
        return str(int(v))
    return repr(v)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
