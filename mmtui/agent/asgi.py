"""The agent as pure ASGI 3 (no framework): a middleware that serves its routes and times the rest.

Wrap the model server's ASGI app (Starlette, FastAPI, Litestar, Quart, or a bare callable)::

    app = MmtuiAgentMiddleware(app, agent)

Requests to ``<prefix>metrics``, ``<prefix>records`` and ``<prefix>labels`` (see
:mod:`mmtui.agent.http`) are answered by the agent and not passed on. Every other HTTP request
goes to the app and is timed from its arrival to the end of the app's call, counted under the
model ``model_of(scope)`` names (the agent's model by default; None leaves the request untimed,
for health probes), and counted as an error when the app raised or answered 5xx, or returned
without answering. Lifespan and websocket scopes pass through untouched.

The middleware only times; the app logs what it predicted with :meth:`Agent.record
<mmtui.agent.agent.Agent.record>` (not ``Agent.track``, which would time the request twice).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from mmtui.agent.http import MAX_BODY, error, handle, normalize_prefix, route_of

if TYPE_CHECKING:
    from mmtui.agent.agent import Agent
    from mmtui.agent.http import Response

__all__ = ["ASGIApp", "MmtuiAgentMiddleware", "Receive", "Scope", "Send", "agent_app"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class MmtuiAgentMiddleware:
    """Serve the agent's routes under ``path_prefix`` and time every other HTTP request.

    Parameters
    ----------
    app
        The ASGI app to wrap.
    agent
        Where the figures and records go.
    path_prefix
        Where the agent's routes live (``"/"``: ``/metrics``, ``/records``, ``/labels``).
    model_of
        The model label of a request, or None to leave it untimed; default: the agent's model.
    """

    def __init__(
        self,
        app: ASGIApp,
        agent: Agent,
        *,
        path_prefix: str = "/",
        model_of: Callable[[Scope], str | None] | None = None,
    ) -> None:
        self.app = app
        self.agent = agent
        self.prefix = normalize_prefix(path_prefix)
        self._model_of = model_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = route_of(self.prefix, scope["path"])
        if route is not None:
            await _answer(self.agent, route, scope, receive, send)
            return
        model = self.agent.model if self._model_of is None else self._model_of(scope)
        if model is None:
            await self.app(scope, receive, send)
            return
        status: int | None = None

        async def send_timed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        metrics = self.agent.metrics
        failed = False
        metrics.started(model)
        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_timed)
        except Exception:
            failed = True
            raise
        finally:
            metrics.finished(model)
            metrics.observe(time.perf_counter() - start,
                            error=failed or status is None or status >= 500, model=model)


async def _answer(agent: Agent, route: str, scope: Scope, receive: Receive, send: Send) -> None:
    method = str(scope["method"])
    body = b""
    too_large = False
    if method == "POST":
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                too_large = True
                break
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
    query = bytes(scope.get("query_string", b"")).decode("latin-1")
    if too_large:
        response = error(413, f"body larger than {MAX_BODY} bytes")
    else:
        response = handle(agent, route, method, query, body)
    await _send(response, send, head=method == "HEAD")


async def _send(response: Response, send: Send, *, head: bool) -> None:
    headers = [
        (b"content-type", response.content_type.encode("latin-1")),
        (b"content-length", str(len(response.body)).encode("latin-1")),
        (b"cache-control", b"no-store"),
        *((k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers),
    ]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else response.body})


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    """The app behind a standalone agent: 404 for HTTP, and a lifespan that just completes."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    elif scope["type"] == "http":
        await _send(error(404, f"no route {scope['path']}"), send, head=scope["method"] == "HEAD")


def agent_app(agent: Agent, *, path_prefix: str = "/") -> ASGIApp:
    """The agent's routes alone, as an ASGI app (mount it, or serve it on its own port)."""
    return MmtuiAgentMiddleware(_not_found, agent, path_prefix=path_prefix,
                                model_of=lambda scope: None)
