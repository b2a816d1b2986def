"""PagerDuty Events API v2: one event per alert, ``dedup_key`` = the alert's fingerprint.

``firing``, ``renotify`` and ``unacknowledged`` send ``trigger`` (PagerDuty folds a repeated
trigger into the open alert); ``acknowledged`` sends ``acknowledge``; ``resolved`` sends
``resolve``. The events URL is configurable (``url``), e.g. for a local receiver in tests.
PagerDuty answers ``202``; ``400`` (invalid event) is final, ``429`` and ``5xx`` are retried.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Final

from mmtui.alerts.channels.base import alert_annotations, alert_labels, headline, iso, request
from mmtui.alerts.notify import Channel, Notification, SendContext

_ACTIONS: Final = {
    "firing": "trigger",
    "renotify": "trigger",
    "unacknowledged": "trigger",
    "acknowledged": "acknowledge",
    "resolved": "resolve",
}
_SUMMARY_MAX: Final = 1024


def pagerduty_event(n: Notification, routing_key: str) -> dict[str, Any]:
    """The Events API v2 event for one notification."""
    action = _ACTIONS[n.kind]
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": n.fingerprint,
    }
    if action != "trigger":
        return event
    summary = headline(n)
    event["payload"] = {
        "summary": summary if len(summary) <= _SUMMARY_MAX else summary[:1023] + "…",
        "source": n.endpoint,
        "severity": n.severity,
        "timestamp": iso(n.starts_at),
        "component": n.model or n.endpoint,
        "group": n.endpoint,
        "class": n.rule,
        "custom_details": {
            "fingerprint": n.fingerprint,
            "alert_id": n.alert_id,
            "state": n.state,
            "value": n.value,
            "threshold": n.threshold,
            "model": n.model,
            "feature": n.feature,
            "description": n.description or None,
            "compliance": n.compliance,
            "labels": alert_labels(n),
            "annotations": alert_annotations(n),
        },
    }
    event["links"] = [{"href": n.runbook_url, "text": "Runbook"}] if n.runbook_url else []
    return event


class PagerDutyChannel(Channel):
    """Send one Events API v2 event per notification."""

    type: ClassVar[str] = "pagerduty"
    batch: ClassVar[bool] = False

    async def send(self, group: Sequence[Notification], ctx: SendContext) -> None:
        c = self.config
        assert c.url is not None and c.routing_key is not None
        for n in group:
            event = pagerduty_event(n, c.routing_key)
            await request(ctx, "POST", c.url, json=event, timeout=c.timeout)
