"""The small ASGI toolkit our three servers share: probes/metrics, the admission webhook and
the diagnostics page.

hypercorn serves ASGI on Trio, hands back the bound addresses through ``task_status`` (port 0
works) and shuts down in milliseconds; this module holds what every app needs around it (the
lifespan handshake, a whole-body response) and :func:`serve_app`, the one way we run hypercorn,
with or without TLS.

Advice: an app answers ``lifespan`` with :func:`lifespan` and each request with
:func:`respond`; give ``serve_app`` an ``ssl.SSLContext`` for HTTPS rather than key files
(hypercorn wants paths; :class:`_TLSConfig` hands it the ready context instead).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any, cast

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TEXT = b"text/plain; charset=utf-8"


async def lifespan(receive: Receive, send: Send) -> None:
    """Answer the ASGI lifespan protocol (nothing to set up or tear down)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def respond(
    send: Send,
    status: int,
    body: bytes,
    ctype: bytes = TEXT,
    *,
    headers: Sequence[tuple[bytes, bytes]] = (),
    head: bool = False,
) -> None:
    """Send one whole response (``head``: the headers only, as for a HEAD request)."""
    start = [(b"content-type", ctype), (b"content-length", str(len(body)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": b"" if head or status == 204 else body})


class _TLSConfig(HypercornConfig):
    """hypercorn's config with a ready-made TLS context (hypercorn wants key *files*)."""

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__()
        self._context = context
        self.certfile = self.keyfile = "<in memory>"

    def create_ssl_context(self) -> ssl.SSLContext | None:
        return self._context


def _bind(address: str) -> str:
    host, _, port = address.rpartition(":")
    return f"{host or '0.0.0.0'}:{port}"


async def serve_app(
    app: ASGIApp,
    address: str,
    *,
    ssl_context: ssl.SSLContext | None = None,
    logger: str = "kic_trio.server",
    task_status: trio.TaskStatus[tuple[str, int]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` on ``address`` (``[host]:port``; no host: every interface) until cancelled.

    Reports the bound ``(host, port)`` (port 0 picks a free one); over HTTPS when
    ``ssl_context`` is given. Cancelling stops the server within hypercorn's 0.5 s grace.
    """
    config = HypercornConfig() if ssl_context is None else _TLSConfig(ssl_context)
    config.bind = [_bind(address)]
    config.accesslog = None
    config.errorlog = logging.getLogger(logger)
    config.graceful_timeout = 0.5
    shutdown = trio.Event()

    async def started(*, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
        await serve(cast(Any, app), config, shutdown_trigger=shutdown.wait, task_status=task_status)

    async with trio.open_nursery() as nursery:
        binds = await nursery.start(started)
        # hypercorn reports URLs such as "http://127.0.0.1:43123"
        hostport = binds[0].split("://", 1)[1]
        host, _, port = hostport.rpartition(":")
        task_status.started((host.strip("[]"), int(port)))
        try:
            await trio.sleep_forever()
        finally:
            shutdown.set()
