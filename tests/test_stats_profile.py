"""Baseline profiles: kinds, what is kept of each column, quality, the file format."""

from __future__ import annotations

import doctest
import io
import json
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mmtui.stats import (
    categorical,
    columns,
    correction,
    divergence,
    features,
    histogram,
    pvalues,
    quality,
)
from mmtui.stats.drift import compute_drift
from mmtui.stats.features import MAX_EDGES, CategoricalProfile, NumericProfile
from mmtui.stats.profile import (
    PROFILE_VERSION,
    Profile,
    ProfileError,
    build_profile,
    infer_kind,
    load_profile,
    save_profile,
)
from mmtui.stats.quality import classification_metrics, regression_metrics

RNG = np.random.default_rng(11)


@pytest.mark.parametrize(
    "module", [columns, correction, divergence, categorical, histogram, pvalues, quality]
)
def test_docstring_examples(module: object) -> None:
    result = doctest.testmod(module)  # type: ignore[arg-type]
    assert result.attempted > 0 and result.failed == 0


# --- kinds -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (np.array([0.5, 1.25, np.nan]), "numeric"),
        (np.arange(21, dtype=np.float64), "numeric"),  # integers, but 21 distinct values
        (np.arange(20, dtype=np.float64), "categorical"),  # low-cardinality integers
        (np.array([0, 1, 1, 0]), "categorical"),
        (np.array([True, False]), "categorical"),
        (np.array(["a", "b", ""]), "categorical"),
        (np.array(["1.5", "2", ""]), "numeric"),  # numbers written as text
        (np.array(["1", "2", "x"]), "categorical"),
        (np.full(3, np.nan), "numeric"),
        (np.array(["", ""]), "categorical"),
    ],
)
def test_infer_kind(values: np.ndarray, kind: str) -> None:
    assert infer_kind(values) == kind


def test_kinds_are_inferred_and_overridable() -> None:
    table = {
        "x": RNG.normal(size=50),
        "grade": RNG.integers(0, 4, 50).astype(np.float64),
        "city": np.array(["ams", "ber"] * 25),
    }
    inferred = build_profile(table)
    assert {n: f.kind for n, f in inferred.features.items()} == {
        "x": "numeric",
        "grade": "categorical",
        "city": "categorical",
    }
    grade = inferred.features["grade"]
    assert isinstance(grade, CategoricalProfile) and grade.levels == ("0", "1", "2", "3")
    forced = build_profile(table, kinds={"grade": "numeric", "x": "categorical"})
    assert isinstance(forced.features["grade"], NumericProfile)
    assert isinstance(forced.features["x"], CategoricalProfile)


