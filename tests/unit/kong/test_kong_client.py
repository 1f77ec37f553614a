"""The Admin API client against FakeKong: start-up checks, auth headers, TLS, errors."""

from __future__ import annotations

import email.utils
import socket
from pathlib import Path

import pytest
import trio

from kic_trio import Config
from kic_trio._errors import KongAdminError, UnsupportedKongError
from kic_trio.kong import EMPTY_HASH, AdminAPIOptions, AdminClient, parse_retry_after, parse_version
from kic_trio.testing import FakeKong

BODY = b'{"_format_version":"3.0","services":[{"name":"s","host":"example.com","routes":[{"name":"r","paths":["/"]}]}]}'


def opts(**kw: object) -> AdminAPIOptions:
    return AdminAPIOptions.from_config(Config(**kw))  # type: ignore[arg-type]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_info_status_and_push() -> None:
    with trio.fail_after(10):
        async with FakeKong() as fk, AdminClient(fk.url, opts()) as c:
            info = await c.info()
            assert (info.version, info.database, info.router_flavor) == ("3.9.1", "off", "traditional_compatible")
            assert await c.configuration_hash() == EMPTY_HASH
            r = await c.post_config(BODY)
            assert (r.status, r.ok) == (201, True)
            assert (await c.post_config(BODY)).status == 304
            assert await c.configuration_hash() == fk.configuration_hash != EMPTY_HASH
            assert fk.config_posts()[0].query == "check_hash=1&flatten_errors=1"
            assert fk.config_posts()[0].headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"database": "postgres"}, "not supported yet"),
        ({"version": "3.4.0"}, "too old"),
        ({"version": "2.8.4"}, "too old"),
    ],
)
async def test_unsupported_kong_is_refused_clearly(kwargs: dict[str, str], needle: str) -> None:
    with trio.fail_after(10):
        async with FakeKong(**kwargs) as fk, AdminClient(fk.url, opts()) as c:  # type: ignore[arg-type]
            with pytest.raises(UnsupportedKongError, match=needle):
                await c.info()


async def test_enterprise_version_string_is_accepted() -> None:
    with trio.fail_after(10):
        async with FakeKong(version="3.4.3.12-enterprise-edition") as fk, AdminClient(fk.url, opts()) as c:
            assert (await c.info()).version == "3.4.3.12-enterprise-edition"


