"""Poll metrics endpoints with one shared ``httpx.AsyncClient``.

Each endpoint has its own loop: scrape, hand the result over, sleep until the next due time. The
next poll is armed only when the last one finished, so polls never overlap or pile up; failures
back off exponentially; a semaphore bounds how many scrapes are in flight at once.

Classification (the ``status`` of a :class:`ScrapeResult`):

- ``up``: a 2xx response whose body (decoded, at most ``max_body_bytes``) arrived whole. Parsing
  the body is the caller's job.
- ``down``: connection refused, DNS failure, timeout, the server dropped the connection.
- ``error``: non-2xx status, body over the size cap, an invalid URL or request, anything else.

Header values from the configuration may be secrets: they never appear in an error string.

Transport: an endpoint on plain ``http://`` (no proxy in the environment, plain ASCII headers) is
scraped through :mod:`mmtui.feeds.http1`, a keep-alive connection of its own written to directly,
at a sixth of httpx's CPU per scrape. Everything else (TLS, proxies, redirects, odd headers, a
client passed in) goes through one shared ``httpx.AsyncClient``; an endpoint that answers with a
redirect moves to it for good.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import random
import socket
import sys
import time
import zlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import httpx

from mmtui.config import EndpointConfig
from mmtui.feeds import http1
from mmtui.snapshot import STATUS_DOWN, STATUS_ERROR, STATUS_STALE, STATUS_UP

__all__ = ["ACCEPT", "Poller", "ScrapeResult", "backoff_delay", "status_at"]

_log = logging.getLogger(__name__)

ACCEPT = (
    "application/openmetrics-text;version=1.0.0;q=0.5,"
    "text/plain;version=0.0.4;q=0.4,*/*;q=0.1"
)
"""The ``Accept`` header sent with every scrape (what Prometheus sends, minus protobuf)."""

STALE_INTERVALS = 3
"""Good data older than this many intervals makes an endpoint ``stale``."""

BACKOFF_JITTER = 0.1
"""Backoff sleeps are stretched by up to this fraction, so failing endpoints drift apart."""


@dataclass(frozen=True, slots=True)
class ScrapeResult:
    """The outcome of one scrape of one endpoint."""

    endpoint: str
    """``EndpointConfig.name``."""
    url: str
    status: str
    """``up``, ``down`` or ``error`` (constants in :mod:`mmtui.snapshot`)."""
    error: str | None
    """Why it is down/error, one line; None when up."""
    body: bytes | None
    """The decoded body when up, else None."""
    content_type: str | None
    started: float
    """Wall-clock time (the injected clock) when the request began."""
    duration: float
    """Seconds the scrape took."""
    attempt: int
    """Consecutive failures before this one (0 when healthy)."""


def status_at(last_ok: float | None, last_status: str, now: float, interval: float) -> str:
    """The status to show at ``now``.

    ``stale`` when the last result was up but the last good data is older than 3 intervals (the
    loop is stuck in a slow scrape, or paused); otherwise ``last_status`` unchanged.

    Examples
    --------
    >>> status_at(100.0, "up", 107.0, 2.0)
    'stale'
    >>> status_at(100.0, "up", 106.0, 2.0)
    'up'
    >>> status_at(100.0, "down", 200.0, 2.0)
    'down'
    """
    if last_status != STATUS_UP or last_ok is None:
        return last_status
    return STATUS_STALE if now - last_ok > STALE_INTERVALS * interval else STATUS_UP


def backoff_delay(interval: float, failures: int, max_backoff: float, jitter: float = 0.0) -> float:
    """Seconds from the start of one scrape to the next after ``failures`` consecutive failures.

    ``interval × 2**failures``, at most ``max_backoff`` (but never below ``interval``), then
    stretched by ``jitter`` (a fraction, 0 for none).

    Examples
    --------
    >>> [backoff_delay(1.0, k, 30.0) for k in range(7)]
    [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    """
    if failures <= 0:
        return interval
    base = min(interval * 2.0 ** min(failures, 60), max(max_backoff, interval))
    return base * (1.0 + jitter)


class Poller:
    """Poll every endpoint on its own never-overlapping loop; report each result.

    Parameters
    ----------
    endpoints
        The endpoints to poll; names must be unique.
    on_result
        Awaited with each result, in the endpoint's loop, before its next sleep.
    interval
        Seconds between the starts of two scrapes of one healthy endpoint.
    concurrency
        Most scrapes in flight at once. The poller's own client keeps one connection per endpoint
        alive between polls (see ``_PoolPerEndpoint``).
    max_body_bytes
        A body larger than this (after decompression) is an ``error``; reading stops there.
    max_backoff
        Longest sleep after failures; default ``max(8 × interval, 30 s)``.
    clock
        Wall clock for ``ScrapeResult.started``.
    client
        A client to use instead of the poller's own; the caller closes it.

    Notes
    -----
    One Poller belongs to one event loop. Don't call :meth:`poll_once` while :meth:`run` runs.
    """

    def __init__(
        self,
        endpoints: Sequence[EndpointConfig],
        on_result: Callable[[ScrapeResult], Awaitable[None]],
        *,
        interval: float,
        concurrency: int = 64,
        max_body_bytes: int = 8 * 1024 * 1024,
        max_backoff: float | None = None,
        clock: Callable[[], float] = time.time,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be > 0 seconds, got {interval!r}")
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency!r}")
        if max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be >= 1, got {max_body_bytes!r}")
        names = [ep.name for ep in endpoints]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"endpoint names must be unique; repeated: {', '.join(dupes)}")
        self._endpoints = tuple(endpoints)
        self._on_result = on_result
        self._interval = interval
        self._max_body = max_body_bytes
        self._max_backoff = max(8 * interval, 30.0) if max_backoff is None else max_backoff
        self._clock = clock
        self._client = client
        self._owns_client = client is None
        self._sem = asyncio.Semaphore(concurrency)
        self._unpaused = asyncio.Event()
        self._unpaused.set()
        self._wake = {name: asyncio.Event() for name in names}
        self._failures = dict.fromkeys(names, 0)
        self._rng = {name: random.Random(zlib.crc32(name.encode())) for name in names}
        self._direct: dict[str, http1.Target | None] = {
            ep.name: None if client else http1.plan(ep.metrics_url, _with_accept(ep.headers))
            for ep in endpoints
        }
        """Each endpoint's :mod:`~mmtui.feeds.http1` request; None: it goes through httpx."""
        self._connections: dict[str, http1.Connection] = {}
        _fail_fast_on_missing_sniffio()

    @property
    def paused(self) -> bool:
        """True while no new requests start."""
        return not self._unpaused.is_set()

    def set_paused(self, paused: bool) -> None:
        """Pause (no new requests start; those in flight finish) or resume."""
        if paused:
            self._unpaused.clear()
        else:
            self._unpaused.set()

    def poll_now(self, endpoint: str | None = None) -> None:
        """Wake one endpoint's loop (or all) from its sleep, backoff included.

        A loop that is scraping when woken scrapes again right after. While paused, woken loops
        wait for the resume.
        """
        if endpoint is None:
            for event in self._wake.values():
                event.set()
            return
        try:
            self._wake[endpoint].set()
        except KeyError:
            raise ValueError(f"unknown endpoint {endpoint!r}") from None

    async def run(self) -> None:
        """Poll every endpoint until cancelled; closes the poller's own client on the way out."""
        n = len(self._endpoints)
        try:
            if n == 0:
                await asyncio.get_running_loop().create_future()
            async with asyncio.TaskGroup() as group:
                for i, ep in enumerate(self._endpoints):
                    # Spread the first polls evenly over the first interval, in config order.
                    first = self._interval * i / n
                    group.create_task(self._loop(ep, first), name=f"poll {ep.name}")
        finally:
            await self.aclose()

    async def poll_once(self) -> list[ScrapeResult]:
        """Scrape every endpoint once, all at once within the concurrency bound.

        Runs even when paused (it is an explicit request). Results come in endpoint order and are
        not passed to ``on_result``.
        """

        async def one(ep: EndpointConfig) -> ScrapeResult:
            async with self._sem:
                return await self._scrape(ep)

        return list(await asyncio.gather(*(one(ep) for ep in self._endpoints)))

    async def aclose(self) -> None:
        """Close the poller's own connections (a client passed in is left open)."""
        connections, self._connections = list(self._connections.values()), {}
        for connection in connections:
            connection.close()
        if self._owns_client and self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    async def _loop(self, ep: EndpointConfig, first_delay: float) -> None:
        loop = asyncio.get_running_loop()
        await self._sleep(ep.name, first_delay)
        while True:
            await self._wait_turn()
            begun = loop.time()
            try:
                result = await self._scrape(ep)
            finally:
                self._sem.release()
            try:
                await self._on_result(result)
            except Exception:
                _log.exception("on_result failed for endpoint %s", ep.name)
            failures = self._failures[ep.name]
            jitter = self._rng[ep.name].uniform(0.0, BACKOFF_JITTER) if failures else 0.0
            delay = backoff_delay(self._interval, failures, self._max_backoff, jitter)
            await self._sleep(ep.name, begun + delay - loop.time())

    async def _wait_turn(self) -> None:
        """Return holding the semaphore, not paused."""
        while True:
            await self._unpaused.wait()
            await self._sem.acquire()
            if self._unpaused.is_set():
                return
            self._sem.release()

    async def _sleep(self, name: str, delay: float) -> None:
        wake = self._wake[name]
        if delay > 0 and not wake.is_set():
            try:
                async with asyncio.timeout(delay):
                    await wake.wait()
            except TimeoutError:
                pass
        wake.clear()

    def _get_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=_PoolPerEndpoint(), timeout=httpx.Timeout(5.0), follow_redirects=True
            )
        return self._client

    async def _scrape(self, ep: EndpointConfig) -> ScrapeResult:
        """One request; never raises (except cancellation). Updates the failure count."""
        started = self._clock()
        t0 = time.perf_counter()
        body: bytes | None = None
        content_type: str | None = None
        direct = self._direct[ep.name]
        # The client is made outside the timeout: it may load the CA certificates.
        client = self._get_client() if direct is None else None
        try:
            async with asyncio.timeout(ep.timeout):
                if client is None:
                    status, error, body, content_type = await self._fetch_direct(ep)
                else:
                    status, error, body, content_type = await self._fetch(client, ep)
        except TimeoutError:
            status, error = STATUS_DOWN, f"timed out after {_seconds(ep.timeout)}"
        except http1.Unsupported:
            self._direct[ep.name] = None  # a redirect: httpx follows it, from now on
            return await self._scrape(ep)
        except Exception as exc:  # every failure becomes a result
            status, error = classify_error(exc, ep.timeout)
        if error is not None:
            error = redact_secrets(error, ep.headers)
        attempt = self._failures[ep.name]
        self._failures[ep.name] = 0 if status == STATUS_UP else attempt + 1
        return ScrapeResult(
            endpoint=ep.name,
            url=ep.metrics_url,
            status=status,
            error=error,
            body=body if status == STATUS_UP else None,
            content_type=content_type,
            started=started,
            duration=time.perf_counter() - t0,
            attempt=attempt,
        )

    async def _fetch_direct(
        self, ep: EndpointConfig
    ) -> tuple[str, str | None, bytes | None, str | None]:
        connection = self._connections.get(ep.name)
        if connection is None:
            target = self._direct[ep.name]
            assert target is not None
            connection = self._connections[ep.name] = http1.Connection(target)
        try:
            response = await connection.get(self._max_body)
        except http1.BodyTooLarge:
            return STATUS_ERROR, f"body over {_size(self._max_body)} cap", None, None
        except http1.Dropped as exc:
            return STATUS_DOWN, one_line(f"connection dropped: {exc}"), None, None
        except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError) as exc:
            return STATUS_DOWN, one_line(f"connection lost: {exc}"), None, None
        except OSError as exc:  # connecting
            return STATUS_DOWN, _connect_reason(exc), None, None
        except http1.ProtocolError as exc:
            return STATUS_ERROR, one_line(f"invalid HTTP response: {exc}"), None, None
        except zlib.error as exc:
            return STATUS_ERROR, one_line(f"body could not be decoded: {exc}"), None, None
        if response.body is None:
            return STATUS_ERROR, f"HTTP {response.status} {response.reason}".strip(), None, None
        return STATUS_UP, None, response.body, response.content_type

    async def _fetch(
        self, client: httpx.AsyncClient, ep: EndpointConfig
    ) -> tuple[str, str | None, bytes | None, str | None]:
        headers = httpx.Headers(_with_accept(ep.headers))
        request = client.stream(
            "GET",
            ep.metrics_url,
            headers=headers,
            timeout=httpx.Timeout(ep.timeout),
            extensions={_POOL_KEY: ep.name},
        )
        async with request as response:
            content_type = response.headers.get("content-type")
            if not response.is_success:
                reason = response.reason_phrase or ""
                return STATUS_ERROR, f"HTTP {response.status_code} {reason}".strip(), None, None
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self._max_body:
                    return STATUS_ERROR, f"body over {_size(self._max_body)} cap", None, None
                chunks.append(chunk)
            return STATUS_UP, None, b"".join(chunks), content_type


