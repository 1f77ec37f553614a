"""FakeKong's contract: what a DB-less Kong 3.x answers (reference/kong-validation.md)."""

from __future__ import annotations

import hashlib
import json
import signal
import ssl
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
import trio
import trio.testing
import yaml

from kic_trio.testing import FakeKong
from kic_trio.testing.fakekong import EMPTY_HASH

GOLDEN = Path(__file__).resolve().parents[4] / "shared" / "conformance" / "kic-golden"
FLAT = "/config?flatten_errors=1"

EXAMPLE_A = {
    "_format_version": "3.0",
    "services": [
        {"name": "svc", "url": "http://example.com", "routes": [{"name": "r1", "paths": ["api"], "tags": ["t1"]}]}
    ],
}


def good_config(n: int = 1, tag: str = "k8s-name:demo") -> dict[str, object]:
    return {
        "_format_version": "3.0",
        "services": [
            {
                "name": f"svc{i}",
                "host": "example.com",
                "port": 80,
                "tags": [tag],
                "routes": [{"name": f"r{i}", "paths": [f"/p{i}"], "tags": [tag]}],
            }
            for i in range(n)
        ],
        "upstreams": [{"name": "kong", "targets": [{"target": "10.0.0.1:80"}]}],
    }


def body_of(cfg: object) -> bytes:
    return json.dumps(cfg).encode()


async def post(client: httpx.AsyncClient, cfg: object, path: str = "/config?check_hash=1&flatten_errors=1") -> httpx.Response:
    return await client.post(path, content=body_of(cfg), headers={"content-type": "application/json"})


async def test_status_and_root_before_any_config() -> None:
    with trio.fail_after(10):
        async with FakeKong() as fk, httpx.AsyncClient(base_url=fk.url) as c:
            assert fk.schema_path is not None  # in a checkout the decK schema is always used
            status = (await c.get("/status")).json()
            assert status["configuration_hash"] == EMPTY_HASH
            assert "database" not in status
            root = (await c.get("/")).json()
            assert root["version"] == "3.9.1"
            assert root["configuration"]["database"] == "off"
            assert root["configuration"]["router_flavor"] == "traditional_compatible"
            assert (await c.get("/config")).json() == {"config": "_format_version: '3.0'\n_transform: false\n"}


async def test_valid_config_is_loaded_and_hashed() -> None:
    with trio.fail_after(10):
        async with FakeKong() as fk, httpx.AsyncClient(base_url=fk.url) as c:
            cfg = good_config(2)
            r = await post(c, cfg)
            assert r.status_code == 201
            assert set(r.json()) == {"services", "routes", "upstreams", "targets"}
            expected = hashlib.md5(body_of(cfg)).hexdigest()
            assert fk.configuration_hash == expected
            assert (await c.get("/status")).json()["configuration_hash"] == expected
            assert fk.config == cfg
            exported = yaml.safe_load((await c.get("/config")).json()["config"])
            assert exported["_format_version"] == "3.0"
            assert sorted(r["name"] for r in exported["routes"]) == ["r0", "r1"]
            # routes were nested: exported flat with the service's id as foreign key
            svc_ids = {s["id"] for s in exported["services"]}
            assert {r["service"] for r in exported["routes"]} <= svc_ids


async def test_check_hash_gives_304_only_for_the_same_body() -> None:
    with trio.fail_after(10):
        async with FakeKong() as fk, httpx.AsyncClient(base_url=fk.url) as c:
            cfg = good_config()
            assert (await post(c, cfg)).status_code == 201
            r = await post(c, cfg)
            assert r.status_code == 304
            assert r.content == b""
            assert (await post(c, cfg, "/config")).status_code == 201  # no check_hash: loaded again
            assert (await post(c, good_config(2))).status_code == 201
            assert [r.status for r in fk.config_posts()] == [201, 304, 201, 201]


async def test_empty_config_keeps_the_empty_hash() -> None:
    with trio.fail_after(10):
        async with FakeKong() as fk, httpx.AsyncClient(base_url=fk.url) as c:
            assert (await post(c, {"_format_version": "3.0"})).status_code == 201
            assert fk.configuration_hash == EMPTY_HASH