async def test_token_and_extra_headers_are_sent(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("from-file\n")
    with trio.fail_after(10):
        async with FakeKong(admin_token="from-file") as fk:
            o = opts(kong_admin_token_file=str(token_file), kong_admin_header=["X-Team: edge", "X-Empty:"])
            assert "from-file" not in repr(o)
            async with AdminClient(fk.url, o) as c:
                await c.status()
            hdrs = fk.requests[-1].headers
            assert hdrs["kong-admin-token"] == "from-file"
            assert hdrs["x-team"] == "edge"
            assert hdrs["user-agent"] == "kic-trio"
            async with AdminClient(fk.url, opts(kong_admin_token="wrong")) as c:
                with pytest.raises(KongAdminError) as ei:
                    await c.status()
            assert ei.value.status == 401
            assert "wrong" not in str(ei.value)


async def test_an_explicit_token_header_wins() -> None:
    with trio.fail_after(10):
        async with FakeKong(admin_token="h") as fk:
            async with AdminClient(fk.url, opts(kong_admin_token="t", kong_admin_header=["Kong-Admin-Token:h"])) as c:
                await c.status()
            assert fk.requests[-1].headers["kong-admin-token"] == "h"


async def test_tls_verification_options(tmp_path: Path) -> None:
    with trio.fail_after(20):
        async with FakeKong(tls=True) as fk:
            async with AdminClient(fk.url, opts()) as c:
                with pytest.raises(KongAdminError, match="TLS error"):
                    await c.status()
            async with AdminClient(fk.url, opts(kong_admin_ca_cert=fk.ca_pem)) as c:
                assert "configuration_hash" in await c.status()
            ca = tmp_path / "ca.pem"
            ca.write_text(fk.ca_pem)
            async with AdminClient(fk.url, opts(kong_admin_ca_cert_file=str(ca))) as c:
                await c.status()
            async with AdminClient(fk.url, opts(kong_admin_tls_skip_verify=True)) as c:
                await c.status()
            # the certificate names localhost and 127.0.0.1, not this
            async with AdminClient(fk.url, opts(kong_admin_ca_cert=fk.ca_pem, kong_admin_tls_server_name="pod.kong.svc")) as c:
                with pytest.raises(KongAdminError):
                    await c.status()
            async with AdminClient(fk.url, opts(kong_admin_ca_cert=fk.ca_pem, kong_admin_tls_server_name="localhost")) as c:
                await c.status()


async def test_client_certificate_from_pem_and_files(tmp_path: Path) -> None:
    with trio.fail_after(20):
        async with FakeKong(tls=True, require_client_cert=True) as fk:
            pair = fk.issue_client_cert()
            async with AdminClient(fk.url, opts(kong_admin_ca_cert=fk.ca_pem)) as c:
                with pytest.raises(KongAdminError):
                    await c.status()
            o = opts(kong_admin_ca_cert=fk.ca_pem, kong_admin_tls_client_cert=pair.cert_pem, kong_admin_tls_client_key=pair.key_pem)
            async with AdminClient(fk.url, o) as c:
                await c.status()
            (tmp_path / "c.pem").write_text(pair.cert_pem)
            (tmp_path / "k.pem").write_text(pair.key_pem)
            o = opts(
                kong_admin_ca_cert=fk.ca_pem,
                kong_admin_tls_client_cert_file=str(tmp_path / "c.pem"),
                kong_admin_tls_client_key_file=str(tmp_path / "k.pem"),
            )
            async with AdminClient(fk.url, o) as c:
                await c.status()


def test_bad_client_key_never_shows_the_key() -> None:
    secret = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n"
    with pytest.raises(KongAdminError) as ei:
        opts(kong_admin_tls_client_cert="not a cert", kong_admin_tls_client_key=secret)
    assert "c2VjcmV0" not in str(ei.value)
    with pytest.raises(KongAdminError, match="both"):
        opts(kong_admin_tls_client_cert="x")


async def test_network_errors_become_kong_admin_errors() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    with trio.fail_after(10):
        async with AdminClient(url, opts(kong_admin_token="sekrit")) as c:
            with pytest.raises(KongAdminError) as ei:
                await c.post_config(BODY)
            assert ei.value.url == url
            assert "sekrit" not in str(ei.value)


async def test_timeouts_become_kong_admin_errors() -> None:
    with trio.fail_after(10):
        async with FakeKong() as fk, AdminClient(fk.url, opts(proxy_timeout_seconds=0.2)) as c:
            fk.hang()
            with pytest.raises(KongAdminError, match="timed out"):
                await c.post_config(BODY)
            fk.release()


def test_version_and_retry_after_parsing() -> None:
    assert parse_version("3.9.1") == (3, 9, 1)
    assert parse_version("3.10") == (3, 10, 0)
    assert parse_version("3.4.3.12-enterprise-edition") == (3, 4, 3)
    assert parse_version("next") is None
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    when = email.utils.formatdate(1_000_030, usegmt=True)
    assert parse_retry_after(when, now=1_000_000) == pytest.approx(30.0)
    assert parse_retry_after(email.utils.formatdate(10, usegmt=True), now=1_000_000) == 0.0


async def test_credentials_in_the_url_never_reach_messages() -> None:
    from kic_trio.kong import redact_url

    assert redact_url("https://admin:hunter2@10.0.0.1:8444/x") == "https://10.0.0.1:8444/x"
    assert redact_url("http://[fd00::1]:8001") == "http://[fd00::1]:8001"
    url = f"http://admin:hunter2@127.0.0.1:{closed_port()}"
    with trio.fail_after(10):
        async with AdminClient(url, opts()) as c:
            with pytest.raises(KongAdminError) as ei:
                await c.status()
    assert "hunter2" not in str(ei.value)
