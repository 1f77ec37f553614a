"""``KubeClient``: one Kubernetes API client per controller instance.

kr8s loads the configuration (kubeconfig, exec plugins, in-cluster service account); the
requests go through an ``httpx.AsyncClient`` of our own, built from kr8s's loaded auth, so we
control timeouts, connection limits, 401 handling and shutdown. Why not kr8s's own session
(``reference/kr8s-on-trio.md``):

* kr8s caches ``Api`` objects per thread and arguments, so two controllers in one process
  would share one client, and one's shutdown would close the other's. We construct the Api
  ourselves and take it out of kr8s's cache.
* kr8s sets no timeouts and never closes its client; we set both.
* kr8s writes ``*-data`` kubeconfig fields (client keys included) to temp files it never
  removes; we delete them as soon as they are loaded into an SSL context.
* kr8s never reads the service account's ``namespace`` file; we do.

The kr8s ``Api`` stays available as :attr:`KubeClient.api` for code that wants kr8s objects.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import socket
import ssl
import urllib.request
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, Protocol

import httpx
import trio

from .._errors import KubernetesError
from . import _kr8s

log = logging.getLogger("kic_trio.k8s")

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")

#: Connect/write/pool timeouts for every request; reads of ordinary requests.
DEFAULT_TIMEOUT = httpx.Timeout(10.0, read=30.0)

_USER_AGENT = "kic-trio"


class _KubeConfig(Protocol):
    @property
    def kubeconfig(self) -> str | None: ...
    @property
    def apiserver_host(self) -> str | None: ...


def _status_message(resp: httpx.Response) -> str:
    """The ``message`` of a Kubernetes ``Status`` body, else a short slice of the text."""
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:200]
    if isinstance(body, Mapping) and isinstance(body.get("message"), str):
        return str(body["message"])
    return resp.reason_phrase


def _origin(exc: BaseException) -> str:
    """``scheme://host:port`` of the request that failed (never its userinfo, path or query)."""
    try:
        url = exc.request.url  # type: ignore[attr-defined]
    except (AttributeError, RuntimeError):  # httpx raises RuntimeError when no request is set
        return "the API server"
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.host}{port}"


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and all(cur is not seen for seen in out) and len(out) < 20:
        out.append(cur)
        cur = cur.__cause__ or cur.__context__
    return out


