"""Baseline profiles: what drift and quality are measured against, built from validation data.

File format (version :data:`PROFILE_VERSION`): one ``.npz`` archive (zip of ``.npy`` arrays;
counts and text deflated, floats stored) read with ``allow_pickle=False``, so loading never
executes anything from the file. Member ``header`` is a JSON text: ``{"format":
"mmtui-profile", "version", "created", "source", "n_rows", "target", "prediction", "task",
"quality", "features": [...], "prediction_profile"}``, each feature ``{"name", "kind", "n",
"n_missing", "start", "size"}`` plus ``"mean", "std"`` (numeric) or ``"other"`` (categorical).
The other members concatenate the features' arrays (see :mod:`mmtui.stats.features`), a feature
owning ``[start, start + size)`` of each of its kind's: ``edges``, ``below``, ``at_or_below``,
``sum_below`` (float64, int64, int64, float64) for numeric features, ``levels``, ``counts``
(unicode, int64) for categorical ones.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from mmtui.stats.columns import CATEGORICAL, KINDS, NUMERIC, infer_kind, to_float, to_labels
from mmtui.stats.features import (
    CategoricalProfile,
    FeatureProfile,
    NumericProfile,
    summarise_categorical,
    summarise_numeric,
)
from mmtui.stats.quality import classification_metrics, regression_metrics

__all__ = [
    "PROFILE_VERSION",
    "CategoricalProfile",
    "FeatureProfile",
    "NumericProfile",
    "Profile",
    "ProfileError",
    "build_profile",
    "infer_kind",
    "load_profile",
    "save_profile",
]

PROFILE_VERSION = 1
"""Bumped on any change a previous reader would misread."""

_FORMAT = "mmtui-profile"


class ProfileError(ValueError):
    """A profile file is missing, unreadable, corrupt or of another version (one-line message)."""


@dataclass(frozen=True, eq=False)
class Profile:
    """A baseline: per-feature reference distributions, the prediction's, and model quality."""

    version: int
    created: str
    """ISO 8601 time the profile was built (UTC)."""
    source: str
    n_rows: int
    features: dict[str, FeatureProfile]
    """Input features only (not the target or the prediction), in the data's column order."""
    target: str | None = None
    prediction: str | None = None
    prediction_profile: FeatureProfile | None = None
    task: str | None = None
    """``"classification"`` or ``"regression"`` (from the target's kind, else the prediction's)."""
    quality: dict[str, float] = field(default_factory=dict)
    """Accuracy/precision/recall/f1 or mae/rmse on the validation data; {} without both columns."""
    cache: dict[Any, Any] = field(default_factory=dict, init=False, repr=False)
    """Derived arrays drift checks reuse between calls (plans per window size)."""


