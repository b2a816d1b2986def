"""The poller against a real threaded HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import logging
import socket
import sys
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from mmtui.config import EndpointConfig
from mmtui.feeds.poller import (
    ACCEPT,
    Poller,
    ScrapeResult,
    backoff_delay,
    redact_secrets,
    status_at,
)

METRICS = (
    b"# HELP requests_total Requests.\n# TYPE requests_total counter\n"
    b'requests_total{model="m"} 42\n'
)
GARBAGE = bytes(range(256)) * 4
CAP = 64 * 1024
SECRET = "s3cr3t-Token-9f8e7d"


@dataclass
class Recorder:
    """What the server saw: request times and headers per path, and concurrency."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    headers: dict[str, list[dict[str, str]]] = field(default_factory=lambda: defaultdict(list))
    peers: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    """Client port of each request: the same port again means a kept-alive connection."""
    inflight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    max_inflight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    total: int = 0
    max_total: int = 0
    flaky_fails: bool = True

    def enter(self, path: str, headers: dict[str, str], peer: int) -> None:
        with self.lock:
            self.times[path].append(time.monotonic())
            self.peers[path].append(peer)
            self.headers[path].append(headers)
            self.inflight[path] += 1
            self.max_inflight[path] = max(self.max_inflight[path], self.inflight[path])
            self.total += 1
            self.max_total = max(self.max_total, self.total)

    def leave(self, path: str) -> None:
        with self.lock:
            self.inflight[path] -= 1
            self.total -= 1

    def count(self, path: str) -> int:
        with self.lock:
            return len(self.times[path])


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        rec = self.server.recorder
        # A header sent twice shows up as "first, second".
        seen = {k.lower(): ", ".join(self.headers.get_all(k) or []) for k in self.headers}
        rec.enter(url.path, seen, self.client_address[1])
        self.left = False
        try:
            self._route(url.path, parse_qs(url.query), rec)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            if not self.left:
                rec.leave(url.path)

    def _route(self, path: str, query: dict[str, list[str]], rec: Recorder) -> None:
        if path == "/drop":
            self.close_connection = True  # read the request, answer nothing, hang up
        elif path.startswith("/slow"):
            rec.stop.wait(float(query["d"][0]))
            # Done before answering: a client may read the whole answer and send its next
            # request before this thread gets back from writing it.
            self.left = True
            rec.leave(path)
            self._send(200, METRICS)
        elif path == "/500":
            self._send(500, b"boom")
        elif path == "/503":
            self._send(503, b"busy")
        elif path == "/garbage":
            self._send(200, GARBAGE, "application/octet-stream")
        elif path == "/big":
            self._send(200, b"x" * (CAP + 1))
        elif path == "/gzip":
            self._send(200, gzip.compress(METRICS), encoding="gzip")
        elif path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/metrics")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/flaky":
            self._send(500 if rec.flaky_fails else 200, METRICS)
        else:
            self._send(200, METRICS)

    def _send(
        self,
        code: int,
        body: bytes,
        ctype: str = "text/plain; version=0.0.4; charset=utf-8",
        encoding: str | None = None,
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self.end_headers()
        self.wfile.write(body)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.recorder = Recorder()

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client hung up: expected
            super().handle_error(request, client_address)  # type: ignore[arg-type]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield srv
    finally:
        srv.recorder.stop.set()
        srv.shutdown()
        srv.server_close()
        thread.join()


@pytest.fixture
def refused_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/metrics"


class Collector:
    def __init__(self) -> None:
        self.results: list[ScrapeResult] = []

    async def __call__(self, result: ScrapeResult) -> None:
        self.results.append(result)

    def of(self, endpoint: str) -> list[ScrapeResult]:
        return [r for r in self.results if r.endpoint == endpoint]


async def wait_until(pred: Callable[[], bool], what: str, limit: float = 5.0) -> None:
    deadline = time.monotonic() + limit
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {limit}s: {what}")
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def running(poller: Poller) -> AsyncIterator[None]:
    task = asyncio.create_task(poller.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def ep(name: str, url: str, timeout: float = 2.0, **headers: str) -> EndpointConfig:
    return EndpointConfig(name=name, metrics_url=url, timeout=timeout, headers=dict(headers))


async def test_poll_once_statuses_and_reasons(server: Server, refused_url: str) -> None:
    endpoints = [
        ep("ok", server.url("/metrics")),
        ep("gzip", server.url("/gzip")),
        ep("garbage", server.url("/garbage")),
        ep("e500", server.url("/500")),
        ep("e503", server.url("/503")),
        ep("slow", server.url("/slow?d=3"), timeout=0.2),
        ep("big", server.url("/big")),
        ep("drop", server.url("/drop")),
        ep("refused", refused_url),
        ep("badurl", "localhost:9100/metrics"),
    ]
    calls = Collector()
    poller = Poller(endpoints, calls, interval=1.0, max_body_bytes=CAP, clock=lambda: 1234.5)
    try:
        results = await poller.poll_once()
    finally:
        await poller.aclose()
    assert [r.endpoint for r in results] == [e.name for e in endpoints]
    assert calls.results == []  # poll_once returns results, it does not deliver them
    by = {r.endpoint: r for r in results}
    got = {name: (r.status, r.error) for name, r in by.items()}
    assert got["ok"] == ("up", None)
    assert got["gzip"] == ("up", None)
    assert got["garbage"] == ("up", None)
    assert got["e500"] == ("error", "HTTP 500 Internal Server Error")
    assert got["e503"] == ("error", "HTTP 503 Service Unavailable")
    assert got["slow"] == ("down", "timed out after 0.2s")
    assert got["big"] == ("error", "body over 64 KiB cap")
    assert got["drop"][0] == "down"
    assert got["drop"][1] is not None and got["drop"][1].startswith("connection dropped")
    assert got["refused"] == ("down", "connection refused")
    assert got["badurl"][0] == "error"
    assert got["badurl"][1] is not None and got["badurl"][1].startswith("invalid URL")

    assert by["ok"].body == METRICS
    assert by["ok"].content_type == "text/plain; version=0.0.4; charset=utf-8"
    assert by["gzip"].body == METRICS  # decompressed
    assert by["garbage"].body == GARBAGE  # intact: parsing is the Monitor's job
    for r in results:
        assert r.started == 1234.5
        assert r.duration >= 0
        assert r.attempt == 0
        assert r.url == next(e.metrics_url for e in endpoints if e.name == r.endpoint)
        assert (r.body is None) == (r.status != "up")
        assert r.error is None or "\n" not in r.error


async def test_headers_and_accept_are_sent(server: Server) -> None:
    headers = {"Authorization": "Bearer abc", "X-Tenant": "t1"}
    endpoints = [
        EndpointConfig(name="h", metrics_url=server.url("/h"), headers=headers),
        EndpointConfig(name="a", metrics_url=server.url("/a"), headers={"accept": "text/plain"}),
    ]
    poller = Poller(endpoints, Collector(), interval=1.0)
    try:
        results = await poller.poll_once()
    finally:
        await poller.aclose()
    assert [r.status for r in results] == ["up", "up"]
    [own_accept] = server.recorder.headers["/a"]
    assert own_accept["accept"] == "text/plain"  # the configured one replaces ours, not added
    [seen] = server.recorder.headers["/h"]
    assert seen["authorization"] == "Bearer abc"
    assert seen["x-tenant"] == "t1"
    assert seen["accept"] == ACCEPT
    assert "application/openmetrics-text" in seen["accept"]
    assert "text/plain;version=0.0.4" in seen["accept"]
    assert "gzip" in seen["accept-encoding"]


async def test_secret_header_value_never_in_an_error(server: Server, refused_url: str) -> None:
    auth = {"Authorization": f"Bearer {SECRET}"}
    urls = ["/500", "/slow?d=3", "/drop", "/big", "/garbage"]
    endpoints = [
        EndpointConfig(name=u, metrics_url=server.url(u), timeout=0.2, headers=auth) for u in urls
    ]
    endpoints += [
        EndpointConfig(name="refused", metrics_url=refused_url, headers=auth),
        EndpointConfig(name="badurl", metrics_url="ftp://x/", headers=auth),
        # Values httpx/h11 refuse to send; their exceptions quote the value.
        EndpointConfig(
            name="crlf", metrics_url=server.url("/crlf"), headers={"X-Key": f"{SECRET}\r\nX: y"}
        ),
        EndpointConfig(
            name="nonascii", metrics_url=server.url("/na"), headers={"X-Key": f"{SECRET}\u00e9"}
        ),
    ]
    poller = Poller(endpoints, Collector(), interval=1.0, max_body_bytes=CAP)
    try:
        results = await poller.poll_once()
    finally:
        await poller.aclose()
    by = {r.endpoint: r for r in results}
    assert by["crlf"].status == "error"
    assert by["nonascii"].status == "error"
    assert server.recorder.count("/crlf") == 0
    errors = [r.error for r in results if r.error is not None]
    assert len(errors) == len(results) - 1  # all but /garbage failed
    for error in errors:
        assert SECRET not in error
        assert "s3cr3t" not in error


def test_redact_hides_values_and_tokens() -> None:
    headers = {"Authorization": f"Bearer {SECRET}", "X-Short": "ab"}
    text = f"failed: Authorization: Bearer {SECRET}; token {SECRET}; b'Bearer {SECRET}\\r\\n'"
    out = redact_secrets(text, headers)
    assert SECRET not in out
    assert out.startswith("failed: Authorization: ***")
    assert redact_secrets("about a cab", headers) == "about a cab"  # too short to redact


async def test_redirect_is_followed(server: Server) -> None:
    poller = Poller([ep("m", server.url("/moved"))], Collector(), interval=1.0)
    try:
        [result] = await poller.poll_once()
    finally:
        await poller.aclose()
    assert (result.status, result.body) == ("up", METRICS)
    assert server.recorder.count("/metrics") == 1


async def test_each_endpoint_keeps_its_connection_alive(server: Server) -> None:
    # Three endpoints on one origin: each keeps one connection of its own across polls.
    endpoints = [ep(f"k{i}", server.url(f"/k{i}")) for i in range(3)]
    poller = Poller(endpoints, Collector(), interval=1.0)
    try:
        for _ in range(3):
            assert [r.status for r in await poller.poll_once()] == ["up"] * 3
    finally:
        await poller.aclose()
    peers = server.recorder.peers
    for i in range(3):
        assert len(set(peers[f"/k{i}"])) == 1, peers[f"/k{i}"]
    assert len({peers[f"/k{i}"][0] for i in range(3)}) == 3


async def test_never_overlapping_when_scrape_is_slower_than_interval(server: Server) -> None:
    path = "/slow/overlap"
    calls = Collector()
    poller = Poller([ep("s", server.url(f"{path}?d=0.15"))], calls, interval=0.01)
    async with running(poller):
        await wait_until(lambda: server.recorder.count(path) >= 4, "4 slow scrapes")
    assert server.recorder.max_inflight[path] == 1
    assert len(calls.results) >= 3
    assert all(r.status == "up" for r in calls.results)


async def test_concurrency_is_bounded_even_with_a_roomier_client(server: Server) -> None:
    endpoints = [ep(f"s{i}", server.url(f"/slow/{i}?d=0.15")) for i in range(6)]
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=100)) as client:
        poller = Poller(endpoints, Collector(), interval=1.0, concurrency=2, client=client)
        results = await poller.poll_once()
    assert [r.status for r in results] == ["up"] * 6
    assert 1 <= server.recorder.max_total <= 2


