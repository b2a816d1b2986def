"""Serving metrics read from a Prometheus-compatible server instead of scraping the model server.

An endpoint with ``source = "prometheus"`` names the server (``prometheus_url``) and the series
(``selector``, a PromQL label selector such as ``{job="fraud-scorer"}``); its ``preset`` says which
families hold the figures, exactly as for direct polling (:mod:`mmtui.feeds.presets`). One poll is
ONE ``/api/v1/query`` of the preset's query (:mod:`mmtui.feeds.promql`, which also says how the
figures are computed); the backfill is the same query over ``/api/v1/query_range``. Requests are
form POSTs (the query is a few KB) with the endpoint's ``headers``, one shared client.

The rate window. Prometheus needs at least two samples in a window, and ``rate`` is only steady
with about four, so the default is Grafana's ``$__rate_interval``: ``max(4 × scrape_interval,
interval + scrape_interval)``, where ``scrape_interval`` (endpoint key, default 15 s) is how often
Prometheus scrapes these targets and ``interval`` the poll interval (or the backfill step), so
consecutive points never leave samples out. ``rate_window`` overrides it. Figures are therefore
averages over the window, smoother than direct polling's deltas between two polls.

Status. Prometheus unreachable, timed out or dropping the connection: ``down``; an API error
(``status: "error"``: a bad selector, an execution error or timeout on the server), a non-JSON
answer, or no series at all for the selector: ``error`` with a one-line reason; every target of
the selector reported down by Prometheus (``up == 0``): ``down``. ``NaN`` and ``±Inf`` values
(``histogram_quantile`` over no traffic) are missing figures, not failures.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from mmtui.config import EndpointConfig
from mmtui.feeds.poller import classify_error, one_line, redact_secrets
from mmtui.feeds.presets import Preset
from mmtui.feeds.promql import PART_LABEL, Key, Parts, Plan, build_plan, duration, evaluate
from mmtui.names import SERVING_METRICS, Metrics
from mmtui.snapshot import STATUS_DOWN, STATUS_ERROR, STATUS_UP

__all__ = [
    "BACKFILL_POINTS",
    "PromError",
    "PromPoll",
    "PromSource",
    "backfill_step",
    "rate_window",
]

BACKFILL_POINTS = 1440
"""Most points per series a backfill asks for (one a minute over 24 h)."""
BACKFILL_TIMEOUT = 30.0
"""Seconds a backfill query may take at least (a day of data is more work than one instant)."""
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
"""A larger API response is an error, not parsed."""

class PromError(Exception):
    """A failed API call: ``status`` is ``down`` or ``error``, the message one line."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class PromPoll:
    """The outcome of one poll of one Prometheus-source endpoint (recorded and replayed)."""

    at: float
    """Evaluation time, epoch seconds."""
    status: str
    """``up``, ``down`` or ``error``."""
    error: str | None
    """Why it is down/error, one line; None when up."""
    metrics: Metrics
    """The endpoint's figures; every name of ``SERVING_METRICS``, None where missing."""
    models: dict[str, Metrics]
    """Per model label value; {} when the preset has no model label."""

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "status": self.status,
            "error": self.error,
            "metrics": dict(self.metrics),
            "models": {m: dict(v) for m, v in self.models.items()},
        }

    @classmethod
    def from_json(cls, data: object) -> PromPoll:
        """The poll ``to_json`` gave; ValueError saying what is wrong otherwise."""
        if not isinstance(data, dict):
            raise ValueError(f"a Prometheus poll must be an object, got {type(data).__name__}")
        at = data.get("at")
        status = data.get("status")
        error = data.get("error")
        if isinstance(at, bool) or not isinstance(at, int | float):
            raise ValueError(f"poll 'at' must be a number, got {at!r}")
        if status not in (STATUS_UP, STATUS_DOWN, STATUS_ERROR):
            raise ValueError(f"poll 'status' must be up, down or error, got {status!r}")
        if error is not None and not isinstance(error, str):
            raise ValueError(f"poll 'error' must be a string or null, got {error!r}")
        models = data.get("models")
        if not isinstance(models, dict):
            raise ValueError("poll 'models' must be an object")
        return cls(
            float(at), status, error, _metrics_json(data.get("metrics"), "metrics"),
            {str(m): _metrics_json(v, f"models.{m}") for m, v in models.items()},
        )


def _metrics_json(data: object, where: str) -> Metrics:
    if not isinstance(data, dict):
        raise ValueError(f"poll '{where}' must be an object")
    out: Metrics = {}
    for name, v in data.items():
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
            raise ValueError(f"poll '{where}.{name}' must be a number or null, got {v!r}")
        out[str(name)] = None if v is None else float(v)
    return out


# --------------------------------------------------------------------------- windows


