"""The simulator over HTTP: a threaded stdlib server, embeddable (``mmtui demo``, tests).

Routes: ``GET /`` lists the endpoints as JSON; ``GET /models/<name>/metrics`` is that server's
exposition text; ``GET /models/<name>/records`` is its inference log (:mod:`mmtui.sim.records`)
for the endpoints that have one, or whatever provider is plugged in with
:meth:`SimServer.set_records`, else 404; a malformed ``after`` or ``limit`` is a 400. An endpoint
the scenario has down gets its connection reset without a response, as a client of a crashed
server sees it. Anything else is a 404 with a JSON body.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from mmtui.sim.configfile import config_toml
from mmtui.sim.exposition import CONTENT_TYPE
from mmtui.sim.models import FLEET
from mmtui.sim.records import BadRequest, RecordStream
from mmtui.sim.scenarios import get_scenario
from mmtui.sim.simulator import Simulator

RecordsProvider = Callable[[int, Mapping[str, str]], tuple[str, bytes]]
"""Serves ``/models/<name>/records``: called with the simulator tick and the query parameters,
returns ``(content type, body)`` or raises :class:`~mmtui.sim.records.BadRequest` (a 400).
The tick's wall-clock time is ``epoch + tick * step``."""


class EndpointDown(Exception):
    """The scenario has the endpoint down: the connection is dropped without a response."""


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    owner: SimServer


class _IPv6HTTPServer(_HTTPServer):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    timeout = 60.0
    """Seconds an idle keep-alive connection is kept."""

    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection, add=True)

    def finish(self) -> None:
        self.server.owner._track(self.connection, add=False)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib's name)
        """Quiet: a poller scrapes every couple of seconds."""

    def do_GET(self) -> None:  # noqa: N802 (stdlib's name)
        owner = self.server.owner
        url = urlsplit(self.path)
        parts = [p for p in url.path.split("/") if p]
        if not parts:
            self._send(200, "application/json", json.dumps({"endpoints": owner.endpoints}))
            return
        result = None
        if len(parts) == 3 and parts[0] == "models" and parts[2] in ("metrics", "records"):
            try:
                result = owner._serve(parts[1], parts[2], dict(parse_qsl(url.query)))
            except EndpointDown:
                self._drop()
                return
            except BadRequest as exc:
                self._send(400, "application/json", json.dumps({"error": str(exc)}))
                return
        if result is None:
            self._send(404, "application/json",
                       json.dumps({"error": "not found", "path": url.path}))
            return
        self._send(200, *result)

    def _send(self, code: int, content_type: str, body: str | bytes) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _drop(self) -> None:
        """Reset the connection without a response (SO_LINGER 0 makes close send RST)."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()


class SimServer:
    """Simulated model servers on one HTTP port.

    Parameters
    ----------
    scenario, seed
        As :class:`~mmtui.sim.simulator.Simulator` (unknown scenario: ValueError).
    host, port
        Where to listen; port 0 picks a free one. A non-loopback host is refused unless
        ``allow_remote`` (the text is open to anyone who can reach the port).
    clock
        Wall-clock time in epoch seconds; tests inject one to scrape chosen ticks.
    """

    def __init__(
        self,
        scenario: str = "calm",
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        allow_remote: bool = False,
        clock: Callable[[], float] = time.time,
        step: float = 0.1,
    ) -> None:
        self._scenario = get_scenario(scenario)
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be 0..65535, got {port}")
        if not allow_remote and not is_loopback(host):
            raise ValueError(f"refusing to serve on non-loopback host {host!r}")
        self._seed, self._host, self._port = seed, host, port
        self._clock, self._step = clock, step
        self._lock = threading.Lock()
        self._records: dict[str, RecordsProvider] = {}
        """Providers plugged in with :meth:`set_records`; they win over the built-in logs."""
        self._streams: dict[str, RecordStream] = {}
        self._conns: set[socket.socket] = set()
        self._sim: Simulator | None = None
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._url = ""

    @property
    def simulator(self) -> Simulator:
        if self._sim is None:
            raise RuntimeError("the simulator server is not started")
        return self._sim

    @property
    def url(self) -> str:
        """Base URL, ending in ``/`` (empty before :meth:`start`)."""
        return self._url

    def start(self) -> str:
        """Bind, start serving in a daemon thread, return the base URL. OSError if bind fails."""
        if self._httpd is not None:
            return self._url
        cls = _IPv6HTTPServer if ":" in self._host else _HTTPServer
        httpd = cls((self._host.strip("[]"), self._port), _Handler)
        httpd.owner = self
        self._sim = Simulator(self._scenario, self._seed, epoch=self._clock(), step=self._step)
        self._streams = {ep.name: RecordStream(self._sim, ep.name)
                         for ep in FLEET if ep.records is not None}
        host = "127.0.0.1" if self._host in ("0.0.0.0", "") else self._host
        host = f"[{host.strip('[]')}]" if ":" in host else host
        self._url = f"http://{host}:{httpd.server_address[1]}/"
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="mmtui-sim",
            daemon=True,
        )
        self._thread.start()
        return self._url

    def stop(self) -> None:
        """Stop serving and close every open connection. Idempotent."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SimServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def set_records(self, name: str, provider: RecordsProvider) -> None:
        """Serve ``/models/<name>/records`` with ``provider`` instead of the built-in log."""
        if name not in {ep.name for ep in FLEET}:
            raise KeyError(f"no endpoint {name!r}")
        self._records[name] = provider

    @property
    def endpoints(self) -> list[dict[str, str | None]]:
        """The listing of ``GET /``: name, preset, metrics_url, records_url (None if unserved)."""
        base = self.url
        if not base:
            raise RuntimeError("the simulator server is not started")
        return [
            {
                "name": ep.name,
                "preset": ep.preset,
                "metrics_url": f"{base}models/{ep.name}/metrics",
                "records_url": f"{base}models/{ep.name}/records"
                if self._provider(ep.name) is not None else None,
            }
            for ep in FLEET
        ]

    def _provider(self, name: str) -> RecordsProvider | None:
        if name in self._records:
            return self._records[name]
        stream = self._streams.get(name)
        return None if stream is None else stream.serve

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    def _serve(self, name: str, what: str, query: dict[str, str]) -> tuple[str, bytes] | None:
        """``(content type, body)``, or None when there is no such thing (404).

        Raises :class:`EndpointDown` when the scenario has the endpoint down.
        """
        sim = self.simulator
        try:
            sim.spec(name)
        except KeyError:
            return None
        provider = self._provider(name) if what == "records" else None
        if what == "records" and provider is None:
            return None
        with self._lock:
            tick = max(sim.tick_at(self._clock()), sim.tick)
            if sim.is_down(name, tick):
                raise EndpointDown(name)
            if provider is None:
                return CONTENT_TYPE, sim.render(name, tick).encode()
        return provider(tick, query)

    def config_toml(self, interval: str = "2s") -> str:
        """A ready config for the served endpoints: ``[monitor]``, ``[[endpoints]]``, rules."""
        comment = (f"Written by `mmtui simulate` (scenario {self._scenario.name!r}, "
                   f"seed {self._seed}).")
        return config_toml(self.endpoints, FLEET, interval=interval, comment=comment)
