"""The config ``mmtui simulate --write-config`` writes: endpoints and default alert rules.

Latency rules are per endpoint, at twice its calm figure: the p95 where mmtui can derive one
(vLLM's histogram, Triton's summaries), else the mean. Error-rate rules are fleet-wide.

An endpoint with inference records gets ``records_url``, and ``baseline``: the path of its
validation CSV (:mod:`mmtui.sim.sample_data`), from which the monitor builds the profile in
memory when it starts, with ``target = "label"`` and ``prediction = "prediction"`` naming its
label and model-output columns. The baseline keys are left out when the file is not there (an
install without sample data).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from mmtui import names
from mmtui.sim.datasets import LABEL, PREDICTION, data_dir, validation_path
from mmtui.sim.models import EndpointSpec, sample_requests
from mmtui.sim.torchserve import request_latency as torchserve_latency
from mmtui.sim.triton import request_latency as triton_latency
from mmtui.sim.vllm import request_latency as vllm_latency

_LATENCY = {"vllm": vllm_latency, "triton": triton_latency, "torchserve": torchserve_latency}

RECORDS_WINDOW = "60s"
"""Drift and quality over the last minute of records (about 600–900 of them): short enough
that the incident scenario's drift and concept shifts show and clear within its 180 s cycle."""

Listing = Sequence[dict[str, str | None]]
"""Endpoints as ``GET /`` lists them."""


def latency_threshold(spec: EndpointSpec) -> float:
    """Twice the endpoint's calm latency figure (its p95 or mean, in ms), 2 significant digits."""
    figures = []
    for model in spec.models:
        seconds = _LATENCY[spec.preset](sample_requests(model, spec.preset))
        if spec.latency_metric == names.LATENCY_P95:
            figures.append(float(np.percentile(seconds, 95.0)))
        else:
            figures.append(float(seconds.mean()))
    value = 2e3 * max(figures)
    digits = 1 - int(f"{value:e}".split("e")[1])
    return float(round(value, digits))


RULES_FILE = "rules.toml"
"""The default rule set in the sample data, appended to every written config."""


def config_toml(
    listing: Listing, specs: Sequence[EndpointSpec], *, interval: str, comment: str
) -> str:
    """``[monitor]``, one ``[[endpoints]]`` per listed endpoint, and the default ``[[rules]]``."""
    lines = [f"# {comment}", "", "[monitor]", f"interval = {_str(interval)}"]
    by_name = {spec.name: spec for spec in specs}
    for ep in listing:
        lines += ["", "[[endpoints]]", f"name = {_str(ep['name'])}",
                  f"metrics_url = {_str(ep['metrics_url'])}"]
        if ep["records_url"] is not None:
            lines.append(f"records_url = {_str(ep['records_url'])}")
        lines.append(f"preset = {_str(ep['preset'])}")
        spec = by_name.get(str(ep["name"]))
        if ep["records_url"] is not None and spec is not None and spec.records is not None:
            baseline = validation_path(spec.records.dataset)
            if baseline.is_file():
                lines += [f"baseline = {_str(str(baseline))}", f"target = {_str(LABEL)}",
                          f"prediction = {_str(PREDICTION)}"]
            lines.append(f"window_age = {_str(RECORDS_WINDOW)}")
    for spec in specs:
        what = "p95" if spec.latency_metric == names.LATENCY_P95 else "mean"
        lines += _rule(f"{spec.name} {what} latency", spec.latency_metric,
                       latency_threshold(spec), "10s", spec.name, "critical")
    shipped = data_dir() / RULES_FILE
    if shipped.is_file():  # the default rule set: errors, nodata, drift, quality, budgets
        text = shipped.read_text(encoding="utf-8")
        lines += ["", f"# The default rules, from {RULES_FILE}", text]
    else:
        lines += _rule("error rate", names.ERROR_RATE, 0.05, "10s", "*", "critical")
        lines += _rule("error rate elevated", names.ERROR_RATE, 0.02, "30s", "*", "warning")
    return "\n".join(lines) + "\n"


def _rule(
    name: str, metric: str, threshold: float, for_: str, endpoint: str, severity: str
) -> list[str]:
    return ["", "[[rules]]", f"name = {_str(name)}", f"metric = {_str(metric)}", 'op = ">"',
            f"threshold = {threshold:g}", f"for = {_str(for_)}", f"endpoint = {_str(endpoint)}",
            f"severity = {_str(severity)}"]


def _str(value: str | None) -> str:
    """A TOML basic string (JSON's escapes are valid TOML)."""
    return json.dumps(value)