def _with_accept(headers: dict[str, str]) -> dict[str, str]:
    """``headers`` with our ``Accept``, unless they have their own (in any case)."""
    if any(name.lower() == "accept" for name in headers):
        return dict(headers)
    return {"Accept": ACCEPT, **headers}


def _fail_fast_on_missing_sniffio() -> None:
    """Make ``import sniffio`` fail at once when sniffio is not installed.

    httpcore imports sniffio on every lock it takes (several per request). anyio 4 no longer
    installs it, and a failed import is not cached: each one searches all of sys.path again, about
    a third of the poller's CPU time. httpcore then assumes asyncio, which is what runs it here.
    """
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]  # documented: import fails


_POOL_KEY = "mmtui.endpoint"
"""Request extension naming the endpoint, so :class:`_PoolPerEndpoint` picks its pool."""


class _PoolPerEndpoint(httpx.AsyncBaseTransport):
    """The poller's client transport: one keep-alive connection pool per endpoint.

    httpcore's pool scans all its connections on every request and every response close (its
    keep-alive check is quadratic in them): one shared pool for 200 endpoints costs several ms of
    CPU per scrape. Each endpoint's scrapes never overlap, so a pool of one connection per endpoint
    keeps that scan to one connection, and keeps each endpoint's connection (and TLS session)
    alive between polls as Prometheus does. The poller's semaphore bounds the requests in flight.
    """

    def __init__(self) -> None:
        self._pools: dict[str, httpx.AsyncHTTPTransport] = {}
        self._ssl = httpx.create_ssl_context()  # one for all pools: loading the CAs takes a while

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key: str = request.extensions[_POOL_KEY]  # redirects keep the extensions
        pool = self._pools.get(key)
        if pool is None:
            limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
            pool = self._pools[key] = httpx.AsyncHTTPTransport(verify=self._ssl, limits=limits)
        return await pool.handle_async_request(request)

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()


