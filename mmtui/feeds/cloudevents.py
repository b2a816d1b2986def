"""CloudEvents from model-server payload loggers → feature rows and predictions.

KServe's payload logger (and Seldon Core's executor) POST one CloudEvent for each inference
request and one for its response; both carry the same ``id``. The event ``type`` ends in
``.request`` or ``.response`` (``org.kubeflow.serving.inference.request``,
``io.seldon.serving.inference.response``, ...). Two HTTP forms are read:

- binary mode: the attributes are ``Ce-*`` headers (``Ce-Id``, ``Ce-Type``, ``Ce-Source``,
  ``Ce-Specversion``, ``Ce-Time``, extensions such as ``Ce-Inferenceservicename``) and the body is
  the JSON data;
- structured mode (``application/cloudevents+json``, and a JSON array of them for
  ``application/cloudevents-batch+json``): the attributes and ``data`` (or ``data_base64``) are
  members of one JSON object.

Payloads understood (rows are instances; one record per row):

- KServe v1 / TF Serving rows: request ``{"instances": [...]}`` (or ``"inputs"`` as a list), each
  row a list (positional features), an object (named features) or a scalar; response
  ``{"predictions": [...]}``.
- Open Inference Protocol (KServe v2, Triton, MLServer): ``{"inputs": [{"name", "shape",
  "datatype", "data"}]}`` and ``{"outputs": [...]}``. A tensor of shape ``[n]`` or ``[n, 1]`` is
  one feature named after it; ``[n, k]`` gives ``<name>_0`` … ``<name>_<k-1>``. The prediction is
  the first output with one value per row.
- Seldon protocol: ``{"data": {"names": [...], "ndarray": [[...]]}}`` or ``"tensor": {"shape",
  "values"}``.

Positional features are named by ``feature_names`` when it has the right length, else ``f0``,
``f1``, ... . A prediction that is not one scalar per row (class probabilities, say) is kept as
missing.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias

__all__ = [
    "REQUEST",
    "RESPONSE",
    "CloudEvent",
    "PayloadError",
    "Value",
    "binary_event",
    "event_kind",
    "is_structured",
    "request_rows",
    "response_predictions",
    "structured_event",
    "to_value",
]

Value: TypeAlias = float | str | None
"""A feature, prediction or label value: a number, a string, or None for missing."""

REQUEST = "request"
RESPONSE = "response"


class PayloadError(ValueError):
    """An event or payload that cannot be read; the message is a short reason."""


@dataclass(frozen=True, slots=True)
class CloudEvent:
    """The attributes mmtui uses, and the decoded JSON data."""

    id: str
    type: str
    source: str
    time: str | None
    data: object


def to_value(v: object) -> Value:
    """A JSON scalar as a :data:`Value`; booleans become ``"True"``/``"False"`` (the spelling
    :mod:`mmtui.stats.columns` gives boolean columns of validation data).

    >>> to_value(3), to_value(True), to_value(None)
    (3.0, 'True', None)
    """
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "True" if v else "False"
    if isinstance(v, int | float):
        try:
            return float(v)
        except OverflowError:
            raise PayloadError("number out of range") from None
    raise PayloadError(f"expected a number, string, bool or null, got {type(v).__name__}")


def event_kind(type_: str) -> str | None:
    """``"request"``, ``"response"`` or None, from an event type's last dotted part."""
    last = type_.rsplit(".", 1)[-1].lower()
    return last if last in (REQUEST, RESPONSE) else None


def is_structured(obj: Mapping[str, object]) -> bool:
    """True for a structured-mode CloudEvent (a JSON object with ``specversion`` and ``type``)."""
    return "specversion" in obj and "type" in obj


def binary_event(headers: Mapping[str, str], body: bytes) -> CloudEvent:
    """The event of a binary-mode HTTP message; ``headers`` keys are matched case-insensitively."""
    h = {k.lower(): v for k, v in headers.items()}
    event_id, type_ = h.get("ce-id", ""), h.get("ce-type", "")
    if not event_id or not type_:
        raise PayloadError("binary CloudEvent without Ce-Id or Ce-Type header")
    try:
        data = json.loads(body) if body.strip() else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise PayloadError("CloudEvent body is not JSON") from None
    return CloudEvent(event_id, type_, h.get("ce-source", ""), h.get("ce-time"), data)


def structured_event(obj: Mapping[str, object]) -> CloudEvent:
    """The event of a structured-mode JSON object."""
    event_id, type_ = obj.get("id"), obj.get("type")
    if not isinstance(type_, str) or not type_:
        raise PayloadError("CloudEvent without a string 'type'")
    if not isinstance(event_id, str | int) or isinstance(event_id, bool) or event_id == "":
        raise PayloadError("CloudEvent without an 'id'")
    data = obj.get("data")
    if "data_base64" in obj:
        raw = obj["data_base64"]
        try:
            data = json.loads(base64.b64decode(str(raw), validate=True))
        except (binascii.Error, ValueError):
            raise PayloadError("CloudEvent data_base64 is not base64 of JSON") from None
    elif isinstance(data, str) and "json" in str(obj.get("datacontenttype", "")):
        try:
            data = json.loads(data)
        except json.JSONDecodeError:
            raise PayloadError("CloudEvent data is a string that is not JSON") from None
    source, time_ = obj.get("source"), obj.get("time")
    return CloudEvent(
        str(event_id),
        type_,
        source if isinstance(source, str) else "",
        time_ if isinstance(time_, str) else None,
        data,
    )


