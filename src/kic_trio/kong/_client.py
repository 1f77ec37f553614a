"""The Kong Admin API client: the three calls a DB-less controller needs, over httpx.

Every httpx exception is translated into :class:`~kic_trio.KongAdminError` here, at the
edge, so the applier deals with one exception type. HTTP error statuses of ``POST /config``
are *not* exceptions: they are outcomes (:class:`PushResult`) the applier decides about.
Secrets (the admin token, header values, the client key) never reach a log line or an
exception message.
"""

from __future__ import annotations

import contextlib
import email.utils
import os
import re
import ssl
import tempfile
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import Any

import attrs
import httpx
import orjson
import trio

from .._errors import KongAdminError, UnsupportedKongError
from ..config import Config

EMPTY_HASH = "0" * 32
MIN_VERSION = (3, 4, 1)
_VERSION_RE = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?")
_USER_AGENT = "kic-trio"


@attrs.frozen
class AdminAPIOptions:
    """How to reach Admin APIs: auth headers, TLS, timeout. Built once, shared by gateways."""

    headers: tuple[tuple[str, str], ...] = attrs.field(default=(), repr=False)
    #: ``True``: default verification, ``False``: none, or a prepared context (CA, mTLS).
    verify: ssl.SSLContext | bool = True
    server_name: str | None = None
    timeout: float = 30.0

    @classmethod
    def from_config(cls, cfg: Config) -> AdminAPIOptions:
        """Read the ``kong_admin_*`` fields (and the token / certificate files they name)."""
        headers: list[tuple[str, str]] = []
        for h in cfg.kong_admin_header:
            key, sep, value = h.partition(":")
            if not sep or not key.strip():
                raise KongAdminError("a --kong-admin-header entry is not key:value")
            headers.append((key.strip(), value.strip()))
        try:
            token = cfg.resolved_admin_token()
        except OSError as e:
            raise KongAdminError(f"cannot read --kong-admin-token-file: {e.strerror}") from None
        if token and not any(k.lower() == "kong-admin-token" for k, _ in headers):
            headers.append(("Kong-Admin-Token", token))
        verify = make_ssl_context(
            skip_verify=cfg.kong_admin_tls_skip_verify,
            ca_pem=cfg.kong_admin_ca_cert,
            ca_file=cfg.kong_admin_ca_cert_file,
            client_cert_pem=cfg.kong_admin_tls_client_cert,
            client_cert_file=cfg.kong_admin_tls_client_cert_file,
            client_key_pem=cfg.kong_admin_tls_client_key,
            client_key_file=cfg.kong_admin_tls_client_key_file,
        )
        return cls(
            headers=tuple(headers),
            verify=verify,
            server_name=cfg.kong_admin_tls_server_name or None,
            timeout=cfg.proxy_timeout_seconds,
        )


def make_ssl_context(
    *,
    skip_verify: bool = False,
    ca_pem: str | None = None,
    ca_file: str | None = None,
    client_cert_pem: str | None = None,
    client_cert_file: str | None = None,
    client_key_pem: str | None = None,
    client_key_file: str | None = None,
) -> ssl.SSLContext:
    """An SSL context for the Admin API: CA as PEM text or file, optional client cert/key."""
    try:
        ctx = ssl.create_default_context(cafile=ca_file or None, cadata=ca_pem or None)
    except (OSError, ssl.SSLError) as e:
        raise KongAdminError(
            f"cannot load the Admin API CA certificate: {_ssl_reason(e)}"
        ) from None
    if skip_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if client_cert_pem or client_cert_file or client_key_pem or client_key_file:
        try:
            with (
                _pem_file(client_cert_pem, client_cert_file) as cert,
                _pem_file(client_key_pem, client_key_file) as key,
            ):
                if cert is None or key is None:
                    raise KongAdminError(
                        "an Admin API client certificate needs both a certificate and a key"
                    )
                ctx.load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as e:
            # the message names the problem, never the key
            raise KongAdminError(
                f"cannot load the Admin API client certificate: {_ssl_reason(e)}"
            ) from None
    return ctx


def _ssl_reason(e: BaseException) -> str:
    if isinstance(e, ssl.SSLError):
        return str(e.reason or type(e).__name__)
    if isinstance(e, OSError):
        return e.strerror or type(e).__name__
    return type(e).__name__


@contextlib.contextmanager
def _pem_file(pem: str | None, path: str | None) -> Iterator[str | None]:
    """``ssl`` loads client certificates from files only: PEM text goes to a private temp file
    that lives only while it is loaded."""
    if path:
        yield path
        return
    if not pem:
        yield None
        return
    fd, name = tempfile.mkstemp(prefix="kic-trio-", suffix=".pem")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(pem)
        yield name
    finally:
        os.unlink(name)


