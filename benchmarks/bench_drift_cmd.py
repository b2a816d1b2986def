"""Drift command benchmark: ``mmtui drift PROFILE CURRENT.csv`` as a whole process.

Run as ``.venv/bin/python benchmarks/bench_drift_cmd.py [--rows N] [--runs K]``. Writes the drift
issue's seeded data set (``benchmarks/drift_data.py``: 20 numeric columns, 10 shifted by 0.1
sd, 5 categorical, one moved 5 points) as ``ref.csv`` and ``cur.csv`` in a temporary folder,
builds the profile with ``mmtui baseline build``, then times (median of K runs, each a new
process, Python start and imports included):

- ``mmtui drift PROFILE cur.csv --format json``;
- a ``pandas.read_csv`` + scipy script doing the same comparison: it reads ``ref.csv`` and
  ``cur.csv`` (it has no profile), runs ``ks_2samp`` per numeric column and
  ``chi2_contingency`` per categorical one, Benjamini-Hochberg across features, prints the JSON.
  The script times its own phases, so the ratio without its reference read is printed too.

pandas is not an mmtui dependency: install it into the venv for the comparison
(``.venv/bin/pip install pandas``); without it the comparison is skipped.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from drift_data import drifted_columns, make_dataset  # noqa: E402

PANDAS_SCRIPT = r'''
import json, sys, time
t0 = time.perf_counter()
import numpy as np
import pandas as pd
from scipy import stats
t1 = time.perf_counter()
ref = pd.read_csv(sys.argv[1])
t2 = time.perf_counter()
cur = pd.read_csv(sys.argv[2])
t3 = time.perf_counter()
features = []
for name in ref.columns:
    r, c = ref[name].dropna(), cur[name].dropna()
    if ref[name].dtype.kind == "f":
        kind, method = "numeric", "ks"
        statistic, p = stats.ks_2samp(r, c)
    else:
        kind, method = "categorical", "chi2"
        levels = sorted(set(r) | set(c))
        counts = [r.value_counts().reindex(levels, fill_value=0),
                  c.value_counts().reindex(levels, fill_value=0)]
        statistic, p, _, _ = stats.chi2_contingency(np.array(counts))
    features.append({"name": name, "kind": kind, "method": method,
                     "statistic": float(statistic), "p_value": float(p)})
for f in features:  # Bonferroni, mmtui's default correction
    f["drifted"] = bool(f["p_value"] <= 0.05 / len(features))
drifted = [f["name"] for f in features if f["drifted"]]
share = len(drifted) / len(features)
print(json.dumps({"baseline": sys.argv[1], "n_reference": len(ref), "n_current": len(cur),
                  "correction": "bonferroni", "features": features, "drifted_features": drifted,
                  "drift_share": share, "dataset_drift": share >= 0.5}))
t4 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "read_reference": t2 - t1, "read_current": t3 - t2,
                  "tests": t4 - t3}), file=sys.stderr)
'''


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> str:
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    versions = [f"Python {platform.python_version()}", f"numpy {np.__version__}"]
    for name in ("scipy", "pandas"):
        if importlib.util.find_spec(name):
            versions.append(f"{name} {__import__(name).__version__}")
    return (
        f"CPU {cpu_model()}, {os.cpu_count()} cores, load {load}\n"
        f"{', '.join(versions)}, {platform.system()} {platform.release()}"
    )


def write_csv(path: Path, table: dict[str, np.ndarray]) -> None:
    names = list(table)
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(names)
        out.writerows(zip(*(table[n].tolist() for n in names), strict=True))


def timed(cmd: list[str], runs: int) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Median wall time of ``runs`` runs of ``cmd``, and the last run."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - start)
        if proc.returncode not in (0, 1):
            sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return statistics.median(times), proc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(machine())
    python = sys.executable
    mmtui = [python, "-c", "import sys; from mmtui.cli import main; sys.exit(main())"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ref_csv, cur_csv, profile = folder / "ref.csv", folder / "cur.csv", folder / "ref.npz"
        reference, current = make_dataset(args.rows, seed=0)
        write_csv(ref_csv, reference)
        write_csv(cur_csv, current)
        mb = cur_csv.stat().st_size / 1e6
        print(f"data: {args.rows:,} rows x {len(current)} columns, cur.csv {mb:.1f} MB")
        subprocess.run(
            [*mmtui, "baseline", "build", str(ref_csv), "--out", str(profile)],
            check=True, capture_output=True,
        )
        ours, proc = timed(
            [*mmtui, "drift", str(profile), str(cur_csv), "--format", "json"], args.runs
        )
        found = json.loads(proc.stdout)["drifted_features"]
        right = sorted(found) == sorted(drifted_columns())
        print(f"mmtui drift (whole process, median of {args.runs}): {ours:.3f} s; "
              f"flags {len(found)} columns, {'the 11 drifted ones' if right else 'WRONG'}")
        if importlib.util.find_spec("pandas") is None:
            print("pandas is not installed: comparison skipped (.venv/bin/pip install pandas)")
            return 0 if right else 1
        script = folder / "pandas_drift.py"
        script.write_text(PANDAS_SCRIPT, encoding="utf-8")
        theirs, proc = timed([python, str(script), str(ref_csv), str(cur_csv)], args.runs)
        phases = json.loads(proc.stderr.strip().splitlines()[-1])
        found = json.loads(proc.stdout)["drifted_features"]
        print(f"pandas.read_csv + scipy script (median of {args.runs}): {theirs:.3f} s "
              f"(imports {phases['imports']:.2f}, read ref {phases['read_reference']:.2f}, "
              f"read cur {phases['read_current']:.2f}, tests {phases['tests']:.2f}); "
              f"flags {len(found)} columns")
        without_ref = theirs - phases["read_reference"]
        print(f"ratio mmtui / pandas script: {ours / theirs:.2f} (goal <= 0.5); "
              f"against the script without its reference read: {ours / without_ref:.2f}")
    return 0 if right else 1


if __name__ == "__main__":
    sys.exit(main())