async def test_waiting_for_a_slot_does_not_count_against_the_timeout(server: Server) -> None:
    # One at a time, 8 scrapes of 0.1 s each: each fits its 0.6 s timeout, the queue would not.
    endpoints = [ep(f"s{i}", server.url(f"/slow/{i}?d=0.1"), timeout=0.6) for i in range(8)]
    poller = Poller(endpoints, Collector(), interval=1.0, concurrency=1)
    try:
        results = await poller.poll_once()
    finally:
        await poller.aclose()
    assert [(r.status, r.error) for r in results] == [("up", None)] * 8
    assert server.recorder.max_total == 1


async def test_backoff_grows_after_failures_and_resets_after_success(server: Server) -> None:
    calls = Collector()
    poller = Poller([ep("flaky", server.url("/flaky"))], calls, interval=0.05)
    rec = server.recorder
    async with running(poller):
        # Sleeps of 0.1, 0.2, 0.4 s: at a fixed 0.05 s interval this would be 13+ requests.
        await wait_until(lambda: rec.count("/flaky") >= 4, "4 failing scrapes")
        await wait_until(lambda: len(calls.results) >= 4, "4 results")
        failing = rec.count("/flaky")
        rec.flaky_fails = False
        poller.poll_now("flaky")  # cuts the 0.8 s backoff sleep short
        # Backed off, this would take 0.8 + 1.6 + 3.2 s; reset to the interval it is ~0.2 s.
        await wait_until(lambda: rec.count("/flaky") >= failing + 4, "4 healthy scrapes", 3.0)
        await wait_until(lambda: len(calls.results) >= failing + 4, "results delivered")
    with rec.lock:
        times = list(rec.times["/flaky"])
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert gaps[2] > 0.3  # the third sleep is 0.4 s (+ jitter), never the 0.05 s interval
    assert gaps[2] > gaps[0]

    results = calls.of("flaky")
    statuses = [r.status for r in results]
    n_fail = statuses.index("up")
    assert n_fail == failing
    assert set(statuses[:n_fail]) == {"error"}
    assert set(statuses[n_fail:]) == {"up"}
    attempts = [r.attempt for r in results]
    assert attempts[: n_fail + 1] == list(range(n_fail + 1))
    assert set(attempts[n_fail + 1 :]) == {0}


