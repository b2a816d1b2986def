"""Opsgenie Alert API: one request per alert, ``alias`` = the alert's fingerprint.

``firing`` and ``renotify`` create the alert (``POST /v2/alerts``; Opsgenie deduplicates on the
alias), ``acknowledged`` / ``unacknowledged`` / ``resolved`` post to
``/v2/alerts/{alias}/acknowledge|unacknowledge|close?identifierType=alias``. Authentication is
``Authorization: GenieKey <api_key>``; the base URL is configurable (EU accounts, tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Final
from urllib.parse import quote

from mmtui.alerts.channels.base import fmt_value, headline, request
from mmtui.alerts.notify import Channel, Notification, SendContext

PRIORITIES: Final = {"critical": "P1", "warning": "P3", "info": "P5"}
_ACTIONS: Final = {
    "acknowledged": "acknowledge",
    "unacknowledged": "unacknowledge",
    "resolved": "close",
}
SOURCE: Final = "mmtui"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def opsgenie_create(n: Notification) -> dict[str, Any]:
    """The ``POST /v2/alerts`` body for a firing alert."""
    lines = [n.summary, n.description]
    if n.value is not None:
        threshold = "" if n.threshold is None else f" (threshold {fmt_value(n.threshold)})"
        lines.append(f"value {fmt_value(n.value)}{threshold}")
    if n.runbook_url:
        lines.append(f"runbook: {n.runbook_url}")
    tags = [n.severity, f"endpoint:{n.endpoint}", f"rule:{n.rule}"]
    if n.compliance:
        tags.append("compliance")
    details = {
        "fingerprint": n.fingerprint,
        "alert_id": n.alert_id,
        "endpoint": n.endpoint,
        "rule": n.rule,
        "state": n.state,
        "model": n.model or "",
        "feature": n.feature or "",
        "value": fmt_value(n.value),
        "threshold": fmt_value(n.threshold),
        "runbook_url": n.runbook_url or "",
    }
    return {
        "message": _cut(headline(n), 130),
        "alias": n.fingerprint,
        "description": _cut("\n".join(line for line in lines if line), 15000),
        "priority": PRIORITIES[n.severity],
        "tags": [_cut(t, 50) for t in tags],
        "details": {k: v for k, v in details.items() if v},
        "source": SOURCE,
    }


def opsgenie_action(n: Notification) -> dict[str, str]:
    """The body of an acknowledge / unacknowledge / close request."""
    body = {"source": SOURCE}
    if n.acked_by and n.kind != "resolved":
        body["user"] = _cut(n.acked_by, 100)
    if n.ack_note and n.kind != "resolved":
        body["note"] = _cut(n.ack_note, 25000)
    return body


class OpsgenieChannel(Channel):
    """Create, acknowledge, unacknowledge and close Opsgenie alerts by alias."""

    type: ClassVar[str] = "opsgenie"
    batch: ClassVar[bool] = False

    async def send(self, group: Sequence[Notification], ctx: SendContext) -> None:
        c = self.config
        assert c.url is not None and c.api_key is not None
        base = c.url.rstrip("/") + "/v2/alerts"
        headers = {"Authorization": f"GenieKey {c.api_key}"}
        for n in group:
            action = _ACTIONS.get(n.kind)
            if action is None:
                url, body, params = base, opsgenie_create(n), None
            else:
                url = f"{base}/{quote(n.fingerprint, safe='')}/{action}"
                body, params = opsgenie_action(n), {"identifierType": "alias"}
            await request(
                ctx, "POST", url, json=body, headers=headers, params=params, timeout=c.timeout
            )
