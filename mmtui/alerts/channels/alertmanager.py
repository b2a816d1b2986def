"""Alertmanager API v2: post alerts, mirror silences.

Alerts go to ``POST /api/v2/alerts`` with the alert's labels plus ``mmtui_fingerprint`` (mmtui's
dedup key, so the resolve matches the firing alert exactly). Like Prometheus, mmtui re-posts a
firing alert every ``resend_interval`` with ``endsAt`` four intervals ahead: if mmtui stops,
Alertmanager resolves the alert by itself instead of keeping it forever. A resolve is the same
alert with ``endsAt`` at the time it resolved.

A silence created in mmtui becomes an Alertmanager silence (``POST /api/v2/silences``) whose
comment ends with ``[mmtui silence <id>]``; that marker is how the mirror is found again to
update or expire it (``DELETE /api/v2/silence/{id}``), after a restart or from another mmtui
process too, and it makes a retried create idempotent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Final

from mmtui.alerts.channel_config import ChannelConfig
from mmtui.alerts.channels.base import (
    alert_annotations,
    alert_labels,
    iso,
    parse_iso,
    request,
)
from mmtui.alerts.notify import (
    Channel,
    DeliveryError,
    Kind,
    Notification,
    SendContext,
    Silence,
)

FINGERPRINT_LABEL: Final = "mmtui_fingerprint"
TTL_INTERVALS: Final = 4
"""A firing alert's ``endsAt`` is this many resend intervals ahead."""


def marker(silence_id: str) -> str:
    """The tag at the end of a mirrored silence's comment."""
    return f"[mmtui silence {silence_id}]"


def am_alert(n: Notification, *, now: float, ttl: float, generator_url: str = "") -> dict[str, Any]:
    """One ``postableAlert``: firing until ``now + ttl``, or resolved at ``n.ends_at``."""
    if n.kind == "resolved":
        ends = n.ends_at if n.ends_at is not None else now
    else:
        ends = now + ttl
    alert: dict[str, Any] = {
        "labels": alert_labels(n) | {FINGERPRINT_LABEL: n.fingerprint},
        "annotations": alert_annotations(n),
        "startsAt": iso(n.starts_at),
        "endsAt": iso(ends),
    }
    if generator_url:
        alert["generatorURL"] = generator_url
    return alert


def am_silence(s: Silence) -> dict[str, Any]:
    """The ``postableSilence`` for an mmtui silence."""
    return {
        "matchers": [
            {"name": m.name, "value": m.value, "isRegex": m.is_regex, "isEqual": m.is_equal}
            for m in s.matchers
        ],
        "startsAt": iso(s.starts_at),
        "endsAt": iso(s.ends_at),
        "createdBy": s.created_by or "mmtui",
        "comment": f"{s.comment} {marker(s.id)}".strip(),
    }


def _same(existing: dict[str, Any], wanted: dict[str, Any]) -> bool:
    def key(ms: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
        return {(m["name"], m["value"], m["isRegex"], m.get("isEqual", True)) for m in ms}

    return (
        key(existing.get("matchers", [])) == key(wanted["matchers"])
        and abs(parse_iso(existing["endsAt"]) - parse_iso(wanted["endsAt"])) < 1.0
        and existing.get("comment") == wanted["comment"]
    )


class AlertmanagerChannel(Channel):
    """Post alerts to an Alertmanager and mirror mmtui silences there."""

    type: ClassVar[str] = "alertmanager"
    kinds: ClassVar[frozenset[Kind]] = frozenset(("firing", "renotify", "resolved"))

    def __init__(self, config: ChannelConfig) -> None:
        super().__init__(config)
        assert config.url is not None
        self.base = config.url.rstrip("/") + "/api/v2"
        self.refresh_interval = config.resend_interval
        self._firing: dict[str, Notification] = {}

    def syncs_silences(self) -> bool:
        return self.config.create_silences

    async def _post_alerts(self, group: Sequence[Notification], ctx: SendContext) -> None:
        c = self.config
        now = ctx.clock()
        ttl = TTL_INTERVALS * c.resend_interval
        body = [am_alert(n, now=now, ttl=ttl, generator_url=c.generator_url) for n in group]
        await request(
            ctx, "POST", f"{self.base}/alerts", json=body, headers=c.headers, timeout=c.timeout
        )

    async def send(self, group: Sequence[Notification], ctx: SendContext) -> None:
        await self._post_alerts(group, ctx)
        for n in group:
            if n.kind == "resolved":
                self._firing.pop(n.fingerprint, None)
            else:
                self._firing[n.fingerprint] = n

    async def refresh(self, ctx: SendContext) -> int:
        """Re-post every alert still firing, pushing its ``endsAt`` ahead."""
        alerts = list(self._firing.values())
        if alerts:
            await self._post_alerts(alerts, ctx)
        return len(alerts)

    async def _mirrors(self, silence_id: str, ctx: SendContext) -> list[dict[str, Any]]:
        """The active or pending Alertmanager silences that mirror mmtui silence ``silence_id``."""
        c = self.config
        response = await request(
            ctx, "GET", f"{self.base}/silences", headers=c.headers, timeout=c.timeout
        )
        try:
            silences = response.json()
            tag = marker(silence_id)
            return [
                s
                for s in silences
                if s["status"]["state"] != "expired" and s.get("comment", "").endswith(tag)
            ]
        except (ValueError, TypeError, KeyError) as exc:
            raise DeliveryError(f"unexpected silences list: {exc!r}", retryable=False) from None

    async def create_silence(self, silence: Silence, ctx: SendContext) -> None:
        """Create the mirror, or update it when mmtui's silence changed; no-op when current."""
        c = self.config
        body = am_silence(silence)
        mirrors = await self._mirrors(silence.id, ctx)
        if any(_same(m, body) for m in mirrors):
            return
        if mirrors:
            body["id"] = mirrors[0]["id"]
        await request(
            ctx, "POST", f"{self.base}/silences", json=body, headers=c.headers, timeout=c.timeout
        )

    async def expire_silence(self, silence_id: str, ctx: SendContext) -> None:
        """Expire every mirror of ``silence_id``; nothing to do when there is none."""
        c = self.config
        for mirror in await self._mirrors(silence_id, ctx):
            url = f"{self.base}/silence/{mirror['id']}"
            try:
                await request(ctx, "DELETE", url, headers=c.headers, timeout=c.timeout)
            except DeliveryError as exc:
                # Gone meanwhile (404), or expired by someone else (500 "already expired").
                if exc.status != 404 and "already expired" not in exc.message:
                    raise
