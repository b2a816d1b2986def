"""Notification channels and the dispatcher against a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import stat
import sys
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from mmtui.alerts.channel_config import (
    OPSGENIE_URL,
    PAGERDUTY_EVENTS_URL,
    ChannelConfig,
    read_channel,
    read_channels,
)
from mmtui.alerts.channels import BellChannel, Toast, build_channel, build_channels
from mmtui.alerts.notify import (
    Channel,
    DeliveryResult,
    Notification,
    NotificationDispatcher,
)
from mmtui.config import ConfigError, TableReader

NOW = 1795001305.0  # 2026-11-18T11:28:25Z
STARTED = NOW - 60.0  # 2026-11-18T11:27:25Z
SECRET = "T0SECRET/B0SECRET/xoxSecretToken42"


# --------------------------------------------------------------------------- the receiver


@dataclass
class Hit:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Receiver

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _handle(self) -> None:
        url = urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        hit = Hit(self.command, url.path, parse_qs(url.query), headers, json.loads(raw or "null"))
        reply = self.server.record(hit)
        self.send_response(reply.status)
        for k, v in reply.headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    do_GET = do_POST = do_DELETE = _handle


class Receiver(ThreadingHTTPServer):
    """Records every request; answers from a per-path script, then 200 (or ``default``)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.hits: list[Hit] = []
        self.script: dict[str, list[Reply]] = {}
        self.default = Reply(200, b"ok")

    def record(self, hit: Hit) -> Reply:
        with self.lock:
            self.hits.append(hit)
            queue = self.script.get(hit.path)
            if queue:
                reply = queue.pop(0)
                if hit.headers.get("authorization") and reply.status == 401:
                    reply = Reply(401, f"bad key {hit.headers['authorization']}".encode())
                return reply
            return self.default

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def bodies(self, path: str | None = None) -> list[Any]:
        return [h.body for h in self.hits if path is None or h.path == path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    srv = Receiver()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join()


@pytest.fixture
def refused_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/{SECRET}"


# --------------------------------------------------------------------------- helpers


def note(kind: str = "firing", fp: str = "fp1", **kw: Any) -> Notification:
    base: dict[str, Any] = dict(
        kind=kind,
        fingerprint=fp,
        alert_id="17",
        rule="p95 latency",
        endpoint="fraud-scorer",
        severity="critical",
        state="resolved" if kind == "resolved" else "firing",
        starts_at=STARTED,
        summary="p95 412 ms > 250 ms",
        model="xgb-v3",
        value=412.0,
        threshold=250.0,
        runbook_url="https://runbooks.example/latency",
        labels={"alertname": "p95 latency", "endpoint": "fraud-scorer", "model": "xgb-v3",
                "severity": "critical", "team": "ml"},
        annotations={"summary": "p95 412 ms > 250 ms"},
        ends_at=NOW if kind == "resolved" else None,
    )
    base.update(kw)
    return Notification(**base)


def cfg(type_: str, **kw: Any) -> ChannelConfig:
    kw.setdefault("name", type_)
    kw.setdefault("backoff", 0.01)
    kw.setdefault("max_backoff", 0.02)
    return ChannelConfig(type=type_, **kw)  # type: ignore[arg-type]


def dispatcher(
    channels: list[Channel], results: list[DeliveryResult], **kw: Any
) -> NotificationDispatcher:
    return NotificationDispatcher(channels, on_result=results.append, clock=lambda: NOW, **kw)


async def deliver(channel: Channel, *notes: Notification) -> list[DeliveryResult]:
    results: list[DeliveryResult] = []
    d = dispatcher([channel], results)
    d.submit(notes)
    left = await d.drain(10.0)
    await d.aclose()
    assert left == 0
    return results


# --------------------------------------------------------------------------- webhook


async def test_webhook_sends_alertmanager_webhook_documents_per_endpoint(
    receiver: Receiver,
) -> None:
    ch = build_channel(cfg("webhook", name="hook", url=receiver.url("/hook")))
    other = note(fp="fp3", endpoint="ranker", labels={}, annotations={}, model=None,
                 summary="", runbook_url=None, severity="warning")
    results = await deliver(ch, note(), note(fp="fp2", labels={**note().labels, "team": "ds"}),
                            other)
    assert [r.ok for r in results] == [True] * 3
    first, second = receiver.bodies("/hook")
    labels1 = {"alertname": "p95 latency", "endpoint": "fraud-scorer", "model": "xgb-v3",
               "severity": "critical", "team": "ml"}
    annotations = {"runbook_url": "https://runbooks.example/latency",
                   "summary": "p95 412 ms > 250 ms"}
    assert first == {
        "receiver": "hook",
        "status": "firing",
        "alerts": [
            {"status": "firing", "labels": labels1, "annotations": annotations,
             "startsAt": "2026-11-18T11:27:25Z", "endsAt": "0001-01-01T00:00:00Z",
             "generatorURL": "", "fingerprint": "fp1"},
            {"status": "firing", "labels": {**labels1, "team": "ds"},
             "annotations": annotations, "startsAt": "2026-11-18T11:27:25Z",
             "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": "fp2"},
        ],
        "groupLabels": {"endpoint": "fraud-scorer"},
        "commonLabels": {k: v for k, v in labels1.items() if k != "team"},
        "commonAnnotations": annotations,
        "externalURL": "",
        "version": "4",
        "groupKey": '{}:{endpoint="fraud-scorer"}',
        "truncatedAlerts": 0,
    }
    assert second["groupKey"] == '{}:{endpoint="ranker"}'
    assert second["alerts"][0]["labels"] == {
        "alertname": "p95 latency", "endpoint": "ranker", "severity": "warning"
    }
    assert second["alerts"][0]["annotations"] == {}


async def test_webhook_keys_match_a_real_alertmanager_webhook(
    receiver: Receiver, api_samples_dir: Path
) -> None:
    ch = build_channel(cfg("webhook", url=receiver.url("/hook"), external_url="http://am:9093",
                           generator_url="http://127.0.0.1/mmtui"))
    await deliver(ch, note())
    await deliver(ch, note("resolved"))
    for name, body in zip(("am_webhook_firing_posted_alert.json", "am_webhook_resolved.json"),
                          receiver.bodies(), strict=True):
        real = json.loads((api_samples_dir / name).read_text())
        assert list(body) == list(real)
        assert list(body["alerts"][0]) == list(real["alerts"][0])
        assert body["status"] == real["status"] == body["alerts"][0]["status"]
        assert (body["version"], body["truncatedAlerts"]) == (real["version"], 0)
    resolved = receiver.bodies()[1]["alerts"][0]
    assert resolved["endsAt"] == "2026-11-18T11:28:25Z"
    assert resolved["fingerprint"] == "fp1"
    assert resolved["generatorURL"] == "http://127.0.0.1/mmtui"


async def test_filters_severity_kind_and_send_resolved(receiver: Receiver) -> None:
    ch = build_channel(cfg("webhook", url=receiver.url("/hook"), send_resolved=False))
    results = await deliver(
        ch,
        note(fp="info", severity="info"),
        note(fp="warn", severity="warning"),
        note("resolved", fp="res"),
        note("acknowledged", fp="ack", acked_by="ana@jump"),
    )
    assert [r.fingerprint for r in results] == ["warn"]
    (body,) = receiver.bodies()
    assert [a["fingerprint"] for a in body["alerts"]] == ["warn"]


# --------------------------------------------------------------------------- Slack


async def test_slack_message_has_text_fallback_and_blocks(receiver: Receiver) -> None:
    url = receiver.url(f"/services/{SECRET}")
    ch = build_channel(cfg("slack", url=url))
    ack = note("acknowledged", fp="fp2", rule="error rate", summary="errors <5% & rising",
               acked_by="ana@jump", ack_note="looking", runbook_url=None, model=None,
               value=0.07, threshold=0.05, severity="warning", compliance=True)
    await deliver(ch, note(), ack)
    (hit,) = receiver.hits
    assert hit.path == f"/services/{SECRET}"
    assert hit.body == {
        "text": "[FIRING:1] [ACKNOWLEDGED:1] fraud-scorer: p95 latency (critical), "
        "error rate (warning)",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text",
                                        "text": "[FIRING:1] [ACKNOWLEDGED:1] fraud-scorer"}},
            {"type": "section", "text": {"type": "mrkdwn", "text":
                "*FIRING* p95 latency (critical)\np95 412 ms &gt; 250 ms\n"
                "value 412 · threshold 250 · model xgb-v3\n"
                "<https://runbooks.example/latency|runbook>"}},
            {"type": "section", "text": {"type": "mrkdwn", "text":
                "*ACKNOWLEDGED* error rate (warning) compliance\nerrors &lt;5% &amp; rising\n"
                "value 0.07 · threshold 0.05\nby ana@jump: looking"}},
            {"type": "context", "elements": [{"type": "mrkdwn",
                                              "text": "fingerprint `fp1`, `fp2`"}]},
        ],
    }


