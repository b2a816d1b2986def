"""The agent's HTTP routes, independent of the server that carries them (ASGI or stdlib).

Under a path prefix (default ``/``):

``GET <prefix>metrics``
    The serving metrics, Prometheus text 0.0.4.
``GET <prefix>records?after=<seq>&limit=<n>``
    The inference log, NDJSON (the records protocol of :mod:`mmtui.feeds.records`); ``400``
    when ``after`` or ``limit`` is not a non-negative (positive) integer.
``POST <prefix>labels``
    Late ground truth: a JSON object ``{"id": "...", "label": ...}`` or an array of them. All or
    nothing: ``400`` naming the first bad item, else ``200`` with ``{"received": n, "kept": k}``
    (``kept``: the labels whose id is in the sample). Bodies over :data:`MAX_BODY` get ``413``.

``HEAD`` is answered like ``GET``; another method gets ``405`` with ``Allow``. Errors are JSON
``{"error": "<one line>"}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from mmtui.agent.log import CONTENT_TYPE as NDJSON
from mmtui.agent.log import DEFAULT_LIMIT, Scalar, scalar
from mmtui.agent.metrics import CONTENT_TYPE as PROMETHEUS_TEXT

if TYPE_CHECKING:
    from mmtui.agent.agent import Agent

__all__ = ["MAX_BODY", "ROUTES", "Response", "handle", "normalize_prefix", "route_of"]

MAX_BODY = 1 << 20
"""Most bytes of a label POST."""
JSON = "application/json"
ROUTES: dict[str, tuple[str, ...]] = {
    "metrics": ("GET", "HEAD"),
    "records": ("GET", "HEAD"),
    "labels": ("POST",),
}
"""Route → the methods it answers."""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


def normalize_prefix(prefix: str) -> str:
    """``"monitoring"`` → ``"/monitoring/"``; ``""`` and ``"/"`` → ``"/"``."""
    inner = prefix.strip("/")
    return f"/{inner}/" if inner else "/"


def route_of(prefix: str, path: str) -> str | None:
    """The route a request path names under a normalized prefix, or None (not the agent's)."""
    if not path.startswith(prefix):
        return None
    rest = path[len(prefix):]
    return rest if rest in ROUTES else None


def error(status: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    return Response(status, JSON, json.dumps({"error": message}).encode("utf-8") + b"\n", headers)


def handle(agent: Agent, route: str, method: str, query: str, body: bytes) -> Response:
    """Answer one request to ``route`` (a key of :data:`ROUTES`); never raises."""
    allowed = ROUTES[route]
    if method not in allowed:
        return error(405, f"{method} not allowed: use {', '.join(allowed)}",
                     (("allow", ", ".join(allowed)),))
    if route == "metrics":
        return Response(200, PROMETHEUS_TEXT, agent.metrics_text())
    if route == "records":
        params = parse_qs(query, keep_blank_values=True)
        try:
            after = _integer(params, "after", 0)
            limit = _integer(params, "limit", 1)
        except ValueError as exc:
            return error(400, str(exc))
        text, _ = agent.records_body(after, DEFAULT_LIMIT if limit is None else limit)
        return Response(200, NDJSON, text)
    if len(body) > MAX_BODY:
        return error(413, f"body larger than {MAX_BODY} bytes")
    try:
        labels = _labels(body)
    except ValueError as exc:
        return error(400, str(exc))
    kept = sum(agent.label(rid, value) for rid, value in labels)
    doc = {"received": len(labels), "kept": kept}
    return Response(200, JSON, json.dumps(doc).encode("utf-8") + b"\n")


def _integer(params: dict[str, list[str]], name: str, minimum: int) -> int | None:
    values = params.get(name)
    if not values:
        return None
    raw = values[-1]
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {raw!r}")
    return value


def _labels(body: bytes) -> list[tuple[str, Scalar]]:
    """``(id, label)`` pairs from a label POST body; ValueError naming the first bad item."""
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"body is not JSON: {exc}") from None
    items = doc if isinstance(doc, list) else [doc]
    out: list[tuple[str, Scalar]] = []
    for i, item in enumerate(items):
        where = f"item {i}" if isinstance(doc, list) else "body"
        if not isinstance(item, dict):
            raise ValueError(f"{where}: expected an object {{\"id\", \"label\"}}")
        rid = item.get("id")
        if isinstance(rid, bool) or not isinstance(rid, str | int) or rid == "":
            raise ValueError(f"{where}: id must be a non-empty string or an integer")
        try:
            value = scalar(item.get("label"), "label")
        except TypeError as exc:
            raise ValueError(f"{where}: {exc}") from None
        if value is None:
            raise ValueError(f"{where}: label is missing or null")
        out.append((str(rid), value))
    return out