def go_type_name(value: object) -> str:
    """Go's ``%T`` of a decoded JSON value (upstream's error messages name Go types)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    return "map[string]interface {}"


@attrs.frozen
class KongInfo:
    """What ``GET /`` says about a gateway."""

    version: str
    database: str
    router_flavor: str
    node_id: str = ""
    edition: str = ""
    #: ``configuration.proxy_listeners`` / ``stream_listeners`` as (port, ssl): which ports
    #: carry HTTP, HTTPS and TLS (Gateway listener protocols, gateway-api.md §3.2)
    proxy_listeners: tuple[tuple[int, bool], ...] = ()
    stream_listeners: tuple[tuple[int, bool], ...] = ()


def _listeners(raw: object) -> tuple[tuple[int, bool], ...]:
    """``[{port, ssl, ...}]`` from ``GET /`` as sorted (port, ssl) pairs; junk is skipped."""
    out: set[tuple[int, bool]] = set()
    for item in raw if isinstance(raw, list) else ():
        if isinstance(item, Mapping):
            port, ssl = item.get("port"), item.get("ssl")
            if isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536:
                out.add((port, ssl is True))
    return tuple(sorted(out))


@attrs.frozen
class PushResult:
    """The outcome of one ``POST /config``: Kong's status, and its body when it is an error.

    A successful answer's body (Kong echoes every loaded entity: as large as the config) is
    not read: at 10k sets reading it was a fifth of the controller's CPU.
    """

    status: int
    body: bytes
    retry_after: float | None
    duration: float

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 400


def redact_url(url: str) -> str:
    """``url`` without credentials, for logs, events and error messages."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def parse_version(text: str) -> tuple[int, int, int] | None:
    m = _VERSION_RE.match(text.strip())
    if not m:
        return None
    return (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class AdminClient:
    """One gateway's Admin API. Close it with :meth:`aclose` (or ``async with``)."""

    def __init__(
        self, url: str, options: AdminAPIOptions, *, server_name: str | None = None
    ) -> None:
        self.url = url.rstrip("/")
        #: The URL as shown in messages: any ``user:password@`` is left out.
        self.shown = redact_url(self.url)
        self._server_name = server_name or options.server_name
        headers = {"User-Agent": _USER_AGENT}
        headers.update(dict(options.headers))
        self._http = httpx.AsyncClient(
            base_url=self.url,
            headers=headers,
            verify=options.verify,
            timeout=httpx.Timeout(options.timeout),
            trust_env=False,
        )

    async def __aenter__(self) -> AdminClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _request(
        self, method: str, path: str, *, read_body_if: Any = None, **kw: Any
    ) -> httpx.Response:
        """One request, exceptions translated. ``read_body_if(status)`` false: the body is not
        read and the connection is closed instead (for big answers nobody needs)."""
        if self._server_name:
            kw.setdefault("extensions", {})["sni_hostname"] = self._server_name
        try:
            if read_body_if is None:
                return await self._http.request(method, path, **kw)
            request = self._http.build_request(method, path, **kw)
            resp = await self._http.send(request, stream=True)
            try:
                if read_body_if(resp.status_code):
                    await resp.aread()
            finally:
                # shielded: a cancelled push must still close its connection
                with trio.CancelScope(shield=True), trio.move_on_after(2):
                    await resp.aclose()
            return resp
        except httpx.TimeoutException as e:
            raise KongAdminError(
                f"{method} {self.shown}{path}: timed out ({type(e).__name__})", url=self.url
            ) from None
        except httpx.HTTPError as e:
            raise KongAdminError(
                f"{method} {self.shown}{path}: {_describe(e)}", url=self.url
            ) from None
        except ssl.SSLError as e:
            raise KongAdminError(
                f"{method} {self.shown}{path}: TLS error: {_ssl_reason(e)}", url=self.url
            ) from None
        except OSError as e:
            raise KongAdminError(
                f"{method} {self.shown}{path}: {e.strerror or type(e).__name__}", url=self.url
            ) from None

    async def _get_json(self, path: str, *, timeout: float | None = None) -> Mapping[str, Any]:
        kw: dict[str, Any] = {}
        if timeout is not None:
            kw["timeout"] = timeout
        resp = await self._request("GET", path, **kw)
        if resp.status_code != 200:
            raise KongAdminError(
                f"GET {self.shown}{path}: HTTP {resp.status_code}: {_short(resp.content)}",
                url=self.url,
                status=resp.status_code,
            )
        try:
            data = orjson.loads(resp.content)
        except orjson.JSONDecodeError:
            raise KongAdminError(
                f"GET {self.shown}{path}: the answer is not JSON", url=self.url
            ) from None
        if not isinstance(data, Mapping):
            raise KongAdminError(
                f"GET {self.shown}{path}: the answer is not a JSON object", url=self.url
            )
        return data

    async def status(self, *, timeout: float | None = None) -> Mapping[str, Any]:
        """``GET /status``."""
        return await self._get_json("/status", timeout=timeout)

    async def configuration_hash(self, *, timeout: float | None = None) -> str:
        """``configuration_hash`` from ``/status`` (32 zeros: the gateway runs no config)."""
        h = (await self.status(timeout=timeout)).get("configuration_hash")
        return h if isinstance(h, str) else EMPTY_HASH

    def _router_flavor(self, conf: Mapping[str, object]) -> str:
        """``configuration.router_flavor``, with upstream's start-up errors when it is missing
        or not a string (``kongconfig/root.go``): the flavor decides how routes are written."""
        if "router_flavor" not in conf:
            raise UnsupportedKongError(
                f'{self.shown}: missing field "router_flavor"  from Kong Gateway\'s '
                "configuration root",
                url=self.url,
            )
        flavor = conf["router_flavor"]
        if not isinstance(flavor, str):
            raise UnsupportedKongError(
                f'{self.shown}: invalid "router_flavor" type, expected a string, got '
                f"{go_type_name(flavor)}",
                url=self.url,
            )
        return flavor

    async def info(self, *, timeout: float | None = None) -> KongInfo:
        """``GET /``, checked: a DB-less Kong at least 3.4.1, or :class:`UnsupportedKongError`."""
        data = await self._get_json("/", timeout=timeout)
        version = str(data.get("version", ""))
        conf = data.get("configuration")
        conf = conf if isinstance(conf, Mapping) else {}
        database = str(conf.get("database", "off"))
        info = KongInfo(
            version=version,
            database=database,
            router_flavor=self._router_flavor(conf),
            node_id=str(data.get("node_id", "")),
            edition=str(data.get("edition", "")),
            proxy_listeners=_listeners(conf.get("proxy_listeners")),
            stream_listeners=_listeners(conf.get("stream_listeners")),
        )
        parsed = parse_version(version)
        if parsed is None:
            raise UnsupportedKongError(
                f"{self.shown}: cannot read Kong's version {version!r}", url=self.url
            )
        if parsed < MIN_VERSION:
            raise UnsupportedKongError(
                f"{self.shown}: Kong {version} is too old; kic-trio needs Kong 3.4.1 or newer",
                url=self.url,
            )
        if database != "off":
            raise UnsupportedKongError(
                f"{self.shown}: Kong runs with database={database!r}; kic-trio drives DB-less Kong only "
                "(database-backed mode is not supported yet)",
                url=self.url,
            )
        return info

    async def entity_schema(
        self, entity_type: str, *, timeout: float | None = None
    ) -> Mapping[str, Any] | None:
        """``GET /schemas/<entity_type>``: Kong's schema of that entity type, or ``None`` when
        Kong has no such type (404). Any other outcome is a :class:`KongAdminError`."""
        path = "/schemas/" + urllib.parse.quote(entity_type, safe="")
        try:
            return await self._get_json(path, timeout=timeout)
        except KongAdminError as e:
            if e.status == 404:
                return None
            raise

    async def post_config(self, body: bytes, *, timeout: float | None = None) -> PushResult:
        """``POST /config?check_hash=1&flatten_errors=1``; any HTTP status is a result."""
        kw: dict[str, Any] = {}
        if timeout is not None:
            kw["timeout"] = timeout
        start = trio.current_time()
        resp = await self._request(
            "POST",
            "/config",
            params={"check_hash": "1", "flatten_errors": "1"},
            content=body,
            headers={"Content-Type": "application/json"},
            read_body_if=lambda status: status >= 400,
            **kw,
        )
        return PushResult(
            status=resp.status_code,
            body=resp.content if resp.status_code >= 400 else b"",
            retry_after=parse_retry_after(resp.headers.get("retry-after")),
            duration=trio.current_time() - start,
        )


def _describe(e: httpx.HTTPError) -> str:
    chain: list[BaseException] = []
    cause: BaseException | None = e
    while cause is not None and cause not in chain and len(chain) < 10:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    for c in reversed(chain):
        if isinstance(c, ssl.SSLCertVerificationError):
            return f"TLS error: certificate verify failed: {c.verify_message}"
        if isinstance(c, ssl.SSLError):
            return f"TLS error: {_ssl_reason(c)}"
        if isinstance(c, OSError) and c.strerror:
            return c.strerror
    text = next((str(c) for c in chain if str(c)), type(e).__name__)
    return text[:200]


def _short(body: bytes, limit: int = 300) -> str:
    text = body.decode("utf-8", "replace").strip()
    return text if len(text) <= limit else text[:limit] + "..."