# --------------------------------------------------------------------------- PagerDuty


async def test_pagerduty_trigger_acknowledge_resolve_share_the_dedup_key(
    receiver: Receiver,
) -> None:
    receiver.default = Reply(202, b'{"status":"success","message":"Event processed"}')
    ch = build_channel(cfg("pagerduty", url=receiver.url("/v2/enqueue"), routing_key="R0UT1NG"))
    results = await deliver(
        ch, note(), note("acknowledged", acked_by="ana@jump"), note("resolved"), note("renotify")
    )
    assert [(r.kind, r.ok, r.attempt) for r in results] == [
        ("firing", True, 1), ("acknowledged", True, 1), ("resolved", True, 1),
        ("renotify", True, 1),
    ]
    trigger, ack, resolve, again = receiver.bodies("/v2/enqueue")
    assert trigger == {
        "routing_key": "R0UT1NG",
        "event_action": "trigger",
        "dedup_key": "fp1",
        "payload": {
            "summary": "p95 latency on fraud-scorer (xgb-v3): p95 412 ms > 250 ms",
            "source": "fraud-scorer",
            "severity": "critical",
            "timestamp": "2026-11-18T11:27:25Z",
            "component": "xgb-v3",
            "group": "fraud-scorer",
            "class": "p95 latency",
            "custom_details": {
                "fingerprint": "fp1", "alert_id": "17", "state": "firing", "value": 412.0,
                "threshold": 250.0, "model": "xgb-v3", "feature": None, "description": None,
                "compliance": False,
                "labels": {"alertname": "p95 latency", "endpoint": "fraud-scorer",
                           "model": "xgb-v3", "severity": "critical", "team": "ml"},
                "annotations": {"runbook_url": "https://runbooks.example/latency",
                                "summary": "p95 412 ms > 250 ms"},
            },
        },
        "links": [{"href": "https://runbooks.example/latency", "text": "Runbook"}],
    }
    assert ack == {"routing_key": "R0UT1NG", "event_action": "acknowledge", "dedup_key": "fp1"}
    assert resolve == {"routing_key": "R0UT1NG", "event_action": "resolve", "dedup_key": "fp1"}
    assert again == trigger


