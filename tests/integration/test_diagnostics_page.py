"""Live: the diagnostics page, loaded in headless Chromium against a running controller.

A real kube-apiserver, the whole controller with ``--dump-config``, FakeKong refusing one
key-auth configuration. The tenant objects: an Ingress protected by a good KongPlugin, one
protected by a plugin Kong refuses (left out by the fallback), one naming a plugin that does not
exist with a name full of HTML, and a consumer whose key-auth key is a Secret. Chromium's DOM
must list each object with its entities and failures, each gateway's push, and no Secret value;
the JSON endpoints at upstream's paths serve sanitized dumps.

Needs Debian's ``chromium`` package (``/usr/bin/chromium``); skips with that reason without it.
"""

from __future__ import annotations

import html.parser
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import trio

import kic_trio
from k8s_objects import app
from kic_trio._lifecycle import ConfigApplied, PushFailed
from kic_trio.testing import FakeKong, apply
from kic_trio.testing.controlplane import ControlPlane

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium is not installed (Debian package: chromium)"
)

BAD_KEY_NAMES = ["bad key"]  # a header name with a space: Kong refuses it
SECRET_KEY = "diag-secret-key-9f3b27"
SECRET_ORIGIN = "https://diag-secret-origin.example"
HOSTILE = "<b>bold</b><script>alert(1)</script>"


def key_auth(name: str, key_names: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "configuration.konghq.com/v1",
        "kind": "KongPlugin",
        "metadata": {"name": name},
        "plugin": "key-auth",
        "config": {"key_names": key_names},
    }


def consumer() -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "alice-key", "labels": {"konghq.com/credential": "key-auth"}},
            "stringData": {"key": SECRET_KEY},
        },
        {
            "apiVersion": "configuration.konghq.com/v1",
            "kind": "KongConsumer",
            "metadata": {"name": "alice", "annotations": {"kubernetes.io/ingress.class": "kong"}},
            "username": "alice",
            "credentials": ["alice-key"],
        },
    ]


def cors_from_secret() -> list[dict[str, Any]]:
    """A plugin whose whole config comes from a Secret (``configFrom``)."""
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "cors-config"},
            "stringData": {"config": orjson.dumps({"origins": [SECRET_ORIGIN]}).decode()},
        },
        {
            "apiVersion": "configuration.konghq.com/v1",
            "kind": "KongPlugin",
            "metadata": {"name": "cors"},
            "plugin": "cors",
            "configFrom": {"secretKeyRef": {"name": "cors-config", "key": "config"}},
        },
    ]


class _Page(html.parser.HTMLParser):
    """The rows of the page's two tables, as Chromium's DOM has them."""

    def __init__(self) -> None:
        super().__init__()
        self.objects: dict[tuple[str, str], dict[str, list[str]]] = {}
        self.pushes: list[list[str]] = []
        self.elements: list[str] = []
        self._row: dict[str, list[str]] | None = None
        self._push: list[str] | None = None
        self._li: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(tag)
        a = dict(attrs)
        cls = a.get("class") or ""
        if tag == "tr" and cls == "object":
            self._row = {"entities": [], "failures": []}
            self.objects[(a.get("data-kind") or "", a.get("data-name") or "")] = self._row
        elif tag == "tr" and cls == "push":
            self._push = []
            self.pushes.append(self._push)
        elif tag == "li" and self._row is not None:
            self._li = "entities" if cls == "entity" else "failures"
            self._row[self._li].append("")
        elif tag == "td" and self._push is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "li":
            self._li = None
        elif tag == "td" and self._push is not None and self._cell is not None:
            self._push.append("".join(self._cell))
            self._cell = None
        elif tag == "tr":
            self._row = None
            self._push = None

    def handle_data(self, data: str) -> None:
        if self._row is not None and self._li is not None:
            self._row[self._li][-1] += data
        if self._cell is not None:
            self._cell.append(data)


async def dump_dom(url: str, profile: Path) -> str:
    assert CHROMIUM is not None
    result = await trio.run_process(
        [
            CHROMIUM,
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--dump-dom",
            url,
        ],
        capture_stdout=True,
        capture_stderr=True,
    )
    return result.stdout.decode("utf-8")