def describe_transport_error(exc: BaseException) -> str:
    """What failed, against which server, and why, for an ``httpx`` transport error.

    Why: on Trio, httpx wraps a failed TLS handshake as ``ConnectError`` around trio's
    ``BrokenResourceError``, whose text is empty, so the log said ``ConnectError: `` and
    nothing else. The reason is further down the exception chain (an ``ssl.SSLError`` or
    an ``OSError``): find it and say it, with the server's address.
    """
    reason = ""
    for cause in _chain(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            detail = cause.verify_message or cause.reason or str(cause)
            reason = f"TLS certificate verification failed ({detail})"
            break
        if isinstance(cause, ssl.SSLError):
            reason = f"TLS handshake failed ({cause.reason or cause.strerror or cause})"
            break
        if isinstance(cause, OSError) and (cause.strerror or str(cause)):
            reason = cause.strerror or str(cause)
            break
    if not reason:
        texts = [str(c) for c in _chain(exc) if str(c)]
        if texts:
            reason = texts[0]
        elif isinstance(exc, httpx.TimeoutException):
            reason = "timed out"
        else:
            reason = "no detail given"
    return f"{type(exc).__name__} talking to {_origin(exc)}: {reason}"


class KubeClient:
    """Requests to the Kubernetes API with the instance's credentials.

    ``request`` returns the response of a 2xx call and raises
    :class:`~kic_trio._errors.KubernetesError` otherwise (``status`` set when the server
    answered, ``None`` for transport errors). A 401 re-reads the credentials (rotated
    service-account token, refreshed exec credential) and retries once.
    """

    def __init__(self, api: Any, *, namespace: str, sa_dir: Path | None) -> None:
        #: The kr8s ``Api`` (for kr8s objects; pass ``api=kube.api`` explicitly).
        self.api = api
        #: The namespace the controller runs in (SA ``namespace`` file, else the context's).
        self.namespace = namespace
        self._sa_dir = sa_dir
        self._client: httpx.AsyncClient | None = None
        self._extensions: dict[str, Any] = {}
        # Credentials generation: concurrent 401s (every watch at a token rotation) re-read
        # the credentials once, not once each.
        self._generation = 0
        self._auth_lock = trio.Lock()
        self._tls_fingerprint: str | None = None
        # Clients replaced after a TLS credential change; closed on exit, so that watches
        # streaming on them are not cut off by the rotation.
        self._retired: list[httpx.AsyncClient] = []
        self._unavailable = False
        self._available_again = trio.Event()

    @property
    def server(self) -> str:
        return str(self.api.auth.server)

    # -------------------------------------------------------------- credentials

    def _remove_temp_files(self) -> None:
        for path in _kr8s.temp_files(self.api):
            with contextlib.suppress(OSError):
                os.unlink(path)

    async def _build(self) -> None:
        """(Re)build both HTTP clients from kr8s's loaded auth, then drop its temp files."""
        auth = self.api.auth
        token = auth.token
        verify: ssl.SSLContext | bool = await auth.ssl_context()
        if self._sa_dir is not None and not token:
            # --apiserver-host in a pod: kr8s takes the URL and skips the service account.
            token, ca = _service_account_token(self._sa_dir)
            if verify is True and ca is not None:
                verify = ssl.create_default_context(cafile=ca)
        headers = {"User-Agent": _USER_AGENT}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        fingerprint = _tls_fingerprint(auth, verify)
        self.api.timeout = DEFAULT_TIMEOUT
        if self._client is not None and fingerprint == self._tls_fingerprint:
            # Only the token changed (or nothing): update it in place, open streams live on.
            self._client.headers.pop("Authorization", None)
            self._client.headers.update(headers)
            await _kr8s.refresh_session(self.api)
            self._remove_temp_files()
            return
        self._tls_fingerprint = fingerprint
        old, self._client = (
            self._client,
            _http_client(auth.server, headers, verify, auth.proxy),
        )
        self._extensions = {"sni_hostname": auth.tls_server_name} if auth.tls_server_name else {}
        await _kr8s.refresh_session(self.api)
        self._remove_temp_files()
        if old is not None:
            self._retired.append(old)

    async def reauthenticate(self, seen_generation: int | None = None) -> None:
        """Re-read credentials (kubeconfig / token file / exec plugin) and apply them.

        ``seen_generation``: the :attr:`generation` a caller's refused request was sent with;
        if the credentials were re-read since, this returns at once.
        """
        async with self._auth_lock:
            if seen_generation is not None and seen_generation != self._generation:
                return
            try:
                await self.api.auth.reauthenticate()
            except Exception as exc:
                raise KubernetesError(
                    f"reloading Kubernetes credentials failed: {type(exc).__name__}"
                ) from exc
            await self._build()
            self._generation += 1

    @property
    def generation(self) -> int:
        """Bumped each time the credentials are re-read."""
        return self._generation

    async def aclose(self) -> None:
        for client in (self._client, *self._retired):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.aclose()
        await _kr8s.close_session(self.api)
        self._client = None
        self._retired.clear()
        self._remove_temp_files()

    # -------------------------------------------------------------- availability

    #: Statuses that mean "the API server is (re)starting or overloaded", not "you asked wrong".
    UNAVAILABLE_STATUSES = frozenset({429, 500, 502, 503, 504})

    def _note(self, status: int | None) -> None:
        """Track whether the API server answers; wake waiters when it does again."""
        unavailable = status is None or status in self.UNAVAILABLE_STATUSES
        if unavailable:
            self._unavailable = True
        elif self._unavailable:
            self._unavailable = False
            self._available_again.set()
            self._available_again = trio.Event()

    async def wait_available(self) -> None:
        """Return once a request succeeds after the API server was unavailable.

        Retry loops sleep on this *and* their backoff: when a restarted API server answers
        one caller, every other caller retries at once instead of finishing a long backoff.
        Returns at once when the server is not known to be unavailable.
        """
        if self._unavailable:
            await self._available_again.wait()

    # -------------------------------------------------------------- requests

    @property
    def http(self) -> httpx.AsyncClient:
        if self._client is None:
            raise KubernetesError("the Kubernetes client is closed")
        return self._client

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        headers: Any = None,
        timeout: httpx.Timeout | float | None = None,
    ) -> httpx.Response:
        """One request; the 2xx response, else :class:`KubernetesError`."""
        for attempt in (0, 1):
            generation = self._generation
            try:
                resp = await self.http.request(
                    method,
                    path,
                    params=params,
                    json=json,
                    headers=headers,
                    timeout=timeout if timeout is not None else DEFAULT_TIMEOUT,
                    extensions=self._extensions,
                )
            except httpx.HTTPError as exc:
                self._note(None)
                raise KubernetesError(f"{method} {path}: {describe_transport_error(exc)}") from exc
            self._note(resp.status_code)
            if resp.status_code == 401 and attempt == 0:
                await self.reauthenticate(generation)
                continue
            if resp.is_error:
                raise KubernetesError(
                    f"{method} {path}: {resp.status_code} {_status_message(resp)}",
                    status=resp.status_code,
                )
            return resp
        raise AssertionError("unreachable")  # pragma: no cover

    @contextlib.asynccontextmanager
    async def stream(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        headers: Any = None,
        timeout: httpx.Timeout | float | None = None,
    ) -> AsyncIterator[httpx.Response]:
        """A streamed response (watches). Error statuses raise as in :meth:`request`;
        transport errors, also those while the caller reads the body, raise
        :class:`KubernetesError` with the ``httpx`` exception as ``__cause__``.
        """
        for attempt in (0, 1):
            generation = self._generation
            try:
                async with self.http.stream(
                    method,
                    path,
                    params=params,
                    headers=headers,
                    timeout=timeout if timeout is not None else DEFAULT_TIMEOUT,
                    extensions=self._extensions,
                ) as resp:
                    self._note(resp.status_code)
                    if resp.status_code == 401 and attempt == 0:
                        await resp.aclose()
                    elif resp.is_error:
                        await resp.aread()
                        raise KubernetesError(
                            f"{method} {path}: {resp.status_code} {_status_message(resp)}",
                            status=resp.status_code,
                        )
                    else:
                        yield resp
                        return
            except httpx.HTTPError as exc:
                self._note(None)
                raise KubernetesError(f"{method} {path}: {describe_transport_error(exc)}") from exc
            await self.reauthenticate(generation)