def test_numeric_kind_on_text_names_the_column() -> None:
    with pytest.raises(ValueError, match=r"column 'city': 'ams' is not a number"):
        build_profile({"city": np.array(["ams", "1"])}, kinds={"city": "numeric"})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": "nope"}, "target: column 'nope' is not in the data"),
        ({"exclude": ["nope"]}, "exclude: column 'nope'"),
        ({"kinds": {"x": "ordinal"}}, "kinds: 'x' is 'ordinal'"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_profile({"x": np.arange(3.0)}, **kwargs)  # type: ignore[arg-type]


def test_columns_of_different_lengths() -> None:
    with pytest.raises(ValueError, match="columns differ in length: a=3, b=2"):
        build_profile({"a": np.arange(3.0), "b": np.arange(2.0)})


# --- what a profile keeps ----------------------------------------------------------------


def test_small_numeric_column_is_kept_whole() -> None:
    x = np.array([3.0, 1.0, 2.0, 2.0, np.nan, np.inf, 1.0])
    f = build_profile({"x": x}, kinds={"x": "numeric"}).features["x"]
    assert isinstance(f, NumericProfile) and f.exact
    assert f.edges.tolist() == [1.0, 2.0, 3.0]
    assert f.below.tolist() == [0, 2, 4] and f.at_or_below.tolist() == [2, 4, 5]
    assert (f.n, f.n_missing, f.missing_rate) == (7, 2, 2 / 7)  # NaN and inf are missing
    assert f.mean == pytest.approx(1.8) and f.std == pytest.approx(np.std([3, 1, 2, 2, 1]))


def test_large_numeric_column_keeps_quantile_edges_with_exact_counts() -> None:
    x = RNG.normal(size=50_000)
    f = build_profile({"x": x}).features["x"]
    assert isinstance(f, NumericProfile) and not f.exact
    assert len(f.edges) == MAX_EDGES + 1
    assert (f.edges[0], f.edges[-1]) == (x.min(), x.max())
    xs = np.sort(x)
    assert (f.below == np.searchsorted(xs, f.edges, "left")).all()
    assert (f.at_or_below == np.searchsorted(xs, f.edges, "right")).all()
    assert np.diff(f.at_or_below).max() <= 50_000 / MAX_EDGES + 1


def test_categorical_column() -> None:
    f = build_profile({"c": np.array(["b", "a", "", "b", "c"])}).features["c"]
    assert isinstance(f, CategoricalProfile)
    assert f.levels == ("a", "b", "c") and f.counts.tolist() == [1, 2, 1]
    assert (f.n, f.n_missing, f.other) == (5, 1, 0)


def test_rare_levels_are_pooled_past_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(features, "MAX_LEVELS", 2)
    f = build_profile({"c": np.array(list("aaabbcd"))}).features["c"]
    assert isinstance(f, CategoricalProfile)
    assert f.levels == ("a", "b") and f.counts.tolist() == [3, 2] and f.other == 2


def test_empty_and_all_missing_columns() -> None:
    profile = build_profile({"x": np.full(4, np.nan), "c": np.array(["", ""] * 2)})
    x, c = profile.features["x"], profile.features["c"]
    assert isinstance(x, NumericProfile) and len(x.edges) == 0 and x.n_missing == 4
    assert isinstance(c, CategoricalProfile) and c.levels == () and c.n_missing == 4
    empty = build_profile({"x": np.empty(0)})
    assert empty.n_rows == 0 and empty.features["x"].missing_rate == 0.0


# --- target, prediction, quality ---------------------------------------------------------


def test_classification_profile() -> None:
    table = {
        "x": RNG.normal(size=8),
        "label": np.array(["1", "0", "1", "1", "0", "0", "1", ""]),
        "score": np.array([1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0]),
    }
    profile = build_profile(table, target="label", prediction="score")
    assert list(profile.features) == ["x"]
    assert profile.task == "classification"
    # 7 labelled rows: tp 3, fp 1, fn 1, tn 2
    assert profile.quality == pytest.approx(
        {"accuracy": 5 / 7, "precision": 0.75, "recall": 0.75, "f1": 0.75}
    )
    assert isinstance(profile.prediction_profile, CategoricalProfile)
    assert profile.prediction_profile.levels == ("0", "1")


def test_regression_profile() -> None:
    table = {"x": np.arange(30.0), "y": np.arange(30.0) * 1.5, "yhat": np.arange(30.0) * 1.5 + 2}
    profile = build_profile(table, target="y", prediction="yhat")
    assert profile.task == "regression"
    assert profile.quality == pytest.approx({"mae": 2.0, "rmse": 2.0})
    assert build_profile(table, target="y").quality == {}


def test_classification_metrics_macro_and_positive() -> None:
    truth = np.array(["cat", "dog", "dog", "bird", "cat"])
    guess = np.array(["cat", "dog", "cat", "bird", "dog"])
    m = classification_metrics(truth, guess)
    # per class precision: bird 1, cat 1/2, dog 1/2; recall: bird 1, cat 1/2, dog 1/2
    assert m == pytest.approx({"accuracy": 0.6, "precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3})
    assert classification_metrics(truth, guess, positive="bird")["precision"] == 1.0
    # a class never predicted counts precision 0, not NaN
    never = classification_metrics(np.array(["yes", "no"]), np.array(["no", "no"]))
    assert never == {"accuracy": 0.5, "precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert classification_metrics(np.array([""]), np.array(["a"])) == {}


def test_regression_metrics_skip_missing_pairs() -> None:
    m = regression_metrics(np.array([1.0, np.nan, 3.0]), np.array([2.0, 5.0, 1.0]))
    assert m == pytest.approx({"mae": 1.5, "rmse": np.sqrt(2.5)})
    assert regression_metrics(np.array([np.nan]), np.array([1.0])) == {}


# --- the file ----------------------------------------------------------------------------


def _profile() -> tuple[dict[str, np.ndarray], Profile]:
    table = {
        "x": np.where(RNG.random(30_000) < 0.1, np.nan, RNG.normal(size=30_000)),
        "k": RNG.integers(0, 300, 30_000).astype(np.float64),
        "c": np.array(["a", "b", "c", ""])[RNG.integers(0, 4, 30_000)],
        "y": RNG.integers(0, 2, 30_000).astype(np.float64),
        "p": RNG.integers(0, 2, 30_000).astype(np.float64),
    }
    return table, build_profile(table, target="y", prediction="p", source="val.csv")


def test_round_trip(tmp_path: Path) -> None:
    table, profile = _profile()
    path = tmp_path / "profile"
    save_profile(profile, path)
    assert path.exists() and not (tmp_path / "profile.npz").exists()
    loaded = load_profile(path)
    for attr in ("version", "created", "source", "n_rows", "target", "prediction", "task"):
        assert getattr(loaded, attr) == getattr(profile, attr)
    assert loaded.quality == profile.quality
    assert list(loaded.features) == ["x", "k", "c"]
    for name, f in loaded.features.items():
        g = profile.features[name]
        assert (f.n, f.n_missing) == (g.n, g.n_missing)
        if isinstance(f, NumericProfile):
            assert isinstance(g, NumericProfile)
            for attr in ("edges", "below", "at_or_below", "sum_below"):
                assert (getattr(f, attr) == getattr(g, attr)).all()
            assert (f.mean, f.std) == (g.mean, g.std)
        else:
            assert isinstance(g, CategoricalProfile)
            assert f.levels == g.levels and (f.counts == g.counts).all()
    assert isinstance(loaded.prediction_profile, CategoricalProfile)
    current = {k: v[::-1].copy() for k, v in table.items()}
    before = compute_drift(profile, current)
    assert compute_drift(loaded, current) == before


def _rewrite(path: Path, edit: Callable[[dict[str, Any], dict[str, np.ndarray]], object]) -> None:
    """Rewrite the archive at ``path`` with ``edit(header, arrays)`` applied."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    header = json.loads(str(arrays.pop("header")))
    edit(header, arrays)
    with open(path, "wb") as out:
        np.savez(out, header=np.array(json.dumps(header)), **arrays)


def test_other_version(tmp_path: Path) -> None:
    _, profile = _profile()
    path = tmp_path / "old.npz"
    save_profile(profile, path)
    _rewrite(path, lambda header, arrays: header.update(version=PROFILE_VERSION + 1))
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    assert str(caught.value) == (
        f"profile {path} is version {PROFILE_VERSION + 1}, this mmtui reads version "
        f"{PROFILE_VERSION}"
    )


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=r"nope\.npz: no such profile file"):
        load_profile(tmp_path / "nope.npz")


class _Trap:
    """Unpickling this would create a file."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (self.path, "w"))


def test_pickles_are_never_loaded(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.npz"
    path.write_bytes(pickle.dumps(_Trap(str(marker))))
    with pytest.raises(ProfileError, match="not an mmtui profile or corrupt"):
        load_profile(path)
    # the same object inside an archive, as an object array
    buffer = io.BytesIO()
    np.savez(buffer, header=np.array([_Trap(str(marker))], dtype=object))
    path.write_bytes(buffer.getvalue())
    with pytest.raises(ProfileError):
        load_profile(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "content",
    [b"", b"not a profile at all\n", b"PK\x03\x04 truncated zip"],
)
def test_corrupt_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    with pytest.raises(ProfileError, match=r"bad\.npz: not an mmtui profile"):
        load_profile(path)


def test_plain_npy_and_foreign_archives(tmp_path: Path) -> None:
    path = tmp_path / "a.npz"
    np.save(path.open("wb"), np.arange(3))
    with pytest.raises(ProfileError, match="not an .npz archive"):
        load_profile(path)
    with open(path, "wb") as out:
        np.savez(out, data=np.arange(3))
    with pytest.raises(ProfileError, match="no header"):
        load_profile(path)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("header.npy", b"garbage")
    with pytest.raises(ProfileError, match="not an mmtui profile or corrupt"):
        load_profile(path)


@pytest.mark.parametrize(
    "edit",
    [
        lambda h, a: a.pop("edges"),  # a missing array
        lambda h, a: a.update(below=a["below"][:-1]),  # the last feature runs off the end
        lambda h, a: a.update(at_or_below=a["at_or_below"][::-1].copy()),
        lambda h, a: a.update(edges=a["edges"].astype(np.int64)),  # wrong type
        lambda h, a: h["features"][0].update(size=5),  # sizes do not match
        lambda h, a: h["features"][2].update(n=-1),  # counts do not add up
        lambda h, a: h["features"][0].update(kind="ordinal"),
        lambda h, a: h.update(n_rows="many"),
        lambda h, a: a.update(levels=a["levels"][::-1].copy()),  # unsorted levels
    ],
)
def test_inconsistent_contents(
    tmp_path: Path, edit: Callable[[dict[str, Any], dict[str, np.ndarray]], object]
) -> None:
    _, profile = _profile()
    path = tmp_path / "p.npz"
    save_profile(profile, path)
    _rewrite(path, edit)
    with pytest.raises(ProfileError, match=r"p\.npz: not an mmtui profile or corrupt \("):
        load_profile(path)
