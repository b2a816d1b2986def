"""``mmtui drift BASELINE CURRENT``: a drift report of CURRENT against a baseline profile.

Exit codes: 0 (drift or not), 1 when the data set drifted and ``--fail-on-drift`` is given,
2 for bad input. The report goes to ``--out`` or stdout; with ``--out`` a one-line verdict goes
to stderr. Text in a numeric feature and absent features count as missing values (so the
missing-rate test sees them), with a warning on stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from mmtui.cli import error
from mmtui.commands.baseline import progress_printer
from mmtui.report import render
from mmtui.stats.drift import compute_drift
from mmtui.stats.profile import NumericProfile, Profile, ProfileError, load_profile
from mmtui.tabular import TableError, read_table, to_numbers


def run(args: argparse.Namespace) -> int:
    current = Path(args.current)
    try:
        profile = load_profile(args.baseline)
    except ProfileError as exc:
        return error(str(exc))
    try:
        table = read_table(current, columns=profile.features, progress=progress_printer(current))
    except TableError as exc:
        return error(str(exc))
    if not table:
        return error(f"{current} has none of the baseline's {len(profile.features)} features")
    rows = len(next(iter(table.values())))
    if rows == 0:
        return error(f"{current}: no data rows: expected a header and at least one row")
    warnings = _conform(profile, table, current)
    try:
        result = compute_drift(profile, table)
    except ValueError as exc:
        return error(f"{current}: {exc}")
    report = render(
        result,
        baseline=str(args.baseline),
        format=args.format,
        profile=profile,
        table=table,
        current=str(current),
    )
    if args.out:
        try:
            Path(args.out).write_text(report, encoding="utf-8")
        except OSError as exc:
            return error(f"cannot write the report to {args.out}: {exc.strerror or exc}")
        drifted = len(result.drifted_features)
        verdict = "dataset drift" if result.dataset_drift else "no dataset drift"
        print(f"wrote {args.out}: {verdict}, {drifted} of {len(result.features)} features "
              "drifted", file=sys.stderr)
    else:
        sys.stdout.write(report)
    for warning in warnings:
        print(f"mmtui: warning: {warning}", file=sys.stderr)
    return 1 if args.fail_on_drift and result.dataset_drift else 0


def _conform(profile: Profile, table: dict[str, np.ndarray], current: Path) -> list[str]:
    """Make text in numeric features missing values (a data-quality change the missing-rate
    test sees); return what was changed or absent, for warnings."""
    warnings = []
    for name, feature in profile.features.items():
        values = table.get(name)
        if isinstance(feature, NumericProfile) and values is not None and values.dtype.kind != "f":
            table[name], bad = to_numbers(values)
            if bad:
                warnings.append(
                    f"{current} column {name!r}: {len(bad)} values are not numbers "
                    f"(first {str(values[bad[0]])!r} on row {bad[0] + 1}): counted as missing"
                )
    absent = [name for name in profile.features if name not in table]
    if absent:
        shown = ", ".join(absent[:5]) + (f" and {len(absent) - 5} more" if len(absent) > 5 else "")
        warnings.append(f"{current} has no column {shown}: counted as all missing")
    return warnings