async def test_example_a_flattened_matches_kong() -> None:
    with trio.fail_after(10):
        async with FakeKong() as fk, httpx.AsyncClient(base_url=fk.url) as c:
            r = await post(c, EXAMPLE_A, FLAT)
            assert r.status_code == 400
            assert b"\\/" in r.content  # cjson escapes slashes
            assert r.json() == {
                "code": 14,
                "name": "invalid declarative configuration",
                "message": "declarative config is invalid: {}",
                "fields": {},
                "flattened_errors": [
                    {
                        "entity_type": "route",
                        "entity_name": "r1",
                        "entity_tags": ["t1"],
                        "entity": {"name": "r1", "paths": ["api"], "tags": ["t1"]},
                        "errors": [
                            {
                                "type": "field",
                                "field": "paths.1",
                                "message": "should start with: / (fixed path) or ~/ (regex path)",
                            }
                        ],
                    }
                ],
            }
            assert fk.configuration_hash == EMPTY_HASH  # refused as a whole


async def test_example_a_unflattened_matches_kong() -> None:
    with trio.fail_after(10):
        async with FakeKong() as fk, httpx.AsyncClient(base_url=fk.url) as c:
            r = await post(c, EXAMPLE_A, "/config")
            assert r.status_code == 400
            msg = "should start with: / (fixed path) or ~/ (regex path)"
            assert r.json() == {
                "code": 14,
                "name": "invalid declarative configuration",
                "message": 'declarative config is invalid: {services={{routes={{paths={"' + msg + '"}}}}}}',
                "fields": {"services": [{"routes": [{"paths": [msg]}]}]},
            }


async def test_parent_id_is_shown_on_nested_entity() -> None:
    cfg = json.loads(json.dumps(EXAMPLE_A))
    sid = "6f6c4d4a-6a5b-4b3a-9a44-3d1b0e9c2f10"
    cfg["services"][0]["id"] = sid
    with trio.fail_after(10):
        async with FakeKong() as fk, httpx.AsyncClient(base_url=fk.url) as c:
            entry = (await post(c, cfg, FLAT)).json()["flattened_errors"][0]
            assert entry["entity"]["service"] == {"id": sid}


async def test_dangling_reference_alone_flattens_to_nothing() -> None:
    """Example (b1): the error is keyed by ngx.null, so Kong drops it (or 500s unflattened)."""
    cfg = {
        "_format_version": "3.0",
        "services": [{"name": "svc", "host": "example.com", "routes": [{"name": "r1", "paths": ["/"]}]}],
        "plugins": [{"name": "key-auth", "route": "r2", "tags": ["p1"]}],
    }
    with trio.fail_after(10):
        async with FakeKong() as fk, httpx.AsyncClient(base_url=fk.url) as c:
            r = await post(c, cfg, FLAT)
            assert r.status_code == 400
            assert r.json()["flattened_errors"] == []
            assert r.json()["fields"] == {}
            r = await post(c, cfg, "/config")
            assert r.status_code == 500
            assert r.json() == {"message": "An unexpected error occurred"}
            cfg["plugins"][0]["instance_name"] = "p"  # type: ignore[index]
            r = await post(c, cfg, "/config")
            assert r.status_code == 400
            assert r.json()["fields"] == {"plugins": {"p": ["invalid reference 'route: r2' (no such entry in 'routes')"]}}


async def test_dangling_reference_with_another_error_is_missing_primary_key() -> None:
    """Example (b2): stage 1b reports ``route.id``; the plugin entry follows the route entry."""
    cfg = json.loads(json.dumps(EXAMPLE_A))
    cfg["plugins"] = [{"name": "key-auth", "route": "r2", "tags": ["p1"]}]
    with trio.fail_after(10):
        async with FakeKong() as fk, httpx.AsyncClient(base_url=fk.url) as c:
            errs = (await post(c, cfg, FLAT)).json()["flattened_errors"]
            assert [e["entity_type"] for e in errs] == ["route", "plugin"]
            assert errs[1] == {
                "entity_type": "plugin",
                "entity_name": "key-auth",
                "entity_tags": ["p1"],
                "entity": {"name": "key-auth", "route": "r2", "tags": ["p1"]},
                "errors": [{"type": "field", "field": "route.id", "message": "missing primary key"}],
            }