@asynccontextmanager
async def controller(cfg: kic_trio.Config) -> AsyncIterator[kic_trio.Controller]:
    async with trio.open_nursery() as nursery:
        c: kic_trio.Controller = await nursery.start(kic_trio.run, cfg)
        yield c
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("sensitive", [False, True], ids=["sanitized", "sensitive"])
async def test_diagnostics_page_in_chromium_shows_objects_entities_failures_and_pushes(
    control_plane: ControlPlane, k8s_namespace: str, tmp_path: Path, sensitive: bool
) -> None:
    ns = k8s_namespace
    with trio.fail_after(180):
        async with FakeKong() as kong, control_plane.admin_client() as client:
            kong.reject_entities = [
                ("plugins", {"name": "key-auth", "config.key_names": BAD_KEY_NAMES})
            ]
            objects = [key_auth("auth-good", ["apikey"]), key_auth("auth-bad", BAD_KEY_NAMES)]
            objects += app(
                "open", "open.example.com", annotations={"konghq.com/plugins": "auth-good,cors"}
            )
            objects += app(
                "broken", "broken.example.com", annotations={"konghq.com/plugins": "auth-bad"}
            )
            objects += app(
                "hostile", "hostile.example.com", annotations={"konghq.com/plugins": HOSTILE}
            )
            objects += consumer() + cors_from_secret()
            await apply(client, objects, namespace=ns)
            cfg = kic_trio.Config(
                kubeconfig=str(control_plane.kubeconfig),
                kong_admin_url=[kong.url],
                watch_namespace=[ns],
                health_probe_bind_address="127.0.0.1:0",
                metrics_bind_address="127.0.0.1:0",
                dump_config=True,
                dump_sensitive_config=sensitive,
                diagnostic_bind_address="127.0.0.1:0",
                proxy_sync_seconds=0.2,
                kong_admin_init_retries=5,
                kong_admin_init_retry_delay=0.2,
            )
            async with controller(cfg) as c, c.subscribe() as lifecycle:
                assert c.diagnostics_address is not None
                host, port = c.diagnostics_address
                base = f"http://{host}:{port}"
                # Kong refuses the bad plugin; the fallback (without it) goes out
                refused: PushFailed | None = None
                applied: ConfigApplied | None = None
                while applied is None:
                    e = await lifecycle.receive()
                    if isinstance(e, PushFailed) and e.status == 400:
                        refused = e
                    elif isinstance(e, ConfigApplied) and refused is not None and e.left_out:
                        applied = e
                assert refused is not None

                with trio.fail_after(90):
                    dom = await dump_dom(base + "/", tmp_path / "chromium")
                page = _Page()
                page.feed(dom)

                # objects and the Kong entities they produced (by tags)
                open_ing = page.objects[("Ingress", "open")]
                assert any(e.startswith("route: ") for e in open_ing["entities"])
                good = page.objects[("KongPlugin", "auth-good")]["entities"]
                assert any(e.startswith("plugin: key-auth on route ") for e in good)
                assert any(
                    e.startswith("service: ") for e in page.objects[("Service", "open")]["entities"]
                )
                assert "consumer: alice" in page.objects[("KongConsumer", "alice")]["entities"]
                assert open_ing["failures"] == []
                # failures: Kong's verdict on the bad plugin, the fallback leaving its route out,
                # the translation failure of the plugin that does not exist
                bad = page.objects[("KongPlugin", "auth-bad")]["failures"]
                assert any(f.startswith("Kong (") and "rejected by FakeKong" in f for f in bad)
                broken = page.objects[("Ingress", "broken")]["failures"]
                assert any(f.startswith("fallback (") for f in broken)
                hostile = page.objects[("Ingress", "hostile")]["failures"]
                assert any(f.startswith("translation: ") for f in hostile)
                # the hostile plugin name is text, never markup
                assert "script" not in page.elements and "b" not in page.elements
                # each gateway's last push: time, hash, outcome
                [push] = page.pushes
                gateway, when, sha, outcome = push[:4]
                assert gateway == kong.url and when.endswith(" UTC")
                assert outcome == "fallback" and sha == applied.config_hash[:12]
                # no Secret value anywhere on the page, whatever the flags
                assert SECRET_KEY not in dom and SECRET_ORIGIN not in dom
                assert ("Secret values are redacted." in dom) is not sensitive

                # the JSON endpoints, at upstream's paths, sanitized unless asked otherwise
                async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                    ok = await http.get("/debug/config/successful")
                    assert ok.status_code == 200
                    assert ok.json()["hash"] == applied.config_hash
                    [alice] = ok.json()["config"]["consumers"]
                    [key] = alice["keyauth_credentials"]
                    failed = await http.get("/debug/config/failed")
                    assert failed.status_code == 200
                    [cors] = [p for p in ok.json()["config"]["plugins"] if p["name"] == "cors"]
                    if sensitive:  # the bytes pushed, as they were
                        assert key["key"] == SECRET_KEY
                        assert cors["config"] == {"origins": [SECRET_ORIGIN]}
                        assert SECRET_KEY in failed.text
                    else:
                        assert key["key"].startswith("{vault://")
                        assert cors["config"] == {"origins": "{vault://redacted-value}"}
                        for text in (ok.text, failed.text):
                            assert SECRET_KEY not in text and SECRET_ORIGIN not in text
                    fb = (await http.get("/debug/config/fallback")).json()
                    assert fb["status"] == "triggered"
                    assert {o["name"] for o in fb["brokenObjects"]} == {"auth-bad"}
                    assert {"broken", "auth-bad"} <= {o["name"] for o in fb["excludedObjects"]}
                    problems = (await http.get("/debug/config/problems")).json()
                    assert {o["name"] for o in problems["objects"]} == {"auth-bad"}
                    raw = await http.get("/debug/config/raw-error")
                    assert raw.status_code == 200  # Kong refused a plugin: no credential in it
                    assert SECRET_KEY not in raw.text
                    assert orjson.loads(raw.content)["flattened_errors"]
                    assert (await http.post("/debug/config/successful")).status_code == 405
