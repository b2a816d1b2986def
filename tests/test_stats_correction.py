"""Multiple-testing corrections against hand-computed examples."""

from __future__ import annotations

import numpy as np
import pytest

from mmtui.stats.correction import adjust, cutoff

# Benjamini & Hochberg (1995), section 4: 15 p-values, q = 0.05 rejects the first four.
BH_PAPER = [
    0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344,
    0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.0000,
]  # fmt: skip


def test_bh_rejects_what_the_paper_rejects() -> None:
    limit = cutoff(BH_PAPER, 0.05, "bh")
    assert limit == pytest.approx(4 * 0.05 / 15)
    assert sum(p <= limit for p in BH_PAPER) == 4


def test_bh_step_up_rejects_past_a_failing_rank() -> None:
    # rank 2 fails (0.03 > 2*0.05/4) but rank 3 passes (0.035 <= 3*0.05/4): step-up takes all 3
    p = [0.01, 0.03, 0.035, 0.9]
    assert cutoff(p, 0.05, "bh") == pytest.approx(0.0375)
    assert adjust(p, "bh").tolist() == pytest.approx([0.04, 0.0466666, 0.0466666, 0.9], rel=1e-5)


def test_bh_adjusted_by_hand() -> None:
    # m p_(i) / i = [0.04, 0.04, 0.04, 0.5]; running minimum from the top
    assert adjust([0.5, 0.01, 0.03, 0.02], "bh").tolist() == pytest.approx([0.5, 0.04, 0.04, 0.04])
    # scaled values above 1 are capped
    assert adjust([0.6, 0.9], "bh").tolist() == [0.9, 0.9]


def test_bonferroni_by_hand() -> None:
    assert cutoff([0.01, 0.02, 0.5], 0.06, "bonferroni") == pytest.approx(0.02)
    assert adjust([0.01, 0.02, 0.5], "bonferroni").tolist() == pytest.approx([0.03, 0.06, 1.0])


def test_none_keeps_alpha_and_p() -> None:
    assert cutoff([0.01, 0.2], 0.05, "none") == 0.05
    assert adjust([0.01, 0.2], "none").tolist() == [0.01, 0.2]


def test_nothing_rejected_gives_the_first_step() -> None:
    assert cutoff([0.2, 0.3, 0.9], 0.05, "bh") == pytest.approx(0.05 / 3)


def test_no_tests() -> None:
    assert cutoff([], 0.05, "bh") == 0.05
    assert adjust([], "bh").tolist() == []


@pytest.mark.parametrize("method", ["bh", "bonferroni", "none"])
def test_cutoff_and_adjusted_p_values_agree(method: str) -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        m = int(rng.integers(1, 30))
        p = np.concatenate((rng.uniform(0, 0.01, m // 3), rng.uniform(0, 1, m - m // 3)))
        limit = cutoff(p.tolist(), 0.05, method)
        assert ((p <= limit) == (adjust(p.tolist(), method) <= 0.05 + 1e-12)).all()


def test_unknown_method() -> None:
    with pytest.raises(ValueError, match="correction 'holm'"):
        cutoff([0.1], 0.05, "holm")
