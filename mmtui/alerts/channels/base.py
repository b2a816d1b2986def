"""What the channels share: one HTTP request with failure classification, and payload pieces."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from mmtui.alerts.notify import SEVERITY_RANK, DeliveryError, Notification, SendContext, Severity

ZERO_TIME: Final = "0001-01-01T00:00:00Z"
"""Go's zero time, which Alertmanager's webhook sends as ``endsAt`` of a firing alert."""

KIND_TITLES: Final[Mapping[str, str]] = {
    "firing": "FIRING",
    "renotify": "STILL FIRING",
    "resolved": "RESOLVED",
    "acknowledged": "ACKNOWLEDGED",
    "unacknowledged": "UNACKNOWLEDGED",
}


def iso(ts: float) -> str:
    """RFC 3339 UTC, with milliseconds only when there are any.

    >>> iso(1795001305.0), iso(1795001305.25)
    ('2026-11-18T11:28:25Z', '2026-11-18T11:28:25.250Z')
    """
    dt = datetime.fromtimestamp(ts, UTC)
    if dt.microsecond // 1000 == 0:
        return dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> float:
    """Epoch seconds from an RFC 3339 time such as Alertmanager returns."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def fmt_value(value: float | None) -> str:
    """A metric value for people: 4 significant digits, ``-`` when missing."""
    return "-" if value is None else f"{value:.4g}"


def alert_labels(n: Notification) -> dict[str, str]:
    """The alert's labels, sorted: the identifying fields overlaid by ``n.labels``; no empties."""
    labels = {"alertname": n.rule, "endpoint": n.endpoint, "severity": n.severity}
    if n.model:
        labels["model"] = n.model
    if n.feature:
        labels["feature"] = n.feature
    labels.update(n.labels)
    return {k: v for k, v in sorted(labels.items()) if v}


def alert_annotations(n: Notification) -> dict[str, str]:
    """``n.annotations`` completed with summary, description and runbook_url; sorted."""
    out = dict(n.annotations)
    for key, value in (
        ("summary", n.summary),
        ("description", n.description),
        ("runbook_url", n.runbook_url),
    ):
        if value and key not in out:
            out[key] = value
    return dict(sorted(out.items()))


def headline(n: Notification) -> str:
    """One line naming the alert: ``rule on endpoint (model): summary``."""
    where = n.endpoint + (f" ({n.model})" if n.model else "")
    feature = f" [{n.feature}]" if n.feature else ""
    text = f"{n.rule}{feature} on {where}"
    return f"{text}: {n.summary}" if n.summary else text


def group_title(group: Sequence[Notification]) -> str:
    """``[FIRING:2] [RESOLVED:1] fraud-scorer`` for a (non-empty) endpoint group."""
    counts = Counter(KIND_TITLES[n.kind] for n in group)
    parts = [f"[{kind}:{count}]" for kind, count in counts.items()]
    return f"{' '.join(parts)} {group[0].endpoint}"


def group_severity(group: Sequence[Notification]) -> Severity | None:
    """The highest severity among the group's alerts that still fire, or None."""
    firing = [n.severity for n in group if n.kind in ("firing", "renotify", "unacknowledged")]
    return max(firing, key=SEVERITY_RANK.__getitem__, default=None)


def url_secrets(url: str | None) -> tuple[str, ...]:
    """The parts of a URL that may be credentials (path and query of a Slack or chat webhook)."""
    if not url:
        return ()
    parts = urlsplit(url)
    return tuple(p for p in (parts.path.strip("/"), parts.query) if p)


def host_of(url: str) -> str:
    """The host[:port] of a URL: safe to show, unlike the path of a Slack webhook."""
    return urlsplit(url).netloc or "?"


async def request(
    ctx: SendContext,
    method: str,
    url: str,
    *,
    timeout: float,
    json: Any = None,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
) -> httpx.Response:
    """One HTTP request; a 2xx response is returned, anything else raises DeliveryError.

    Connection errors, timeouts, 429 and 5xx are retryable; other statuses are not. Messages
    name the host only, never the path or query (where webhook secrets live).
    """
    host = host_of(url)
    try:
        response = await ctx.client.request(
            method,
            url,
            json=json,
            headers=dict(headers or {}),
            params=params,
            timeout=httpx.Timeout(timeout),
        )
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise DeliveryError(f"invalid URL for {host}: {exc}", retryable=False) from None
    except httpx.TimeoutException:
        raise DeliveryError(f"{host}: timed out after {timeout:g}s", retryable=True) from None
    except httpx.TransportError as exc:
        reason = str(exc) or type(exc).__name__
        raise DeliveryError(f"{host}: connection failed: {reason}", retryable=True) from None
    code = response.status_code
    if 200 <= code < 300:
        return response
    body = " ".join(response.text.split())[:200]
    message = f"{host}: HTTP {code}" + (f": {body}" if body else "")
    if code == 429:
        retry_after = _retry_after(response)
        raise DeliveryError(message, retryable=True, retry_after=retry_after, status=code)
    raise DeliveryError(message, retryable=code >= 500, status=code)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(seconds, 0.0)