#: TCP keepalive as client-go's dialer (30 s): the kernel notices a peer that vanished (node
#: gone, network partition) within about a minute, long before a watch's read timeout.
_KEEPALIVE = [
    (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1),
    *(
        (socket.IPPROTO_TCP, getattr(socket, name), value)
        for name, value in (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3))
        if hasattr(socket, name)
    ),
]


def _http_client(
    server: str, headers: dict[str, str], verify: ssl.SSLContext | bool, proxy: str | None
) -> httpx.AsyncClient:
    # One long-lived connection per watch: do not cap them.
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=20)
    env_proxies = {k for k in urllib.request.getproxies() if k in ("https", "all")}
    if env_proxies and not proxy:
        # A custom transport would bypass HTTPS_PROXY/NO_PROXY handling: keep httpx's.
        return httpx.AsyncClient(
            base_url=server, headers=headers, verify=verify, timeout=DEFAULT_TIMEOUT, limits=limits
        )
    transport = httpx.AsyncHTTPTransport(
        verify=verify, limits=limits, proxy=proxy, socket_options=_KEEPALIVE
    )
    return httpx.AsyncClient(
        base_url=server, headers=headers, timeout=DEFAULT_TIMEOUT, transport=transport
    )


def _tls_fingerprint(auth: Any, verify: object) -> str:
    """A digest of everything TLS-related (server, proxy, CA, client cert and key).

    Read from the files kr8s points at (before its temp copies are removed), so a rotated
    certificate at an unchanged path is noticed too. Never logged.
    """
    h = hashlib.sha256()
    for part in (auth.server, auth.proxy, auth.tls_server_name, verify is True):
        h.update(repr(part).encode() + b"\0")
    for path in (auth.server_ca_file, auth.client_cert_file, auth.client_key_file):
        try:
            h.update(Path(str(path)).read_bytes() if path else b"-")
        except OSError:
            h.update(b"?")
        h.update(b"\0")
    return h.hexdigest()


def _service_account_token(sa_dir: Path) -> tuple[str | None, str | None]:
    """The mounted service-account token and CA path (``None`` when absent)."""
    token_file, ca = sa_dir / "token", sa_dir / "ca.crt"
    token = token_file.read_text().strip() if token_file.is_file() else None
    return token, (str(ca) if ca.is_file() else None)


def _pod_namespace(auth: Any, sa_dir: Path) -> tuple[Path | None, str]:
    """``(sa_dir if mounted, namespace)``: the SA ``namespace`` file in a pod, else kr8s's."""
    mounted = sa_dir if sa_dir.is_dir() else None
    ns_file = sa_dir / "namespace"
    in_pod = str(auth.server_ca_file or "") == str(sa_dir / "ca.crt")
    if in_pod and ns_file.is_file():
        return mounted, ns_file.read_text().strip() or "default"
    return mounted, str(auth.namespace or "default")


@contextlib.asynccontextmanager
async def open_kube_client(
    cfg: _KubeConfig, *, service_account_dir: Path = SERVICE_ACCOUNT_DIR
) -> AsyncIterator[KubeClient]:
    """A :class:`KubeClient` for ``cfg.kubeconfig`` / ``cfg.apiserver_host`` (in-cluster when unset).

    Makes no request: a missing API server shows up on first use, where callers retry.
    Raises :class:`KubernetesError` when no credentials can be found at all.
    """
    api = _kr8s.open_api(
        url=cfg.apiserver_host, kubeconfig=cfg.kubeconfig, serviceaccount=service_account_dir
    )
    try:
        await api.auth
    except Exception as exc:
        raise KubernetesError(
            f"no usable Kubernetes credentials: {type(exc).__name__}: {exc}"
        ) from exc
    sa_dir, namespace = _pod_namespace(api.auth, service_account_dir)
    kube = KubeClient(api, namespace=namespace, sa_dir=sa_dir)
    try:
        await kube._build()
        yield kube
    finally:
        # Shielded: when run() is cancelled, closing must still happen, or pooled
        # connections outlive the controller.
        with trio.CancelScope(shield=True), trio.move_on_after(5):
            await kube.aclose()
