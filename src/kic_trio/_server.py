"""Probes (``/healthz``, ``/readyz``) and ``/metrics``, served by hypercorn on Trio.

A well-kept server rather than a hand-written one: hypercorn serves ASGI on Trio, hands
back the bound addresses through ``task_status`` (port 0 works) and shuts down in
milliseconds; prometheus_client's ASGI app serves the instance's own registry.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, cast

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve
from prometheus_client import make_asgi_app

from ._instance import Instance

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _bind(address: str) -> str:
    host, _, port = address.rpartition(":")
    host = host or "0.0.0.0"
    return f"{host}:{port}"


async def _respond(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def probes_app(instance: Instance) -> ASGIApp:
    """``/healthz``: ``ok`` while running. ``/readyz``: 200 once ready, else 500 with the reason."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        path = scope.get("path", "")
        if path == "/healthz":
            await _respond(send, 200, b"ok")
        elif path == "/readyz":
            reason = instance.health.not_ready_reason(instance.leader.is_leader)
            if reason is None:
                await _respond(send, 200, b"ok")
            else:
                await _respond(send, 500, f"internal server error: {reason}".encode())
        else:
            await _respond(send, 404, b"404 page not found")

    return app


def metrics_app(instance: Instance) -> ASGIApp:
    inner: ASGIApp = make_asgi_app(registry=instance.metrics.registry)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
        elif scope.get("path") == "/metrics":
            await inner(scope, receive, send)
        else:
            await _respond(send, 404, b"404 page not found")

    return app


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def serve_app(
    app: ASGIApp,
    address: str,
    *,
    task_status: trio.TaskStatus[tuple[str, int]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` on ``address`` (``[host]:port``) until cancelled; reports ``(host, port)``."""
    config = HypercornConfig()
    config.bind = [_bind(address)]
    config.accesslog = None
    config.errorlog = logging.getLogger("kic_trio.server")
    config.graceful_timeout = 0.5
    shutdown = trio.Event()

    async def started(*, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
        await serve(cast(Any, app), config, shutdown_trigger=shutdown.wait, task_status=task_status)

    async with trio.open_nursery() as nursery:
        binds = await nursery.start(started)
        # hypercorn reports URLs such as "http://127.0.0.1:43123"
        url = binds[0]
        hostport = url.split("://", 1)[1]
        host, _, port = hostport.rpartition(":")
        task_status.started((host.strip("[]"), int(port)))
        try:
            await trio.sleep_forever()
        finally:
            shutdown.set()
