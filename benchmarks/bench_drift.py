"""Drift statistics benchmark: in-process drift checks on the drift issue's data set.

Run as ``.venv/bin/python benchmarks/bench_drift.py [--rows N ...] [--rounds K]``. For each size
(default 100,000 and 1,000,000 rows per table) it generates the seeded data set of
``benchmarks/drift_data.py`` (20 numeric columns, 10 shifted by 0.1 sd, 5 categorical, one moved
5 points of mass), then prints:

- ``build_profile`` on the reference table, the profile file's size and ``load_profile``;
- whether the default ``compute_drift`` flags exactly the 11 drifted columns;
- ``compute_drift`` against the loaded profile (every feature's test, correction and flags; two
  threads on large tables, and on one thread), and scipy's per-column loop on the same arrays
  (``ks_2samp`` per numeric column, ``np.unique`` counts and ``chi2_contingency`` per categorical
  one), taking turns within each round so a busy machine slows both alike; the ratio of the
  medians and the median of the per-round ratios;

then the streaming figures, a 5,000-row window (25 features) against the 100k-row profile:

- the monitor's update: a ``RecordWindow`` of 5,000 records gets 250 more (125 records/s at a
  2 s interval), then what ``RecordsTracker.evaluate`` runs is timed: the window's table, level
  codes and edge positions (as records arrive, its categorical values are matched to the
  profile's levels and its numeric values placed among the profile's edges and counted), and
  ``compute_drift``. Adding the records (the feed's cost, placing included) is printed apart;
- ``compute_drift`` of plain 5,000-row tables (no window: values sorted, labels matched to
  levels in the call), over many windows (on two threads and on one).

Nothing here asserts timings.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy
from scipy import stats

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from drift_data import drifted_columns, make_dataset  # noqa: E402

from mmtui.feeds.records import Record  # noqa: E402
from mmtui.stats import compare  # noqa: E402
from mmtui.stats.drift import compute_drift  # noqa: E402
from mmtui.stats.profile import Profile, build_profile, load_profile, save_profile  # noqa: E402
from mmtui.stats.window import RecordWindow  # noqa: E402

WINDOW = 5_000


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
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"machine: {cpu_model()}, {usable} cores usable (load average {load})\n"
        f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}"
    )


def best_of(runs: int, work: Callable[[], object]) -> float:
    """The shortest of ``runs`` timings of ``work``, in seconds."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def scipy_loop(reference: dict[str, np.ndarray], current: dict[str, np.ndarray]) -> list[float]:
    """What a scipy user writes: one test per column, p-values in column order."""
    p_values = []
    for name, ref in reference.items():
        cur = current[name]
        if ref.dtype.kind == "f":
            p_values.append(float(stats.ks_2samp(ref, cur).pvalue))
        else:
            levels = np.unique(np.concatenate((ref, cur)))
            table = np.vstack((_counts(ref, levels), _counts(cur, levels)))
            p_values.append(float(stats.chi2_contingency(table).pvalue))
    return p_values


def _counts(values: np.ndarray, levels: np.ndarray) -> np.ndarray:
    found, counts = np.unique(values, return_counts=True)
    out = np.zeros(len(levels), np.int64)
    out[np.searchsorted(levels, found)] = counts
    return out


def single_thread(work: Callable[[], object]) -> Callable[[], object]:
    def run() -> object:
        saved = compare.PARALLEL_VALUES
        compare.PARALLEL_VALUES = sys.maxsize
        try:
            return work()
        finally:
            compare.PARALLEL_VALUES = saved

    return run


