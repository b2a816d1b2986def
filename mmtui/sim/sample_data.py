"""The simulated models' validation data, ``sample_data/<name>_validation.csv``, and baselines.

Each file holds :data:`VALIDATION_ROWS` calm rows of one data set (:mod:`mmtui.sim.datasets`):
its features, then ``prediction`` and ``label``. The simulator's config points each endpoint's
``baseline`` at its file; the profile is built from it when the monitor starts
(:func:`build_baseline`, a few milliseconds).

``python -m mmtui.sim.sample_data [DIR]`` writes the files (default: the shipped directory,
:func:`~mmtui.sim.datasets.data_dir`). The output is byte-identical on every run: the rows come
from a fixed seed and numbers are written with each column's fixed number of decimals.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mmtui.sim.datasets import (
    DATASETS,
    LABEL,
    PREDICTION,
    Column,
    Dataset,
    Rows,
    data_dir,
    validation_path,
)

if TYPE_CHECKING:
    from mmtui.stats.profile import Profile

VALIDATION_ROWS = 4000
VALIDATION_SEED = 20_240_917


def validation_rows(dataset: Dataset, n: int = VALIDATION_ROWS) -> Rows:
    """``n`` calm rows of ``dataset`` from its fixed seed (the name keys the seed)."""
    rng = np.random.default_rng([VALIDATION_SEED, *dataset.name.encode()])
    zeros = np.zeros(n)
    return dataset.generate(rng, zeros, zeros)


def csv_text(dataset: Dataset, rows: Rows) -> str:
    """``rows`` as CSV: a header, features then ``prediction`` and ``label``, ``\\n`` line ends.

    Level names and labels hold no commas or quotes, so no field needs quoting.
    """
    table = rows.table()
    cells = [_cells(col, dataset.decimals.get(name)) for name, col in table.items()]
    lines = [",".join(table), *(",".join(row) for row in zip(*cells, strict=True))]
    return "\n".join(lines) + "\n"


def _cells(column: Column, decimals: int | None) -> list[str]:
    if decimals is None:
        return [str(v) for v in column.tolist()]
    values = np.round(column.astype(np.float64), decimals) + 0.0  # no "-0.000"
    return [f"{v:.{decimals}f}" for v in values.tolist()]


def write_validation(directory: Path | None = None) -> list[Path]:
    """Write every data set's validation CSV into ``directory``; return the paths written."""
    paths = []
    for dataset in DATASETS:
        path = validation_path(dataset, directory)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(csv_text(dataset, validation_rows(dataset)).encode())
        paths.append(path)
    return paths


def build_baseline(dataset: Dataset, path: Path | None = None) -> Profile:
    """The baseline profile of ``dataset`` from its validation CSV (target ``label``, prediction
    ``prediction``, column kinds inferred). Raises :class:`~mmtui.tabular.TableError` for an
    unreadable file."""
    from mmtui.stats.profile import build_profile
    from mmtui.tabular import read_table

    path = path or validation_path(dataset)
    return build_profile(read_table(path), target=LABEL, prediction=PREDICTION,
                         source=str(path))


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) > 1 or any(a.startswith("-") for a in args):
        print("usage: python -m mmtui.sim.sample_data [DIR]", file=sys.stderr)
        return 2
    directory = Path(args[0]) if args else data_dir()
    try:
        paths = write_validation(directory)
    except OSError as exc:
        print(f"cannot write sample data to {directory}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
