"""TLS Secrets -> Kong certificates with SNIs; CA certificates.

Rules: kic-behaviour.md §3.8 and §3.15 (upstream ``translate_certs.go``): each host goes to the
first Secret (in Ingress order) that claims it; the Secret must hold a matching X.509 key pair;
identical cert+key in several Secrets merge into one certificate (oldest Secret's UID wins).
Checking a key pair costs ~100 µs, so results are remembered per content digest
(:class:`KeyPairChecker`): a pure function of the bytes, safe to keep across translations.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ..models import Failure, ObjectRef, Secret, tls_pair_valid
from ._util import tags_for


class KeyPairChecker:
    """Validates PEM cert/key pairs, remembering results by content digest (bounded)."""

    def __init__(self, limit: int = 200_000) -> None:
        self._seen: dict[bytes, bool] = {}
        self._limit = limit

    def valid(self, cert: bytes, key: bytes) -> bool:
        digest = hashlib.blake2b(cert + b"\0" + key, digest_size=16).digest()
        ok = self._seen.get(digest)
        if ok is None:
            ok = _check_pair(cert, key)
            if len(self._seen) >= self._limit:
                self._seen.clear()
            self._seen[digest] = ok
        return ok


def _check_pair(cert: bytes, key: bytes) -> bool:
    return tls_pair_valid(cert, key)


def cert_from_secret(secret: Secret, checker: KeyPairChecker) -> tuple[str, str] | None:
    """``(cert, key)`` as trimmed text, or ``None`` when the Secret holds no valid pair."""
    cert = secret.data.get("tls.crt")
    key = secret.data.get("tls.key")
    if cert is None or key is None:
        return None
    cert = cert.strip()
    key = key.strip()
    ok = secret.tls_pair_valid
    if ok is None:
        ok = checker.valid(cert, key)
    if not ok:
        return None
    return cert.decode("utf-8", "replace"), key.decode("utf-8", "replace")


def build_certificates(
    claims: Iterable[tuple[tuple[str, str], list[str], list[ObjectRef]]],
    snap: Any,
    checker: KeyPairChecker,
    keep_ids: Collection[tuple[str, str]] = (),
) -> tuple[list[dict[str, Any]], list[Failure], list[ObjectRef]]:
    """Certificates for ``(secret key, hosts, parents)`` claims (hosts already de-duplicated).

    ``keep_ids``: Secrets whose UID is referenced as a certificate ID elsewhere (a service's
    ``client_certificate``). Identical cert+key pairs merge under the oldest Secret's UID (as
    upstream); such a Secret whose UID lost the merge also gets a certificate of its own, so
    the reference never dangles (Kong would refuse the whole configuration).

    Returns the certificate entities, failures, and the Secrets that made it in.
    """
    failures: list[Failure] = []
    merged: dict[str, dict[str, Any]] = {}
    created: dict[str, str] = {}
    sni_owner: dict[str, str] = {}
    used: list[ObjectRef] = []
    kept: list[tuple[tuple[str, str], Secret]] = []
    for (ns, name), hosts, parents in claims:
        secret: Secret | None = snap.get("Secret", ns, name)
        if secret is None:
            for p in parents:
                failures.append(Failure(p, "", f"Failed to fetch the secret ({ns}/{name})"))
            continue
        try:
            pair = cert_from_secret(secret, checker)
        except Exception:  # unit guard: a Secret that cannot be read holds no valid pair
            pair = None
        if pair is None:
            for p in [*parents, secret.ref]:
                failures.append(Failure(p, "", "failed to construct certificate from secret"))
            continue
        used.append(secret.ref)
        ident = pair[0] + "\0" + pair[1]
        if (ns, name) in keep_ids:
            kept.append((pair, secret))
        cur = merged.get(ident)
        uid = secret.ref.uid
        if cur is None:
            cur = merged[ident] = {
                "id": uid,
                "cert": pair[0],
                "key": pair[1],
                "tags": tags_for(secret),
                "snis": [],
            }
            created[ident] = secret.created
        elif created[ident] > secret.created or (
            created[ident] == secret.created and cur["id"] > uid
        ):
            cur["id"] = uid
            created[ident] = secret.created
        for host in hosts:
            if host not in sni_owner:
                sni_owner[host] = cur["id"]
                cur["snis"].append(host)
    certs = []
    for cert in merged.values():
        snis = sorted(cert.pop("snis"))
        if snis:
            cert["snis"] = [{"name": h, "certificate": {"id": cert["id"]}} for h in snis]
        certs.append(cert)
    ids = {c["id"] for c in certs}
    for (cert_text, key_text), secret in kept:
        uid = secret.ref.uid
        if uid not in ids:
            ids.add(uid)
            certs.append({"id": uid, "cert": cert_text, "key": key_text, "tags": tags_for(secret)})
    return certs, failures, used


_BEGIN = b"-----BEGIN CERTIFICATE-----"
_END = b"-----END CERTIFICATE-----"
#: A CA certificate is a few KiB; anything this big is not one (Kong takes one per entity).
_MAX_CA_PEM = 64 * 1024


def _ca_problem(cert: x509.Certificate, now: datetime.datetime) -> str:
    """Upstream's checks on a parsed CA certificate, ``""`` when it passes."""
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return "invalid CA certificate: certificate is not a CA"
    if not constraints.ca:
        return "invalid CA certificate: certificate is not a CA"
    if cert.not_valid_after_utc < now:
        # Kong refuses it too ("certificate expired, Not After time is in the past")
        return "invalid CA certificate: certificate expired"
    return ""


