"""mmtui.report: drift reports in every format, from real profiles and drift results."""

from __future__ import annotations

import json
import math
import re
from html.parser import HTMLParser

import numpy as np
import pytest

from mmtui.report import FORMATS, MAX_HISTOGRAMS, marker, render
from mmtui.stats.drift import DriftResult, FeatureDrift, compute_drift
from mmtui.stats.profile import Profile, build_profile

EVIL = "<script>alert('x')</script>"
PIPE = "a|b*c_"


@pytest.fixture(scope="module")
def case() -> tuple[DriftResult, Profile, dict[str, np.ndarray]]:
    rng = np.random.default_rng(11)
    n = 4000
    colours = np.array(["red", "green", "blue"])
    reference = {
        "shifted": rng.normal(size=n),
        "stable": rng.normal(size=n),
        EVIL: colours[rng.integers(0, 3, n)],
        PIPE: rng.uniform(size=n),
    }
    current = {
        "shifted": rng.normal(size=n) + 0.5,
        "stable": rng.normal(size=n),
        EVIL: colours[rng.choice(3, n, p=[0.6, 0.2, 0.2])],
        PIPE: rng.uniform(size=n),
    }
    profile = build_profile(reference, source="reference.csv")
    return compute_drift(profile, current), profile, current


def rendered(case: tuple[DriftResult, Profile, dict[str, np.ndarray]], fmt: str) -> str:
    result, profile, table = case
    return render(result, baseline="ref.npz", format=fmt, profile=profile, table=table,
                  current="cur.csv")


def test_case_has_drift(case: tuple[DriftResult, Profile, dict[str, np.ndarray]]) -> None:
    assert case[0].drifted_features == ["shifted", EVIL]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_names_every_feature(
    case: tuple[DriftResult, Profile, dict[str, np.ndarray]], fmt: str
) -> None:
    out = rendered(case, fmt)
    assert out.endswith("\n")
    for name in ("shifted", "stable"):
        assert name in out


def test_unknown_format(case: tuple[DriftResult, Profile, dict[str, np.ndarray]]) -> None:
    with pytest.raises(ValueError, match="format 'pdf'"):
        rendered(case, "pdf")


def test_json_shape_is_exact(case: tuple[DriftResult, Profile, dict[str, np.ndarray]]) -> None:
    doc = json.loads(rendered(case, "json"))
    assert list(doc) == [
        "baseline", "n_reference", "n_current", "correction", "features", "drifted_features",
        "drift_share", "dataset_drift",
    ]
    assert doc["baseline"] == "ref.npz"
    assert doc["n_reference"] == 4000 and doc["n_current"] == 4000
    assert isinstance(doc["correction"], str)
    assert doc["drifted_features"] == ["shifted", EVIL]
    assert doc["drift_share"] == 0.5 and doc["dataset_drift"] is True
    for f in doc["features"]:
        assert list(f) == ["name", "kind", "method", "statistic", "p_value", "threshold",
                           "drifted"]
        assert f["kind"] in ("numeric", "categorical")
        assert isinstance(f["statistic"], float)
        assert isinstance(f["p_value"], float) or f["p_value"] is None
        assert isinstance(f["threshold"], float)
        assert isinstance(f["drifted"], bool)
    assert [f["name"] for f in doc["features"]] == ["shifted", "stable", EVIL, PIPE]


def feature(name: str, p: float | None, statistic: float = 1.0) -> FeatureDrift:
    return FeatureDrift(
        name=name, kind="numeric", method="ks", statistic=statistic, p_value=p,
        threshold=0.05, drifted=p is not None and p <= 0.05, n_reference=10, n_current=10,
    )


def result_of(*features: FeatureDrift) -> DriftResult:
    drifted = sum(f.drifted for f in features)
    return DriftResult(
        n_reference=10, n_current=10, correction="bh", alpha=0.05, features=features,
        drift_share=drifted / len(features), drift_share_threshold=0.5, dataset_drift=False,
    )


def test_json_has_no_nan_or_infinity(
    case: tuple[DriftResult, Profile, dict[str, np.ndarray]],
) -> None:
    _, profile, table = case
    odd = result_of(feature("shifted", math.nan, statistic=math.inf), feature("stable", None))
    text = render(odd, baseline="b", format="json", profile=profile, table=table)
    assert "NaN" not in text and "Infinity" not in text
    doc = json.loads(text)
    assert doc["features"][0]["statistic"] is None
    assert doc["features"][0]["p_value"] is None