# --------------------------------------------------------------------------- Opsgenie


async def test_opsgenie_create_acknowledge_close_by_alias(receiver: Receiver) -> None:
    receiver.default = Reply(202, b'{"result":"Request will be processed"}')
    ch = build_channel(cfg("opsgenie", url=receiver.url(), api_key="0psg3n13-k3y"))
    await deliver(
        ch,
        note(compliance=True),
        note("acknowledged", acked_by="ana@jump", ack_note="on it"),
        note("unacknowledged", acked_by="ana@jump"),
        note("resolved"),
    )
    create, ack, unack, close = receiver.hits
    assert all(h.method == "POST" for h in receiver.hits)
    assert all(h.headers["authorization"] == "GenieKey 0psg3n13-k3y" for h in receiver.hits)
    assert (create.path, create.query) == ("/v2/alerts", {})
    assert create.body == {
        "message": "p95 latency on fraud-scorer (xgb-v3): p95 412 ms > 250 ms",
        "alias": "fp1",
        "description": "p95 412 ms > 250 ms\nvalue 412 (threshold 250)\n"
        "runbook: https://runbooks.example/latency",
        "priority": "P1",
        "tags": ["critical", "endpoint:fraud-scorer", "rule:p95 latency", "compliance"],
        "details": {
            "fingerprint": "fp1", "alert_id": "17", "endpoint": "fraud-scorer",
            "rule": "p95 latency", "state": "firing", "model": "xgb-v3", "value": "412",
            "threshold": "250", "runbook_url": "https://runbooks.example/latency",
        },
        "source": "mmtui",
    }
    alias = {"identifierType": ["alias"]}
    assert (ack.path, ack.query) == ("/v2/alerts/fp1/acknowledge", alias)
    assert ack.body == {"source": "mmtui", "user": "ana@jump", "note": "on it"}
    assert (unack.path, unack.query) == ("/v2/alerts/fp1/unacknowledge", alias)
    assert unack.body == {"source": "mmtui", "user": "ana@jump"}
    assert (close.path, close.query) == ("/v2/alerts/fp1/close", alias)
    assert close.body == {"source": "mmtui"}


