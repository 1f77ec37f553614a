"""The webhook's HTTPS server: hypercorn on Trio, one ASGI app, bounded in size and time.

Each request: read at most :data:`MAX_BODY` bytes, parse the AdmissionReview, fetch the
Secrets the candidate references that the store does not hold (the store keeps only referenced
ones), then run :meth:`AdmissionChecker.check` in a worker thread under a deadline, so a big
cluster's translation never holds the event loop (probes, the Lease, pushes). A request the
webhook cannot decide in time gets HTTP 504; the ValidatingWebhookConfiguration's
``failurePolicy`` then decides (``Fail``: refused, ``Ignore``: allowed), exactly as when the
webhook is down.

TLS: the certificate and key come from ``--admission-webhook-cert``/``-key`` (PEM text) or
their ``-file`` forms. The key touches the disk only inside a private temporary folder, for the
instant ``ssl`` needs a path to load it; the folder is removed before serving starts.
"""

from __future__ import annotations

import logging
import os
import ssl
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs
import trio

from .._asgi import ASGIApp, Receive, Scope, Send, lifespan, respond, serve_app
from .._errors import ConfigError, KubernetesError
from ..models import Model, parse, secret_refs
from ..store import Snapshot
from ..translator import TranslatorOptions
from ._check import VALIDATED_KINDS, AdmissionChecker, candidate_model
from ._review import CHECKED_OPERATIONS, ReviewError, parse_review, review_answer

log = logging.getLogger("kic_trio.admission")

#: ``(namespace, name)`` -> the raw Secret, or ``None`` when it does not exist.
SecretGetter = Callable[[str, str], Awaitable[dict[str, Any] | None]]

#: Largest AdmissionReview accepted: etcd's object limit is 1.5 MiB and a review carries the
#: object and the old object, plus JSON overhead.
MAX_BODY = 4 * 1024 * 1024
#: Longest a decision may take (the API server's default webhook timeout is 10 s).
DECISION_TIMEOUT = 8.0
#: At most this many referenced Secrets are fetched for one candidate.
MAX_FETCHED_SECRETS = 32


@attrs.define
class AdmissionHandler:
    """The webhook's logic between HTTP and the checker (no sockets: unit-testable).

    ``view`` returns the controller's current store snapshot; ``get_secret`` reads a Secret
    from the API (``None``: never fetch, a missing Secret is then reported as missing).
    """

    checker: AdmissionChecker
    view: Callable[[], Snapshot]
    get_secret: SecretGetter | None = None
    timeout: float = DECISION_TIMEOUT

    async def decide(self, body: bytes) -> tuple[int, bytes]:
        """``(HTTP status, body)`` for one request body."""
        try:
            req = parse_review(body)
        except ReviewError as exc:
            return 400, f"bad request: {exc}".encode()
        kind = VALIDATED_KINDS.get((req.group, req.kind))
        if kind is None or req.operation not in CHECKED_OPERATIONS or req.obj is None:
            return 200, review_answer(req.uid, True)
        meta = req.obj.get("metadata")
        if isinstance(meta, Mapping) and meta.get("deletionTimestamp"):
            # going away (finalizers being removed): never block the way out
            return 200, review_answer(req.uid, True)
        snapshot = self.view()
        with trio.move_on_after(self.timeout) as scope:
            try:
                secrets = await self._secrets(kind, req.obj, snapshot)
            except KubernetesError as exc:
                log.warning("admission of %s %s/%s: %s", kind, req.namespace, req.name, exc)
                return 503, b"could not read a referenced Secret; try again"
            verdict = await trio.to_thread.run_sync(
                self.checker.check, snapshot, kind, req.obj, secrets, abandon_on_cancel=True
            )
        if scope.cancelled_caught:
            log.warning(
                "admission of %s %s/%s took over %.1fs; answered 504 (the failurePolicy decides)",
                kind,
                req.namespace,
                req.name,
                self.timeout,
            )
            return 504, b"the decision timed out"
        if not verdict.allowed:
            log.info("refused %s %s/%s: %s", kind, req.namespace, req.name, verdict.message)
        return 200, review_answer(req.uid, verdict.allowed, verdict.message)

    async def _secrets(self, kind: str, raw: Mapping[str, Any], snapshot: Snapshot) -> list[Model]:
        if self.get_secret is None or kind == "Secret":
            return []
        model = candidate_model(kind, raw)
        wanted = sorted(k for k in secret_refs(model) if snapshot.get("Secret", *k) is None)
        out: list[Model] = []
        for ns, name in wanted[:MAX_FETCHED_SECRETS]:
            found = await self.get_secret(ns, name)
            if found is not None:
                out.append(parse("Secret", found))
        return out


