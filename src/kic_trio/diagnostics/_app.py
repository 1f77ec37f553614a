"""The diagnostics server's ASGI app: upstream's ``/debug/config/*`` JSON endpoints and the
HTML page at ``/``. Read-only: anything but GET/HEAD is refused.

Sanitizing (or rendering) a big configuration parses it — ~100 ms at 10k sets — so it runs in
a worker thread, one at a time (a burst of requests queues instead of piling threads up), and
its result is kept for the record's hash: one cached copy per endpoint, replaced when the
record changes.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable

import orjson
import trio

from .._asgi import ASGIApp, Receive, Scope, Send, lifespan, respond
from ..models import ObjectRef
from ._collector import Diagnostics, PushRecord
from ._render import build_objects, render_page
from ._sanitize import sanitize_config, sanitize_error

_SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'none'; style-src 'unsafe-inline'"),
    (b"x-content-type-options", b"nosniff"),
    (b"cache-control", b"no-store"),
    (b"referrer-policy", b"no-referrer"),
]
_DIFF_MESSAGE = (
    b'{"message":"diff reports are made by the DB-mode sync only; kic-trio pushes DB-less '
    b'configurations whole: compare /debug/config/successful and /debug/config/failed"}'
)


class _Cache:
    """The last result per endpoint, keyed by the record's identity (hash and gateway)."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[object, bytes]] = {}

    def get(self, slot: str, key: object) -> bytes | None:
        item = self._items.get(slot)
        return item[1] if item is not None and item[0] == key else None

    def put(self, slot: str, key: object, value: bytes) -> None:
        self._items[slot] = (key, value)


def diagnostics_app(diag: Diagnostics) -> ASGIApp:
    """The ASGI app serving ``diag``."""
    cache = _Cache()
    limiter = trio.CapacityLimiter(1)

    async def in_thread(slot: str, key: object, fn: Callable[[], bytes]) -> bytes:
        cached = cache.get(slot, key)
        if cached is not None:
            return cached
        async with limiter:
            cached = cache.get(slot, key)
            if cached is not None:
                return cached
            value = await trio.to_thread.run_sync(fn, limiter=trio.CapacityLimiter(1))
        cache.put(slot, key, value)
        return value

    async def config_of(slot: str, rec: PushRecord) -> bytes:
        if diag.sensitive:
            return rec.body

        def work() -> bytes:
            try:
                return sanitize_config(rec.body, rec.secrets)
            except ValueError:
                return b"null"

        return await in_thread(slot, (rec.gateway, rec.sha, rec.at), work)

    async def dump(send: Send, slot: str, rec: PushRecord | None, head: bool) -> None:
        if rec is None:
            await _respond(send, 204, b"", b"application/json", head)
            return
        config = await config_of(slot, rec)
        meta = orjson.dumps({"gateway": rec.gateway, "hash": rec.sha, "message": rec.message})
        body = meta[:-1] + b',"config":' + config + b"}"
        await _respond(send, 200, body, b"application/json", head)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method = scope.get("method", "GET")
        head = method == "HEAD"
        if method not in ("GET", "HEAD"):
            await _respond(send, 405, b"read-only: use GET", b"text/plain; charset=utf-8", False)
            return
        path = scope.get("path", "")
        query = urllib.parse.parse_qs(scope.get("query_string", b"").decode("latin-1"))
        gateway = (query.get("gateway") or [None])[0]
        if path == "/debug/config/successful":
            await dump(send, "successful", diag.newest(diag.last_successful, gateway), head)
        elif path == "/debug/config/failed":
            await dump(send, "failed", diag.newest(diag.last_failed, gateway), head)
        elif path == "/debug/config/fallback":
            await fallback(send, gateway, head)
        elif path == "/debug/config/problems":
            await problems(send, gateway, head)
        elif path == "/debug/config/raw-error":
            await raw_error(send, gateway, head)
        elif path == "/debug/config/diff-report":
            await _respond(send, 404, _DIFF_MESSAGE, b"application/json", head)
        elif path in ("/", "/debug/diagnostics"):
            await page(send, (query.get("namespace") or [None])[0], head)
        else:
            await _respond(send, 404, b"404 page not found", b"text/plain; charset=utf-8", head)

    async def fallback(send: Send, gateway: str | None, head: bool) -> None:
        rec = diag.newest(diag.last_fallback, gateway)
        if rec is None:
            body = orjson.dumps({"status": "not-triggered"})
            await _respond(send, 200, body, b"application/json", head)
            return
        broken = {f.obj for f in rec.failures}
        doc = {
            "status": "triggered",
            "gateway": rec.gateway,
            "hash": rec.sha,
            "brokenObjects": [_meta(ref) for ref in sorted(broken)],
            "excludedObjects": [
                {**_meta(ref), "causingObjects": [why]} for ref, why in sorted(rec.left_out.items())
            ],
            "pluginsRemoved": list(rec.plugins_removed),
        }
        config = await config_of("fallback", rec)
        body = orjson.dumps(doc)[:-1] + b',"config":' + config + b"}"
        await _respond(send, 200, body, b"application/json", head)

    async def problems(send: Send, gateway: str | None, head: bool) -> None:
        rec = diag.newest(diag.last_failed, gateway)
        objects: dict[ObjectRef, list[str]] = {}
        if rec is not None:
            for f in rec.failures:
                objects.setdefault(f.obj, []).append(
                    f"{f.field}: {f.reason}" if f.field else f.reason
                )
        doc = {
            "hash": rec.sha if rec is not None else "",
            "objects": [{**_meta(ref), "problems": why} for ref, why in sorted(objects.items())],
        }
        await _respond(send, 200, orjson.dumps(doc), b"application/json", head)

    async def raw_error(send: Send, gateway: str | None, head: bool) -> None:
        rec = diag.newest(diag.last_failed, gateway)
        if rec is None or not rec.answer:
            await _respond(send, 204, b"", b"text/plain; charset=utf-8", head)
            return
        if diag.sensitive:
            body = rec.answer
        else:
            body = await in_thread(
                "raw-error",
                (rec.gateway, rec.sha, rec.at),
                lambda: sanitize_error(rec.answer, rec.secrets),
            )
        await _respond(send, 200, body, b"text/plain; charset=utf-8", head)

    async def page(send: Send, namespace: str | None, head: bool) -> None:
        tr = diag.translation
        pushes = [diag.last_push[g] for g in sorted(diag.last_push)]
        key = (
            (tr.payload.sha, tr.at) if tr is not None else None,
            tuple((r.gateway, r.sha, r.at) for r in pushes),
            namespace,
        )

        def work() -> bytes:
            objects = build_objects(
                tr.payload.body if tr is not None else None,
                tr.payload.failures if tr is not None else (),
                pushes,
            )
            if namespace is not None:
                objects = {k: v for k, v in objects.items() if k[1] == namespace}
            return render_page(
                objects=objects,
                pushes=pushes,
                translation_sha=tr.payload.sha if tr is not None else None,
                translation_at=tr.at if tr is not None else None,
                sensitive=diag.sensitive,
            )

        body = await in_thread("page", key, work)
        await _respond(send, 200, body, b"text/html; charset=utf-8", head)

    return app


def _meta(ref: ObjectRef) -> dict[str, str]:
    return {
        "group": ref.group,
        "kind": ref.kind,
        "version": ref.version,
        "namespace": ref.namespace,
        "name": ref.name,
        "id": ref.uid,
    }


async def _respond(send: Send, status: int, body: bytes, ctype: bytes, head: bool) -> None:
    await respond(send, status, body, ctype, headers=_SECURITY_HEADERS, head=head)