def ca_certificate(
    secret: Secret, seen_ids: Mapping[str, Any], now: datetime.datetime | None = None
) -> tuple[dict[str, Any] | None, str]:
    """A ``konghq.com/ca-cert`` Secret -> ``ca_certificates`` entity, or a failure reason.

    As upstream: the first PEM block must be an X.509 certificate with the CA basic
    constraint, not expired (``now``, default the wall clock). Unlike upstream, what Kong
    receives is the parsed certificate re-encoded as clean PEM: bytes around the block
    (a non-UTF-8 tail crashed the controller) never reach Kong, and a second certificate,
    which Kong refuses ("please submit only one certificate at a time"), is a failure here.
    """
    raw_id = secret.data.get("id")
    if not raw_id:
        return None, "invalid CA certificate: missing 'id' field in data"
    try:
        cid = raw_id.decode("utf-8")
    except UnicodeDecodeError:
        # a replaced byte would make a different id than the one services refer to
        return None, "invalid CA certificate: 'id' in data is not valid UTF-8"
    if not cid.isprintable() or len(cid) > 256:
        return None, "invalid CA certificate: 'id' in data has control characters or is too long"
    raw = secret.data.get("cert") or secret.data.get("ca.crt")
    if raw is None:
        return None, "invalid CA certificate: missing 'cert' or 'ca.crt' field in data"
    if len(raw) > _MAX_CA_PEM:
        return None, "invalid CA certificate: larger than 64 KiB"
    begin = raw.find(_BEGIN)
    end = raw.find(_END, begin + len(_BEGIN)) if begin >= 0 else -1
    if end < 0:
        return None, "invalid CA certificate: not a PEM certificate"
    if raw.find(_BEGIN, end) >= 0:
        return None, "invalid CA certificate: more than one certificate (Kong takes one)"
    try:
        cert = x509.load_pem_x509_certificate(raw[begin : end + len(_END)])
        pem = cert.public_bytes(serialization.Encoding.PEM).decode("ascii").strip()
    except Exception:
        return None, "invalid CA certificate: not a PEM certificate"
    problem = _ca_problem(cert, now or datetime.datetime.now(datetime.UTC))
    if problem:
        return None, problem
    return {"id": cid, "cert": pem, "tags": tags_for(secret)}, ""