def admission_app(handler: AdmissionHandler) -> ASGIApp:
    """The ASGI app: ``POST`` any path with an AdmissionReview; the answer as JSON."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope.get("method") != "POST":
            await respond(send, 405, b"only POST is served", b"text/plain; charset=utf-8")
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_BODY:
                await respond(send, 413, b"the AdmissionReview is too large", b"text/plain")
                return
        status, answer = await handler.decide(bytes(body))
        ctype = b"application/json" if status == 200 else b"text/plain; charset=utf-8"
        await respond(send, status, answer, ctype)

    return app


def _read(path: str, flag: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as exc:
        raise ConfigError(
            [(flag.lstrip("-").replace("-", "_"), flag, f"cannot read {path!r}: {exc.strerror}")]
        ) from None


def tls_context(cert_pem: str, key_pem: str) -> ssl.SSLContext:
    """A server context from PEM text (hypercorn's settings: TLS >= 1.2, HTTP/1.1 and h2).

    Raises :class:`ConfigError` naming the flags when the pair does not load (never the key).
    """
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_COMPRESSION
    context.set_alpn_protocols(["h2", "http/1.1"])
    with tempfile.TemporaryDirectory(prefix="kic-trio-admission-") as tmp:
        os.chmod(tmp, 0o700)
        cert_path = os.path.join(tmp, "tls.crt")
        key_path = os.path.join(tmp, "tls.key")
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(key_pem)
        with open(cert_path, "w", encoding="utf-8") as f:
            f.write(cert_pem)
        try:
            context.load_cert_chain(cert_path, key_path)
        except (ssl.SSLError, ValueError):
            raise ConfigError(
                [
                    (
                        "admission_webhook_cert",
                        "--admission-webhook-cert",
                        "the admission webhook's certificate and key do not load as a PEM pair",
                    )
                ]
            ) from None
    return context


def context_from_config(cfg: Any) -> ssl.SSLContext:
    """The TLS context from the ``admission_webhook_*`` fields (PEM text wins over files)."""
    cert = cfg.admission_webhook_cert or _read(
        cfg.admission_webhook_cert_file, "--admission-webhook-cert-file"
    )
    key = cfg.admission_webhook_key or _read(
        cfg.admission_webhook_key_file, "--admission-webhook-key-file"
    )
    return tls_context(cert, key)


async def serve_webhook(
    app: ASGIApp,
    address: str,
    context: ssl.SSLContext,
    *,
    task_status: trio.TaskStatus[tuple[str, int]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` over HTTPS on ``address`` until cancelled; reports ``(host, port)``."""
    await serve_app(
        app,
        address,
        ssl_context=context,
        logger="kic_trio.admission.server",
        task_status=task_status,
    )


def kube_secret_getter(kube: Any) -> SecretGetter:
    """Read Secrets with the controller's own client (404: ``None``; other errors raise)."""
    from ..k8s._paths import InvalidName, namespace_segment, segment

    async def get(namespace: str, name: str) -> dict[str, Any] | None:
        try:
            resp = await kube.request(
                "GET",
                f"/api/v1/namespaces/{namespace_segment(namespace)}/secrets/{segment(name)}",
                timeout=5.0,
            )
        except InvalidName:  # it cannot exist: the translator reports it as missing
            return None
        except KubernetesError as exc:
            if exc.status == 404:
                return None
            raise
        data = resp.json()
        return data if isinstance(data, dict) else None

    return get


async def run_admission_webhook(
    cfg: Any,
    options: TranslatorOptions,
    view: Callable[[], Snapshot],
    kube: Any,
    context: ssl.SSLContext | None = None,
    *,
    router_flavor: Callable[[], str | None] = lambda: None,
    task_status: trio.TaskStatus[tuple[str, int]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """The controller's webhook task: serves until cancelled; reports the bound address.

    ``context``: the TLS context (built from ``cfg`` when not given; the controller builds it
    before starting anything, so a bad certificate is a ConfigError at start-up)."""
    if context is None:
        context = context_from_config(cfg)
    handler = AdmissionHandler(
        AdmissionChecker(options, router_flavor),
        view,
        kube_secret_getter(kube) if kube is not None else None,
    )
    await serve_webhook(
        admission_app(handler), cfg.admission_webhook_listen, context, task_status=task_status
    )
