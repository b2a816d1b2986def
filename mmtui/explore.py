"""What drill-down views ask of the core beyond the live snapshot (Textual-free).

Calls are blocking (numpy, SQLite): a UI calls them from a thread worker, never from a message
handler. The Monitor implements :class:`Explorer`; tests and replays may provide their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from mmtui.alerts.rules import Rule

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class SeriesData:
    """One metric's points over a time range, oldest first; NaN values are gaps."""

    metric: str
    timestamps: FloatArray
    values: FloatArray


@dataclass(frozen=True, slots=True)
class FeatureHistogram:
    """Reference (baseline) against current (the endpoint's window) for one feature."""

    endpoint: str
    feature: str
    kind: str
    """"numeric" or "categorical"."""
    bins: tuple[str, ...]
    """Bin labels: ``"[0.5, 1.0)"`` style ranges, or category levels."""
    reference: tuple[float, ...]
    """Fraction of the reference in each bin (sums to 1, missing values excluded)."""
    current: tuple[float, ...]
    n_reference: int
    n_current: int


@runtime_checkable
class Explorer(Protocol):
    """History and detail for drill-downs."""

    def series(
        self, endpoint: str, model: str | None, metrics: Sequence[str], since: float
    ) -> list[SeriesData]:
        """Points of each metric since ``since`` (epoch seconds): recent points from memory,
        older ones from the state store's downsampled history."""
        ...

    def feature_histogram(
        self, endpoint: str, feature: str, bins: int = 20
    ) -> FeatureHistogram | None:
        """The feature's reference-vs-current histogram; None without a baseline or records."""
        ...

    def rules_for(self, endpoint: str, model: str | None) -> Sequence[Rule]:
        """The rules that apply to this endpoint/model (for threshold lines on charts)."""
        ...
