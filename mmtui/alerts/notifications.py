"""What the engine decided (:class:`~mmtui.alerts.state.Action`) as what channels send
(:class:`~mmtui.alerts.notify.Notification`), and mmtui silences as their Alertmanager mirror.

Kinds map one to one, except a ``renotify`` the engine raised because someone withdrew an ack:
that one is ``unacknowledged`` (PagerDuty re-triggers; channels without that kind skip it). A
``renotify`` after an ack expired stays ``renotify`` and reaches every channel that sends firing
alerts. The fingerprint is the dedup key of every kind, so a resolve matches its trigger.
"""

from __future__ import annotations

from mmtui.alerts import notify
from mmtui.alerts.notify import Kind, Notification
from mmtui.alerts.state import Action, Matcher, Silence

UNACKNOWLEDGED_REASON = "unacknowledged"
"""The reason :class:`~mmtui.alerts.state.AlertEngine` gives a renotify after an unack."""


def notification(action: Action) -> Notification:
    """The notification of one engine action."""
    a = action.alert
    kind: Kind = action.kind
    if action.kind == "renotify" and action.reason == UNACKNOWLEDGED_REASON:
        kind = "unacknowledged"
    return Notification(
        kind=kind,
        fingerprint=a.fingerprint,
        alert_id=a.id,
        rule=a.rule,
        endpoint=a.endpoint,
        severity=a.severity,
        state=a.state,
        starts_at=a.fired_at if a.fired_at is not None else a.active_at,
        summary=a.annotations.get("summary", ""),
        model=a.model,
        feature=a.feature,
        value=a.value,
        threshold=a.threshold,
        description=a.annotations.get("description", ""),
        runbook_url=a.annotations.get("runbook_url"),
        labels=a.match_labels(),
        annotations=dict(a.annotations),
        ends_at=a.since if a.state == "resolved" else None,
        acked_by=None if a.ack is None else a.ack.by,
        ack_note=None if a.ack is None else a.ack.note,
        compliance=a.compliance,
    )


def mirror_matcher(m: Matcher) -> notify.Matcher:
    """``=``, ``!=``, ``=~``, ``!~`` as Alertmanager's ``isRegex`` / ``isEqual`` flags."""
    return notify.Matcher(m.name, m.value, is_regex=m.op in ("=~", "!~"),
                          is_equal=m.op in ("=", "=~"))


def mirror_silence(s: Silence) -> notify.Silence:
    """The silence channels that keep silences of their own (Alertmanager) are sent."""
    return notify.Silence(
        id=s.id,
        matchers=tuple(mirror_matcher(m) for m in s.matchers),
        starts_at=s.starts_at,
        ends_at=s.ends_at,
        created_by=s.created_by,
        comment=s.reason,
    )
