"""Certificates for a throw-away control plane, made in-process with ``cryptography``.

Like envtest's TinyCA: one CA signs the serving certificate and every client certificate
(user = CN, groups = O). ECDSA P-256 keys: generating them costs microseconds, not the
hundreds of milliseconds RSA would add to every start.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence
from pathlib import Path

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = datetime.timedelta(days=7)


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes, *, private: bool = False) -> Path:
    path.write_bytes(data)
    if private:
        path.chmod(0o600)
    return path


@attrs.frozen
class CertPair:
    """Paths of one certificate and its private key."""

    cert: Path
    key: Path


@attrs.define
class CertAuthority:
    """A CA that lives in one folder and issues serving and client certificates into it."""

    folder: Path
    _key: ec.EllipticCurvePrivateKey
    _cert: x509.Certificate
    cert_path: Path

    @classmethod
    def create(cls, folder: Path) -> CertAuthority:
        key = _key()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kic-trio-test-ca")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(key, hashes.SHA256())
        )
        path = _write(folder / "ca.crt", cert.public_bytes(serialization.Encoding.PEM))
        return cls(folder=folder, key=key, cert=cert, cert_path=path)

    def _issue(self, subject: x509.Name, *, server: bool, stem: str) -> CertPair:
        key = _key()
        now = datetime.datetime.now(datetime.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [
                        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                        x509.DNSName("localhost"),
                        x509.DNSName("kubernetes.default.svc"),
                    ]
                ),
                critical=False,
            )
        cert = builder.sign(self._key, hashes.SHA256())
        cert_path = _write(
            self.folder / f"{stem}.crt", cert.public_bytes(serialization.Encoding.PEM)
        )
        key_path = _write(self.folder / f"{stem}.key", _key_pem(key), private=True)
        return CertPair(cert=cert_path, key=key_path)

    def issue_server(self, stem: str = "apiserver") -> CertPair:
        """Serving certificate for 127.0.0.1 / localhost."""
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")])
        return self._issue(name, server=True, stem=stem)

    def issue_client(
        self, user: str, groups: Sequence[str] = (), *, stem: str | None = None
    ) -> CertPair:
        """Client certificate: kube-apiserver reads the user from CN and the groups from O."""
        attrs_ = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
        attrs_.append(x509.NameAttribute(NameOID.COMMON_NAME, user))
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in user)
        return self._issue(x509.Name(attrs_), server=False, stem=stem or f"user-{safe}")


def service_account_keys(folder: Path) -> CertPair:
    """Key pair kube-apiserver signs service-account tokens with (``cert`` is the public key)."""
    key = _key()
    pub = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return CertPair(
        cert=_write(folder / "sa.pub", pub),
        key=_write(folder / "sa.key", _key_pem(key), private=True),
    )
