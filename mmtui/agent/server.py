"""The agent's routes on a stdlib HTTP server in a daemon thread, for servers that are not ASGI.

A Flask or gRPC model server, a batch scorer, a notebook: ``agent.serve(9100)`` exposes
``/metrics``, ``/records`` and ``/labels`` (:mod:`mmtui.agent.http`) on their own port, as
prometheus_client's ``start_http_server`` does, while the code times with ``agent.track`` or
``agent.observe``.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from mmtui.agent.http import MAX_BODY, Response, error, handle, normalize_prefix, route_of

if TYPE_CHECKING:
    from mmtui.agent.agent import Agent

__all__ = ["AgentServer"]


class AgentServer:
    """A running stdlib server for one agent; :meth:`close` stops it.

    Parameters
    ----------
    agent
        The agent to serve.
    port
        TCP port; 0 picks a free one (read :attr:`port`).
    host
        Address to bind: loopback by default, since ``/records`` holds model inputs.
    path_prefix
        Where the routes live.
    """

    def __init__(
        self, agent: Agent, port: int = 0, *, host: str = "127.0.0.1", path_prefix: str = "/"
    ) -> None:
        prefix = normalize_prefix(path_prefix)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as two small writes

            def _serve(self) -> None:
                url = urlsplit(self.path)
                route = route_of(prefix, url.path)
                body = b""
                if route is None:
                    response = error(404, f"no route {url.path}")
                else:
                    try:
                        length = int(self.headers.get("content-length") or 0)
                    except ValueError:
                        length = -1
                    if length < 0:
                        response = error(400, "Content-Length is not a byte count")
                        self.close_connection = True
                    elif length > MAX_BODY:
                        response = error(413, f"body larger than {MAX_BODY} bytes")
                        self.close_connection = True  # the body is left unread
                    else:
                        body = self.rfile.read(length) if length > 0 else b""
                        response = handle(agent, route, self.command, url.query, body)
                self._reply(response)

            def _reply(self, response: Response) -> None:
                self.send_response(response.status)
                self.send_header("Content-Type", response.content_type)
                self.send_header("Content-Length", str(len(response.body)))
                self.send_header("Cache-Control", "no-store")
                for name, value in response.headers:
                    self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(response.body)

            do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: the host process owns stderr."""

        self._httpd = ThreadingHTTPServer((host, port), Handler)
        self._httpd.daemon_threads = True
        self.host = host
        self.port: int = self._httpd.server_address[1]
        netloc = f"[{host}]" if ":" in host else host
        self.url = f"http://{netloc}:{self.port}{prefix}"
        """The base the routes are under (``<url>metrics``, ``<url>records``)."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
            name=f"mmtui-agent:{self.port}", daemon=True,
        )
        self._thread.start()

    def close(self) -> None:
        """Stop serving and release the port."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()
