"""``[[channels]]`` tables → :class:`ChannelConfig`.

Example::

    [[channels]]
    type = "pagerduty"              # bell|desktop|webhook|slack|pagerduty|opsgenie|alertmanager
    name = "oncall"                 # unique; defaults to the type
    routing_key = "${PD_ROUTING_KEY}"
    min_severity = "critical"       # info < warning < critical (default warning)
    max_attempts = 5                # tries per notification (default 5)
    backoff = "1s"                  # first retry delay, doubled each time (default 1s) ...
    max_backoff = "1m"              # ... up to this (default 1m)
    timeout = "10s"                 # per request (default 10s)
    send_resolved = true            # default true
    enabled = true

Keys by type, besides those above: ``desktop``: ``command`` (default ``notify-send``);
``webhook``: ``url``, ``headers``, ``external_url``, ``generator_url``; ``slack``: ``url``;
``pagerduty``: ``routing_key``, ``url`` (the Events API v2 endpoint); ``opsgenie``: ``api_key``,
``url`` (the API base, e.g. ``https://api.eu.opsgenie.com``); ``alertmanager``: ``url`` (its base
URL), ``headers``, ``generator_url``, ``create_silences`` (default true), ``resend_interval``
(default 1m; firing alerts are re-posted this often and expire after 4 of them without mmtui).

Secrets (``url`` of Slack and webhooks, ``routing_key``, ``api_key``, ``headers``) take ``${ENV}``
references; they are left out of ``repr`` and never appear in an error message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, cast

from mmtui.alerts.notify import SEVERITY_RANK, Severity
from mmtui.config import ConfigError, TableReader

__all__ = [
    "CHANNEL_TYPES",
    "OPSGENIE_URL",
    "PAGERDUTY_EVENTS_URL",
    "ChannelConfig",
    "read_channel",
    "read_channels",
]

ChannelType = Literal[
    "bell", "desktop", "webhook", "slack", "pagerduty", "opsgenie", "alertmanager"
]
CHANNEL_TYPES: Final[tuple[ChannelType, ...]] = (
    "bell",
    "desktop",
    "webhook",
    "slack",
    "pagerduty",
    "opsgenie",
    "alertmanager",
)
PAGERDUTY_EVENTS_URL: Final = "https://events.pagerduty.com/v2/enqueue"
OPSGENIE_URL: Final = "https://api.opsgenie.com"

_COMMON: Final = (
    "type",
    "name",
    "min_severity",
    "enabled",
    "send_resolved",
    "timeout",
    "max_attempts",
    "backoff",
    "max_backoff",
)
_KEYS: Final[Mapping[str, tuple[str, ...]]] = {
    "bell": (),
    "desktop": ("command",),
    "webhook": ("url", "headers", "external_url", "generator_url"),
    "slack": ("url",),
    "pagerduty": ("routing_key", "url"),
    "opsgenie": ("api_key", "url"),
    "alertmanager": ("url", "headers", "generator_url", "create_silences", "resend_interval"),
}
_URL_REQUIRED: Final = ("webhook", "slack", "alertmanager")


@dataclass(frozen=True, slots=True)
class ChannelConfig:
    """One notification channel (``[[channels]]``)."""

    type: ChannelType
    name: str
    min_severity: Severity = "warning"
    enabled: bool = True
    url: str | None = field(default=None, repr=False)
    """Webhook/Slack/Alertmanager URL, PagerDuty events URL, Opsgenie API base."""
    routing_key: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    timeout: float = 10.0
    """Seconds for one request (or one ``notify-send``)."""
    max_attempts: int = 5
    backoff: float = 1.0
    """Seconds before the first retry; doubled for each next one."""
    max_backoff: float = 60.0
    send_resolved: bool = True
    create_silences: bool = True
    resend_interval: float = 60.0
    command: str = "notify-send"
    external_url: str = ""
    generator_url: str = ""


class _ChannelReader(TableReader):
    """A reader whose errors name the channel as well as the key."""

    def __init__(self, r: TableReader, label: str) -> None:
        super().__init__(r.source, r.path, r.table, r.env)
        self.label = label

    def error(self, name: str, expected: str) -> ConfigError:
        return super().error(name, f"{self.label}: {expected}")


def read_channel(r: TableReader) -> ChannelConfig:
    """Read one ``[[channels]]`` table; raises ``ConfigError`` naming the channel and key."""
    raw_name = r.table.get("name")
    label = f"channel {raw_name!r}" if isinstance(raw_name, str) and raw_name else "channel"
    c = _ChannelReader(r, label)
    if r.table.get("type") is None:
        raise c.error("type", f"is required (one of {', '.join(CHANNEL_TYPES)})")
    type_ = cast(ChannelType, c.choice("type", CHANNEL_TYPES, ""))
    c.check_unknown(_COMMON + _KEYS[type_])
    name = c.string("name", type_) or type_
    if not name.strip():
        raise c.error("name", "must not be empty")
    d = ChannelConfig(type=type_, name=name)
    url = _url(c, type_)
    cfg = ChannelConfig(
        type=type_,
        name=name,
        min_severity=cast(Severity, c.choice("min_severity", tuple(SEVERITY_RANK), "warning")),
        enabled=c.boolean("enabled", True),
        url=url,
        routing_key=_secret(c, "routing_key", required=type_ == "pagerduty"),
        api_key=_secret(c, "api_key", required=type_ == "opsgenie"),
        headers=c.str_map("headers"),
        timeout=c.duration("timeout", d.timeout, positive=True),
        max_attempts=c.integer("max_attempts", d.max_attempts),
        backoff=c.duration("backoff", d.backoff, positive=True),
        max_backoff=c.duration("max_backoff", d.max_backoff, positive=True),
        send_resolved=c.boolean("send_resolved", True),
        create_silences=c.boolean("create_silences", True),
        resend_interval=c.duration("resend_interval", d.resend_interval, positive=True),
        command=c.string("command", d.command) or d.command,
        external_url=c.string("external_url", "") or "",
        generator_url=c.string("generator_url", "") or "",
    )
    if cfg.max_backoff < cfg.backoff:
        raise c.error("max_backoff", "must not be shorter than backoff")
    if type_ == "alertmanager" and not cfg.send_resolved:
        raise c.error(
            "send_resolved", "must be true for alertmanager (resolving is how its alerts end)"
        )
    return cfg


def read_channels(readers: Sequence[TableReader]) -> tuple[ChannelConfig, ...]:
    """Read every ``[[channels]]`` table; names must be unique."""
    out: list[ChannelConfig] = []
    seen: set[str] = set()
    for r in readers:
        cfg = read_channel(r)
        if cfg.name in seen:
            raise r.error("name", f"duplicate channel name {cfg.name!r} (names must be unique)")
        seen.add(cfg.name)
        out.append(cfg)
    return tuple(out)


def _secret(c: TableReader, key: str, *, required: bool) -> str | None:
    value = c.string(key)
    if required and (value is None or not value.strip()):
        raise c.error(key, "is required (a string; use ${ENV_VAR} to keep it out of the file)")
    return value


def _url(c: TableReader, type_: str) -> str | None:
    value = c.string("url")
    if value is None:
        if type_ in _URL_REQUIRED:
            raise c.error("url", "is required (an http:// or https:// URL)")
        if type_ == "pagerduty":
            return PAGERDUTY_EVENTS_URL
        if type_ == "opsgenie":
            return OPSGENIE_URL
        return None
    if not re.match(r"^https?://[^/\s]+", value):
        # The value itself is not shown: for Slack and many webhooks the URL is the secret.
        raise c.error("url", "expected an http:// or https:// URL")
    return value
