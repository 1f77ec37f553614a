"""Issue 13 (5): CA certificate Secrets are validated as upstream does and sent as clean PEM.

Upstream (``toCACerts``) takes the first PEM block, requires the CA basic constraint and
refuses an expired certificate; Kong refuses more than one certificate per entity. The
controller crashed on a ``konghq.com/ca-cert`` Secret with a non-UTF-8 byte after the PEM.
"""

from __future__ import annotations

import base64
import datetime
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kic_trio.translator import TranslatorOptions, translate_objects

NOW = datetime.datetime.now(datetime.UTC)


def _cert(*, ca: bool | None = True, days: int = 365, start_days: int = -1) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-ca")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW + datetime.timedelta(days=start_days))
        .not_valid_after(NOW + datetime.timedelta(days=days))
    )
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), True)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def _secret(name: str, cert: bytes, created: str = "2025-01-01T00:00:00Z") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": "n",
            "uid": f"{name}-uid",
            "creationTimestamp": created,
            "labels": {"konghq.com/ca-cert": "true"},
        },
        "data": {
            "id": base64.b64encode(f"{name}-id".encode()).decode(),
            "cert": base64.b64encode(cert).decode(),
        },
    }


def _run(*secrets: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    good = _secret("good", _cert())
    result = translate_objects([*secrets, good], TranslatorOptions())
    cas = {c["id"]: c["cert"] for c in result.config.get("ca_certificates", [])}
    assert "good-id" in cas, "a valid CA Secret next to the bad one is still sent"
    return cas, [str(f) for f in result.failures if "Secret n/good" not in str(f)]


def test_valid_ca_is_sent_as_its_pem() -> None:
    pem = _cert()
    cas, failures = _run(_secret("ca", pem))
    assert cas["ca-id"] == pem.decode().strip()
    assert failures == []


def test_trailing_and_leading_bytes_are_not_sent() -> None:
    pem = _cert()
    dirty = b"\xff\xfe junk before\r\n" + pem.replace(b"\n", b"\r\n") + b"\n\xff\x00tail\x80"
    cas, failures = _run(_secret("ca", dirty))
    # re-encoded from the parsed certificate: only the certificate, as clean PEM
    assert cas["ca-id"] == pem.decode().strip()
    assert failures == []


def test_a_private_key_in_the_secret_never_reaches_kong() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    cas, _ = _run(_secret("ca", _cert() + key_pem))
    assert "PRIVATE KEY" not in cas["ca-id"]


@pytest.mark.parametrize(
    ("cert", "reason"),
    [
        (_cert(days=-1, start_days=-30), "certificate expired"),
        (_cert(ca=False), "certificate is not a CA"),
        (_cert(ca=None), "certificate is not a CA"),
        (_cert() + _cert(), "more than one certificate"),
        (b"not a pem at all", "not a PEM certificate"),
        (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "not a PEM"),
        (b"-----BEGIN CERTIFICATE-----\n" + b"A" * 70_000, "larger than 64 KiB"),
        (b"\xff\xfe\xfd", "not a PEM certificate"),
    ],
    ids=["expired", "not-ca", "no-constraints", "two-certs", "text", "bad-der", "huge", "binary"],
)
def test_bad_ca_certificates_are_failures_on_their_secret(cert: bytes, reason: str) -> None:
    cas, failures = _run(_secret("ca", cert))
    assert "ca-id" not in cas
    assert len(failures) == 1
    assert failures[0].startswith("Secret n/ca (field data)")
    assert reason in failures[0]
