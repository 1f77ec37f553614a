"""Operability against the real control plane: the deploy/ RBAC is enough (and needed), metrics
move on pushes and failures, and no secret ever reaches a log record."""

from __future__ import annotations

import base64
import logging
import ssl
from pathlib import Path
from typing import Any

import httpx
import trio
import yaml
from test_controller import _config, hosts_in, service_and_ingress

import kic_trio
from _eventually import eventually
from kic_trio.testing import FakeKong, apply
from kic_trio.testing.controlplane import ControlPlane

ROOT = Path(__file__).resolve().parents[2]


def _rbac_for(namespace: str, lease_namespace: str) -> list[dict[str, Any]]:
    """deploy/rbac.yaml with the ServiceAccount's namespace moved to ``lease_namespace``."""
    docs = [d for d in yaml.safe_load_all((ROOT / "deploy" / "rbac.yaml").read_text()) if d]
    out = []
    for doc in docs:
        doc = dict(doc)
        meta = dict(doc["metadata"])
        if meta.get("namespace") == "kong":
            meta["namespace"] = lease_namespace
        # cluster-scoped names must not collide between test runs on one control plane
        if doc["kind"] in ("ClusterRole", "ClusterRoleBinding"):
            meta["name"] = f"kic-trio-{namespace}"
        doc["metadata"] = meta
        if "subjects" in doc:
            doc["subjects"] = [dict(s, namespace=lease_namespace) for s in doc["subjects"]]
        if doc["kind"] == "ClusterRoleBinding":
            doc["roleRef"] = dict(doc["roleRef"], name=f"kic-trio-{namespace}")
        out.append(doc)
    return out


