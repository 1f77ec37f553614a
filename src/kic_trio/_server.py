"""Probes (``/healthz``, ``/readyz``) and ``/metrics``, served by hypercorn on Trio.

A well-kept server rather than a hand-written one: hypercorn serves ASGI on Trio, hands
back the bound addresses through ``task_status`` (port 0 works) and shuts down in
milliseconds; prometheus_client's ASGI app serves the instance's own registry.
"""

from __future__ import annotations

from prometheus_client import make_asgi_app

from ._asgi import ASGIApp, Receive, Scope, Send, lifespan, respond, serve_app
from ._instance import Instance

__all__ = ["ASGIApp", "metrics_app", "probes_app", "serve_app"]


def probes_app(instance: Instance) -> ASGIApp:
    """``/healthz``: ``ok`` while running. ``/readyz``: 200 once ready, else 500 with the reason."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        path = scope.get("path", "")
        if path == "/healthz":
            await respond(send, 200, b"ok")
        elif path == "/readyz":
            reason = instance.health.not_ready_reason(instance.leader.is_leader)
            if reason is None:
                await respond(send, 200, b"ok")
            else:
                await respond(send, 500, f"internal server error: {reason}".encode())
        else:
            await respond(send, 404, b"404 page not found")

    return app


def metrics_app(instance: Instance) -> ASGIApp:
    inner: ASGIApp = make_asgi_app(registry=instance.metrics.registry)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
        elif scope.get("path") == "/metrics":
            await inner(scope, receive, send)
        else:
            await respond(send, 404, b"404 page not found")

    return app
