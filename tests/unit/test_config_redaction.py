"""Credentials never appear in ``ConfigError`` messages nor in ``Config``'s repr (issue 13).

Each case puts a recognisable secret where an operator might (an admin header, a URL's
userinfo, a token, a config file) and makes the configuration fail, then checks the text a
user sees (``str(ConfigError)``, ``repr(Config)``, the CLI's stderr) does not contain it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kic_trio import Config, ConfigError
from kic_trio.config import config_from_args, config_from_mapping, redact_url

SECRET = "s3cr3t-t0ken"


def _error(**kwargs: object) -> str:
    with pytest.raises(ConfigError) as info:
        Config(**kwargs).validate()  # type: ignore[arg-type]
    return str(info.value)


@pytest.mark.parametrize(
    "url, shown",
    [
        (f"http://admin:{SECRET}@kong:8001", "http://admin:***@kong:8001"),
        (f"https://admin:{SECRET}@kong/x?y=1", "https://admin:***@kong/x?y=1"),
        (f"http://:{SECRET}@kong", "http://:***@kong"),
        ("http://justuser@kong", "http://justuser@kong"),
        (f"http://a:{SECRET}@b:{SECRET}@kong:80", "http://a:***@kong:80"),
        (f"weird://u:{SECRET}@[::1", "weird://u:***@[::1"),
        (f"u:{SECRET}@kong", "u:***@kong"),
        ("http://kong:8001/a@b", "http://kong:8001/a@b"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_url_passwords_are_not_in_errors_or_repr() -> None:
    bad = f"ftp://admin:{SECRET}@kong:8001"
    cfg = Config(
        kong_admin_url=[bad, f"http://a:{SECRET}@kong:80"],
        apiserver_host=f"gopher://k:{SECRET}@api",
    )
    assert SECRET not in repr(cfg)
    assert "admin:***@kong" in repr(cfg)
    text = _error(kong_admin_url=[bad], apiserver_host=f"gopher://k:{SECRET}@api")
    assert SECRET not in text
    assert "ftp://admin:***@kong:8001" in text  # still says which URL is wrong


def test_url_with_a_bad_port_does_not_echo_the_parser_message() -> None:
    text = _error(kong_admin_url=[f"http://u:{SECRET}@kong:80x"])
    assert SECRET not in text
    assert "could not be cast" not in text  # urllib's message, which quotes a slice of the URL
    assert "http://u:***@kong:80x" in text


def test_admin_header_values_are_never_shown() -> None:
    # without a ':' the whole header is what the old message quoted as its "name"
    text = _error(kong_admin_header=[f"Authorization Bearer {SECRET}", f"X-Key:{SECRET}"])
    assert SECRET not in text
    assert "header #1" in text
    assert SECRET not in repr(Config(kong_admin_header=[f"X-Key:{SECRET}"]))


def test_wrong_types_of_secret_fields_are_not_echoed() -> None:
    text = _error(kong_admin_token=12345678901, kong_admin_tls_client_key=[SECRET])
    assert "12345678901" not in text
    assert SECRET not in text
    assert "kong_admin_token" in text


def test_config_file_mapping_with_secrets_of_the_wrong_type() -> None:
    with pytest.raises(ConfigError) as info:
        config_from_mapping(
            {"kong-admin-token": 98765432109, "kong-admin-header": {"X-Key": SECRET}}
        ).validate()
    assert "98765432109" not in str(info.value)
    assert SECRET not in str(info.value)


def test_command_line_and_environment() -> None:
    with pytest.raises(ConfigError) as info:
        config_from_args(
            [f"--kong-admin-header=Authorization {SECRET}", f"--kong-admin-url=ftp://u:{SECRET}@k"],
            environ={
                "CONTROLLER_KONG_ADMIN_TOKEN": SECRET,
                "CONTROLLER_KONG_ADMIN_TOKEN_FILE": "/x",
            },
        ).validate()
    assert SECRET not in str(info.value)


def test_unparsable_config_file_does_not_quote_its_lines(tmp_path: Path) -> None:
    path = tmp_path / "kic.yaml"
    path.write_text(f'kong-admin-token: "{SECRET}\nkong-admin-url: [http://x\n')
    with pytest.raises(ConfigError) as info:
        config_from_args([f"--config={path}"], environ={})
    assert SECRET not in str(info.value)
    assert "line" in str(info.value)
    bad_json = tmp_path / "kic.json"
    bad_json.write_text(f'{{"kong-admin-token": "{SECRET}" "x": 1}}')
    with pytest.raises(ConfigError) as info:
        config_from_args([f"--config={bad_json}"], environ={})
    assert SECRET not in str(info.value)
    assert "line 1" in str(info.value)


def test_names_used_in_api_urls_are_checked() -> None:
    text = _error(
        publish_service="kong/../../kube-system/services/x",
        kong_admin_svc="../x/y",
        election_namespace="../kube-system",
        election_id="a/b",
    )
    for field in ("publish_service", "kong_admin_svc", "election_namespace", "election_id"):
        assert field in text
