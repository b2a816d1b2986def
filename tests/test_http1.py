"""The poller's direct HTTP/1.1 path against real sockets on 127.0.0.1: framings, kept-alive
connections the server closes, and what goes to httpx instead."""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from mmtui.config import EndpointConfig
from mmtui.feeds import http1
from mmtui.feeds.poller import Poller, ScrapeResult

METRICS = b'# TYPE requests_total counter\nrequests_total{model="m"} 42\n'
BOMB = gzip.compress(b"x" * 5000)
"""Small on the wire, over the cap once decoded."""

Reply = Callable[[bytes], bytes | None]
"""What the server answers to one request head (None: hang up without answering)."""


class RawServer:
    """A one-thread HTTP server that writes exactly the bytes a test gives it, and records
    each request head and the connection it came on."""

    def __init__(self, reply: Reply, *, close_after: int | None = None) -> None:
        self.reply = reply
        self.close_after = close_after
        """Close each connection after this many responses (None: keep it open)."""
        self.heads: list[bytes] = []
        self.connections = 0
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}/metrics"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                buf = b""
                served = 0
                while True:
                    while b"\r\n\r\n" not in buf:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        buf += chunk
                    if b"\r\n\r\n" not in buf:
                        break
                    head, _, buf = buf.partition(b"\r\n\r\n")
                    self.heads.append(head)
                    out = self.reply(head)
                    if out is None:
                        break
                    conn.sendall(out)
                    served += 1
                    if self.close_after is not None and served >= self.close_after:
                        break

    def close(self) -> None:
        self._sock.close()


@pytest.fixture
def serve() -> Iterator[Callable[..., RawServer]]:
    servers: list[RawServer] = []

    def make(reply: Reply, **kwargs: int) -> RawServer:
        server = RawServer(reply, **kwargs)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


def response(body: bytes, *head: str, status: str = "200 OK") -> bytes:
    lines = [f"HTTP/1.1 {status}", "Content-Type: text/plain; version=0.0.4", *head]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def sized(body: bytes) -> bytes:
    return response(body, f"Content-Length: {len(body)}")


async def scrape(url: str, times: int = 1, max_body_bytes: int = 1 << 20) -> list[ScrapeResult]:
    async def ignore(result: ScrapeResult) -> None:
        pass

    poller = Poller([EndpointConfig(name="e", metrics_url=url)], ignore, interval=1.0,
                    max_body_bytes=max_body_bytes)
    try:
        return [(await poller.poll_once())[0] for _ in range(times)]
    finally:
        await poller.aclose()


async def test_plain_http_goes_direct_with_our_headers(serve: Callable[..., RawServer]) -> None:
    server = serve(lambda head: sized(METRICS))
    [result] = await scrape(server.url)
    assert (result.status, result.body) == ("up", METRICS)
    head = server.heads[0].decode()
    assert head.startswith("GET /metrics HTTP/1.1\r\n")
    assert "User-Agent: mmtui/" in head  # not python-httpx: this went the direct way
    assert "Accept-Encoding: gzip, deflate" in head
    assert "application/openmetrics-text" in head


async def test_chunked_and_gzip_bodies(serve: Callable[..., RawServer]) -> None:
    packed = gzip.compress(METRICS)
    chunks = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(part), part)
                      for part in (packed[:7], packed[7:]))
    server = serve(lambda head: response(
        chunks + b"0\r\nX-Trailer: t\r\n\r\n", "Transfer-Encoding: chunked",
        "Content-Encoding: gzip"))
    results = await scrape(server.url, times=2)
    assert [(r.status, r.body) for r in results] == [("up", METRICS)] * 2
    assert server.connections == 1  # chunked framing ends the body: kept alive


async def test_body_to_the_end_of_an_http10_connection(serve: Callable[..., RawServer]) -> None:
    server = serve(lambda head: b"HTTP/1.0 200 OK\r\n\r\n" + METRICS, close_after=1)
    results = await scrape(server.url, times=2)
    assert [(r.status, r.body) for r in results] == [("up", METRICS)] * 2
    assert server.connections == 2


async def test_a_kept_alive_connection_the_server_closed_is_replaced(
    serve: Callable[..., RawServer],
) -> None:
    server = serve(lambda head: sized(METRICS), close_after=1)  # as an idle timeout would
    results = await scrape(server.url, times=3)
    assert [r.status for r in results] == ["up"] * 3
    assert server.connections == 3


async def test_errors_and_caps(serve: Callable[..., RawServer]) -> None:
    cases: dict[str, tuple[Reply, tuple[str, str]]] = {
        "status": (lambda h: response(b"no", "Content-Length: 2", status="503 Busy"),
                   ("error", "HTTP 503 Service Unavailable")),
        "cap": (lambda h: sized(b"x" * 2000), ("error", "body over 1000 bytes cap")),
        "cap gzip": (lambda h: response(BOMB, "Content-Encoding: gzip",
                                        f"Content-Length: {len(BOMB)}"),
                     ("error", "body over 1000 bytes cap")),
        "garbled": (lambda h: b"SPDY/9 what\r\n\r\n", ("error", "invalid HTTP response: ")),
        "hang up": (lambda h: None, ("down", "connection dropped: server disconnected")),
        "short": (lambda h: response(b"abc", "Content-Length: 10"),
                  ("down", "connection dropped: server disconnected before the end")),
        "coding": (lambda h: response(b"abc", "Content-Length: 3", "Content-Encoding: br"),
                   ("error", "body could not be decoded: unsupported content encoding")),
    }
    for what, (reply, (status, error)) in cases.items():
        server = serve(reply, close_after=1)
        [result] = await scrape(server.url, max_body_bytes=1000)
        assert result.status == status, what
        assert result.error is not None and result.error.startswith(error), (what, result.error)
        assert result.body is None


@pytest.mark.parametrize(
    ("url", "headers", "env"),
    [
        ("https://127.0.0.1:1/metrics", {}, {}),
        ("http://127.0.0.1:1/metrics", {"X-Key": "caf\u00e9"}, {}),
        ("http://127.0.0.1:1/metrics", {"X-Key": "a\r\nb"}, {}),
        ("http://127.0.0.1:1/metrics", {"Bad Name": "x"}, {}),
        ("http://user:pw@127.0.0.1:1/metrics", {}, {}),
        ("http://127.0.0.1:1/metrics", {}, {"HTTPS_PROXY": "", "http_proxy": "http://p:3128"}),
    ],
)
def test_what_the_direct_path_leaves_to_httpx(
    url: str, headers: dict[str, str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert http1.plan(url, headers) is None
    if not env:
        assert http1.plan("http://127.0.0.1:1/metrics?x=1", {"X-Key": "v"}) is not None


async def test_refused_is_down_and_the_next_poll_connects_again() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/metrics"
    [result] = await scrape(url)
    assert (result.status, result.error) == ("down", "connection refused")
    # The server comes up on that port: the poller's next scrape finds it.
    srv = socket.create_server(("127.0.0.1", port))
    accepted = threading.Event()

    def answer() -> None:
        conn, _ = srv.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(sized(METRICS))
            accepted.set()

    threading.Thread(target=answer, daemon=True).start()
    try:
        [again] = await scrape(url)
    finally:
        srv.close()
    assert (again.status, again.body) == ("up", METRICS)
    await asyncio.to_thread(accepted.wait, 5)
