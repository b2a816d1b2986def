"""``mmtui baseline build`` and ``mmtui drift`` on generated CSV files: verdicts, exit codes,
outputs and one-line errors."""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mmtui.commands import baseline, drift

N = 3000
SHIFTED = ["income", "age", "channel"]
COLUMNS = ["income", "age", "score", "tenure", "channel", "region", "label", "pred"]


def table(seed: int, shifted: bool) -> dict[str, list[object]]:
    rng = np.random.default_rng(seed)
    move = 0.5 if shifted else 0.0
    channel_p = [0.6, 0.2, 0.2] if shifted else [0.34, 0.33, 0.33]
    label = rng.integers(0, 2, N)
    return {
        "income": (rng.lognormal(10, 0.5, N) * (1.3 if shifted else 1.0)).round(2).tolist(),
        "age": (rng.normal(40, 10, N) + 10 * move).round(1).tolist(),
        "score": rng.normal(size=N).tolist(),
        "tenure": rng.integers(0, 5, N).tolist(),
        "channel": rng.choice(["web", "app", "store"], N, p=channel_p).tolist(),
        "region": rng.choice(["north", "south", "east", "west"], N).tolist(),
        "label": label.tolist(),
        "pred": np.where(rng.uniform(size=N) < 0.8, label, 1 - label).tolist(),
    }


