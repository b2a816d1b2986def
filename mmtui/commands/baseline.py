"""``mmtui baseline build DATA``: a baseline profile from historical validation data.

The profile is written to ``--out`` (default ``<DATA stem>.profile.npz`` in the current
directory) and its path printed on stdout; a summary of what was profiled goes to stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from mmtui.cli import error
from mmtui.stats.profile import CategoricalProfile, Profile, build_profile, save_profile
from mmtui.tabular import TableError, read_table

PROFILE_SUFFIX = ".profile.npz"
PROGRESS_MIN_BYTES = 16 << 20
"""Files at least this large show progress on a terminal."""
PROGRESS_LOG_BYTES = 512 << 20
"""Files at least this large log progress in lines when stderr is not a terminal."""


def run(args: argparse.Namespace) -> int:
    data = Path(args.data)
    out = Path(args.out) if args.out else Path(data.stem + PROFILE_SUFFIX)
    try:
        categorical, exclude = names(args.categorical), names(args.exclude)
    except ValueError as exc:
        return error(str(exc))
    start = time.perf_counter()
    try:
        table = read_table(data, progress=progress_printer(data))
    except TableError as exc:
        return error(str(exc))
    rows = len(next(iter(table.values()))) if table else 0
    if rows == 0:
        return error(f"{data}: no data rows: expected a header and at least one row")
    options = [("--target", args.target), ("--prediction", args.prediction)]
    options += [("--categorical", c) for c in categorical] + [("--exclude", c) for c in exclude]
    for option, column in options:
        if column is not None and column not in table:
            return error(f"{option}: {data} has no column {column!r} ({_listing(table)})")
    try:
        profile = build_profile(
            table,
            kinds=dict.fromkeys(categorical, "categorical"),
            target=args.target,
            prediction=args.prediction,
            exclude=exclude,
            source=str(data),
        )
    except ValueError as exc:
        return error(f"{data}: {exc}")
    if not profile.features:
        return error(f"{data}: no features left: every column is the target, the prediction "
                     "or excluded")
    try:
        save_profile(profile, out)
    except OSError as exc:
        return error(f"cannot write the profile to {out}: {exc.strerror or exc}")
    print(_summary(profile, len(table), out, time.perf_counter() - start), file=sys.stderr)
    print(out)
    return 0


def names(option: str | None) -> list[str]:
    """The column names of a comma-separated option (``"a, b"`` → ``["a", "b"]``)."""
    if option is None:
        return []
    out = [name.strip() for name in option.split(",")]
    if not all(out):
        raise ValueError(f"empty column name in {option!r}: expected names separated by commas")
    return out


def progress_printer(path: Path) -> Callable[[int, int], None] | None:
    """A progress callback writing to stderr for a large ``path``, or None.

    On a terminal: one line rewritten in place, for files of :data:`PROGRESS_MIN_BYTES` or more.
    Elsewhere (a log): a line per quarter, for files of :data:`PROGRESS_LOG_BYTES` or more.
    """
    try:
        size = path.stat().st_size
    except OSError:
        return None
    tty = sys.stderr.isatty()
    if size < (PROGRESS_MIN_BYTES if tty else PROGRESS_LOG_BYTES):
        return None
    shown = [-1]

    def show(done: int, total: int) -> None:
        step = done * (100 if tty else 4) // max(total, 1)
        if step == shown[0]:
            return
        shown[0] = step
        line = f"reading {path}: {done / total:4.0%} ({done >> 20} of {total >> 20} MB)"
        if tty:
            end = "\n" if done >= total else ""
            sys.stderr.write(f"\r{line}{end}")
            sys.stderr.flush()
        else:
            print(line, file=sys.stderr, flush=True)

    return show


def _listing(table: Mapping[str, object]) -> str:
    shown = list(table)[:12]
    more = f", … {len(table) - len(shown)} more" if len(table) > len(shown) else ""
    return "columns: " + ", ".join(shown) + more


def _summary(profile: Profile, columns: int, out: Path, seconds: float) -> str:
    lines = [
        f"read {profile.source}: {profile.n_rows:,} rows, {columns} columns in {seconds:.1f} s",
        f"features ({len(profile.features)}):",
    ]
    width = max((len(name) for name in profile.features), default=0)
    for name, feature in profile.features.items():
        if isinstance(feature, CategoricalProfile):
            detail = f"{len(feature.levels)} levels"
        else:
            detail = f"mean {feature.mean:.4g}, std {feature.std:.4g}"
        lines.append(
            f"  {name:{width}}  {feature.kind:11}  {detail}, missing {feature.missing_rate:.1%}"
        )
    roles = [f"target {profile.target!r}"] if profile.target else []
    roles += [f"prediction {profile.prediction!r}"] if profile.prediction else []
    if roles:
        lines.append(", ".join(roles) + (f" ({profile.task})" if profile.task else ""))
    if profile.quality:
        shown = ", ".join(f"{k} {v:.4g}" for k, v in profile.quality.items())
        lines.append(f"quality on the validation data: {shown}")
    size = os.path.getsize(out)
    lines.append(f"wrote {out} ({size / 1024:,.0f} KB, profile version {profile.version})")
    return "\n".join(lines)