async def test_pause_stops_new_requests_and_resume_restarts(server: Server) -> None:
    calls = Collector()
    poller = Poller([ep("p", server.url("/p"))], calls, interval=0.02)
    rec = server.recorder
    async with running(poller):
        await wait_until(lambda: rec.count("/p") >= 2, "2 scrapes")
        poller.set_paused(True)
        assert poller.paused
        await asyncio.sleep(0.1)  # a scrape already in flight may finish
        paused_at = rec.count("/p")
        await asyncio.sleep(0.3)  # 15 intervals
        assert rec.count("/p") == paused_at
        poller.set_paused(False)
        assert not poller.paused
        await wait_until(lambda: rec.count("/p") > paused_at, "a scrape after resume")


async def test_poll_now_wakes_one_endpoint_or_all(server: Server) -> None:
    calls = Collector()
    endpoints = [ep("a", server.url("/a")), ep("b", server.url("/b"))]
    poller = Poller(endpoints, calls, interval=30.0)  # b's first poll is due after 15 s
    rec = server.recorder
    with pytest.raises(ValueError, match="unknown endpoint 'nope'"):
        poller.poll_now("nope")
    async with running(poller):
        await wait_until(lambda: rec.count("/a") == 1, "a's first scrape")
        await wait_until(lambda: len(calls.results) == 1, "a's first result")
        poller.poll_now("a")
        await wait_until(lambda: rec.count("/a") == 2, "a woken")
        assert rec.count("/b") == 0
        poller.poll_now()
        await wait_until(lambda: rec.count("/b") == 1 and rec.count("/a") == 3, "all woken")


