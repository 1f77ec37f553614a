"""Diagnostics: sanitizing of dumps, the collector's records, the HTML page's escaping."""

from __future__ import annotations

import html.parser
from typing import Any

import orjson
import pytest
import trio
import trio.testing

from kic_trio import Config, ConfigError
from kic_trio._payload import ConfigPayload
from kic_trio.config import config_from_args
from kic_trio.diagnostics import (
    REDACTED,
    Diagnostics,
    PluginSecrets,
    build_objects,
    diagnostics_app,
    entities_by_object,
    plugin_secrets,
    render_page,
    sanitize_config,
    sanitize_error,
)
from kic_trio.models import Failure, ObjectRef

SECRET = "s3cr3t-VALUE-xyz"


def tags(kind: str, ns: str, name: str) -> list[str]:
    return [f"k8s-name:{name}", f"k8s-namespace:{ns}", f"k8s-kind:{kind}", "k8s-version:v1"]


def config() -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "certificates": [
            {"id": "c1", "cert": "PUBLIC", "key": SECRET + "-tls", "tags": tags("Secret", "a", "t")}
        ],
        "consumers": [
            {
                "username": "alice",
                "tags": tags("KongConsumer", "a", "alice"),
                "keyauth_credentials": [{"key": SECRET + "-k1"}, {"key": SECRET + "-k2"}],
                "basicauth_credentials": [{"username": "alice", "password": SECRET + "-pw"}],
                "hmacauth_credentials": [{"username": "alice", "secret": SECRET + "-hmac"}],
                "jwt_secrets": [{"key": "iss", "secret": SECRET + "-jwt", "algorithm": "HS256"}],
                "oauth2_credentials": [{"client_id": "cid", "client_secret": SECRET + "-oauth"}],
                "acls": [{"group": "admins"}],
            }
        ],
        "plugins": [
            {
                "name": "key-auth",
                "config": {"key_names": ["apikey"]},
                "tags": tags("KongPlugin", "a", "inline"),
            },
            {
                "name": "rate-limiting",
                "config": {"minute": 5, "redis": {"password": SECRET + "-redis"}},
                "tags": tags("KongPlugin", "a", "patched"),
            },
            {
                "name": "openid",
                "config": {"client_secret": SECRET + "-from", "issuer": "x"},
                "tags": tags("KongClusterPlugin", "", "whole"),
            },
        ],
        "services": [
            {
                "name": "a.web.80",
                "host": "web.a.80.svc",
                "tags": tags("Service", "a", "web"),
                "routes": [
                    {
                        "name": "a.web.web.example.com.80",
                        "tags": tags("Ingress", "a", "web"),
                        "plugins": [
                            {
                                "name": "rate-limiting",
                                "config": {"minute": 5, "redis": {"password": SECRET + "-nested"}},
                                "tags": tags("KongPlugin", "a", "patched"),
                            }
                        ],
                    }
                ],
            }
        ],
    }


SECRETS = {
    ("KongPlugin", "a", "patched"): PluginSecrets(paths=("/redis/password",)),
    ("KongClusterPlugin", "", "whole"): PluginSecrets(whole=True),
}


def test_sanitize_redacts_every_secret_value_and_keeps_the_rest() -> None:
    out = sanitize_config(orjson.dumps(config()), SECRETS)
    assert SECRET.encode() not in out
    doc = orjson.loads(out)
    assert doc["certificates"][0]["key"] == REDACTED
    assert doc["certificates"][0]["cert"] == "PUBLIC"
    consumer = doc["consumers"][0]
    keys = [c["key"] for c in consumer["keyauth_credentials"]]
    # key-auth keys must stay unique (Kong refuses duplicates): distinct vault placeholders
    assert len(set(keys)) == 2 and all(k.startswith("{vault://") for k in keys)
    assert consumer["basicauth_credentials"][0] == {"username": "alice", "password": REDACTED}
    assert consumer["hmacauth_credentials"][0]["secret"] == REDACTED
    assert consumer["jwt_secrets"][0]["secret"] == REDACTED
    assert consumer["jwt_secrets"][0]["key"] == "iss"
    assert consumer["oauth2_credentials"][0]["client_secret"] == REDACTED
    assert consumer["acls"] == [{"group": "admins"}]
    inline, patched, whole = doc["plugins"]
    assert inline["config"] == {"key_names": ["apikey"]}  # written inline: not a Secret
    assert patched["config"] == {"minute": 5, "redis": {"password": REDACTED}}
    assert whole["config"] == {"client_secret": REDACTED, "issuer": REDACTED}
    nested = doc["services"][0]["routes"][0]["plugins"][0]
    assert nested["config"]["redis"]["password"] == REDACTED
    assert doc["services"][0]["host"] == "web.a.80.svc"