def classify_error(exc: Exception, timeout: float) -> tuple[str, str]:
    """Map an exception from a scrape to (status, one-line reason)."""
    after = _seconds(timeout)
    if isinstance(exc, httpx.PoolTimeout):
        return STATUS_DOWN, f"no free connection after {after}"
    if isinstance(exc, httpx.ConnectTimeout):
        return STATUS_DOWN, f"connect timed out after {after}"
    if isinstance(exc, httpx.TimeoutException):
        return STATUS_DOWN, f"timed out after {after}"
    if isinstance(exc, httpx.ConnectError):
        return STATUS_DOWN, _connect_reason(exc)
    if isinstance(exc, httpx.RemoteProtocolError):
        return STATUS_DOWN, one_line(f"connection dropped: {exc}")
    if isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.CloseError):
        return STATUS_DOWN, one_line(f"connection lost: {exc or type(exc).__name__}")
    if isinstance(exc, httpx.LocalProtocolError):
        # h11 quotes the offending header, value included: say only what is wrong.
        return STATUS_ERROR, "invalid request (check the endpoint's headers)"
    if isinstance(exc, UnicodeEncodeError):
        return STATUS_ERROR, "a header value is not ASCII"
    if isinstance(exc, httpx.DecodingError):
        return STATUS_ERROR, one_line(f"body could not be decoded: {exc}")
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return STATUS_ERROR, one_line(f"invalid URL: {exc}")
    if isinstance(exc, httpx.HTTPError):
        return STATUS_ERROR, one_line(str(exc) or type(exc).__name__)
    return STATUS_ERROR, one_line(f"{type(exc).__name__}: {exc}")


def _connect_reason(exc: BaseException) -> str:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cur, socket.gaierror):
            return one_line(f"host not found: {cur.strerror or cur}")
        cur = cur.__cause__ or cur.__context__
    return one_line(f"connect failed: {exc}")


def redact_secrets(text: str, headers: dict[str, str]) -> str:
    """Replace every header value (and each long word of one, such as a token) by ``***``."""
    forms: set[str] = set()
    for value in headers.values():
        forms.update((value, value.strip(), repr(value)[1:-1]))
        forms.update(word for word in value.split() if len(word) >= 6)
    for form in sorted((f for f in forms if len(f) >= 3), key=len, reverse=True):
        text = text.replace(form, "***")
    return text


def one_line(text: str) -> str:
    line = " ".join(text.split()).rstrip(".")
    return line if len(line) <= 200 else line[:199] + "…"


def _seconds(value: float) -> str:
    return f"{value:g}s"


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} bytes"