# --------------------------------------------------------------------------- failures


async def test_5xx_is_retried_until_delivered(receiver: Receiver) -> None:
    receiver.script["/hook"] = [Reply(500, b"boom"), Reply(503, b"busy")]
    results: list[DeliveryResult] = []
    d = dispatcher([build_channel(cfg("webhook", url=receiver.url("/hook")))], results)
    d.submit([note()])
    assert await d.drain(10.0) == 0
    assert [(r.ok, r.attempt, r.error) for r in results] == [(True, 3, None)]
    assert len(receiver.hits) == 3
    (status,) = d.statuses()
    assert (status.text, status.last_success, status.delivered, status.pending) == (
        "ok", NOW, 1, 0
    )
    await d.aclose()


async def test_4xx_is_final_and_429_is_retried(receiver: Receiver) -> None:
    receiver.script["/bad"] = [Reply(400, b"invalid_payload")]
    receiver.script["/slow"] = [Reply(429, b"slow down", {"Retry-After": "0"})]
    results: list[DeliveryResult] = []
    d = dispatcher(
        [build_channel(cfg("slack", name="bad", url=receiver.url("/bad"))),
         build_channel(cfg("slack", name="slow", url=receiver.url("/slow")))],
        results,
    )
    d.submit([note()])
    assert await d.drain(10.0) == 0
    by = {r.channel: r for r in results}
    assert (by["bad"].ok, by["bad"].attempt) == (False, 1)
    assert by["bad"].error == f"127.0.0.1:{receiver.server_address[1]}: HTTP 400: invalid_payload"
    assert (by["slow"].ok, by["slow"].attempt) == (True, 2)
    assert len([h for h in receiver.hits if h.path == "/bad"]) == 1
    bad, slow = d.statuses()
    assert bad.state == "failing" and bad.reason == by["bad"].error and bad.failed == 1
    assert slow.text == "ok"
    await d.aclose()


async def test_refused_port_is_retried_then_given_up_without_leaking_the_url(
    refused_url: str,
) -> None:
    results: list[DeliveryResult] = []
    d = dispatcher([build_channel(cfg("slack", url=refused_url, max_attempts=3))], results)
    d.submit([note(), note("resolved")])
    assert await d.drain(10.0) == 0
    assert [(r.kind, r.ok, r.attempt) for r in results] == [
        ("firing", False, 3), ("resolved", False, 3)
    ]
    error = results[0].error or ""
    assert "connection failed" in error and "gave up after 3 attempts" in error
    (status,) = d.statuses()
    assert status.state == "failing" and status.failed == 2 and status.last_failure == NOW
    for text in (error, status.text, repr(d.statuses()), repr(cfg("slack", url=refused_url))):
        assert SECRET not in text
    await d.aclose()


async def test_secret_echoed_by_the_peer_is_redacted(receiver: Receiver) -> None:
    receiver.script["/v2/alerts"] = [Reply(401)]
    results: list[DeliveryResult] = []
    ch = build_channel(cfg("opsgenie", url=receiver.url(), api_key="0psg3n13-k3y"))
    d = dispatcher([ch], results)
    d.submit([note()])
    await d.drain(10.0)
    (result,) = results
    assert result.error is not None and "HTTP 401: bad key GenieKey ***" in result.error
    assert "0psg3n13-k3y" not in result.error
    await d.aclose()


async def test_submit_never_blocks_and_drops_the_oldest(receiver: Receiver) -> None:
    results: list[DeliveryResult] = []
    ch = build_channel(cfg("webhook", url=receiver.url("/hook")))
    d = dispatcher([ch], results, queue_size=2)
    d.submit([note(fp=f"fp{i}", endpoint=f"ep{i}") for i in range(5)])  # nothing running yet
    (status,) = d.statuses()
    assert (status.pending, status.dropped) == (2, 3)
    assert [(r.fingerprint, r.ok, r.attempt) for r in results] == [
        (f"fp{i}", False, 0) for i in range(3)
    ]
    assert all("queue of 2 was full" in (r.error or "") for r in results)
    assert await d.drain(10.0) == 0
    assert [b["alerts"][0]["fingerprint"] for b in receiver.bodies()] == ["fp3", "fp4"]
    await d.aclose()


