"""Drift reports: plain text, JSON, Markdown and a self-contained HTML page.

Every format carries per feature the method, statistic, p-value, threshold and verdict. Text,
Markdown and HTML add significance markers on the p-value (``***`` p < 0.001, ``**`` p < 0.01,
``*`` p < 0.05; the p-value before the correction across features) with a legend; text and HTML
draw reference-versus-current histograms of the drifted features. JSON is DESIGN.md's ``drift``
document, with non-finite numbers written as ``null``.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from mmtui.stats.drift import DriftResult, FeatureDrift, histogram_pair
from mmtui.stats.profile import Profile

FORMATS = ("text", "json", "md", "html")
MAX_HISTOGRAMS = 12
"""Drifted features drawn at most, in profile order; the report says how many were left out."""
TEXT_BINS = 12
HTML_BINS = 20
_BAR = 24
_EIGHTHS = " ▏▎▍▌▋▊▉█"
_MARKERS = ((0.001, "***"), (0.01, "**"), (0.05, "*"))
_CORRECTIONS = {"bh": "Benjamini-Hochberg", "bonferroni": "Bonferroni", "none": "no correction"}


def render(
    result: DriftResult,
    *,
    baseline: str,
    format: str,
    profile: Profile,
    table: Mapping[str, np.ndarray],
    current: str = "",
) -> str:
    """The report of ``result`` (``table`` against ``profile``) in ``format``.

    ``baseline`` and ``current`` name the profile and the data in the report.

    Raises
    ------
    ValueError
        ``format`` is not one of :data:`FORMATS`.
    """
    if format == "json":
        return json.dumps(_finite(result.to_json(baseline)), indent=2, allow_nan=False) + "\n"
    if format == "text":
        return _text(result, baseline, current, profile, table)
    if format == "md":
        return _markdown(result, baseline, current)
    if format == "html":
        return _html(result, baseline, current, profile, table)
    raise ValueError(f"format {format!r}: expected one of {', '.join(FORMATS)}")


def marker(p_value: float | None) -> str:
    """``***``, ``**``, ``*`` or ``""`` for a p-value below 0.001, 0.01, 0.05 or not."""
    if p_value is None or math.isnan(p_value):
        return ""
    return next((mark for limit, mark in _MARKERS if p_value < limit), "")


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


# ------------------------------------------------------------------------------- shared pieces


def _p(p_value: float | None) -> str:
    if p_value is None or math.isnan(p_value):
        return "—"
    if p_value == 0.0:
        return "<1e-300"
    return f"{p_value:.3f}" if p_value >= 0.001 else f"{p_value:.1e}"


def _p_marked(p_value: float | None) -> str:
    mark = marker(p_value)
    return f"p {_p(p_value)}" + (f" {mark}" if mark else "")


def _num(x: float) -> str:
    return f"{x:.4g}" if math.isfinite(x) else str(x)


def _threshold(f: FeatureDrift) -> str:
    rule = "p ≤ " if f.p_value is not None else "≥ "
    return rule + (_p(f.threshold) if f.p_value is not None else _num(f.threshold))


def _headline(result: DriftResult) -> str:
    drifted = len(result.drifted_features)
    verdict = "DATASET DRIFT" if result.dataset_drift else "no dataset drift"
    return (
        f"{verdict}: {drifted} of {len(result.features)} features drifted "
        f"({result.drift_share:.0%}; dataset drift at {result.drift_share_threshold:.0%})"
    )


def _context(result: DriftResult, baseline: str, current: str, profile: Profile | None) -> str:
    correction = _CORRECTIONS.get(result.correction, result.correction)
    what = f"{current} against {baseline}" if current else f"against {baseline}"
    built = f" (built {profile.created} from {profile.source})" if profile else ""
    return (
        f"{what}{built}; {result.n_reference:,} reference rows, {result.n_current:,} current "
        f"rows; alpha {result.alpha:g}, {correction}"
    )


def _legend(result: DriftResult) -> str:
    correction = _CORRECTIONS.get(result.correction, result.correction)
    return (
        "*** p < 0.001, ** p < 0.01, * p < 0.05 (p-value before the correction across "
        f"features). A test flags drift when p ≤ threshold, the {correction} cutoff at alpha "
        f"{result.alpha:g}; a distance when statistic ≥ threshold."
    )


def _shown(result: DriftResult) -> tuple[list[FeatureDrift], int]:
    drifted = [f for f in result.features if f.drifted]
    return drifted[:MAX_HISTOGRAMS], max(len(drifted) - MAX_HISTOGRAMS, 0)


def _histogram(
    profile: Profile, table: Mapping[str, np.ndarray], f: FeatureDrift, bins: int
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Bin labels, reference and current fractions of feature ``f``."""
    feature = profile.features[f.name]
    values = table.get(f.name)
    if values is None:
        values = np.full(0, np.nan)
    edges, ref, cur = histogram_pair(feature, values, bins)
    if edges.dtype.kind == "U":
        return edges.tolist(), ref, cur
    labels = [f"{_num(a)} … {_num(b)}" for a, b in zip(edges[:-1], edges[1:], strict=True)]
    return labels, ref, cur