def test_a_patch_path_that_cannot_be_followed_redacts_the_whole_config() -> None:
    secrets = {("KongPlugin", "a", "patched"): PluginSecrets(paths=("/nowhere/deep",))}
    doc = orjson.loads(sanitize_config(orjson.dumps(config()), secrets))
    assert doc["plugins"][1]["config"] == {"minute": REDACTED, "redis": REDACTED}


def test_plugin_secrets_come_from_config_from_and_patches_only() -> None:
    class Ref:
        def __init__(self, kind: str, ns: str, name: str) -> None:
            self.kind, self.namespace, self.name = kind, ns, name

    class Patch:
        path = "/redis/password"

    class P:
        def __init__(self, name: str, config_from: object, patches: tuple[object, ...]) -> None:
            self.ref = Ref("KongPlugin", "a", name)
            self.config_from = config_from
            self.config_patches = patches

    got = plugin_secrets(
        [P("inline", None, ()), P("from", object(), ()), P("pt", None, (Patch(),))]
    )
    assert got == {
        ("KongPlugin", "a", "from"): PluginSecrets(whole=True),
        ("KongPlugin", "a", "pt"): PluginSecrets(paths=("/redis/password",)),
    }


def test_kongs_error_answer_is_sanitized() -> None:
    answer = {
        "code": 14,
        "message": "declarative config is invalid",
        "flattened_errors": [
            {
                "entity_type": "keyauth_credential",
                "entity": {"key": SECRET + "-k"},
                "errors": [{"field": "key", "message": f"{SECRET}-k is a duplicate"}],
                "entity_tags": tags("KongConsumer", "a", "alice"),
            },
            {
                "entity_type": "certificate",
                "entity": {"cert": "PUBLIC", "key": SECRET + "-tls"},
                "errors": [{"type": "entity", "message": "invalid key"}],
            },
        ],
    }
    out = sanitize_error(orjson.dumps(answer), {})
    assert SECRET.encode() not in out
    doc = orjson.loads(out)
    assert doc["flattened_errors"][1]["entity"]["cert"] == "PUBLIC"
    assert sanitize_error(b"<html>" + SECRET.encode(), {}).find(SECRET.encode()) == -1


HOSTILE = '<script>alert("x")</script>&<img src=x onerror=alert(1)>'


class _Texts(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_the_page_escapes_hostile_names_and_reasons() -> None:
    body = orjson.dumps(
        {
            "services": [
                {
                    "name": HOSTILE,
                    "tags": tags("Service", "a", HOSTILE),
                    "routes": [{"name": "r" + HOSTILE, "tags": tags("Ingress", "a", HOSTILE)}],
                }
            ]
        }
    )
    ref = ObjectRef("Ingress", "a", HOSTILE)
    objects = build_objects(body, [Failure(ref, "metadata.annotations", HOSTILE)], [])
    page = render_page(
        objects=objects, pushes=[], translation_sha="ab" * 32, translation_at=0.0, sensitive=False
    ).decode()
    assert "<script" not in page and "<img" not in page
    parser = _Texts()
    parser.feed(page)
    assert "script" not in parser.tags and "img" not in parser.tags
    text = "".join(parser.text)
    assert text.count(HOSTILE) >= 3  # shown literally: names, entity names and the reason
    assert "Secret values are redacted." in text


def test_entities_are_named_never_shown_with_their_content() -> None:
    ents = entities_by_object(orjson.dumps(config()))
    assert ("consumer", "alice") in ents[("KongConsumer", "a", "alice")]
    assert ("certificate", "c1") in ents[("Secret", "a", "t")]
    assert ("route", "a.web.web.example.com.80") in ents[("Ingress", "a", "web")]
    # plugins say what they are on: nested under a route, or global
    assert sorted(ents[("KongPlugin", "a", "patched")]) == [
        ("plugin", "rate-limiting (global)"),
        ("plugin", "rate-limiting on route a.web.web.example.com.80"),
    ]
    page = render_page(
        objects=build_objects(orjson.dumps(config()), [], []),
        pushes=[],
        translation_sha=None,
        translation_at=None,
        sensitive=False,
    )
    assert SECRET.encode() not in page


def _payload(body: bytes, sha: str) -> ConfigPayload:
    return ConfigPayload(body=body, sha=sha)


def test_records_hold_the_pushed_bytes_not_copies_and_hide_them_in_reprs() -> None:
    diag = Diagnostics(clock=lambda: 1.0)
    body = orjson.dumps(config())
    p = _payload(body, "a" * 64)
    diag.applied("http://k1", p, 201)
    diag.applied("http://k2", p, 201)
    diag.failed("http://k2", _payload(body, "b" * 64), "refused", 400, answer=b"{}")
    assert diag.last_successful["http://k1"].body is body
    assert diag.last_successful["http://k2"].body is body
    assert SECRET not in repr(diag)
    assert diag.newest(diag.last_failed) is diag.last_failed["http://k2"]


async def _get(app: Any, path: str, query: bytes = b"") -> tuple[int, dict[bytes, bytes], bytes]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "query_string": query}
    await app(scope, receive, send)
    return sent[0]["status"], dict(sent[0]["headers"]), sent[1]["body"]


