"""The raw comparison of one current column with its reference, before any decision."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Comparison:
    """Test result and distances of one feature; drift decisions are made from it elsewhere.

    ``statistic`` and ``p_value`` are those of the kind's test (KS or chi-squared) on the
    non-missing values, None when either side has none.
    """

    test: str
    statistic: float | None
    p_value: float | None
    n_reference: int
    """Non-missing reference values."""
    n_current: int
    """Non-missing current values."""
    reference_missing: int
    current_missing: int
    scores: dict[str, float] = field(default_factory=dict)
    """Distances (``psi``, ``js``, ``wasserstein``) and test details (``ks_upper``, ...)."""