async def test_duplicate_names_are_uniqueness_violations() -> None:
    cfg = {
        "_format_version": "3.0",
        "services": [{"name": "foo", "host": "a.example"}, {"name": "foo", "host": "b.example", "tags": ["x"]}],
    }
    msg = "uniqueness violation: 'services' entity with name set to 'foo' already declared"
    with trio.fail_after(10):
        async with FakeKong() as fk, httpx.AsyncClient(base_url=fk.url) as c:
            r = await post(c, cfg, "/config")
            assert r.json()["fields"] == {"services": [None, msg]}
            assert r.json()["message"] == f'declarative config is invalid: {{services={{[2]="{msg}"}}}}'
            errs = (await post(c, cfg, FLAT)).json()["flattened_errors"]
            # Kong generated ids before this stage: uuid5(uuid5(ns, "services"), "foo")
            foo_id = str(uuid.uuid5(uuid.uuid5(uuid.UUID("fd02801f-0957-4a15-a55a-c8d9606f30b5"), "services"), "foo"))
            assert errs == [
                {
                    "entity_type": "service",
                    "entity_name": "foo",
                    "entity_id": foo_id,
                    "entity_tags": ["x"],
                    "entity": {"name": "foo", "host": "b.example", "tags": ["x"], "id": foo_id},
                    "errors": [{"type": "entity", "message": msg}],
                }
            ]


@pytest.mark.parametrize(
    ("route", "field", "message"),
    [
        ({"name": "r"}, None, "must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https'"),
        ({"name": "r", "protocols": ["http"]}, None, "must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http'"),
        ({"name": "r", "paths": ["/a//b"]}, "paths.1", "must not have empty segments"),
        ({"name": "r", "paths": ["/ok", ""]}, "paths.2", "length must be at least 1"),
        ({"name": "r", "protocols": ["nope", "http"], "paths": ["bad"]}, "protocols", "unknown type: nope"),
        ({"name": "r", "paths": ["/"], "bogus": 1}, "bogus", "unknown field"),
        ({"name": "r", "paths": ["/"], "strip_path": "yes"}, "strip_path", "expected a boolean"),
    ],
)
async def test_route_rules(route: dict[str, object], field: str | None, message: str) -> None:
    cfg = {"_format_version": "3.0", "services": [{"name": "s", "host": "example.com", "routes": [route]}]}
    with trio.fail_after(10):
        async with FakeKong() as fk, httpx.AsyncClient(base_url=fk.url) as c:
            r = await post(c, cfg, FLAT)
            assert r.status_code == 400
            (entry,) = r.json()["flattened_errors"]
            want = {"type": "entity", "message": message} if field is None else {"type": "field", "field": field, "message": message}
            assert entry["errors"] == [want]


async def test_certificate_needs_cert_and_key_and_sni_names_are_unique() -> None:
    from kic_trio.testing.fakekong._tls import TestCA

    pair = TestCA().issue("example.com", dns=("example.com",))
    cfg = {
        "_format_version": "3.0",
        "certificates": [
            {"id": "0f5e3a3e-1c34-4a8e-9ad5-2a4e7f1d0b01", "cert": pair.cert_pem, "key": pair.key_pem, "snis": [{"name": "a.example"}]},
            {"id": "0f5e3a3e-1c34-4a8e-9ad5-2a4e7f1d0b02", "cert": pair.cert_pem, "key": pair.key_pem, "snis": [{"name": "a.example"}]},
        ],
    }
    with trio.fail_after(10):
        async with FakeKong() as fk, httpx.AsyncClient(base_url=fk.url) as c:
            errs = (await post(c, cfg, FLAT)).json()["flattened_errors"]
            assert errs[0]["entity_type"] == "sni"
            assert errs[0]["errors"] == [
                {"type": "entity", "message": "uniqueness violation: 'snis' entity with name set to 'a.example' already declared"}
            ]
            del cfg["certificates"][1]  # type: ignore[attr-defined]
            del cfg["certificates"][0]["key"]  # type: ignore[index]
            errs = (await post(c, cfg, FLAT)).json()["flattened_errors"]
            assert errs[0]["entity_type"] == "certificate"
            assert {"type": "field", "field": "key", "message": "required field missing"} in errs[0]["errors"]