async def test_json_endpoints_serve_sanitized_dumps_at_upstreams_paths() -> None:
    with trio.fail_after(10):
        diag = Diagnostics()
        app = diagnostics_app(diag)
        assert (await _get(app, "/debug/config/successful"))[0] == 204
        body = orjson.dumps(config())
        diag._meta = [("a" * 64, SECRETS)]  # as a translation would have recorded
        diag.applied("http://k1", _payload(body, "a" * 64), 201)
        status, headers, got = await _get(app, "/debug/config/successful")
        assert status == 200 and headers[b"content-type"] == b"application/json"
        doc = orjson.loads(got)
        assert doc["hash"] == "a" * 64
        assert doc["config"]["certificates"][0]["key"] == REDACTED
        assert SECRET.encode() not in got
        fb = orjson.loads((await _get(app, "/debug/config/fallback"))[2])
        assert fb == {"status": "not-triggered"}
        assert (await _get(app, "/debug/config/raw-error"))[0] == 204
        status, headers, page = await _get(app, "/")
        assert status == 200 and b"script-src" not in headers[b"content-security-policy"]
        assert headers[b"content-security-policy"].startswith(b"default-src 'none'")
        assert SECRET.encode() not in page
        assert (await _get(app, "/nope"))[0] == 404


async def test_sensitive_dumps_serve_the_pushed_bytes() -> None:
    with trio.fail_after(10):
        diag = Diagnostics(sensitive=True)
        app = diagnostics_app(diag)
        body = orjson.dumps(config())
        diag.applied("http://k1", _payload(body, "a" * 64), 201)
        _, _, got = await _get(app, "/debug/config/successful", b"gateway=http://k1")
        assert orjson.loads(got)["config"] == config()


async def test_the_page_can_be_narrowed_to_one_namespace() -> None:
    with trio.fail_after(10):
        diag = Diagnostics()
        body = orjson.dumps(
            {
                "services": [
                    {"name": "s-a", "tags": tags("Service", "a", "web")},
                    {"name": "s-b", "tags": tags("Service", "b", "web")},
                ]
            }
        )
        diag.translated(_payload(body, "c" * 64), None)
        app = diagnostics_app(diag)
        _, _, everything = await _get(app, "/")
        _, _, only_b = await _get(app, "/", b"namespace=b")
        assert b"service: s-a" in everything and b"service: s-b" in everything
        assert b"service: s-a" not in only_b and b"service: s-b" in only_b


def test_diagnostics_flags_are_upstreams_and_a_bad_one_is_named() -> None:
    cfg = Config()
    assert (cfg.dump_config, cfg.dump_sensitive_config, cfg.diagnostic_server_port) == (
        False,
        False,
        10256,
    )
    assert cfg.diagnostic_address == ":10256"
    cfg = config_from_args(
        ["--dump-config", "--diagnostic-bind-address=127.0.0.1:0"],
        {"CONTROLLER_DUMP_SENSITIVE_CONFIG": "true"},
    )
    assert cfg.dump_config and cfg.dump_sensitive_config
    assert cfg.diagnostic_address == "127.0.0.1:0"
    with pytest.raises(ConfigError) as info:
        Config(diagnostic_server_port=70000, diagnostic_bind_address="nope").validate()
    assert "--diagnostic-server-port" in str(info.value)
    assert "--diagnostic-bind-address" in str(info.value)