async def test_failing_on_result_does_not_stop_the_loop(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[ScrapeResult] = []

    async def on_result(result: ScrapeResult) -> None:
        seen.append(result)
        raise RuntimeError("bug in the consumer")

    poller = Poller([ep("x", server.url("/x"))], on_result, interval=0.01)
    with caplog.at_level(logging.ERROR, logger="mmtui.feeds.poller"):
        async with running(poller):
            await wait_until(lambda: len(seen) >= 3, "3 results despite the exception")
    assert "on_result failed for endpoint x" in caplog.text


async def test_client_passed_in_is_not_closed_own_client_is_recreated(server: Server) -> None:
    async with httpx.AsyncClient() as client:
        poller = Poller([ep("a", server.url("/a"))], Collector(), interval=1.0, client=client)
        [r] = await poller.poll_once()
        await poller.aclose()
        assert r.status == "up"
        assert not client.is_closed
    own = Poller([ep("a", server.url("/a"))], Collector(), interval=1.0)
    assert (await own.poll_once())[0].status == "up"
    await own.aclose()
    assert (await own.poll_once())[0].status == "up"  # a fresh client after aclose
    await own.aclose()


async def test_run_without_endpoints_waits_until_cancelled() -> None:
    task = asyncio.create_task(Poller([], Collector(), interval=1.0).run())
    await asyncio.sleep(0.05)
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"interval": 0.0}, "interval must be > 0"),
        ({"interval": 1.0, "concurrency": 0}, "concurrency must be >= 1"),
        ({"interval": 1.0, "max_body_bytes": 0}, "max_body_bytes must be >= 1"),
    ],
)
def test_bad_parameters_are_clear_errors(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Poller([], Collector(), **kwargs)  # type: ignore[arg-type]


def test_duplicate_endpoint_names_are_rejected() -> None:
    eps = [ep("a", "http://127.0.0.1:1/"), ep("a", "http://127.0.0.1:2/")]
    with pytest.raises(ValueError, match="repeated: a"):
        Poller(eps, Collector(), interval=1.0)


@pytest.mark.parametrize(
    ("last_ok", "last_status", "now", "interval", "expected"),
    [
        (100.0, "up", 100.0, 2.0, "up"),
        (100.0, "up", 106.0, 2.0, "up"),  # exactly 3 intervals: not yet
        (100.0, "up", 106.1, 2.0, "stale"),
        (100.0, "up", 1000.0, 2.0, "stale"),
        (100.0, "up", 131.0, 10.0, "stale"),
        (100.0, "up", 129.0, 10.0, "up"),
        (100.0, "down", 1000.0, 2.0, "down"),  # down says more than stale
        (100.0, "error", 1000.0, 2.0, "error"),
        (None, "down", 1000.0, 2.0, "down"),
        (None, "pending", 1000.0, 2.0, "pending"),
        (None, "up", 1000.0, 2.0, "up"),
    ],
)
def test_status_at(
    last_ok: float | None, last_status: str, now: float, interval: float, expected: str
) -> None:
    assert status_at(last_ok, last_status, now, interval) == expected


@pytest.mark.parametrize(
    ("failures", "cap", "jitter", "expected"),
    [
        (0, 30.0, 0.1, 2.0),  # healthy: the interval, never jittered
        (1, 30.0, 0.0, 4.0),
        (2, 30.0, 0.0, 8.0),
        (3, 30.0, 0.0, 16.0),
        (4, 30.0, 0.0, 30.0),
        (5000, 30.0, 0.0, 30.0),
        (2, 30.0, 0.1, 8.8),
        (3, 1.0, 0.0, 2.0),  # a cap below the interval never shortens it
    ],
)
def test_backoff_delay(failures: int, cap: float, jitter: float, expected: float) -> None:
    assert backoff_delay(2.0, failures, cap, jitter) == pytest.approx(expected)