# ---------------------------------------------------------------------------------------- text


def _text(
    result: DriftResult,
    baseline: str,
    current: str,
    profile: Profile,
    table: Mapping[str, np.ndarray],
) -> str:
    rows = [("feature", "kind", "method", "statistic", "p-value", "", "threshold", "drifted")]
    for f in result.features:
        rows.append(
            (
                f.name,
                f.kind,
                f.method,
                _num(f.statistic),
                _p(f.p_value),
                marker(f.p_value),
                _threshold(f),
                "DRIFT" if f.drifted else "-",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {3, 4}
    lines = [
        f"Drift report: {_headline(result)}",
        _context(result, baseline, current, profile),
        "",
    ]
    for r in rows:
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    lines += ["", _legend(result)]
    shown, left_out = _shown(result)
    for f in shown:
        labels, ref, cur = _histogram(profile, table, f, TEXT_BINS)
        lines += ["", f"{f.name}  ({f.method}, {_p_marked(f.p_value)})"]
        lines += _bars(labels, ref, cur)
    if left_out:
        lines += ["", f"({left_out} more drifted features not drawn)"]
    return "\n".join(lines) + "\n"


def _bars(labels: list[str], ref: np.ndarray, cur: np.ndarray) -> list[str]:
    width = max(len(label) for label in labels)
    top = float(max(ref.max(initial=0.0), cur.max(initial=0.0))) or 1.0
    out = [f"  {'':{width}}  {'reference':{_BAR + 7}}  current"]
    for label, r, c in zip(labels, ref.tolist(), cur.tolist(), strict=True):
        out.append(f"  {label:>{width}}  {_bar(r, top)} {r:6.1%}  {_bar(c, top)} {c:6.1%}")
    return out


def _bar(fraction: float, top: float) -> str:
    """A horizontal bar of ``fraction / top`` of :data:`_BAR` cells, in eighths of a cell."""
    eighths = round(fraction / top * _BAR * 8)
    full, part = divmod(eighths, 8)
    bar = "█" * full + (_EIGHTHS[part] if part else "")
    return bar.ljust(_BAR)


# ------------------------------------------------------------------------------------ Markdown


def _md(text: str) -> str:
    """Text safe in a Markdown table cell: no HTML, no emphasis, no column breaks."""
    escaped = html.escape(text, quote=False)
    return "".join("\\" + ch if ch in "\\`*_[]|#!" else ch for ch in escaped)


def _markdown(result: DriftResult, baseline: str, current: str) -> str:
    lines = [
        f"## Drift report: {_md(_headline(result))}",
        "",
        _md(_context(result, baseline, current, None)),
        "",
        "| Feature | Kind | Method | Statistic | p-value | Threshold | Drifted |",
        "|---|---|---|---:|---:|---|---|",
    ]
    for f in result.features:
        mark = _md(marker(f.p_value))
        lines.append(
            f"| {_md(f.name)} | {f.kind} | {_md(f.method)} | {_num(f.statistic)} | "
            f"{_md(_p(f.p_value))}{' ' + mark if mark else ''} | {_md(_threshold(f))} | "
            f"{'**drift**' if f.drifted else 'no'} |"
        )
    lines += ["", _md(_legend(result))]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------- HTML

_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #1b1f24; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 2em; }
table { border-collapse: collapse; }
th, td { padding: 0.25em 0.8em; border-bottom: 1px solid #d8dee4; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.drift td { background: #fff1e5; }
.yes { color: #b3261e; font-weight: 600; } .legend, .context { color: #57606a; }
.key span { display: inline-block; width: 0.8em; height: 0.8em; margin: 0 0.3em 0 1em; }
svg text { font-size: 10px; fill: #57606a; }
"""
_REF_COLOUR = "#8c959f"
_CUR_COLOUR = "#e16f24"


def _html(
    result: DriftResult,
    baseline: str,
    current: str,
    profile: Profile,
    table: Mapping[str, np.ndarray],
) -> str:
    e = html.escape
    rows = []
    for f in result.features:
        rows.append(
            f'<tr class="{"drift" if f.drifted else ""}"><td>{e(f.name)}</td><td>{f.kind}</td>'
            f"<td>{e(f.method)}</td><td class=num>{e(_num(f.statistic))}</td>"
            f"<td class=num>{e(_p(f.p_value))} {e(marker(f.p_value))}</td>"
            f"<td>{e(_threshold(f))}</td>"
            f'<td class="{"yes" if f.drifted else ""}">{"drift" if f.drifted else "no"}</td></tr>'
        )
    shown, left_out = _shown(result)
    charts = []
    for f in shown:
        labels, ref, cur = _histogram(profile, table, f, HTML_BINS)
        charts.append(
            f"<h2>{e(f.name)} <small>({e(f.method)}, {e(_p_marked(f.p_value))})</small></h2>\n"
            f"{_svg(labels, ref, cur)}"
        )
    if left_out:
        charts.append(f"<p>{left_out} more drifted features not drawn.</p>")
    key = (
        f'<p class=key><span style="background:{_REF_COLOUR}"></span>reference'
        f'<span style="background:{_CUR_COLOUR}"></span>current</p>'
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>mmtui drift report: {e(baseline)}</title>
<style>{_CSS}</style></head>
<body>
<h1>Drift report: {e(_headline(result))}</h1>
<p class=context>{e(_context(result, baseline, current, profile))}</p>
<table>
<tr><th>Feature</th><th>Kind</th><th>Method</th><th>Statistic</th><th>p-value</th>
<th>Threshold</th><th>Drifted</th></tr>
{chr(10).join(rows)}
</table>
<p class=legend>{e(_legend(result))}</p>
{key if charts else ""}
{chr(10).join(charts)}
</body></html>
"""


def _svg(labels: list[str], ref: np.ndarray, cur: np.ndarray) -> str:
    """Paired bars per bin, reference then current, with each bin's label as its tooltip."""
    e = html.escape
    slot, height, base = 28, 120, 136
    width = slot * len(labels) + 8
    top = float(max(ref.max(initial=0.0), cur.max(initial=0.0))) or 1.0
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{base + 16}" '
             f'role="img">']
    for i, (label, r, c) in enumerate(zip(labels, ref.tolist(), cur.tolist(), strict=True)):
        x = 4 + i * slot
        tip = e(f"{label}: reference {r:.1%}, current {c:.1%}")
        for dx, value, colour in ((2, r, _REF_COLOUR), (13, c, _CUR_COLOUR)):
            h = value / top * height
            parts.append(
                f'<rect x="{x + dx}" y="{base - h:.1f}" width="11" height="{h:.1f}" '
                f'fill="{colour}"><title>{tip}</title></rect>'
            )
    parts.append(f'<line x1="0" y1="{base}" x2="{width}" y2="{base}" stroke="#d0d7de"/>')
    parts.append(f'<text x="4" y="{base + 13}">{e(labels[0])}</text>')
    parts.append(
        f'<text x="{width - 4}" y="{base + 13}" text-anchor="end">{e(labels[-1])}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