def write_csv(path: Path, columns: dict[str, list[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(columns)
        out.writerows(zip(*columns.values(), strict=True))
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("drift")
    return {
        "ref": write_csv(d / "ref.csv", table(1, False)),
        "same": write_csv(d / "same.csv", table(2, False)),
        "shifted": write_csv(d / "shifted.csv", table(3, True)),
    }


@pytest.fixture(scope="module")
def profile(files: dict[str, Path]) -> Path:
    out = files["ref"].with_name("ref.npz")
    code = baseline.run(build_args(files["ref"], out=out, target="label", prediction="pred"))
    assert code == 0
    return out


def build_args(data: Path | str, **options: object) -> argparse.Namespace:
    values = {"out": None, "target": None, "prediction": None, "categorical": None,
              "exclude": None, **options}
    return argparse.Namespace(data=str(data), **{k: v and str(v) for k, v in values.items()})


def drift_args(base: Path | str, current: Path | str, **options: object) -> argparse.Namespace:
    values: dict[str, object] = {"format": "text", "out": None, "fail_on_drift": False, **options}
    return argparse.Namespace(baseline=str(base), current=str(current), **values)


def assert_one_line_error(err: str, *fragments: str) -> None:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("mmtui: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def test_build_summary(files: dict[str, Path], tmp_path: Path,
                       capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "p.npz"
    code = baseline.run(build_args(files["ref"], out=out, target="label", prediction="pred",
                                   exclude="region"))
    assert code == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == str(out)
    assert out.is_file()
    err = captured.err
    assert f"{N:,} rows, 8 columns" in err
    kinds = dict(
        line.split()[:2] for line in err.splitlines() if line.startswith("  ")
    )
    assert kinds == {"income": "numeric", "age": "numeric", "score": "numeric",
                     "tenure": "categorical", "channel": "categorical"}
    assert "target 'label', prediction 'pred' (classification)" in err
    quality = next(line for line in err.splitlines() if line.startswith("quality"))
    accuracy = float(quality.split("accuracy ")[1].split(",")[0])
    assert 0.77 < accuracy < 0.83  # the predictions are right 80% of the time
    assert "precision" in quality and "recall" in quality and "f1" in quality


def test_build_default_out_and_categorical_override(
    files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert baseline.run(build_args(files["ref"], categorical="age, score")) == 0
    assert (tmp_path / "ref.profile.npz").is_file()
    err = capsys.readouterr().err
    kinds = dict(line.split()[:2] for line in err.splitlines() if line.startswith("  "))
    assert kinds["age"] == kinds["score"] == "categorical"
    assert kinds["income"] == "numeric"


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"target": "nope"}, "--target: "),
        ({"prediction": "nope"}, "--prediction: "),
        ({"categorical": "age,nope"}, "--categorical: "),
        ({"exclude": "nope"}, "--exclude: "),
        ({"exclude": "age,,score"}, "empty column name"),
        ({"exclude": "income,age,score,tenure,channel,region", "target": "label",
          "prediction": "pred"}, "no features left"),
    ],
)
def test_build_unknown_columns(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    options: dict[str, str], fragment: str,
) -> None:
    code = baseline.run(build_args(files["ref"], out=tmp_path / "p.npz", **options))
    assert code == 2
    assert_one_line_error(capsys.readouterr().err, fragment)
    assert not (tmp_path / "p.npz").exists()


def test_build_bad_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1,2\n3\n", encoding="utf-8")
    assert baseline.run(build_args(ragged, out=tmp_path / "p.npz")) == 2
    assert_one_line_error(capsys.readouterr().err, "ragged.csv line 3: expected 2 fields, found 1")
    header_only = tmp_path / "header.csv"
    header_only.write_text("a,b\n", encoding="utf-8")
    assert baseline.run(build_args(header_only, out=tmp_path / "p.npz")) == 2
    assert_one_line_error(capsys.readouterr().err, "header.csv: no data rows")
    unwritable = tmp_path / "no-such-dir" / "p.npz"
    assert baseline.run(build_args(header_only.with_name("ragged.csv"), out=unwritable)) == 2
    capsys.readouterr()
    good = tmp_path / "good.csv"
    good.write_text("a,b\n1,x\n2,y\n", encoding="utf-8")
    assert baseline.run(build_args(good, out=unwritable)) == 2
    assert_one_line_error(capsys.readouterr().err, "cannot write the profile to", "p.npz")


def test_shifted_file_flags_its_drifted_columns(
    profile: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code = drift.run(drift_args(profile, files["shifted"], format="json"))
    assert code == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["drifted_features"] == SHIFTED
    assert doc["n_reference"] == doc["n_current"] == N
    assert [f["name"] for f in doc["features"]] == ["income", "age", "score", "tenure",
                                                     "channel", "region"]
    assert doc["dataset_drift"] is True
    assert captured.err == ""


def test_same_distribution_does_not_drift(
    profile: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code = drift.run(drift_args(profile, files["same"], format="json", fail_on_drift=True))
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["drifted_features"] == []
    assert doc["dataset_drift"] is False


def test_fail_on_drift(profile: Path, files: dict[str, Path],
                       capsys: pytest.CaptureFixture[str]) -> None:
    assert drift.run(drift_args(profile, files["shifted"], fail_on_drift=True)) == 1
    out = capsys.readouterr().out
    assert out.startswith("Drift report: DATASET DRIFT: 3 of 6 features drifted")


def test_out_writes_the_report(profile: Path, files: dict[str, Path], tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.html"
    assert drift.run(drift_args(profile, files["shifted"], format="html", out=out)) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == f"wrote {out}: dataset drift, 3 of 6 features drifted"
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 3


def test_missing_feature_is_all_missing(profile: Path, files: dict[str, Path], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    columns = table(2, False)
    del columns["region"]
    current = write_csv(tmp_path / "no_region.csv", columns)
    assert drift.run(drift_args(profile, current, format="json")) == 0
    captured = capsys.readouterr()
    assert "warning: " in captured.err and "no column region" in captured.err
    assert json.loads(captured.out)["drifted_features"] == ["region"]


def test_text_in_a_numeric_feature_is_missing(
    profile: Path, files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    columns = table(2, False)
    columns["income"] = ["lots" if i % 10 == 3 else v for i, v in enumerate(columns["income"])]
    current = write_csv(tmp_path / "text.csv", columns)
    assert drift.run(drift_args(profile, current, format="json")) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["drifted_features"] == ["income"]
    assert doc["features"][0]["method"] == "ks+missing"
    assert captured.err.strip() == (
        f"mmtui: warning: {current} column 'income': {N // 10} values are not numbers "
        "(first 'lots' on row 4): counted as missing"
    )


def other_version(profile: Path, tmp_path: Path) -> Path:
    """A copy of ``profile`` whose header claims version 999."""
    with np.load(profile, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    header = json.loads(str(arrays["header"][()]))
    header["version"] = 999
    arrays["header"] = np.array(json.dumps(header))
    out = tmp_path / "v999.npz"
    np.savez(out, **arrays)
    return out


@pytest.mark.parametrize("case", ["no profile", "not a profile", "other version", "no data",
                                  "ragged", "empty", "header only", "not utf-8", "bad out"])
def test_drift_errors(case: str, profile: Path, files: dict[str, Path], tmp_path: Path,
                      capsys: pytest.CaptureFixture[str]) -> None:
    base: Path = profile
    current: Path = files["same"]
    options: dict[str, object] = {}
    if case == "no profile":
        base, fragments = tmp_path / "missing.npz", ["missing.npz"]
    elif case == "not a profile":
        base, fragments = files["ref"], ["ref.csv", "not an mmtui profile"]
    elif case == "other version":
        base, fragments = other_version(profile, tmp_path), ["version 999", "reads version"]
    elif case == "no data":
        current, fragments = tmp_path / "missing.csv", ["missing.csv"]
    elif case == "ragged":
        lines = files["same"].read_text(encoding="utf-8").splitlines()
        lines[16] = lines[16].rsplit(",", 1)[0]
        current = tmp_path / "ragged.csv"
        current.write_text("\n".join(lines) + "\n", encoding="utf-8")
        fragments = ["ragged.csv line 17: expected 8 fields, found 7"]
    elif case == "empty":
        current = tmp_path / "empty.csv"
        current.write_text("", encoding="utf-8")
        fragments = ["empty.csv: empty file"]
    elif case == "header only":
        current = tmp_path / "header.csv"
        current.write_text(",".join(COLUMNS) + "\n", encoding="utf-8")
        fragments = ["header.csv: no data rows"]
    elif case == "not utf-8":
        current = tmp_path / "latin1.csv"
        current.write_bytes("income,region\n1,north\n2,Malmö\n".encode("latin-1"))
        fragments = ["latin1.csv line 3: not UTF-8"]
    else:
        options["out"] = tmp_path / "no-such-dir" / "r.txt"
        fragments = ["cannot write the report to", "r.txt"]
    code = drift.run(drift_args(base, current, **options))
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert_one_line_error(captured.err, *fragments)


CLI = "import sys; from mmtui.cli import main; sys.exit(main())"


def test_through_the_cli(profile: Path, files: dict[str, Path], tmp_path: Path) -> None:
    pytest.importorskip("mmtui.cli")
    run = [sys.executable, "-c", CLI]
    proc = subprocess.run([*run, "drift", str(profile), str(files["shifted"]), "--format",
                           "json", "--fail-on-drift"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["drifted_features"] == SHIFTED
    bad = tmp_path / "bad.csv"
    bad.write_text("income,age\n1,2\n3\n", encoding="utf-8")
    proc = subprocess.run([*run, "drift", str(profile), str(bad)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert_one_line_error(proc.stderr, "bad.csv line 3: expected 2 fields, found 1")