@pytest.mark.parametrize(
    ("p", "mark"),
    [(0.0, "***"), (0.0009999, "***"), (0.001, "**"), (0.0099, "**"), (0.01, "*"),
     (0.049, "*"), (0.05, ""), (0.7, ""), (None, ""), (math.nan, "")],
)
def test_markers(p: float | None, mark: str) -> None:
    assert marker(p) == mark


def test_markers_in_text_md_html(case: tuple[DriftResult, Profile, dict[str, np.ndarray]]) -> None:
    _, profile, table = case
    res = result_of(feature("shifted", 0.0004), feature("stable", 0.02), feature(PIPE, 0.3))
    text = render(res, baseline="b", format="text", profile=profile, table=table)
    rows: dict[str, str] = {}
    for line in text.splitlines():
        if line[:1].isalpha():
            rows.setdefault(line.split()[0], line)
    assert re.search(r"4\.0e-04\s+\*\*\*\s", rows["shifted"])
    assert re.search(r"0\.020\s+\*\s", rows["stable"])
    assert "*" not in rows[PIPE].replace(PIPE, "")
    assert "*** p < 0.001, ** p < 0.01, * p < 0.05" in text
    md = render(res, baseline="b", format="md", profile=profile, table=table)
    assert "| 4.0e-04 \\*\\*\\* |" in md
    assert "| 0.020 \\* |" in md
    page = render(res, baseline="b", format="html", profile=profile, table=table)
    assert "4.0e-04 ***</td>" in page and "0.020 *</td>" in page


def test_text_table_and_histograms(
    case: tuple[DriftResult, Profile, dict[str, np.ndarray]],
) -> None:
    text = rendered(case, "text")
    lines = text.splitlines()
    assert lines[0].startswith("Drift report: DATASET DRIFT: 2 of 4 features drifted")
    header = next(line for line in lines if line.startswith("feature"))
    assert header.split() == ["feature", "kind", "method", "statistic", "p-value", "threshold",
                              "drifted"]
    shifted = next(line for line in lines if line.startswith("shifted "))
    assert shifted.rstrip().endswith("DRIFT")
    # Histograms for the two drifted features only, as unicode bars.
    titles = [line for line in lines if re.match(r"^\S.*\((ks|chi2)", line)]
    assert [t.split("  ")[0] for t in titles] == ["shifted", EVIL]
    assert text.count("reference") >= 2
    assert "█" in text
    for level in ("red", "green", "blue"):
        assert re.search(rf"^\s+{level}\s+█", text, re.MULTILINE)


def test_text_histograms_are_capped(
    case: tuple[DriftResult, Profile, dict[str, np.ndarray]],
) -> None:
    _, profile, table = case
    many = result_of(*(feature("shifted", 1e-9) for _ in range(MAX_HISTOGRAMS + 3)))
    text = render(many, baseline="b", format="text", profile=profile, table=table)
    assert text.count("shifted  (ks") == MAX_HISTOGRAMS
    assert "(3 more drifted features not drawn)" in text


def test_markdown_escapes_names(case: tuple[DriftResult, Profile, dict[str, np.ndarray]]) -> None:
    md = rendered(case, "md")
    table_rows = [line for line in md.splitlines() if line.startswith("| ")]
    assert len(table_rows) == 5
    assert all(row.count(" | ") == 6 for row in table_rows)  # no cell broken by a "|"
    assert "<script>" not in md
    assert "a\\|b\\*c\\_" in md


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_is_self_contained_and_escaped(
    case: tuple[DriftResult, Profile, dict[str, np.ndarray]],
) -> None:
    page = rendered(case, "html")
    parser = _Page()
    parser.feed(page)
    assert "script" not in parser.tags
    assert EVIL in "".join(parser.text)  # shown as text
    assert "&lt;script&gt;" in page
    assert not re.search(r"(src|href)=", page)  # no external assets
    assert parser.tags.count("svg") == 2  # the two drifted features
    assert parser.tags.count("rect") == 2 * (20 + 3)  # numeric: 20 bins; categorical: 3 levels
