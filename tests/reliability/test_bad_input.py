"""The bad-input corpus (``corpus/cases.yaml``): every case at once, in one namespace, with
one controller, next to a working baseline.

For each case: the controller stays up, the bad object gets a Warning Event with a specific
reason and message (read back from the API server), the parts of it that are fine still reach
Kong, and every other object keeps working; what depends on a failing plugin (``not_routed``)
is not served without it. Cases the API server itself refuses (its schema
or validation) check the refusal and that the controller is unaffected by the attempt.

The corpus is data: add a case by adding an entry to ``cases.yaml``.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import httpx
import trio
import yaml
from _reliability import Summary, controller_config, list_events

import kic_trio
from kic_trio.testing import FakeKong, apply
from kic_trio.testing._apply import collection_path
from kic_trio.testing.controlplane import ControlPlane

CASES_FILE = Path(__file__).parent / "corpus" / "cases.yaml"
BASELINE_HOST = "baseline.corpus.test"
LATE_HOST = "late.corpus.test"


def _expand(node: Any) -> Any:
    """The corpus's two generators: ``{$repeat: s, times: n}`` (a long string) and
    ``{$paths: n, service: s, port: p}`` (n Ingress paths)."""
    if isinstance(node, dict):
        if "$repeat" in node:
            return str(node["$repeat"]) * int(node["times"])
        if "$paths" in node:
            return [
                {
                    "path": f"/p{i}",
                    "pathType": "Prefix",
                    "backend": {
                        "service": {"name": node["service"], "port": {"number": node["port"]}}
                    },
                }
                for i in range(int(node["$paths"]))
            ]
        return {k: _expand(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_expand(v) for v in node]
    return node


def load_cases() -> list[dict[str, Any]]:
    cases = yaml.safe_load(CASES_FILE.read_text())
    out = []
    for case in cases:
        case = copy.deepcopy(case)
        case["objects"] = _expand(case["objects"])
        out.append(case)
    return out


def baseline() -> list[dict[str, Any]]:
    """Objects that work, and must keep working whatever the corpus does next to them."""
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "corpus-svc"},
            "spec": {"ports": [{"name": "http", "port": 80, "protocol": "TCP"}]},
        },
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": "corpus-svc-1",
                "labels": {"kubernetes.io/service-name": "corpus-svc"},
            },
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
            "endpoints": [{"addresses": ["10.9.0.1"], "conditions": {"ready": True}}],
        },
        {
            "apiVersion": "configuration.konghq.com/v1",
            "kind": "KongPlugin",
            "metadata": {"name": "baseline-plugin"},
            "plugin": "response-transformer",
            "config": {"add": {"headers": ["x-baseline:yes"]}},
        },
        ingress("baseline", BASELINE_HOST, plugins="baseline-plugin"),
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "baseline-cred", "labels": {"konghq.com/credential": "key-auth"}},
            "stringData": {"key": "baseline-key"},
        },
        {
            "apiVersion": "configuration.konghq.com/v1",
            "kind": "KongConsumer",
            "metadata": {
                "name": "baseline-consumer",
                "annotations": {"kubernetes.io/ingress.class": "kong"},
            },
            "username": "baseline-consumer",
            "credentials": ["baseline-cred"],
        },
    ]


def ingress(name: str, host: str, *, plugins: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if plugins:
        meta["annotations"] = {"konghq.com/plugins": plugins}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": meta,
        "spec": {
            "ingressClassName": "kong",
            "rules": [
                {
                    "host": host,
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {
                                    "service": {"name": "corpus-svc", "port": {"number": 80}}
                                },
                            }
                        ]
                    },
                }
            ],
        },
    }


def hosts_in(config: dict[str, Any]) -> set[str]:
    return {
        h
        for svc in config.get("services", [])
        for r in svc.get("routes", [])
        for h in r.get("hosts", [])
    }


def baseline_works(config: dict[str, Any]) -> bool:
    """The baseline Ingress is routed with its plugin, and its consumer has its credential."""
    routed = BASELINE_HOST in hosts_in(config)
    plugin = any(
        p.get("name") == "response-transformer"
        and (p.get("config") or {}).get("add", {}).get("headers") == ["x-baseline:yes"]
        for svc in config.get("services", [])
        for r in svc.get("routes", [])
        for p in r.get("plugins", [])
    ) or any(
        p.get("name") == "response-transformer"
        and (p.get("config") or {}).get("add", {}).get("headers") == ["x-baseline:yes"]
        for p in config.get("plugins", [])
    )
    consumer = any(
        c.get("username") == "baseline-consumer"
        and any(k.get("key") == "baseline-key" for k in c.get("keyauth_credentials", []))
        for c in config.get("consumers", [])
    )
    return routed and plugin and consumer


async def _create(client: httpx.AsyncClient, obj: dict[str, Any], namespace: str) -> httpx.Response:
    body = copy.deepcopy(obj)
    body.setdefault("metadata", {})["namespace"] = namespace
    return await client.post(collection_path(body["kind"], namespace), json=body)


def _warnings_for(events: list[dict[str, Any]], kind: str, name: str) -> list[dict[str, Any]]:
    return [
        e
        for e in events
        if e.get("type") == "Warning"
        and (e.get("involvedObject") or {}).get("kind") == kind
        and (e.get("involvedObject") or {}).get("name") == name
    ]


CASES = load_cases()


def test_corpus_is_big_and_well_formed() -> None:
    ids = [c["id"] for c in CASES]
    assert len(ids) >= 40
    assert len(set(ids)) == len(ids), "case ids must be unique"
    for c in CASES:
        exp = c["expect"]
        assert ("event" in exp) != ("refused" in exp), c["id"]
        if "event" in exp:
            assert exp["event"]["reason"] in (
                "KongConfigurationTranslationFailed",
                "KongConfigurationApplyFailed",
            ), c["id"]


async def test_bad_input_corpus(
    control_plane: ControlPlane, kubeconfig: Path, k8s_namespace: str, summary: Summary
) -> None:
    ns = k8s_namespace
    section = summary.section("bad_input")
    reject = {
        f"k8s-name:{c['objects'][0]['metadata']['name']}" for c in CASES if c.get("kong_rejects")
    }
    started = time.monotonic()
    with trio.fail_after(180):
        async with (
            control_plane.admin_client() as admin,
            FakeKong(reject_tags=reject) as kong,
            trio.open_nursery() as nursery,
        ):
            await apply(admin, baseline(), namespace=ns)
            cfg = controller_config(
                kubeconfig,
                kong_admin_url=[kong.url],
                watch_namespace=[ns],
            )
            controller: kic_trio.Controller = await nursery.start(kic_trio.run, cfg)
            with trio.fail_after(30):
                await controller.wait_ready()
                await kong.wait_for(lambda k: baseline_works(k.config))

            refused: dict[str, str] = {}
            created = 0
            for case in CASES:
                for obj in case["objects"]:
                    r = await _create(admin, obj, ns)
                    if r.status_code >= 400:
                        refused[case["id"]] = f"{r.status_code} {r.text}"
                    else:
                        created += 1

            # a change after the corpus still goes through: the controller is alive and working
            await apply(admin, [ingress("late", LATE_HOST)], namespace=ns)

            event_cases = [c for c in CASES if "event" in c["expect"]]
            missing: list[str] = []
            events: list[dict[str, Any]] = []
            with trio.move_on_after(60):
                while True:
                    events = await list_events(admin, ns)
                    missing = [
                        c["id"]
                        for c in event_cases
                        if not any(
                            e.get("reason") == c["expect"]["event"]["reason"]
                            and c["expect"]["event"]["message"] in (e.get("message") or "")
                            for e in _warnings_for(
                                events, c["expect"]["event"]["kind"], c["expect"]["event"]["name"]
                            )
                        )
                    ]
                    routed = hosts_in(kong.config)
                    if not missing and LATE_HOST in routed and baseline_works(kong.config):
                        break
                    await trio.sleep(0.5)

            for e in events:
                if e.get("type") == "Warning":
                    who = e.get("involvedObject") or {}
                    print(
                        f"{who.get('kind')}/{who.get('name')}: {e.get('reason')}: {e.get('message')}"
                    )
            problems: list[str] = []
            for c in CASES:
                exp = c["expect"]
                if "refused" in exp:
                    answer = refused.get(c["id"])
                    if answer is None:
                        problems.append(f"{c['id']}: the API server accepted it")
                    elif exp["refused"] not in answer:
                        problems.append(
                            f"{c['id']}: refused, but not for {exp['refused']!r}: {answer[:300]}"
                        )
                    continue
                if c["id"] in refused:
                    problems.append(
                        f"{c['id']}: refused by the API server: {refused[c['id']][:300]}"
                    )
                    continue
                if c["id"] in missing:
                    ev = exp["event"]
                    got = [
                        (e.get("reason"), e.get("message"))
                        for e in _warnings_for(events, ev["kind"], ev["name"])
                    ]
                    problems.append(
                        f"{c['id']}: no Warning {ev['reason']} containing {ev['message']!r} on "
                        f"{ev['kind']} {ev['name']}; its warnings: {got}"
                    )
                for host in c.get("routed", []):
                    if host not in hosts_in(kong.config):
                        problems.append(f"{c['id']}: {host} is not routed")
                for host in c.get("not_routed", []):
                    if host in hosts_in(kong.config):
                        problems.append(f"{c['id']}: {host} is routed without its plugin")
            assert not problems, "\n".join(problems)
            assert baseline_works(kong.config)
            assert LATE_HOST in hosts_in(kong.config)
            # still up: probes answer, and the last config went to Kong
            async with httpx.AsyncClient() as probe:
                r = await probe.get(f"http://127.0.0.1:{controller.probe_port}/healthz")
                assert r.status_code == 200
            assert controller.applied_hashes().get(kong.url.rstrip("/")) is not None

            section.operations += created + len(refused) + 1
            section.objects += created
            section.faults["bad_input_cases"] += len(CASES)
            section.faults["apiserver_refusals"] += len(refused)
            section.converged_in(time.monotonic() - started)
            section.notes["cases"] = len(CASES)
            section.notes["warning_events"] = sum(1 for e in events if e.get("type") == "Warning")
            nursery.cancel_scope.cancel()