def build_profile(
    table: Mapping[str, np.ndarray],
    *,
    kinds: Mapping[str, str] | None = None,
    target: str | None = None,
    prediction: str | None = None,
    exclude: Collection[str] = (),
    source: str = "",
) -> Profile:
    """Profile every column of ``table`` except ``exclude``, ``target`` and ``prediction``.

    Parameters
    ----------
    table
        Column name → 1-D array (float64 with NaN, or unicode with ``""`` for missing).
    kinds
        ``"numeric"`` or ``"categorical"`` per column, overriding :func:`infer_kind`.
    target, prediction
        Label and model-output columns; with both, the profile holds the model's quality.

    Raises
    ------
    ValueError
        A named column is not in the table, a kind is unknown, columns differ in length, or a
        column forced numeric holds text.
    """
    kinds = dict(kinds or {})
    lengths = {name: len(values) for name, values in table.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{k}={v}" for k, v in lengths.items())
        raise ValueError(f"columns differ in length: {shown}")
    named = [("target", target), ("prediction", prediction)]
    named += [("exclude", name) for name in exclude] + [("kinds", name) for name in kinds]
    for role, name in named:
        if name is not None and name not in table:
            raise ValueError(f"{role}: column {name!r} is not in the data")
    for name, kind in kinds.items():
        if kind not in KINDS:
            raise ValueError(f"kinds: {name!r} is {kind!r}; expected one of {', '.join(KINDS)}")
    skip = {*exclude, target, prediction}
    features = {
        name: _summarise(name, np.asarray(values), kinds.get(name))
        for name, values in table.items()
        if name not in skip
    }
    task = quality = None
    role_kind = None
    if target is not None:
        role_kind = kinds.get(target) or infer_kind(np.asarray(table[target]))
    elif prediction is not None:
        role_kind = kinds.get(prediction) or infer_kind(np.asarray(table[prediction]))
    if role_kind is not None:
        task = "classification" if role_kind == CATEGORICAL else "regression"
    if target is not None and prediction is not None:
        truth, guess = np.asarray(table[target]), np.asarray(table[prediction])
        if task == "classification":
            quality = classification_metrics(truth, guess)
        else:
            quality = regression_metrics(truth, guess)
    return Profile(
        version=PROFILE_VERSION,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        source=source,
        n_rows=next(iter(lengths.values()), 0),
        features=features,
        target=target,
        prediction=prediction,
        prediction_profile=(
            None
            if prediction is None
            else _summarise(prediction, np.asarray(table[prediction]), kinds.get(prediction))
        ),
        task=task,
        quality=quality or {},
    )


def _summarise(name: str, values: np.ndarray, kind: str | None) -> FeatureProfile:
    if values.ndim != 1:
        raise ValueError(f"column {name!r}: expected a 1-D array, got shape {values.shape}")
    if (kind or infer_kind(values)) == NUMERIC:
        return summarise_numeric(name, to_float(values, name))
    return summarise_categorical(name, to_labels(values, name))


def save_profile(profile: Profile, path: str | Path) -> None:
    """Write ``profile`` to ``path`` (replaced atomically; no extension is added)."""
    path = Path(path)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in _ARRAYS}
    features = [_pack(f, parts) for f in profile.features.values()]
    prediction = profile.prediction_profile
    header = {
        "format": _FORMAT,
        "version": profile.version,
        "created": profile.created,
        "source": profile.source,
        "n_rows": profile.n_rows,
        "target": profile.target,
        "prediction": profile.prediction,
        "task": profile.task,
        "quality": profile.quality,
        "features": features,
        "prediction_profile": None if prediction is None else _pack(prediction, parts),
    }
    arrays = {"header": np.array(json.dumps(header))}
    for name, dtype in _ARRAYS.items():
        arrays[name] = np.concatenate(parts[name]) if parts[name] else np.empty(0, dtype)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        _write_npz(tmp, arrays)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


