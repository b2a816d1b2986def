"""Plain HTTP/1.1 scrapes on kept-alive connections: the poller's fast path.

A scrape is one GET with a few fixed headers, on a connection kept alive between polls. httpx
spends about 1.5 ms of CPU on one (its client, httpcore's pool, h11 and anyio's checkpoints); at 10
scrapes a second that alone is most of the TUI's idle budget. Written straight to an asyncio
stream the same scrape costs about 0.25 ms.

This speaks only that: ``http://`` URLs without a proxy, headers that are plain ASCII, responses
framed by ``Content-Length``, ``chunked`` or the end of the connection, in ``gzip``/``deflate`` or
no content coding. :func:`plan` returns None for any endpoint outside that, and a redirect raises
:class:`Unsupported`: the poller uses httpx for those, as before.
"""

from __future__ import annotations

import asyncio
import os
import zlib
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urlsplit

from mmtui import __version__

__all__ = [
    "BodyTooLarge",
    "Connection",
    "Dropped",
    "ProtocolError",
    "Response",
    "Target",
    "Unsupported",
    "plan",
]

ACCEPT_ENCODING = "gzip, deflate"
HEAD_LIMIT = 64 * 1024
"""Longest status line plus headers accepted."""
_PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY")
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


class Unsupported(Exception):
    """The response needs the general client (a redirect)."""


class ProtocolError(Exception):
    """The server's response is not HTTP/1.x as this reads it; the message says what."""


class BodyTooLarge(Exception):
    """The (decoded) body is over the cap."""


class Dropped(Exception):
    """The server closed the connection before the whole response; the message says when."""

    def __init__(self, message: str, *, answered: bool) -> None:
        super().__init__(message)
        self.answered = answered
        """Whether some of the response had arrived."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where one endpoint's scrapes go and the request bytes, built once."""

    host: str
    port: int
    request: bytes


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    reason: str
    """The standard phrase of ``status`` (what httpx reports), not the server's text."""
    content_type: str | None
    body: bytes | None
    """The decoded body of a 2xx response; None otherwise (it is not read)."""


def plan(url: str, headers: dict[str, str]) -> Target | None:
    """The request for a GET of ``url`` with ``headers`` (and ``Accept-Encoding``), or None when
    this module does not handle it: not ``http://``, a proxy set in the environment, a header
    that is not a plain ASCII token and value."""
    if any(os.environ.get(name) for name in _PROXY_VARIABLES):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port or 80
    except ValueError:
        return None
    host = parts.hostname
    if parts.scheme != "http" or not host or parts.username or parts.password:
        return None
    if not (parts.netloc.isascii() and parts.netloc.isprintable()):
        return None
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not target.isascii() or any(c in target for c in " \r\n\t"):
        return None
    sent = {
        "host": ("Host", parts.netloc),
        "user-agent": ("User-Agent", f"mmtui/{__version__}"),
        "accept-encoding": ("Accept-Encoding", ACCEPT_ENCODING),
    }
    for name, value in headers.items():
        if not name or not set(name) <= _TOKEN or not _plain_value(value):
            return None
        sent[name.lower()] = (name, value.strip())
    lines = [f"GET {target} HTTP/1.1", *(f"{n}: {v}" for n, v in sent.values()), "", ""]
    return Target(host.strip("[]"), port, "\r\n".join(lines).encode("ascii"))


def _plain_value(value: str) -> bool:
    return value.isascii() and all(" " <= c <= "~" or c == "\t" for c in value)