async def test_unknown_plugin_short_circuits_other_errors() -> None:
    cfg = {"_format_version": "3.0", "plugins": [{"name": "nope", "protocols": ["bogus"], "tags": ["t"]}]}
    with trio.fail_after(10):
        async with FakeKong() as fk, httpx.AsyncClient(base_url=fk.url) as c:
            (entry,) = (await post(c, cfg, FLAT)).json()["flattened_errors"]
            assert entry["errors"] == [
                {"type": "field", "field": "name", "message": "plugin 'nope' not enabled; add it to the 'plugins' configuration property"}
            ]


async def test_reject_tags_knob() -> None:
    with trio.fail_after(10):
        async with FakeKong(reject_tags={"k8s-name:bad"}) as fk, httpx.AsyncClient(base_url=fk.url) as c:
            cfg = good_config(tag="k8s-name:bad")
            errs = (await post(c, cfg, FLAT)).json()["flattened_errors"]
            assert {e["entity_type"] for e in errs} == {"service", "route"}
            assert all(e["entity_tags"] == ["k8s-name:bad"] for e in errs)
            fk.reject_tags = set()
            assert (await post(c, cfg)).status_code == 201


async def test_body_parsing_errors() -> None:
    with trio.fail_after(10):
        async with FakeKong() as fk, httpx.AsyncClient(base_url=fk.url) as c:
            r = await c.post("/config", content=b"{nope", headers={"content-type": "application/json"})
            assert (r.status_code, r.json()) == (400, {"message": "Cannot parse JSON body"})
            r = await c.post("/config")
            assert (r.status_code, r.json()) == (400, {"message": "expected a declarative configuration"})
            r = await c.post("/config", content=b"- a\n- b\n", headers={"content-type": "application/yaml"})
            assert r.status_code == 400
            assert r.json()["fields"] == {"error": "failed parsing declarative configuration: expected an object"}
            r = await c.post("/config", content=b"x", headers={"content-type": "text/plain"})
            assert r.status_code == 415
            yaml_body = yaml.safe_dump(good_config()).encode()
            r = await c.post("/config?check_hash=1", content=yaml_body, headers={"content-type": "application/yaml"})
            assert r.status_code == 201
            assert fk.configuration_hash == hashlib.md5(yaml_body).hexdigest()
            r = await c.post("/config?check_hash=1", json={"config": yaml_body.decode()})
            assert r.status_code == 304  # same string, same hash


async def test_413_over_the_body_limit() -> None:
    with trio.fail_after(10):
        async with FakeKong(max_body_size=1000) as fk, httpx.AsyncClient(base_url=fk.url) as c:
            cfg = good_config(20)
            assert len(body_of(cfg)) > 1000
            r = await post(c, cfg)
            assert r.status_code == 413
            assert b"413 Request Entity Too Large" in r.content
            assert fk.configuration_hash == EMPTY_HASH
            fk.max_body_size = 10 * 1024 * 1024
            assert (await post(c, cfg)).status_code == 201


async def test_fail_next_with_retry_after_then_recover() -> None:
    with trio.fail_after(10):
        async with FakeKong() as fk, httpx.AsyncClient(base_url=fk.url) as c:
            fk.fail_next(1, 429, retry_after=7)
            fk.fail_next(1, 503)
            r = await post(c, good_config())
            assert (r.status_code, r.headers["retry-after"], r.json()) == (
                429,
                "7",
                {"message": "Currently loading previous configuration"},
            )
            r = await post(c, good_config())
            assert (r.status_code, r.json()) == (503, {"message": "Kong currently exiting"})
            assert (await post(c, good_config())).status_code == 201


async def test_restart_empty() -> None:
    with trio.fail_after(10):
        async with FakeKong() as fk, httpx.AsyncClient(base_url=fk.url) as c:
            assert (await post(c, good_config())).status_code == 201
            node = fk.node_id
            fk.restart_empty()
            assert (await c.get("/status")).json()["configuration_hash"] == EMPTY_HASH
            assert fk.node_id != node
            assert (await post(c, good_config())).status_code == 201  # accepted again, not 304


async def test_hang_and_release_and_wait_for() -> None:
    with trio.fail_after(10):
        async with FakeKong() as fk, httpx.AsyncClient(base_url=fk.url) as c, trio.open_nursery() as nursery:
            fk.hang()
            results: list[int] = []

            async def push() -> None:
                results.append((await post(c, good_config())).status_code)

            nursery.start_soon(push)
            await fk.wait_for(lambda f: len(f.config_posts()) == 1)
            assert fk.config_posts()[0].status is None  # arrived, not answered
            fk.release()
            await fk.wait_for(lambda f: f.configuration_hash != EMPTY_HASH)
        assert results == [201]