def rate_window(endpoint: EndpointConfig, interval: float) -> float:
    """Seconds of the ``rate`` window for points ``interval`` apart (see the module docstring)."""
    scrape = endpoint.scrape_interval
    if endpoint.rate_window is not None:
        return max(endpoint.rate_window, interval)
    return max(4.0 * scrape, interval + scrape)


def backfill_step(seconds: float, interval: float, points: int = BACKFILL_POINTS) -> float:
    """The backfill step: at most ``points`` points, never finer than the poll interval.

    >>> backfill_step(86400, 2.0)
    60.0
    >>> backfill_step(60, 1.0)
    1.0
    """
    return float(max(interval, math.ceil(seconds / points)))


# --------------------------------------------------------------------------- the client


class PromSource:
    """Polls one endpoint's figures from a Prometheus-compatible server.

    Parameters
    ----------
    endpoint
        Needs ``prometheus_url`` and ``selector``; its ``headers`` go with every request and its
        ``timeout`` bounds each poll.
    preset
        The endpoint's preset (:func:`mmtui.feeds.presets.get_preset`).
    interval
        Seconds between polls (sets the rate window, see the module docstring).
    client
        The shared client; without one the source makes its own and :meth:`aclose` closes it.
    clock
        Wall clock (epoch seconds) for the evaluation time of a poll.
    """

    def __init__(
        self,
        endpoint: EndpointConfig,
        preset: Preset,
        *,
        interval: float,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if endpoint.prometheus_url is None or endpoint.selector is None:
            raise ValueError(f"endpoint {endpoint.name!r} has no prometheus_url and selector")
        self.endpoint = endpoint
        self.preset = preset
        self.interval = interval
        self.window = rate_window(endpoint, interval)
        self.plan = build_plan(preset, endpoint.selector, self.window, endpoint.models)
        self._base = endpoint.prometheus_url.rstrip("/")
        self._selector = endpoint.selector
        self._client = client
        self._owns_client = client is None
        self._clock = clock
        self._headers = httpx.Headers({"Accept": "application/json"})
        self._headers.update(endpoint.headers)

    async def aclose(self) -> None:
        if self._owns_client and self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    async def poll(self, at: float | None = None) -> PromPoll:
        """The figures at ``at`` (default now); never raises (except cancellation)."""
        t = self._clock() if at is None else at
        empty: Metrics = dict.fromkeys(SERVING_METRICS)
        try:
            data = await self._api(
                "query", {"query": self.plan.query, "time": f"{t:.3f}"}, self.endpoint.timeout
            )
            parts = _vector(data, self.plan.model_label)
        except PromError as exc:
            return PromPoll(t, exc.status, str(exc), empty, {})
        metrics, models, answered = evaluate(self.plan, parts)
        status, error = self._status(self.plan, parts, answered)
        if status != STATUS_UP:
            return PromPoll(t, status, error, empty, {})
        return PromPoll(t, STATUS_UP, None, metrics, models)

    async def backfill(self, seconds: float, *, end: float | None = None) -> list[PromPoll]:
        """Figures of the last ``seconds`` (oldest first, one per step from the first with data;
        steps without data are polls with every figure None). Raises :class:`PromError`."""
        end = self._clock() if end is None else end
        step = backfill_step(seconds, self.interval)
        start = math.floor((end - seconds) / step) * step
        window = max(self.window, step + self.endpoint.scrape_interval)
        plan = build_plan(self.preset, self._selector, window, self.endpoint.models)
        form = {"query": plan.query, "start": f"{start:.3f}", "end": f"{end:.3f}",
                "step": f"{step:g}"}
        data = await self._api("query_range", form, max(self.endpoint.timeout, BACKFILL_TIMEOUT))
        by_step = _matrix(data, plan.model_label, start, step)
        if not by_step:
            return []
        polls: list[PromPoll] = []
        for k in range(min(by_step), max(by_step) + 1):
            parts = by_step.get(k, {})
            metrics, models, answered = evaluate(plan, parts)
            status, error = self._status(plan, parts, answered)
            polls.append(PromPoll(start + k * step, status, error, metrics, models))
        return polls

    def _status(self, plan: Plan, parts: Parts, answered: bool) -> tuple[str, str | None]:
        up_sum, up_count = (parts.get(pid, {}).get(None) for pid in plan.up)
        if up_count and up_sum == 0:
            return STATUS_DOWN, f"Prometheus has every target of {self.endpoint.selector} down"
        if not answered:
            return STATUS_ERROR, (f"Prometheus has no {self.preset.name} series for "
                                  f"{self.endpoint.selector}")
        return STATUS_UP, None

    def _get_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(follow_redirects=True)
        return self._client

    async def _api(self, path: str, form: dict[str, str], timeout: float) -> Any:
        """``data`` of a successful API answer; PromError otherwise (secrets redacted)."""
        url = f"{self._base}/api/v1/{path}"
        client = self._get_client()
        try:
            async with asyncio.timeout(timeout):
                return await self._post(client, url, {**form, "timeout": duration(timeout)},
                                        timeout)
        except PromError as exc:
            raise PromError(exc.status, redact_secrets(str(exc), self.endpoint.headers)) from None
        except TimeoutError:
            raise PromError(STATUS_DOWN, f"timed out after {timeout:g}s") from None
        except Exception as exc:  # every failure becomes a state of the endpoint
            status, error = classify_error(exc, timeout)
            raise PromError(status, redact_secrets(error, self.endpoint.headers)) from None

    async def _post(
        self, client: httpx.AsyncClient, url: str, form: dict[str, str], timeout: float
    ) -> Any:
        request = client.stream("POST", url, data=form, headers=self._headers,
                                timeout=httpx.Timeout(timeout))
        async with request as response:
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise PromError(STATUS_ERROR, f"Prometheus answer over "
                                                  f"{MAX_RESPONSE_BYTES >> 20} MiB")
                chunks.append(chunk)
        try:
            doc = json.loads(b"".join(chunks))
        except ValueError:
            what = f"HTTP {response.status_code} {response.reason_phrase or ''}".strip()
            raise PromError(STATUS_ERROR, f"not a Prometheus API answer ({what}, "
                                          f"{response.headers.get('content-type', '?')})"
                            ) from None
        if not isinstance(doc, dict):
            raise PromError(STATUS_ERROR, "not a Prometheus API answer (not a JSON object)")
        if doc.get("status") == "error" or not response.is_success:
            kind = doc.get("errorType") or f"HTTP {response.status_code}"
            detail = doc.get("error") or response.reason_phrase or "no detail"
            raise PromError(STATUS_ERROR, one_line(f"Prometheus {kind}: {detail}"))
        if doc.get("status") != "success" or "data" not in doc:
            raise PromError(STATUS_ERROR, "not a Prometheus API answer (no status: success)")
        return doc["data"]


def _number(v: object) -> float | None:
    """A sample value: a string (``"1.5"``, ``"NaN"``, ``"+Inf"``); non-finite is None."""
    if not isinstance(v, str):
        raise PromError(STATUS_ERROR, f"Prometheus sent a non-string sample value {v!r}")
    try:
        x = float(v)
    except ValueError:
        raise PromError(STATUS_ERROR, f"Prometheus sent a sample value {v!r}") from None
    return x if math.isfinite(x) else None


def _series(data: object, kind: str) -> list[Mapping[str, Any]]:
    if not isinstance(data, dict) or data.get("resultType") != kind:
        got = data.get("resultType") if isinstance(data, dict) else type(data).__name__
        raise PromError(STATUS_ERROR, f"Prometheus answered {got!r}, expected a {kind}")
    result = data.get("result")
    if not isinstance(result, list) or not all(isinstance(s, dict) for s in result):
        raise PromError(STATUS_ERROR, "Prometheus answered a malformed result")
    return result


def _ids(series: Mapping[str, Any], label: str | None) -> tuple[str, Key]:
    metric = series.get("metric")
    if not isinstance(metric, dict) or not isinstance(metric.get(PART_LABEL), str):
        raise PromError(STATUS_ERROR, "Prometheus answered a series without mmtui's part label")
    key = metric.get(label) if label is not None else None
    return metric[PART_LABEL], key if isinstance(key, str) and key else None


def _vector(data: object, label: str | None) -> Parts:
    parts: Parts = {}
    for s in _series(data, "vector"):
        pid, key = _ids(s, label)
        value = s.get("value")
        if not isinstance(value, list) or len(value) != 2:
            raise PromError(STATUS_ERROR, "Prometheus answered a malformed sample")
        parts.setdefault(pid, {})[key] = _number(value[1])
    return parts


def _matrix(data: object, label: str | None, start: float, step: float) -> dict[int, Parts]:
    """Parts per step index (``round((t - start) / step)``)."""
    out: dict[int, Parts] = {}
    for s in _series(data, "matrix"):
        pid, key = _ids(s, label)
        values = s.get("values")
        if not isinstance(values, list):
            raise PromError(STATUS_ERROR, "Prometheus answered a malformed range")
        for point in values:
            if not isinstance(point, list) or len(point) != 2 or isinstance(point[0], bool) \
                    or not isinstance(point[0], int | float):
                raise PromError(STATUS_ERROR, "Prometheus answered a malformed sample")
            k = round((point[0] - start) / step)
            out.setdefault(k, {}).setdefault(pid, {})[key] = _number(point[1])
    return out