class Connection:
    """One endpoint's connection: at most one request at a time, reopened when needed."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def get(self, max_body: int) -> Response:
        """Send the request and read the response; the body of a 2xx response only, decoded.

        Raises OSError (connecting, a reset), :class:`Dropped`, :class:`ProtocolError`,
        :class:`Unsupported`, :class:`BodyTooLarge` and :class:`zlib.error`; on any of them, and
        on cancellation, the connection is closed.
        """
        try:
            reused = self._usable()
            reader = await self._send()
            try:
                status, keep_alive, fields = await _read_head(reader)
            except (ConnectionError, Dropped) as exc:
                # A kept-alive connection the server closed as we sent: once more on a new
                # one, as long as it had answered nothing.
                if not reused or isinstance(exc, Dropped) and exc.answered:
                    raise
                self.close()
                reader = await self._send()
                status, keep_alive, fields = await _read_head(reader)
            ctype = fields.get("content-type")
            if 300 <= status < 400 and "location" in fields:
                raise Unsupported(f"redirect to {fields['location']}")
            if not 200 <= status < 300:
                self.close()  # the body is not read, so the connection cannot be reused
                return Response(status, _phrase(status), ctype, None)
            try:
                body, framed = await _read_body(reader, fields, status, max_body)
            except asyncio.IncompleteReadError:
                what = "server disconnected before the end of the body"
                raise Dropped(what, answered=True) from None
            except asyncio.LimitOverrunError:
                raise ProtocolError("a chunk-size line is too long") from None
            if not (keep_alive and framed):
                self.close()
            return Response(status, _phrase(status), ctype, body)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None

    def _usable(self) -> bool:
        """Whether there is an open connection that can take a request (the server has not
        closed it)."""
        reader, writer = self._reader, self._writer
        if reader is None or writer is None:
            return False
        if writer.is_closing() or reader.at_eof() or reader.exception() is not None:
            self.close()
            return False
        return True

    async def _send(self) -> asyncio.StreamReader:
        """Write the request on the open connection, or on a new one; returns its reader."""
        if not self._usable():
            self._reader, self._writer = await asyncio.open_connection(
                self.target.host, self.target.port, limit=HEAD_LIMIT
            )
        assert self._reader is not None and self._writer is not None
        self._writer.write(self.target.request)
        return self._reader


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, bool, dict[str, str]]:
    """Status, whether the connection stays open, and the header fields (lower-case names;
    repeated ones joined by commas); informational (1xx) responses are skipped."""
    while True:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            raise ProtocolError(f"headers over {HEAD_LIMIT // 1024} KiB") from None
        except asyncio.IncompleteReadError as exc:
            what = "in the headers" if exc.partial else "without sending a response"
            raise Dropped(f"server disconnected {what}", answered=bool(exc.partial)) from None
        try:
            text = head.decode("latin-1")
            status_line, *lines = text[:-4].split("\r\n")
            version, _, rest = status_line.partition(" ")
            status = int(rest[:3])
        except ValueError:
            raise ProtocolError(f"bad status line {head[:40]!r}") from None
        if version not in ("HTTP/1.1", "HTTP/1.0") or not 100 <= status <= 599:
            raise ProtocolError(f"bad status line {status_line[:40]!r}")
        fields: dict[str, str] = {}
        for line in lines:
            name, colon, value = line.partition(":")
            if not colon or not name or name[-1] in " \t":
                raise ProtocolError(f"bad header line {line[:40]!r}")
            key = name.lower()
            value = value.strip(" \t")
            fields[key] = f"{fields[key]}, {value}" if key in fields else value
        if status >= 200:
            connection = fields.get("connection", "").lower()
            keep_alive = version == "HTTP/1.1" and "close" not in connection
            return status, keep_alive, fields


async def _read_body(
    reader: asyncio.StreamReader, fields: dict[str, str], status: int, max_body: int
) -> tuple[bytes, bool]:
    """The decoded body, and whether its end was framed (so the connection can be reused)."""
    if status in (204, 304):
        return b"", True
    out = _Body(_decoder(fields.get("content-encoding", "identity")), max_body)
    coding = fields.get("transfer-encoding")
    if coding is not None:
        if coding.strip().lower() != "chunked":
            raise ProtocolError(f"unsupported Transfer-Encoding {coding[:20]!r}")
        while True:
            size_line = await reader.readuntil(b"\r\n")
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise ProtocolError(f"bad chunk size {size_line[:20]!r}") from None
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                    pass
                return out.finish(), True
            out.add((await reader.readexactly(size + 2))[:-2])
    if "content-length" in fields:
        try:
            length = int(fields["content-length"].split(",")[0])
        except ValueError:
            raise ProtocolError(f"bad Content-Length {fields['content-length'][:20]!r}") from None
        if length < 0:
            raise ProtocolError(f"bad Content-Length {length}")
        out.expect(length)
        out.add(await reader.readexactly(length))
        return out.finish(), True
    while chunk := await reader.read(65536):  # the body runs to the end of the connection
        out.add(chunk)
    return out.finish(), False


def _decoder(coding: str) -> zlib._Decompress | None:
    coding = coding.strip().lower()
    if coding in ("", "identity"):
        return None
    if coding in ("gzip", "x-gzip"):
        return zlib.decompressobj(zlib.MAX_WBITS | 16)
    if coding == "deflate":
        return zlib.decompressobj(zlib.MAX_WBITS | 32)  # zlib-wrapped or, auto-detected, gzip
    raise zlib.error(f"unsupported content encoding {coding!r}")


class _Body:
    """Body bytes, decoded as they arrive, never more than the cap."""

    def __init__(self, decoder: zlib._Decompress | None, cap: int) -> None:
        self._decoder = decoder
        self._cap = cap
        self._parts: list[bytes] = []
        self._size = 0

    def expect(self, length: int) -> None:
        """Fail early on a declared length over the cap (without content coding)."""
        if self._decoder is None and length > self._cap:
            raise BodyTooLarge

    def add(self, data: bytes) -> None:
        if self._decoder is not None:
            data = self._decoder.decompress(data, self._cap + 1 - self._size)
        self._take(data)

    def finish(self) -> bytes:
        if self._decoder is not None:
            self._take(self._decoder.flush())
        return b"".join(self._parts)

    def _take(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self._cap:
            raise BodyTooLarge
        self._parts.append(data)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