async def test_delay_follows_the_mock_clock(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(30):
        async with FakeKong() as fk, httpx.AsyncClient(base_url=fk.url, timeout=None) as c:
            fk.delay = 20.0
            start = trio.current_time()
            assert (await c.get("/status")).status_code == 200
            assert trio.current_time() - start >= 20.0
            assert fk.requests[-1].at == pytest.approx(start, abs=1.0)


async def test_admin_token_is_required_when_set() -> None:
    with trio.fail_after(10):
        async with FakeKong(admin_token="s3cret") as fk, httpx.AsyncClient(base_url=fk.url) as c:
            assert (await c.get("/status")).status_code == 401
            assert (await c.get("/status", headers={"Kong-Admin-Token": "s3cret"})).status_code == 200


async def test_database_backed_kong_refuses_config() -> None:
    with trio.fail_after(10):
        async with FakeKong(database="postgres") as fk, httpx.AsyncClient(base_url=fk.url) as c:
            assert (await c.get("/")).json()["configuration"]["database"] == "postgres"
            assert "configuration_hash" not in (await c.get("/status")).json()
            r = await post(c, good_config())
            assert r.status_code == 400
            assert r.json() == {"message": "this endpoint is only available when Kong is configured to not use a database"}


async def test_tls_with_its_own_ca_and_client_certificates() -> None:
    with trio.fail_after(20):
        async with FakeKong(tls=True, require_client_cert=True) as fk:
            assert fk.url.startswith("https://127.0.0.1:")
            pair = fk.issue_client_cert()
            ctx = ssl.create_default_context(cadata=fk.ca_pem)
            with pytest.raises(httpx.ConnectError):
                async with httpx.AsyncClient(base_url=fk.url) as c:  # system CAs only
                    await c.get("/status")
            import tempfile

            with tempfile.TemporaryDirectory() as tmp:
                (Path(tmp) / "c.pem").write_text(pair.cert_pem)
                (Path(tmp) / "k.pem").write_text(pair.key_pem)
                ctx.load_cert_chain(str(Path(tmp) / "c.pem"), str(Path(tmp) / "k.pem"))
            async with httpx.AsyncClient(base_url=fk.url, verify=ctx) as c:
                assert (await c.get("/status")).status_code == 200


@pytest.mark.skipif(not GOLDEN.is_dir(), reason=f"upstream golden cases not present at {GOLDEN}")
async def test_upstream_golden_outputs_are_accepted() -> None:
    """Whatever upstream's translator produces for its golden cases, Kong (and so FakeKong) loads."""
    cases = sorted(GOLDEN.glob("*/default_golden.yaml"))
    assert cases
    with trio.fail_after(30):
        async with FakeKong() as fk, httpx.AsyncClient(base_url=fk.url) as c:
            for case in cases:
                r = await post(c, yaml.safe_load(case.read_text()), FLAT)
                assert r.status_code == 201, (case.parent.name, r.text[:500])


async def test_command_prints_url_and_stops_on_sigterm() -> None:
    with trio.fail_after(30):
        proc = await trio.lowlevel.open_process(
            [sys.executable, "-m", "kic_trio.testing.fakekong", "--port", "0", "--tls"],
            stdout=subprocess.PIPE,
        )
        try:
            assert proc.stdout is not None
            buf = b""
            while b"CA_FILE=" not in buf or not buf.endswith(b"\n"):
                chunk = await proc.stdout.receive_some()
                assert chunk, buf
                buf += chunk
            lines = dict(line.split("=", 1) for line in buf.decode().splitlines() if "=" in line)
            assert lines["URL"].startswith("https://127.0.0.1:")
            ctx = ssl.create_default_context(cafile=lines["CA_FILE"])
            async with httpx.AsyncClient(base_url=lines["URL"], verify=ctx) as c:
                assert (await c.get("/status")).json()["configuration_hash"] == EMPTY_HASH
            proc.send_signal(signal.SIGTERM)
            assert await proc.wait() == 0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            if proc.stdout is not None:
                await proc.stdout.aclose()


def test_large_configs_take_the_fast_path_and_still_report_errors() -> None:
    from kic_trio.testing.fakekong import _validate as v

    path = v.find_schema()
    assert path is not None
    checker = v.SchemaChecker(path)
    cfg = good_config(600)
    assert not v.validate(cfg, checker, v.Rules())
    cfg["services"][417]["retries"] = "many"  # type: ignore[index]
    cfg["services"][3]["routes"][0]["bogus"] = True  # type: ignore[index]
    tree = v.validate(cfg, checker, v.Rules())
    errs = v.flattened_body(tree, cfg)["flattened_errors"]
    assert [(e["entity_name"], e["errors"]) for e in errs] == [
        ("svc417", [{"type": "field", "field": "retries", "message": "expected an integer"}]),
        ("r3", [{"type": "field", "field": "bogus", "message": "unknown field"}]),
    ]


def test_kong_leniencies_over_the_deck_schema() -> None:
    """Kong takes what decK's schema refuses: string foreign keys, unnamed services, no
    certificate id, no hmac secret, top-level consumer_group_consumers."""
    from kic_trio.testing.fakekong import _validate as v

    path = v.find_schema()
    assert path is not None
    cfg = {
        "_format_version": "3.0",
        "services": [{"host": "example.com", "routes": [{"paths": ["/"]}]}, {"name": "named", "host": "x.example"}],
        "routes": [{"name": "top", "service": "named", "paths": ["/top"]}],
        "consumers": [{"username": "u", "hmacauth_credentials": [{"username": "h"}]}],
        "consumer_group_consumers": [{"consumer": "u", "consumer_group": "g"}],
    }
    assert not v.validate(cfg, v.SchemaChecker(path), v.Rules())


def test_schema_location_is_explicit_or_required(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        FakeKong(schema_path=tmp_path / "missing.json")
    assert FakeKong(validate_schema=False).schema_path is None


async def test_auth_plugins_cannot_be_scoped_to_a_consumer() -> None:
    cfg = {
        "_format_version": "3.0",
        "consumers": [{"username": "bob", "plugins": [{"name": "key-auth", "tags": ["k"]}]}],
        "plugins": [{"name": "rate-limiting", "consumer": "bob", "config": {"minute": 5}}],
    }
    with trio.fail_after(10):
        async with FakeKong() as fk, httpx.AsyncClient(base_url=fk.url) as c:
            (entry,) = (await post(c, cfg, FLAT)).json()["flattened_errors"]
            assert entry["entity_tags"] == ["k"]
            assert entry["errors"] == [{"type": "field", "field": "consumer", "message": "value must be null"}]
            cfg["consumers"][0]["plugins"] = []  # type: ignore[index]
            assert (await post(c, cfg)).status_code == 201  # rate-limiting may be per consumer


async def test_serve_in_a_nursery_and_stop() -> None:
    with trio.fail_after(10):
        fk = FakeKong()
        async with trio.open_nursery() as nursery:
            url = await nursery.start(fk.serve)
            assert url == fk.url and url.startswith("http://127.0.0.1:")
            async with httpx.AsyncClient(base_url=url) as c:
                assert (await c.get("/status")).status_code == 200
            fk.stop()  # serve returns: the nursery closes on its own
        async with httpx.AsyncClient(base_url=url) as c:
            with pytest.raises(httpx.ConnectError):
                await c.get("/status")


def test_generated_ids_match_kong() -> None:
    """Kong's spec: uuid5(uuid5(ns, "consumers"), "test-consumer-1") = a73dc9a7-...bce3d."""
    from kic_trio.testing.fakekong import _validate as v

    (item,) = v.iter_items({"consumers": [{"username": "test-consumer-1"}]})
    assert v.generated_id(item) == "a73dc9a7-93df-584d-97c0-7f41a1bbce3d"


def test_kong_validator_without_a_server() -> None:
    from kic_trio.testing.fakekong import KongValidator

    kong = KongValidator()
    assert kong.check(good_config(3)) is None
    body = kong.check(EXAMPLE_A)
    assert body is not None
    assert body["flattened_errors"][0]["errors"][0]["field"] == "paths.1"
    unflat = kong.check(EXAMPLE_A, flatten=False)
    assert unflat is not None and "flattened_errors" not in unflat
