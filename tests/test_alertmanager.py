"""The Alertmanager channel against a real Alertmanager (Debian ``prometheus-alertmanager``).

The fixture starts it on 127.0.0.1 without clustering, routing every alert to a webhook receiver
served by this test, so each test sees both sides: what mmtui posted (the API) and what
Alertmanager made of it (its webhook).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from mmtui.alerts.channel_config import ChannelConfig
from mmtui.alerts.channels import AlertmanagerChannel
from mmtui.alerts.channels.base import parse_iso
from mmtui.alerts.notify import (
    DeliveryResult,
    Matcher,
    Notification,
    NotificationDispatcher,
    Silence,
)

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


class Hook(ThreadingHTTPServer):
    """Collects the webhook documents Alertmanager sends."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _HookHandler)
        self.lock = threading.Lock()
        self.documents: list[dict[str, Any]] = []

    def received(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.documents)


class _HookHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Hook

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            self.server.documents.append(json.loads(body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def hook() -> Iterator[Hook]:
    srv = Hook()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def alertmanager(hook: Hook, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a fresh Alertmanager whose only receiver is ``hook``."""
    if BINARY is None:
        pytest.skip("no prometheus-alertmanager on PATH (apt install prometheus-alertmanager)")
    tmp = tmp_path_factory.mktemp("alertmanager")
    config = tmp / "alertmanager.yml"
    config.write_text(
        "route:\n"
        "  receiver: hook\n"
        "  group_by: [endpoint]\n"
        "  group_wait: 100ms\n"
        "  group_interval: 200ms\n"
        "  repeat_interval: 1h\n"
        "receivers:\n"
        "  - name: hook\n"
        "    webhook_configs:\n"
        f"      - url: http://127.0.0.1:{hook.server_address[1]}/hook\n"
        "        send_resolved: true\n"
    )
    port = _free_port()
    log = (tmp / "alertmanager.log").open("wb")
    proc = subprocess.Popen(
        [
            BINARY,
            f"--config.file={config}",
            f"--storage.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, proc, tmp / "alertmanager.log")
        yield base
    finally:
        proc.kill()
        proc.wait(timeout=10)
        log.close()


def _wait_ready(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15.0
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"alertmanager exited with {proc.returncode}: {log.read_text()[-2000:]}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base}/-/ready", timeout=1.0).status_code == 200:
                return
        time.sleep(0.05)
    pytest.fail(f"alertmanager at {base} not ready after 15 s: {log.read_text()[-2000:]}")


# --------------------------------------------------------------------------- helpers


def channel(base: str, **kw: Any) -> AlertmanagerChannel:
    return AlertmanagerChannel(
        ChannelConfig(type="alertmanager", name="am", url=base, backoff=0.01, max_backoff=0.02,
                      generator_url="http://127.0.0.1/mmtui", **kw)
    )


def note(endpoint: str, kind: str = "firing", **kw: Any) -> Notification:
    fields: dict[str, Any] = dict(
        kind=kind,
        fingerprint=f"fp-{endpoint}",
        alert_id="1",
        rule="p95 latency",
        endpoint=endpoint,
        severity="critical",
        state="resolved" if kind == "resolved" else "firing",
        starts_at=time.time() - 30.0,
        summary="p95 412 ms > 250 ms",
        model="xgb-v3",
        value=412.0,
        threshold=250.0,
        runbook_url="https://runbooks.example/latency",
        labels={"team": "ml"},
    )
    fields.update(kw)
    return Notification(**fields)


async def send(ch: AlertmanagerChannel, *notes: Notification) -> list[DeliveryResult]:
    results: list[DeliveryResult] = []
    d = NotificationDispatcher([ch], on_result=results.append)
    d.submit(notes)
    assert await d.drain(10.0) == 0
    await d.aclose()
    return results


async def silence_op(ch: AlertmanagerChannel, silence: Silence | str) -> DeliveryResult:
    results: list[DeliveryResult] = []
    d = NotificationDispatcher([ch], on_result=results.append)
    if isinstance(silence, str):
        d.expire_silence(silence)
    else:
        d.submit_silence(silence)
    assert await d.drain(10.0) == 0
    await d.aclose()
    (result,) = results
    return result


async def api(base: str, path: str, **params: str) -> Any:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{base}/api/v2/{path}", params=params, timeout=5.0)
    response.raise_for_status()
    return response.json()


async def alerts_of(base: str, endpoint: str) -> list[dict[str, Any]]:
    alerts: list[dict[str, Any]] = await api(base, "alerts", filter=f'endpoint="{endpoint}"')
    return alerts


async def eventually(check: Callable[[], Any], what: str, limit: float = 10.0) -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + limit
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {limit:g} s: {what}")
        await asyncio.sleep(0.05)


def webhook_alerts(
    hook: Hook, fingerprint: str, status: str
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(document, alert) for each webhook alert of ours with that status."""
    return [
        (doc, alert)
        for doc in hook.received()
        for alert in doc["alerts"]
        if alert["labels"].get("mmtui_fingerprint") == fingerprint and alert["status"] == status
    ]


# --------------------------------------------------------------------------- tests


async def test_firing_alert_is_posted_routed_and_resolved(alertmanager: str, hook: Hook) -> None:
    ch = channel(alertmanager)
    firing = note("am-fire")
    (result,) = await send(ch, firing)
    assert (result.ok, result.kind, result.fingerprint) == (True, "firing", "fp-am-fire")

    (alert,) = await alerts_of(alertmanager, "am-fire")
    labels = {
        "alertname": "p95 latency", "endpoint": "am-fire", "model": "xgb-v3",
        "severity": "critical", "team": "ml", "mmtui_fingerprint": "fp-am-fire",
    }
    assert alert["labels"] == labels
    assert alert["annotations"] == {
        "runbook_url": "https://runbooks.example/latency", "summary": "p95 412 ms > 250 ms"
    }
    assert alert["status"]["state"] == "active"
    assert alert["generatorURL"] == "http://127.0.0.1/mmtui"

    # End to end: Alertmanager routed it to its webhook receiver.
    ((doc, routed),) = await eventually(
        lambda: webhook_alerts(hook, "fp-am-fire", "firing"), "the firing webhook"
    )
    assert doc["groupLabels"] == {"endpoint": "am-fire"}
    assert routed["labels"] == labels

    resolved = note("am-fire", "resolved", starts_at=firing.starts_at, ends_at=time.time() - 1)
    (result,) = await send(ch, resolved)
    assert result.ok
    assert await alerts_of(alertmanager, "am-fire") == []
    ((doc, gone),) = await eventually(
        lambda: webhook_alerts(hook, "fp-am-fire", "resolved"), "the resolved webhook"
    )
    assert gone["labels"] == labels and gone["fingerprint"] == routed["fingerprint"]


async def test_mmtui_silence_suppresses_updates_and_expires(alertmanager: str) -> None:
    ch = channel(alertmanager)
    await send(ch, note("am-silence"))
    now = time.time()
    silence = Silence(
        id=f"s-{uuid.uuid4().hex[:8]}",
        matchers=(Matcher("endpoint", "am-silence"), Matcher("alertname", "p95 .*", is_regex=True)),
        starts_at=now,
        ends_at=now + 3600,
        created_by="ana@jump",
        comment="deploying the fix",
    )
    result = await silence_op(ch, silence)
    assert (result.ok, result.kind, result.fingerprint) == (True, "silence", silence.id)

    async def mirrors() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = await api(alertmanager, "silences")
        return [s for s in found if s["comment"].endswith(f"[mmtui silence {silence.id}]")]

    (mirror,) = await mirrors()
    assert mirror["status"]["state"] == "active"
    assert mirror["createdBy"] == "ana@jump"
    assert mirror["comment"] == f"deploying the fix [mmtui silence {silence.id}]"
    assert sorted(mirror["matchers"], key=lambda m: m["name"]) == [
        {"isEqual": True, "isRegex": True, "name": "alertname", "value": "p95 .*"},
        {"isEqual": True, "isRegex": False, "name": "endpoint", "value": "am-silence"},
    ]
    (alert,) = await alerts_of(alertmanager, "am-silence")
    assert alert["status"]["state"] == "suppressed"
    assert alert["status"]["silencedBy"] == [mirror["id"]]

    # A retried create is idempotent; a changed end time updates the one mirror.
    assert (await silence_op(ch, silence)).ok
    assert [m["id"] for m in await mirrors()] == [mirror["id"]]
    longer = replace(silence, ends_at=now + 7200)
    assert (await silence_op(ch, longer)).ok
    active = [m for m in await mirrors() if m["status"]["state"] != "expired"]
    assert len(active) == 1
    assert active[0]["endsAt"].startswith(time.strftime("%Y-%m-%dT%H", time.gmtime(now + 7200)))

    # Expiry needs no memory of the create: a fresh channel (a restart) finds the mirror.
    result = await silence_op(channel(alertmanager), silence.id)
    assert (result.ok, result.kind) == (True, "unsilence")
    assert {m["status"]["state"] for m in await mirrors()} == {"expired"}
    (alert,) = await alerts_of(alertmanager, "am-silence")
    assert alert["status"] == {"inhibitedBy": [], "silencedBy": [], "state": "active"}
    assert (await silence_op(ch, silence.id)).ok  # nothing left to expire: still fine


async def test_firing_alerts_are_reposted_so_they_do_not_expire(alertmanager: str) -> None:
    ch = channel(alertmanager, resend_interval=0.2)
    results: list[DeliveryResult] = []
    d = NotificationDispatcher([ch], on_result=results.append)
    task = asyncio.create_task(d.run())
    try:
        d.submit([note("am-refresh")])
        (first,) = await eventually(lambda: alerts_of(alertmanager, "am-refresh"), "the alert")

        async def later() -> bool:
            (alert,) = await alerts_of(alertmanager, "am-refresh")
            return parse_iso(alert["endsAt"]) > parse_iso(first["endsAt"])

        await eventually(later, "a re-post pushing endsAt ahead")
        assert [r.kind for r in results] == ["firing"]  # refreshes are not delivery results
        assert d.statuses()[0].text == "ok"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await send(ch, note("am-refresh", "resolved", ends_at=time.time() - 1))
    assert await alerts_of(alertmanager, "am-refresh") == []


async def test_a_rejected_alert_is_reported_not_retried(alertmanager: str) -> None:
    (result,) = await send(channel(alertmanager), note("am-bad", labels={"bad-label": "x"}))
    assert not result.ok and result.attempt == 1
    assert result.error is not None and "HTTP 400" in result.error