def bench_size(rows: int, rounds: int) -> None:
    print(f"\n--- {rows:,} reference rows + {rows:,} current rows, 25 columns")
    start = time.perf_counter()
    reference, current = make_dataset(rows, seed=0)
    print(f"data set generated in {time.perf_counter() - start:.1f} s")

    build_runs = 3 if rows <= 200_000 else 1
    profile = build_profile(reference, source="drift_data")
    build = best_of(build_runs, lambda: build_profile(reference, source="drift_data"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ref.profile.npz"
        save_profile(profile, path)
        size = path.stat().st_size
        load = best_of(5, lambda: load_profile(path))
        loaded = load_profile(path)
    print(f"build_profile {build * 1e3:8.1f} ms (best of {build_runs})")
    print(f"profile file  {size / 1024:8.0f} KB, load_profile {load * 1e3:.1f} ms (best of 5)")

    result = compute_drift(loaded, current)
    flagged, expected = set(result.drifted_features), set(drifted_columns())
    verdict = (
        "yes"
        if flagged == expected
        else (f"NO: missed {sorted(expected - flagged)}, false alarms {sorted(flagged - expected)}")
    )
    print(f"default settings flag exactly the {len(expected)} drifted columns: {verdict}")

    ours: list[float] = []
    ours_single: list[float] = []
    theirs: list[float] = []
    one_thread = single_thread(lambda: compute_drift(loaded, current))
    for _ in range(rounds):
        ours.append(best_of(1, lambda: compute_drift(loaded, current)))
        ours_single.append(best_of(1, one_thread))
        theirs.append(best_of(1, lambda: scipy_loop(reference, current)))
    med_ours, med_single = statistics.median(ours), statistics.median(ours_single)
    med_theirs = statistics.median(theirs)
    per_round = statistics.median(t / o for t, o in zip(theirs, ours, strict=True))
    print(
        f"compute_drift         {med_ours * 1e3:8.1f} ms median of {rounds} "
        f"(best {min(ours) * 1e3:.1f})"
    )
    print(
        f"compute_drift 1 thread{med_single * 1e3:8.1f} ms median (best "
        f"{min(ours_single) * 1e3:.1f})"
    )
    print(f"scipy per-column loop {med_theirs * 1e3:8.1f} ms median (best {min(theirs) * 1e3:.1f})")
    print(
        f"ratio scipy / ours: {med_theirs / med_ours:.1f}x (medians), {per_round:.1f}x "
        f"(median per round); one thread: {med_theirs / med_single:.1f}x"
    )


def bench_window(profile: Profile, current: dict[str, np.ndarray], updates: int) -> None:
    """The monitor's update: a RecordWindow of 5,000 records, 250 more between updates (125
    records/s at a 2 s interval), then what RecordsTracker.evaluate runs."""
    slide = 250
    names = list(current)
    rows = WINDOW + slide * (updates + 1)
    columns = dict(zip(names, (current[name][:rows].tolist() for name in names), strict=True))

    def records(start: int, stop: int) -> list[Record]:
        """Made just before they are added, and garbage after, as a feed's are (thousands of
        live Records would make the garbage collector's passes the figure)."""
        return [
            Record(str(i), float(i), {name: col[i] for name, col in columns.items()}, 0.0)
            for i in range(start, stop)
        ]

    window = RecordWindow(WINDOW, profile=profile)
    window.add(records(0, WINDOW))
    times: list[float] = []
    adds: list[float] = []
    for k in range(updates):
        start = WINDOW + k * slide
        batch = records(start, start + slide)
        t0 = time.perf_counter()
        window.add(batch)
        del batch
        t1 = time.perf_counter()
        compute_drift(
            profile, window.table(), codes=window.codes(), positions=window.positions()
        )
        times.append(time.perf_counter() - t1)
        adds.append(t1 - t0)
    ms = np.array(times) * 1e3
    print(
        "RecordWindow drift update (table, codes, positions, compute_drift):"
        f" median {np.median(ms):.2f} ms,"
        f" best {ms.min():.2f} ms, p90 {np.percentile(ms, 90):.2f} ms over {updates} updates;"
        f" adding the {slide} new records to the window: median {np.median(adds) * 1e3:.2f} ms"
    )


def bench_streaming(windows: int) -> None:
    print(f"\n--- streaming: a {WINDOW:,}-row window x 25 features against a 100k-row profile")
    reference, current = make_dataset(100_000, seed=0)
    profile = build_profile(reference)
    bench_window(profile, current, windows)
    starts = np.random.default_rng(1).integers(0, 100_000 - WINDOW, size=windows)
    slices = [{k: v[s : s + WINDOW] for k, v in current.items()} for s in starts.tolist()]
    compute_drift(profile, slices[0])  # builds the per-profile plan once
    both: list[float] = []
    alone: list[float] = []
    for window in slices:
        both.append(best_of(1, lambda: compute_drift(profile, window)))  # noqa: B023
        alone.append(best_of(1, single_thread(lambda: compute_drift(profile, window))))  # noqa: B023
    for label, times in (("", both), (" on one thread", alone)):
        ms = np.array(times) * 1e3
        print(
            f"compute_drift per window{label}: median {np.median(ms):.2f} ms, "
            f"best {ms.min():.2f} ms, p90 {np.percentile(ms, 90):.2f} ms over {windows} windows"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=5, help="timing rounds per size")
    parser.add_argument("--windows", type=int, default=300, help="streaming windows timed")
    args = parser.parse_args()
    print(machine())
    for rows in args.rows:
        bench_size(rows, args.rounds if rows <= 200_000 else max(1, args.rounds // 2))
    bench_streaming(args.windows)
    print()
    print(machine())
    return 0


if __name__ == "__main__":
    sys.exit(main())