def request_rows(data: object, feature_names: Sequence[str] = ()) -> list[dict[str, Value]]:
    """One feature mapping per instance of an inference request payload."""
    if not isinstance(data, Mapping):
        raise PayloadError("request payload is not a JSON object")
    inputs = data.get("inputs")
    if _is_v2(inputs):
        assert isinstance(inputs, list)
        return _v2_rows(inputs, feature_names)
    if isinstance(inputs, Mapping):  # TF Serving columnar: {name: [values per row]}
        return _columns_to_rows({str(k): _column(v) for k, v in inputs.items()})
    rows = data.get("instances", inputs)
    if isinstance(rows, list):
        return [_row(r, feature_names) for r in rows]
    seldon = data.get("data")
    if isinstance(seldon, Mapping):
        names = seldon.get("names")
        listed = [str(n) for n in names] if isinstance(names, list) else list(feature_names)
        return [_row(r, listed) for r in _seldon_rows(seldon)]
    raise PayloadError("request has no 'instances', 'inputs' or Seldon 'data'")


def response_predictions(data: object) -> list[Value]:
    """One prediction per instance of an inference response payload (None where not a scalar)."""
    if not isinstance(data, Mapping):
        raise PayloadError("response payload is not a JSON object")
    preds = data.get("predictions")
    if isinstance(preds, list):
        return [_prediction(p) for p in preds]
    outputs = data.get("outputs")
    if _is_v2(outputs):
        assert isinstance(outputs, list)
        tensors = [_v2_tensor(t) for t in outputs]
        for _, n, width, flat in tensors:
            if width == 1:
                return [_scalar(v) for v in flat[:n]]
        return [None] * tensors[0][1]
    seldon = data.get("data")
    if isinstance(seldon, Mapping):
        return [_prediction(r) for r in _seldon_rows(seldon)]
    raise PayloadError("response has no 'predictions', 'outputs' or Seldon 'data'")


def _scalar(v: object) -> Value:
    value = to_value(v)
    return None if isinstance(value, float) and math.isnan(value) else value


def _prediction(p: object) -> Value:
    while isinstance(p, list) and len(p) == 1:
        p = p[0]
    return None if isinstance(p, list | dict) else _scalar(p)


def _positional(width: int, names: Sequence[str]) -> list[str]:
    return list(names) if len(names) == width else [f"f{j}" for j in range(width)]


def _row(row: object, names: Sequence[str]) -> dict[str, Value]:
    if isinstance(row, Mapping):
        return {str(k): _scalar(v) for k, v in row.items()}
    values = row if isinstance(row, list) else [row]
    return dict(zip(_positional(len(values), names), map(_scalar, values), strict=True))


def _column(v: object) -> list[object]:
    if not isinstance(v, list):
        raise PayloadError("columnar input is not a list")
    return v


def _columns_to_rows(columns: Mapping[str, Sequence[object]]) -> list[dict[str, Value]]:
    lengths = {len(c) for c in columns.values()}
    if len(lengths) > 1:
        raise PayloadError("input columns have different lengths")
    n = lengths.pop() if lengths else 0
    return [{k: _scalar(c[i]) for k, c in columns.items()} for i in range(n)]


def _is_v2(tensors: object) -> bool:
    return (
        isinstance(tensors, list)
        and len(tensors) > 0
        and all(isinstance(t, Mapping) and "data" in t and "name" in t for t in tensors)
    )


def _flatten(data: object) -> list[object]:
    if not isinstance(data, list):
        return [data]
    out: list[object] = []
    stack = [iter(data)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            out.append(item)
        else:
            stack.pop()
    return out


def _v2_tensor(t: object) -> tuple[str, int, int, list[object]]:
    """(name, rows, values per row, flat data) of one Open Inference Protocol tensor."""
    assert isinstance(t, Mapping)
    flat = _flatten(t["data"])
    shape = t.get("shape")
    if not isinstance(shape, list) or not shape or not all(isinstance(d, int) for d in shape):
        shape = [len(flat)]
    n = shape[0]
    width = math.prod(shape[1:])
    if n < 0 or n * width != len(flat):
        raise PayloadError(f"tensor {t['name']!r} has shape {shape} but {len(flat)} values")
    return str(t["name"]), n, width, flat


def _v2_rows(inputs: list[object], feature_names: Sequence[str]) -> list[dict[str, Value]]:
    columns: dict[str, list[object]] = {}
    tensors = [_v2_tensor(t) for t in inputs]
    for name, n, width, flat in tensors:
        if width == 1:
            columns[name] = flat
            continue
        names = (
            list(feature_names)
            if len(tensors) == 1 and len(feature_names) == width
            else [f"{name}_{j}" for j in range(width)]
        )
        for j, col in enumerate(names):
            columns[col] = flat[j : n * width : width]
    return _columns_to_rows(columns)


def _seldon_rows(data: Mapping[str, object]) -> list[object]:
    if isinstance(data.get("ndarray"), list):
        rows = data["ndarray"]
        assert isinstance(rows, list)
        return rows
    tensor = data.get("tensor")
    if isinstance(tensor, Mapping) and isinstance(tensor.get("values"), list):
        values = tensor["values"]
        assert isinstance(values, list)
        shape = tensor.get("shape")
        width = math.prod(shape[1:]) if isinstance(shape, list) and len(shape) > 1 else 1
        if width <= 0 or len(values) % width:
            raise PayloadError(f"Seldon tensor shape {shape} does not fit {len(values)} values")
        return [values[i : i + width] for i in range(0, len(values), width)]
    raise PayloadError("Seldon 'data' has no 'ndarray' or 'tensor'")