async def test_drain_returns_what_it_could_not_deliver(receiver: Receiver) -> None:
    receiver.default = Reply(503, b"down")
    results: list[DeliveryResult] = []
    ch = build_channel(cfg("webhook", url=receiver.url("/hook"), backoff=30.0, max_backoff=30.0))
    d = dispatcher([ch], results)
    d.submit([note()])
    assert await d.drain(0.3) == 1
    (status,) = d.statuses()
    assert status.state == "failing" and "retrying, attempt 1 of 5" in (status.reason or "")
    assert results == []
    await d.aclose()


async def test_run_delivers_while_running_and_stops_on_cancel(receiver: Receiver) -> None:
    results: list[DeliveryResult] = []
    d = dispatcher([build_channel(cfg("webhook", url=receiver.url("/hook")))], results)
    task = asyncio.create_task(d.run())
    d.submit([note()])
    for _ in range(500):
        if results:
            break
        await asyncio.sleep(0.01)
    assert [r.ok for r in results] == [True]
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    d.submit([note("resolved")])  # queued, not sent: nothing runs any more
    await asyncio.sleep(0.05)
    assert len(receiver.hits) == 1 and d.pending == 1


def test_channel_names_must_be_unique() -> None:
    with pytest.raises(ValueError, match="repeated: hook"):
        NotificationDispatcher(
            [build_channel(cfg("webhook", name="hook", url="http://x")),
             build_channel(cfg("slack", name="hook", url="http://y"))],
            on_result=lambda r: None,
        )


# --------------------------------------------------------------------------- bell, desktop


async def test_bell_rings_for_firing_and_toasts_every_group() -> None:
    toasts: list[Toast] = []
    rings: list[int] = []
    ch = BellChannel(cfg("bell", min_severity="info"), toast=toasts.append,
                     bell=lambda: rings.append(1))
    await deliver(ch, note(), note(fp="fp2", severity="warning", summary=""))
    await deliver(ch, note("resolved"))
    await deliver(ch, note("acknowledged", acked_by="ana@jump"))
    assert len(rings) == 1
    assert toasts == [
        Toast("[FIRING:2] fraud-scorer",
              "FIRING p95 latency (critical): p95 412 ms > 250 ms\nFIRING p95 latency (warning)",
              "critical"),
        Toast("[RESOLVED:1] fraud-scorer", "RESOLVED p95 latency (critical): p95 412 ms > 250 ms",
              "info"),
        Toast("[ACKNOWLEDGED:1] fraud-scorer",
              "ACKNOWLEDGED p95 latency (critical): p95 412 ms > 250 ms by ana@jump", "info"),
    ]


@pytest.fixture
def fake_notify_send(tmp_path: Path) -> tuple[Path, Path]:
    """A notify-send stand-in that records its argv; exits 1 when told to."""
    out = tmp_path / "calls.jsonl"
    script = tmp_path / "notify-send"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"open({str(out)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
        "if os.environ.get('FAKE_NOTIFY_FAIL'):\n"
        "    sys.exit('GDBus.Error: no session bus')\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script, out


async def test_desktop_runs_notify_send_without_a_shell(
    fake_notify_send: tuple[Path, Path],
) -> None:
    script, out = fake_notify_send
    ch = build_channel(cfg("desktop", command=str(script)))
    hostile = note(rule="$(touch pwned); `id`", summary="-x '; rm -rf /")
    results = await deliver(ch, hostile, note("acknowledged"))  # acks are not desktop news
    assert [r.kind for r in results] == ["firing"]
    calls = [json.loads(line) for line in out.read_text().splitlines()]
    assert calls == [[
        "--app-name=mmtui", "--urgency=critical", "--", "[FIRING:1] fraud-scorer",
        "FIRING $(touch pwned); `id` (critical): -x '; rm -rf /",
    ]]
    await deliver(ch, note("resolved"))
    assert json.loads(out.read_text().splitlines()[1])[1] == "--urgency=low"


