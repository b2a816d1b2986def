"""Generic webhook: one POST per endpoint group, in Alertmanager's webhook JSON (version 4).

Whatever consumes Alertmanager webhooks (alert bridges, chat bots, ticketing) consumes these.
Groups are per endpoint (``groupLabels`` = ``{"endpoint": ...}``); ``fingerprint`` is mmtui's
dedup key, so the resolved message carries the same one as the firing message. Acknowledgements
have no place in this format and are not sent.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar

from mmtui.alerts.channels.base import (
    ZERO_TIME,
    alert_annotations,
    alert_labels,
    iso,
    request,
    url_secrets,
)
from mmtui.alerts.notify import Channel, Kind, Notification, SendContext


def _common(maps: list[dict[str, str]]) -> dict[str, str]:
    first, *rest = maps
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in rest)}


def webhook_payload(
    group: Sequence[Notification],
    *,
    receiver: str,
    now: float,
    external_url: str = "",
    generator_url: str = "",
) -> dict[str, Any]:
    """The Alertmanager webhook document for one endpoint group (non-empty).

    A resolved alert without ``ends_at`` ends ``now``.
    """
    endpoint = group[0].endpoint
    labels = [alert_labels(n) for n in group]
    annotations = [alert_annotations(n) for n in group]
    alerts = []
    for n, lab, ann in zip(group, labels, annotations, strict=True):
        resolved = n.kind == "resolved"
        ends = (now if n.ends_at is None else n.ends_at) if resolved else None
        alerts.append(
            {
                "status": "resolved" if resolved else "firing",
                "labels": lab,
                "annotations": ann,
                "startsAt": iso(n.starts_at),
                "endsAt": ZERO_TIME if ends is None else iso(ends),
                "generatorURL": generator_url,
                "fingerprint": n.fingerprint,
            }
        )
    firing = any(n.kind != "resolved" for n in group)
    return {
        "receiver": receiver,
        "status": "firing" if firing else "resolved",
        "alerts": alerts,
        "groupLabels": {"endpoint": endpoint},
        "commonLabels": _common(labels),
        "commonAnnotations": _common(annotations),
        "externalURL": external_url,
        "version": "4",
        "groupKey": "{}:{endpoint=" + json.dumps(endpoint, ensure_ascii=False) + "}",
        "truncatedAlerts": 0,
    }


class WebhookChannel(Channel):
    """POST the Alertmanager webhook document to ``url``."""

    type: ClassVar[str] = "webhook"
    kinds: ClassVar[frozenset[Kind]] = frozenset(("firing", "renotify", "resolved"))

    def secrets(self) -> tuple[str, ...]:
        return super().secrets() + url_secrets(self.config.url)

    async def send(self, group: Sequence[Notification], ctx: SendContext) -> None:
        c = self.config
        assert c.url is not None
        payload = webhook_payload(
            group,
            receiver=c.name,
            now=ctx.clock(),
            external_url=c.external_url,
            generator_url=c.generator_url,
        )
        await request(ctx, "POST", c.url, json=payload, headers=c.headers, timeout=c.timeout)