_ARRAYS = {
    "edges": np.float64,
    "below": np.int64,
    "at_or_below": np.int64,
    "sum_below": np.float64,
    "levels": np.str_,
    "counts": np.int64,
}
"""The archive's arrays: each the concatenation of one array of every feature."""


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez``, with counts and text deflated and floats stored: floats hardly compress,
    and inflating them would cost most of a load."""
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy")
            floats = array.dtype.kind == "f"
            info.compress_type = zipfile.ZIP_STORED if floats else zipfile.ZIP_DEFLATED
            with archive.open(info, "w") as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def _pack(feature: FeatureProfile, parts: dict[str, list[np.ndarray]]) -> dict[str, Any]:
    if isinstance(feature, NumericProfile):
        own = {
            "edges": feature.edges,
            "below": feature.below,
            "at_or_below": feature.at_or_below,
            "sum_below": feature.sum_below,
        }
        extra: dict[str, Any] = {"mean": feature.mean, "std": feature.std}
    else:
        own = {"levels": feature.level_array, "counts": feature.counts}
        extra = {"other": feature.other}
    first = next(iter(own))
    start, size = sum(len(a) for a in parts[first]), len(own[first])
    for name, array in own.items():
        parts[name].append(array)
    head = {"name": feature.name, "kind": feature.kind, "n": feature.n}
    return head | {"n_missing": feature.n_missing, "start": start, "size": size} | extra


def load_profile(path: str | Path) -> Profile:
    """Read a profile written by :func:`save_profile`.

    Raises
    ------
    ProfileError
        The file is missing or unreadable, is not a profile, is corrupt, or is of another version.
    """
    from zipfile import BadZipFile  # np.load's error for a broken archive

    path = Path(path)
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ProfileError(f"{path}: not an mmtui profile (not an .npz archive)")
        with archive:
            if "header" not in archive:
                raise ProfileError(f"{path}: not an mmtui profile (no header)")
            header = json.loads(str(archive["header"][()]))
            _check_version(header, path)
            arrays = {name: archive[name] for name in archive.files if name != "header"}
        return _unpack_profile(header, arrays)
    except ProfileError:
        raise
    except FileNotFoundError:
        raise ProfileError(f"{path}: no such profile file") from None
    except OSError as e:
        raise ProfileError(f"{path}: cannot read the profile ({e.strerror or e})") from None
    except (ValueError, KeyError, TypeError, EOFError, BadZipFile) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ProfileError(f"{path}: not an mmtui profile or corrupt ({reason})") from None


def _check_version(header: Any, path: Path) -> None:
    if not isinstance(header, dict) or header.get("format") != _FORMAT:
        raise ProfileError(f"{path}: not an mmtui profile (no {_FORMAT} header)")
    version = header.get("version")
    if version != PROFILE_VERSION:
        raise ProfileError(
            f"profile {path} is version {version}, this mmtui reads version {PROFILE_VERSION}"
        )


def _unpack_profile(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> Profile:
    features = [_unpack(h, arrays) for h in _typed(header, "features", list)]
    prediction = header.get("prediction_profile")
    quality = _typed(header, "quality", dict)
    return Profile(
        version=PROFILE_VERSION,
        created=_typed(header, "created", str),
        source=_typed(header, "source", str),
        n_rows=_typed(header, "n_rows", int),
        features={f.name: f for f in features},
        target=_optional(header, "target"),
        prediction=_optional(header, "prediction"),
        prediction_profile=None if prediction is None else _unpack(prediction, arrays),
        task=_optional(header, "task"),
        quality={str(k): float(v) for k, v in quality.items()},
    )


def _unpack(head: Any, arrays: dict[str, np.ndarray]) -> FeatureProfile:
    if not isinstance(head, dict):
        raise ValueError("a feature entry is not an object")
    name = _typed(head, "name", str)
    n, n_missing = _typed(head, "n", int), _typed(head, "n_missing", int)
    start, size = _typed(head, "start", int), _typed(head, "size", int)

    def part(key: str) -> np.ndarray:
        whole = arrays.get(key)
        if whole is None or whole.ndim != 1 or whole.dtype.kind != _KINDS[key]:
            raise ValueError(f"array {key!r} is missing or malformed")
        if not 0 <= start <= start + size <= len(whole):
            raise ValueError(f"feature {name!r} lies outside array {key!r}")
        return whole[start : start + size]

    kind = head.get("kind")
    if kind == NUMERIC:
        mean, std = _typed(head, "mean", (int, float)), _typed(head, "std", (int, float))
        return NumericProfile(
            name,
            n,
            n_missing,
            part("edges"),
            part("below"),
            part("at_or_below"),
            part("sum_below"),
            float(mean),
            float(std),
        )
    if kind == CATEGORICAL:
        levels = tuple(part("levels").tolist())
        return CategoricalProfile(
            name, n, n_missing, levels, part("counts"), _typed(head, "other", int)
        )
    raise ValueError(f"feature {name!r} has unknown kind {kind!r}")


_KINDS = {name: np.dtype(dtype).kind for name, dtype in _ARRAYS.items()}


def _typed(obj: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = obj.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"header key {key!r} is missing or of the wrong type")
    return value


def _optional(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"header key {key!r} is not text")
    return value