async def test_desktop_failure_is_final_and_missing_command_disables(
    fake_notify_send: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    script, out = fake_notify_send
    monkeypatch.setenv("FAKE_NOTIFY_FAIL", "1")
    results = await deliver(build_channel(cfg("desktop", command=str(script))), note())
    assert [(r.ok, r.attempt) for r in results] == [(False, 1)]
    assert results[0].error == f"{script} exited with 1: GDBus.Error: no session bus"

    missing = build_channel(cfg("desktop", command=str(tmp_path / "no-such-notify-send")))
    d = dispatcher([missing], [])
    d.submit([note()])
    (status,) = d.statuses()
    assert status.state == "disabled" and "not found on PATH" in status.text
    assert status.pending == 0


# --------------------------------------------------------------------------- configuration


def readers(text: str, env: dict[str, str] | None = None) -> list[TableReader]:
    tables = tomllib.loads(text)["channels"]
    return [TableReader("m.toml", f"channels[{i}]", t, env or {}) for i, t in enumerate(tables)]


def test_channel_config_reads_every_type_with_env_secrets() -> None:
    env = {"SLACK_URL": f"https://hooks.slack.com/services/{SECRET}", "PD": "r0ut", "OG": "k3y"}
    configs = read_channels(readers("""
[[channels]]
type = "bell"
min_severity = "info"
[[channels]]
type = "desktop"
send_resolved = false
[[channels]]
type = "slack"
name = "team"
url = "${SLACK_URL}"
backoff = "2s"
max_backoff = "5m"
max_attempts = 8
timeout = "3s"
[[channels]]
type = "pagerduty"
routing_key = "${PD}"
min_severity = "critical"
[[channels]]
type = "opsgenie"
api_key = "${OG}"
[[channels]]
type = "alertmanager"
url = "http://127.0.0.1:9093"
create_silences = false
resend_interval = "30s"
headers = { Authorization = "Bearer ${PD}" }
[[channels]]
type = "webhook"
url = "https://bridge.example/hook"
enabled = false
""", env))
    bell, desktop, slack, pd, og, am, hook = configs
    assert (bell.name, bell.min_severity) == ("bell", "info")
    assert (desktop.command, desktop.send_resolved) == ("notify-send", False)
    assert slack == ChannelConfig(type="slack", name="team", url=env["SLACK_URL"], backoff=2.0,
                                  max_backoff=300.0, max_attempts=8, timeout=3.0)
    assert (pd.routing_key, pd.url, pd.min_severity) == ("r0ut", PAGERDUTY_EVENTS_URL, "critical")
    assert (og.api_key, og.url) == ("k3y", OPSGENIE_URL)
    assert (am.create_silences, am.resend_interval) == (False, 30.0)
    assert am.headers == {"Authorization": "Bearer r0ut"}
    assert not hook.enabled
    text = repr(configs)
    assert SECRET not in text and "r0ut" not in text and "k3y" not in text
    statuses = dispatcher(build_channels(configs), []).statuses()
    assert statuses[-1].text == "disabled: disabled in config"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('name = "x"', "m.toml: channels[0].type: channel 'x': is required (one of bell,"),
        ('type = "sms"', "channels[0].type: channel: expected one of bell, desktop,"),
        ('type = "slack"\nname = "team"', "channels[0].url: channel 'team': is required"),
        ('type = "slack"\nname = "team"\nurl = "hooks.slack.com/services/' + SECRET + '"',
         "channels[0].url: channel 'team': expected an http:// or https:// URL"),
        ('type = "slack"\nname = "team"\nurl = "https://h"\nrouting_key = "k"',
         "channels[0].routing_key: channel 'team': unknown key (expected one of "),
        ('type = "pagerduty"\nname = "pd"', "channels[0].routing_key: channel 'pd': is required"),
        ('type = "opsgenie"\napi_key = "${NOPE}"',
         "channels[0].api_key: channel: refers to ${NOPE}, which is not set in the environment"),
        ('type = "bell"\nname = "b"\nbackoff = "soon"',
         "channels[0].backoff: channel 'b': expected a duration like"),
        ('type = "bell"\nbackoff = "10s"\nmax_backoff = "1s"',
         "channels[0].max_backoff: channel: must not be shorter than backoff"),
        ('type = "bell"\nmin_severity = "page"', "channels[0].min_severity: channel: expected one"),
        ('type = "bell"\nmax_attempts = 0', "channels[0].max_attempts: channel: expected an int"),
        ('type = "alertmanager"\nurl = "http://am"\nsend_resolved = false',
         "channels[0].send_resolved: channel: must be true for alertmanager"),
    ],
)
def test_channel_config_errors_name_the_channel_and_key(toml: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        read_channel(readers("[[channels]]\n" + toml)[0])
    assert str(info.value).startswith("m.toml: ") and message in str(info.value)
    assert SECRET not in str(info.value)


def test_duplicate_channel_names_are_an_error() -> None:
    text = '[[channels]]\ntype = "bell"\n[[channels]]\ntype = "bell"\n'
    with pytest.raises(ConfigError, match=r"channels\[1\]\.name: duplicate channel name 'bell'"):
        read_channels(readers(text))

