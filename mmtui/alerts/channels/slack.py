"""Slack incoming webhook: one message per endpoint group, ``text`` fallback plus ``blocks``.

The message is a header block (``[FIRING:2] fraud-scorer``), one mrkdwn section per alert (at
most :data:`MAX_ALERTS`, then a context line saying how many more) and a context block with the
fingerprints. Slack answers ``200 ok``; errors (``400 invalid_payload``, ``404 no_service``) are
final, ``429`` and ``5xx`` are retried. The webhook URL is the secret and never shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Final

from mmtui.alerts.channels.base import KIND_TITLES, fmt_value, group_title, request, url_secrets
from mmtui.alerts.notify import Channel, Notification, SendContext

MAX_ALERTS: Final = 20
"""Sections per message; Slack allows 50 blocks."""
_HEADER_MAX: Final = 150
_SECTION_MAX: Final = 3000


def _esc(text: str) -> str:
    """Escape the three characters Slack's mrkdwn reserves."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _section(n: Notification) -> str:
    head = f"*{KIND_TITLES[n.kind]}* {_esc(n.rule)} ({n.severity})"
    if n.compliance:
        head += " compliance"
    lines = [head]
    if n.summary:
        lines.append(_esc(n.summary))
    facts = [f"value {fmt_value(n.value)}"]
    if n.threshold is not None:
        facts.append(f"threshold {fmt_value(n.threshold)}")
    if n.model:
        facts.append(f"model {_esc(n.model)}")
    if n.feature:
        facts.append(f"feature {_esc(n.feature)}")
    lines.append(" · ".join(facts))
    if n.kind in ("acknowledged", "unacknowledged") and n.acked_by:
        by = f"by {_esc(n.acked_by)}"
        lines.append(by + (f": {_esc(n.ack_note)}" if n.ack_note else ""))
    if n.runbook_url:
        lines.append(f"<{n.runbook_url}|runbook>")
    return _cut("\n".join(lines), _SECTION_MAX)


def slack_payload(group: Sequence[Notification]) -> dict[str, Any]:
    """The incoming-webhook message for one endpoint group (non-empty)."""
    title = group_title(group)
    shown = group[:MAX_ALERTS]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(title, _HEADER_MAX)}}
    ]
    blocks += [{"type": "section", "text": {"type": "mrkdwn", "text": _section(n)}} for n in shown]
    context = "fingerprint " + ", ".join(f"`{n.fingerprint}`" for n in shown)
    if len(group) > len(shown):
        context += f" and {len(group) - len(shown)} more alerts"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    names = ", ".join(f"{n.rule} ({n.severity})" for n in group)
    return {"text": _esc(_cut(f"{title}: {names}", _SECTION_MAX)), "blocks": blocks}


class SlackChannel(Channel):
    """POST one Slack message per endpoint group to the incoming-webhook ``url``."""

    type: ClassVar[str] = "slack"

    def secrets(self) -> tuple[str, ...]:
        return super().secrets() + url_secrets(self.config.url)

    async def send(self, group: Sequence[Notification], ctx: SendContext) -> None:
        c = self.config
        assert c.url is not None
        await request(ctx, "POST", c.url, json=slack_payload(group), timeout=c.timeout)
