"""FakeKong: an in-process Trio double of a DB-less Kong Admin API.

Kong itself cannot run in our test environments, so every test that needs "a Kong" talks to
this: a real HTTP server (hypercorn, on loopback, port 0) with Kong's DB-less contract —
``GET /``, ``GET /status``, ``POST /config`` (validated like Kong, answering Kong's bodies),
``GET /config``, ``GET /schemas/<type>`` (the entity types it validates; 404 for the others)
— plus knobs to make it misbehave the ways real gateways do.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import socket
import tempfile
import time
import urllib.parse
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import attrs
import orjson
import trio
import yaml

from . import _validate as v
from ._tls import CertPair, TestCA

EMPTY_HASH = "0" * 32
DEFAULT_MAX_BODY_SIZE = 10 * 1024 * 1024  # Kong's nginx_admin_client_max_body_size = 10m

_413_HTML = (
    b"<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n"
    b"<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>openresty</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
_MESSAGES = {
    429: "Currently loading previous configuration",
    500: "An unexpected error occurred",
    503: "Kong currently exiting",
    504: "Timed out while loading configuration",
}
_POST_TYPES = {
    "application/json",
    "multipart/form-data",
    "application/x-www-form-urlencoded",
    "application/yaml",
    "text/yaml",
}


@attrs.define
class RequestRecord:
    """One request FakeKong received. ``status`` is ``None`` while it is being answered."""

    method: str
    path: str
    query: str
    #: ``trio.current_time()`` when the request arrived (follows a MockClock).
    at: float
    #: ``time.time()`` when the request arrived.
    wall: float
    body_size: int = 0
    headers: dict[str, str] = attrs.field(factory=dict, repr=False)
    status: int | None = None
    #: For ``POST /config``: md5 of the body, as Kong's hash of a string config.
    body_md5: str | None = None


@attrs.define
class _Failure:
    status: int
    retry_after: float | None
    body: bytes | None


class FakeKong:
    """A DB-less Kong Admin API double, serving on loopback (see the README's "Testing").

    Start it in a nursery or as an async context manager::

        fake = FakeKong()
        await nursery.start(fake.serve)          # returns once listening
        ...
        async with FakeKong(tls=True) as fake:   # fake.url, fake.ca_pem
            ...

    What it does, like Kong 3.x in DB-less mode:

    * ``POST /config`` with a JSON or YAML body (raw, or a ``config`` field): ``check_hash=1``
      answers 304 when the md5 of the body equals the current ``configuration_hash``;
      otherwise the config is validated against the decK JSON schema and Kong's own rules
      and is either loaded (201, the flattened entities) or refused (400 with Kong's error
      body; ``flatten_errors=1`` adds ``flattened_errors`` carrying each entity's tags).
      Bodies over ``max_body_size`` get nginx's 413 page.
    * ``GET /status`` reports ``configuration_hash`` (32 zeros before a config is loaded,
      or after an empty one); ``GET /`` reports ``version`` and ``configuration.database``;
      ``GET /config`` answers ``{"config": "<YAML>"}``.

    One deliberate difference: the hash of a JSON body with a top-level ``_format_version``
    is the md5 of the body's bytes (Kong hashes its own re-encoding there, so real Kong
    seldom answers 304 to such a body).

    Knobs (change them at any time): :meth:`fail_next` / :meth:`clear_failures` (the next N
    ``POST /config`` answer a status, e.g. 429 with ``Retry-After``, 500, 503), ``delay``
    (every request waits, on Trio's clock), :meth:`hang` / :meth:`release` (``POST /config``
    never answers), :meth:`restart_empty`, ``reject_tags`` (entities carrying one are
    refused with an entity error, mapped back through their tags), ``reject_entities`` (entities
    with given field values are refused with a field error), ``max_body_size``,
    ``enabled_plugins``, ``admin_token``, :meth:`stop`.

    Observation: ``url``, ``config`` (the last accepted config, as posted),
    ``configuration_hash``, ``requests`` / :meth:`config_posts` (every request with its
    arrival time on Trio's clock and the wall clock, and its status), :meth:`wait_for`.
    With ``tls=True``: ``ca_pem`` (pass ``ca=`` to share one CA between fakes) and
    :meth:`issue_client_cert` (with ``require_client_cert=True``).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: bool = False,
        require_client_cert: bool = False,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        version: str = "3.9.1",
        database: str = "off",
        router_flavor: object = "traditional_compatible",
        schema_path: str | Path | None = None,
        validate_schema: bool | None = None,
        enabled_plugins: frozenset[str] | None = v.BUNDLED_PLUGINS,
        reject_tags: frozenset[str] | set[str] = frozenset(),
        admin_token: str | None = None,
        ca: TestCA | None = None,
        proxy_listeners: tuple[tuple[int, bool], ...] = ((8000, False),),
        stream_listeners: tuple[tuple[int, bool], ...] = (),
    ) -> None:
        self.host = host
        #: What ``GET /`` reports as ``proxy_listeners``/``stream_listeners`` (port, ssl):
        #: the controller derives Gateway listener protocols from them.
        self.proxy_listeners = proxy_listeners
        self.stream_listeners = stream_listeners
        self.port = port
        self.tls = tls
        self.require_client_cert = require_client_cert
        #: Bodies larger than this get 413, like nginx in front of Kong's Admin API.
        self.max_body_size = max_body_size
        self.version = version
        self.database = database
        #: Answer every request after this many seconds (``trio.sleep``: follows a MockClock).
        self.delay = 0.0
        #: Requests must carry ``Kong-Admin-Token: <admin_token>`` (401 otherwise) when set.
        self.admin_token = admin_token
        self._rules = v.Rules(enabled_plugins=enabled_plugins, reject_tags=frozenset(reject_tags))
        self.router_flavor = router_flavor
        self._schema: v.SchemaChecker | None = None
        #: The decK schema file in use (``None``: only Kong's own rules are checked).
        self.schema_path: Path | None = None
        if validate_schema is not False:
            path = v.find_schema(schema_path)
            if (path is None or not path.is_file()) and (
                validate_schema or schema_path is not None
            ):
                raise FileNotFoundError(
                    "Kong's declarative JSON schema was not found: run `python -m "
                    "kic_trio.testing.controlplane assets`, pass schema_path=, set "
                    "$KIC_TRIO_KONG_SCHEMA, or use validate_schema=False"
                )
            if path is None:
                logging.getLogger("kic_trio.testing").warning(
                    "FakeKong: Kong's declarative JSON schema not found (run `python -m "
                    "kic_trio.testing.controlplane assets`); checking Kong's own rules only"
                )
            else:
                self._schema = v.SchemaChecker(path)
                self.schema_path = path
        self.node_id = str(uuid.uuid4())
        self.config: dict[str, Any] = {}
        self.configuration_hash = EMPTY_HASH
        self.requests: list[RequestRecord] = []
        self.url = ""
        self._failures: deque[_Failure] = deque()
        self._hang: trio.Event | None = None
        self._changed = trio.Event()
        self._stop = trio.Event()
        self._ca: TestCA | None = None
        self._server_pair: CertPair | None = None
        if tls:
            # several fakes may share one CA, so one CA bundle verifies them all
            self._ca = ca or TestCA()
            self._server_pair = self._ca.issue(
                "localhost", dns=("localhost",), ips=("127.0.0.1", "::1")
            )

    # -- knobs -----------------------------------------------------------------------------

    @property
    def router_flavor(self) -> object:
        """Kong's ``router_flavor``, reported in ``GET /`` and obeyed when validating routes.

        ``"expressions"``: routes may carry ``expression``/``priority`` (not together with
        ``paths``, ``hosts``, ... ); the other flavors refuse those two fields as unknown.
        ``None`` leaves the key out of ``GET /`` and any non-string is reported as given: both
        exercise the controller's start-up checks (validation then runs as the default
        flavor).
        """
        return self._router_flavor

    @router_flavor.setter
    def router_flavor(self, flavor: object) -> None:
        self._router_flavor = flavor
        self._rules.router_flavor = flavor if isinstance(flavor, str) else "traditional_compatible"

    @property
    def reject_tags(self) -> frozenset[str]:
        """Entities carrying one of these tags are refused with an entity error (400)."""
        return self._rules.reject_tags

    @reject_tags.setter
    def reject_tags(self, tags: frozenset[str] | set[str]) -> None:
        self._rules.reject_tags = frozenset(tags)

    @property
    def reject_entities(self) -> tuple[tuple[str, Mapping[str, Any]], ...]:
        """``(entity type, {field: value})`` pairs: matching entities are refused with a field
        error, e.g. ``[("plugins", {"name": "key-auth", "config.key_names": ["bad name"]})]``
        refuses that key-auth configuration as Kong refuses an invalid one."""
        return self._rules.reject_entities

    @reject_entities.setter
    def reject_entities(self, rules: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        self._rules.reject_entities = tuple((t, dict(f)) for t, f in rules)

    @property
    def enabled_plugins(self) -> frozenset[str] | None:
        """Plugin names Kong has loaded (``None``: any name is accepted)."""
        return self._rules.enabled_plugins

    @enabled_plugins.setter
    def enabled_plugins(self, names: frozenset[str] | None) -> None:
        self._rules.enabled_plugins = names

    def fail_next(
        self,
        n: int = 1,
        status: int = 500,
        *,
        retry_after: float | None = None,
        body: bytes | None = None,
    ) -> None:
        """Answer the next ``n`` ``POST /config`` with ``status`` (Kong's body for it unless
        ``body`` is given; ``Retry-After`` when ``retry_after`` is set, as Kong does on 429)."""
        if status == 429 and retry_after is None:
            retry_after = 1
        for _ in range(n):
            self._failures.append(_Failure(status, retry_after, body))

    def clear_failures(self) -> None:
        """Forget failures queued by :meth:`fail_next` (the gateway recovers)."""
        self._failures.clear()

    def hang(self) -> None:
        """From now on, ``POST /config`` never answers (until :meth:`release`)."""
        if self._hang is None:
            self._hang = trio.Event()

    def release(self) -> None:
        """Let hanging ``POST /config`` requests proceed."""
        if self._hang is not None:
            self._hang.set()
            self._hang = None

    def restart_empty(self) -> None:
        """Behave as a Kong that just restarted: no config, hash back to 32 zeros."""
        self.config = {}
        self.configuration_hash = EMPTY_HASH
        self.node_id = str(uuid.uuid4())
        self._notify()

    def stop(self) -> None:
        """Stop serving (``serve`` returns; ``async with`` exits cleanly)."""
        self._stop.set()

    # -- TLS -------------------------------------------------------------------------------

    @property
    def ca_pem(self) -> str:
        """PEM of the CA that signed the server certificate (``tls=True`` only)."""
        if self._ca is None:
            raise RuntimeError("FakeKong was created without tls=True")
        return self._ca.cert_pem

    def issue_client_cert(self, common_name: str = "kic-trio") -> CertPair:
        """A client certificate this FakeKong accepts with ``require_client_cert=True``."""
        if self._ca is None:
            raise RuntimeError("FakeKong was created without tls=True")
        return self._ca.issue(common_name, client=True)

    # -- waiting ---------------------------------------------------------------------------

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def wait_for(self, predicate: Callable[[FakeKong], bool]) -> None:
        """Return once ``predicate(self)`` is true; re-checked after each request and change."""
        while not predicate(self):
            await self._changed.wait()

    def config_posts(self) -> list[RequestRecord]:
        """The ``POST /config`` requests received so far, in arrival order."""
        return [r for r in self.requests if r.method == "POST" and r.path == "/config"]

    # -- serving ---------------------------------------------------------------------------

    async def serve(self, *, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled or :meth:`stop`; ``nursery.start`` returns the admin URL."""
        from hypercorn.config import Config as HConfig
        from hypercorn.trio import serve

        self._stop = trio.Event()
        cfg = HConfig()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        bind_host = f"[{self.host}]" if family == socket.AF_INET6 else self.host
        cfg.bind = [f"{bind_host}:{self.port}"]
        cfg.keep_alive_timeout = 3600.0
        cfg.graceful_timeout = 0.5
        cfg.accesslog = None
        cfg.errorlog = None
        with contextlib.ExitStack() as stack:
            if self._server_pair is not None and self._ca is not None:
                tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fakekong-")))
                (tmp / "tls.crt").write_text(self._server_pair.cert_pem)
                (tmp / "tls.key").write_text(self._server_pair.key_pem)
                (tmp / "ca.crt").write_text(self._ca.cert_pem)
                cfg.certfile = str(tmp / "tls.crt")
                cfg.keyfile = str(tmp / "tls.key")
                cfg.alpn_protocols = ["http/1.1"]
                if self.require_client_cert:
                    import ssl

                    cfg.ca_certs = str(tmp / "ca.crt")
                    cfg.verify_mode = ssl.CERT_REQUIRED

            async def started(
                *, task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED
            ) -> None:
                await serve(
                    cast(Any, self._app),
                    cfg,
                    shutdown_trigger=self._stop.wait,
                    task_status=task_status,
                )

            async with trio.open_nursery() as nursery:
                binds = await nursery.start(started)
                self.url = binds[0]
                parsed = urllib.parse.urlsplit(self.url)
                if parsed.port:
                    self.port = parsed.port
                task_status.started(self.url)

    def __repr__(self) -> str:
        return f"<FakeKong {self.url or 'not started'} hash={self.configuration_hash}>"

    @contextlib.asynccontextmanager
    async def _running(self) -> AsyncIterator[FakeKong]:
        async with trio.open_nursery() as nursery:
            await nursery.start(self.serve)
            try:
                yield self
            finally:
                self.stop()

    async def __aenter__(self) -> FakeKong:
        self._cm = self._running()
        return await self._cm.__aenter__()

    async def __aexit__(self, *exc: object) -> bool | None:
        return await self._cm.__aexit__(*exc)  # type: ignore[arg-type]

    # -- the ASGI app ----------------------------------------------------------------------

    async def _app(
        self,
        scope: dict[str, Any],
        receive: Callable[[], Awaitable[dict[str, Any]]],
        send: Callable[[dict[str, Any]], Awaitable[None]],
    ) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        headers = {
            k.decode("latin-1").lower(): val.decode("latin-1") for k, val in scope["headers"]
        }
        rec = RequestRecord(
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b"").decode("latin-1"),
            at=trio.current_time(),
            wall=time.time(),
            headers=headers,
        )
        self.requests.append(rec)
        self._notify()
        body, size = await self._read_body(receive)
        rec.body_size = size
        status, out_headers, payload = await self._handle(rec, headers, body, size)
        rec.status = status
        await send({"type": "http.response.start", "status": status, "headers": out_headers})
        await send({"type": "http.response.body", "body": payload})
        self._notify()

    async def _read_body(
        self, receive: Callable[[], Awaitable[dict[str, Any]]]
    ) -> tuple[bytes | None, int]:
        """The whole body, or ``None`` past ``max_body_size`` (still drained, never kept)."""
        chunks: list[bytes] = []
        size = 0
        keep = True
        while True:
            msg = await receive()
            if msg["type"] != "http.request":
                break
            data = msg.get("body", b"")
            size += len(data)
            if keep and size > self.max_body_size:
                keep = False
                chunks.clear()
            if keep:
                chunks.append(data)
            if not msg.get("more_body", False):
                break
        return (b"".join(chunks) if keep else None), size

    async def _handle(
        self, rec: RequestRecord, headers: Mapping[str, str], body: bytes | None, size: int
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        if self.delay > 0:
            await trio.sleep(self.delay)
        if body is None:
            return 413, [(b"content-type", b"text/html")], _413_HTML
        if self.admin_token is not None and headers.get("kong-admin-token") != self.admin_token:
            return _json(
                401, {"message": "Invalid credentials. Token or User credentials required"}
            )
        path = rec.path.rstrip("/") or "/"
        if rec.method == "GET" and path == "/":
            return _json(200, self._root())
        if rec.method == "GET" and path == "/status":
            return _json(200, self._status())
        if rec.method == "GET" and path.startswith("/schemas/") and path.count("/") == 2:
            etype = path.removeprefix("/schemas/")  # ASGI paths are decoded
            answer = v.entity_schema(etype, self._schema)
            if answer is None:
                return _json(404, {"message": f"No entity named '{etype}'"})
            return _json(200, answer)
        if path == "/config":
            if self.database != "off":
                return _json(
                    400,
                    {
                        "message": "this endpoint is only available when Kong is configured to not use a database"
                    },
                )
            if rec.method == "GET":
                return _json(200, {"config": self._export_yaml()})
            if rec.method == "POST":
                return await self._post_config(rec, headers, body)
            return _json(405, {"message": "Method not allowed"})
        return _json(404, {"message": "Not found"})

    def _root(self) -> dict[str, Any]:
        plugins = sorted(self._rules.enabled_plugins or v.BUNDLED_PLUGINS)
        return {
            "tagline": "Welcome to kong",
            "version": self.version,
            "edition": "community",
            "hostname": "fakekong",
            "node_id": self.node_id,
            "lua_version": "LuaJIT 2.1.0-20231117",
            "timers": {"running": 0, "pending": 0},
            "plugins": {
                "available_on_server": {
                    p: {"version": self.version, "priority": 1000} for p in plugins
                },
                "enabled_in_cluster": [],
            },
            "configuration": {
                "database": self.database,
                **({} if self._router_flavor is None else {"router_flavor": self._router_flavor}),
                "role": "traditional",
                "proxy_listeners": [
                    {"ip": "0.0.0.0", "port": p, "ssl": ssl} for p, ssl in self.proxy_listeners
                ],
                "stream_listeners": [
                    {"ip": "0.0.0.0", "port": p, "ssl": ssl} for p, ssl in self.stream_listeners
                ],
                "nginx_admin_client_max_body_size": f"{self.max_body_size}",
            },
            "pids": {"master": 1, "workers": [2]},
        }

    def _status(self) -> dict[str, Any]:
        n = len(self.requests)
        out: dict[str, Any] = {
            "memory": {
                "workers_lua_vms": [{"http_allocated_gc": "40.00 MiB", "pid": 2}],
                "lua_shared_dicts": {},
            },
            "server": {
                "connections_accepted": n,
                "connections_active": 1,
                "connections_handled": n,
                "connections_reading": 0,
                "connections_waiting": 0,
                "connections_writing": 1,
                "total_requests": n,
            },
        }
        if self.database == "off":
            out["configuration_hash"] = self.configuration_hash
        else:
            out["database"] = {"reachable": True}
        return out

    def _export_yaml(self) -> str:
        head = "_format_version: '3.0'\n_transform: false\n"
        flat = v.flat_entities(self.config)
        if not flat:
            return head
        return head + yaml.safe_dump(flat, sort_keys=True, default_flow_style=False)

    async def _post_config(
        self, rec: RequestRecord, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        if self._hang is not None:
            await self._hang.wait()
        if self._failures:
            f = self._failures.popleft()
            extra: list[tuple[bytes, bytes]] = []
            if f.retry_after is not None:
                extra.append((b"retry-after", str(math.ceil(f.retry_after)).encode()))
            payload = (
                f.body
                if f.body is not None
                else json.dumps({"message": _MESSAGES.get(f.status, "failure")}).encode()
            )
            status, hdrs, out = _json_bytes(f.status, payload)
            return status, hdrs + extra, out
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        if body and ctype not in _POST_TYPES:
            return 415, [], b""
        query = dict(urllib.parse.parse_qsl(rec.query, keep_blank_values=True))
        params: dict[str, Any] = dict(query)
        raw: bytes | str | None = None
        config: Any = None
        if ctype == "application/json" and body:
            try:
                parsed = orjson.loads(body)
            except orjson.JSONDecodeError:
                return _json(400, {"message": "Cannot parse JSON body"})
            if isinstance(parsed, dict):
                params.update(parsed)
            else:
                raw = body
        elif ctype == "application/x-www-form-urlencoded" and body:
            params.update(
                dict(
                    urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
                )
            )
        elif body:
            raw = body
        flatten = str(params.pop("flatten_errors", "")).lower() in ("true", "1", "on", "yes")
        check_hash = str(params.pop("check_hash", "")) == "1"
        if "_format_version" in params:
            config = params  # case (A): the params are the config, query args included
            raw = body
        else:
            src = params.get("config")
            if src is None and raw is None and body and ctype == "application/json":
                raw = body  # a JSON object without _format_version: the raw body
            if isinstance(src, str):
                raw = src
            if raw is None:
                return _json(400, {"message": "expected a declarative configuration"})
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
            try:
                config = json.loads(text)
            except ValueError:
                try:
                    config = yaml.safe_load(text)
                except yaml.YAMLError as e:
                    return _parse_error(f"failed parsing declarative configuration: {e}")
            if not isinstance(config, dict):
                return _parse_error("failed parsing declarative configuration: expected an object")
        raw_bytes = raw.encode() if isinstance(raw, str) else (raw or b"")
        new_hash = hashlib.md5(raw_bytes, usedforsecurity=False).hexdigest()
        rec.body_md5 = new_hash
        if check_hash and new_hash == self.configuration_hash:
            return 304, [], b""
        tree, items = v.validate_items(config, self._schema, self._rules)
        if tree:
            if flatten:
                shown = v.with_generated_ids(config) if tree.ids_generated else config
                return _json(400, v.flattened_body(tree, shown))
            try:
                return _json(400, v.unflattened_body(tree))
            except v.NullKeyError:
                return _json(500, {"message": "An unexpected error occurred"})
        self.config = config
        self.configuration_hash = new_hash if v.has_entities(config) else EMPTY_HASH
        self._notify()
        flat = v.flat_entities(config, items)
        return _json(201, {k: {e["id"]: e for e in ents} for k, ents in flat.items()})


def _json(status: int, body: Any) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    # Kong (cjson) escapes "/" as "\/"; clients decode both the same way.
    return _json_bytes(status, orjson.dumps(body).replace(b"/", b"\\/"))


def _json_bytes(status: int, data: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    return status, [(b"content-type", b"application/json; charset=utf-8")], data


def _parse_error(error: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    inner = error.replace("\\", "\\\\").replace('"', '\\"')
    return _json(
        400,
        {
            "code": 14,
            "name": "invalid declarative configuration",
            "message": f'declarative config is invalid: {{error="{inner}"}}',
            "fields": {"error": error},
        },
    )
