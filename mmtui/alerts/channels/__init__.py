"""Notification channels, one module each, and :func:`build_channels` from configuration."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mmtui.alerts.channel_config import ChannelConfig
from mmtui.alerts.channels.alertmanager import AlertmanagerChannel
from mmtui.alerts.channels.bell import BellChannel, Toast, terminal_bell
from mmtui.alerts.channels.desktop import DesktopChannel
from mmtui.alerts.channels.opsgenie import OpsgenieChannel
from mmtui.alerts.channels.pagerduty import PagerDutyChannel
from mmtui.alerts.channels.slack import SlackChannel
from mmtui.alerts.channels.webhook import WebhookChannel
from mmtui.alerts.notify import Channel

__all__ = [
    "AlertmanagerChannel",
    "BellChannel",
    "DesktopChannel",
    "OpsgenieChannel",
    "PagerDutyChannel",
    "SlackChannel",
    "Toast",
    "WebhookChannel",
    "build_channel",
    "build_channels",
]

_BY_TYPE: dict[str, Callable[[ChannelConfig], Channel]] = {
    "desktop": DesktopChannel,
    "webhook": WebhookChannel,
    "slack": SlackChannel,
    "pagerduty": PagerDutyChannel,
    "opsgenie": OpsgenieChannel,
    "alertmanager": AlertmanagerChannel,
}


def build_channel(
    config: ChannelConfig,
    *,
    toast: Callable[[Toast], None] | None = None,
    bell: Callable[[], None] = terminal_bell,
) -> Channel:
    """The channel for one configuration; ``toast`` and ``bell`` serve the ``bell`` type."""
    if config.type == "bell":
        return BellChannel(config, toast=toast, bell=bell)
    return _BY_TYPE[config.type](config)


def build_channels(
    configs: Sequence[ChannelConfig],
    *,
    toast: Callable[[Toast], None] | None = None,
    bell: Callable[[], None] = terminal_bell,
) -> list[Channel]:
    """Every configured channel, disabled ones included (they show as ``disabled``)."""
    return [build_channel(c, toast=toast, bell=bell) for c in configs]