async def test_controller_runs_with_exactly_the_deploy_rbac(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    user = f"system:serviceaccount:{ns}:kic-trio"
    kubeconfig = control_plane.add_user(user, ["system:serviceaccounts", f"system:serviceaccounts:{ns}"])
    with trio.fail_after(90):
        async with FakeKong() as kong, control_plane.admin_client() as admin:
            # Before the RBAC is applied the identity can do nothing: the check is real.
            cfg = _config(
                kubeconfig, kong, ns,
                leader_election=True, election_namespace=ns,
                pod_name="kic-0", pod_namespace=ns,
                init_cache_sync_duration=3.0,
            )
            ctx = ssl.create_default_context(cafile=str(control_plane.ca_cert))
            ctx.load_cert_chain(*_client_cert(kubeconfig))
            async with httpx.AsyncClient(base_url=control_plane.url, verify=ctx) as as_user:
                r = await as_user.get(f"/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses")
                assert r.status_code == 403

            await apply(admin, _rbac_for(ns, ns))
            await apply(admin, [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "kic-0"},
                                 "spec": {"containers": [{"name": "c", "image": "kic-trio"}]}}], namespace=ns)
            bad_and_good = service_and_ingress("web", "web.example.com")
            bad = service_and_ingress("bad", "bad.example.com")[2]
            bad["metadata"]["annotations"] = {"konghq.com/plugins": "does-not-exist"}
            await apply(admin, [*bad_and_good, bad], namespace=ns)

            async with trio.open_nursery() as nursery:
                controller = await nursery.start(kic_trio.run, cfg)
                await controller.wait_ready()
                assert controller.is_leader
                await kong.wait_for(lambda k: "web.example.com" in hosts_in(k.config))
                # status written (patch ingresses/status)

                async def lb_status() -> Any:
                    ing = (await admin.get(f"/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses/web")).json()
                    return ing.get("status", {}).get("loadBalancer", {}).get("ingress")

                assert await eventually(lb_status, interval=0.1) == [{"ip": "192.0.2.10"}]
                # events created (create/patch events) on the bad object and the Pod
                await eventually(lambda: _events_for(admin, ns, "bad"), interval=0.1)
                await eventually(lambda: _events_for(admin, ns, "kic-0"), interval=0.1)
                # the Lease is ours (get/create/update leases)
                lease = (await admin.get(f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{cfg.election_id}")).json()
                assert lease["spec"]["holderIdentity"]
                nursery.cancel_scope.cancel()


def _client_cert(kubeconfig: Path) -> tuple[str, str]:
    user = yaml.safe_load(kubeconfig.read_text())["users"][0]["user"]
    return user["client-certificate"], user["client-key"]


async def _events_for(client: httpx.AsyncClient, ns: str, name: str) -> list[dict[str, Any]]:
    found = []
    r = await client.get(f"/api/v1/namespaces/{ns}/events")
    for ev in r.json().get("items", []):
        if ev.get("involvedObject", {}).get("name") == name:
            found.append(ev)
    r = await client.get(f"/apis/events.k8s.io/v1/namespaces/{ns}/events")
    for ev in r.json().get("items", []):
        if ev.get("regarding", {}).get("name") == name and ev not in found:
            found.append(ev)
    return found


def _sample(registry: Any, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    return float(value or 0.0)


async def test_metrics_move_on_pushes_and_failures(
    control_plane: ControlPlane, kubeconfig: Path, k8s_namespace: str
) -> None:
    with trio.fail_after(90):
        async with FakeKong() as kong, control_plane.admin_client() as admin:
            await apply(admin, service_and_ingress("web", "web.example.com"), namespace=k8s_namespace)
            cfg = _config(kubeconfig, kong, k8s_namespace)
            async with trio.open_nursery() as nursery:
                controller = await nursery.start(kic_trio.run, cfg)
                await controller.wait_ready()
                reg, iid = controller.metrics_registry, controller.instance_id
                ok = dict(success="true", protocol="db-less", failure_reason="", dataplane=kong.url, instance_id=iid)
                assert _sample(reg, "ingress_controller_configuration_push_count_total", **ok) >= 1
                assert _sample(reg, "ingress_controller_translation_count_total", success="true", instance_id=iid) >= 1
                assert _sample(reg, "ingress_controller_configuration_push_last_successful", dataplane=kong.url, instance_id=iid) > 0
                assert _sample(reg, "kic_trio_store_objects", kind="Ingress", instance_id=iid) == 1
                assert _sample(reg, "kic_trio_watch_events_total", kind="Ingress", type="ADDED", instance_id=iid) + _sample(
                    reg, "kic_trio_watch_events_total", kind="Ingress", type="LISTED", instance_id=iid
                ) >= 0  # the list may carry it rather than a watch event

                # a change is applied: success count and sync latency move
                before = _sample(reg, "ingress_controller_configuration_push_count_total", **ok)
                await apply(admin, service_and_ingress("two", "two.example.com"), namespace=k8s_namespace)
                await kong.wait_for(lambda k: "two.example.com" in hosts_in(k.config))
                await eventually(lambda: _sample(reg, "ingress_controller_configuration_push_count_total", **ok) > before)
                assert _sample(reg, "kic_trio_sync_latency_seconds_count", dataplane=kong.url, instance_id=iid) >= 1

                # Kong rejects an entity: failure count moves, broken resources counted
                kong.reject_tags = frozenset({f"k8s-namespace:{k8s_namespace}"})
                await apply(admin, service_and_ingress("three", "three.example.com"), namespace=k8s_namespace)
                failed = dict(success="false", protocol="db-less", dataplane=kong.url, instance_id=iid)
                await eventually(
                    lambda: sum(
                        _sample(reg, "ingress_controller_configuration_push_count_total", failure_reason=reason, **failed)
                        for reason in ("conflict", "network", "other")
                    )
                    >= 1
                )
                assert _sample(reg, "ingress_controller_configuration_push_broken_resource_count", dataplane=kong.url, instance_id=iid) >= 1

                # and /metrics serves all of it
                async with httpx.AsyncClient() as client:
                    text = (await client.get(f"http://127.0.0.1:{controller.metrics_port}/metrics")).text
                for name in (
                    "ingress_controller_configuration_push_count_total",
                    "ingress_controller_configuration_push_duration_milliseconds_bucket",
                    "ingress_controller_configuration_push_size",
                    "ingress_controller_translation_duration_milliseconds_bucket",
                    "ingress_controller_translation_broken_resource_count",
                    "kic_trio_watch_events_total",
                    "kic_trio_store_objects",
                ):
                    assert name in text, name
                nursery.cancel_scope.cancel()


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=1)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        parts = [record.getMessage(), repr(record.args)]
        parts += [repr(v) for k, v in vars(record).items() if k not in ("msg", "args")]
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
        self.lines.append(" ".join(parts))


TLS_KEY_MARK = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7secretkeymaterial"


async def test_no_secret_reaches_any_log_record(
    control_plane: ControlPlane, kubeconfig: Path, k8s_namespace: str
) -> None:
    token = "adm1n-t0ken-PLANTED-7f3a"
    key_value = "key-auth-PLANTED-9c1e"
    password = "basic-pass-PLANTED-2b8d"
    planted = (token, key_value, password, TLS_KEY_MARK)
    capture = _Capture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(capture)
    root.setLevel(1)
    kic = logging.getLogger("kic_trio")
    old_kic_level = kic.level
    kic.setLevel(1)
    try:
        with trio.fail_after(90):
            async with FakeKong(admin_token=token) as kong, control_plane.admin_client() as admin:
                objs = service_and_ingress("web", "web.example.com")
                objs += [
                    {"apiVersion": "v1", "kind": "Secret",
                     "metadata": {"name": "alice-key", "labels": {"konghq.com/credential": "key-auth"}},
                     "stringData": {"key": key_value}},
                    {"apiVersion": "v1", "kind": "Secret",
                     "metadata": {"name": "alice-basic", "labels": {"konghq.com/credential": "basic-auth"}},
                     "stringData": {"username": "alice", "password": password}},
                    {"apiVersion": "configuration.konghq.com/v1", "kind": "KongConsumer",
                     "metadata": {"name": "alice", "annotations": {"kubernetes.io/ingress.class": "kong"}},
                     "username": "alice", "credentials": ["alice-key", "alice-basic"]},
                    # a TLS Secret whose "key" is garbage carrying a marker: it must fail
                    # translation without the key appearing in any message
                    {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                     "metadata": {"name": "broken-tls"},
                     "data": {"tls.crt": base64.b64encode(b"not a cert").decode(),
                              "tls.key": base64.b64encode(f"-----BEGIN PRIVATE KEY-----\n{TLS_KEY_MARK}\n-----END PRIVATE KEY-----\n".encode()).decode()}},
                ]
                tls_ing = service_and_ingress("secure", "secure.example.com")[2]
                tls_ing["spec"]["tls"] = [{"hosts": ["secure.example.com"], "secretName": "broken-tls"}]
                objs.append(tls_ing)
                await apply(admin, objs, namespace=k8s_namespace)
                cfg = _config(kubeconfig, kong, k8s_namespace, kong_admin_token=token, log_level="trace")
                async with trio.open_nursery() as nursery:
                    controller = await nursery.start(kic_trio.run, cfg)
                    await controller.wait_ready()
                    await kong.wait_for(lambda k: bool(k.config.get("consumers")))
                    # a 500 (retried with backoff), then a 400 (kept until the config changes)
                    kong.fail_next(1, 500)
                    await apply(admin, service_and_ingress("two", "two.example.com"), namespace=k8s_namespace)
                    await kong.wait_for(lambda k: "two.example.com" in hosts_in(k.config))
                    async with controller.subscribe() as events:
                        kong.fail_next(1, 400)
                        await apply(admin, service_and_ingress("three", "three.example.com"), namespace=k8s_namespace)
                        async for event in events:
                            if isinstance(event, kic_trio.PushFailed):
                                break
                    await apply(admin, service_and_ingress("four", "four.example.com"), namespace=k8s_namespace)
                    await kong.wait_for(lambda k: "four.example.com" in hosts_in(k.config))
                    nursery.cancel_scope.cancel()
    finally:
        root.removeHandler(capture)
        root.setLevel(old_level)
        kic.setLevel(old_kic_level)
    assert len(capture.lines) > 10, "the test must actually have captured the controller's logs"
    for line in capture.lines:
        for secret in planted:
            assert secret not in line, f"secret leaked into a log record: {line[:300]}"


def test_config_repr_never_shows_the_token() -> None:
    cfg = kic_trio.Config(kong_admin_token="repr-s3cret-value")
    assert "repr-s3cret-value" not in repr(cfg)
    assert "repr-s3cret-value" not in str(cfg)
