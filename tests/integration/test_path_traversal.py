"""Path traversal through Secret references (issue 13): proved with the API server's audit log.

A tenant in the watched namespace ``team-a`` annotates Services with Secret "names" that climb
out of their namespace (``../../team-b/secrets/victim-tls``, the same percent-encoded, more
levels, through ``konghq.com/ca-certificates-secrets``). The controller runs with admin
credentials on purpose, so RBAC would not stop a stray GET: only the controller's own checks
stand between the tenant and ``team-b``. The audit log of a dedicated API server lists every
request the controller (user agent ``kic-trio``) made; none may address another namespace or
the victim Secret, while a valid reference in ``team-a`` is fetched (the control that shows the
fetcher was working), every hostile Service gets a failure, and the baseline route is served.
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import trio

import kic_trio
from _eventually import eventually
from k8s_objects import app, hosts_in
from kic_trio.testing import FakeKong, apply
from kic_trio.testing.controlplane import ControlPlane, binaries_present

pytestmark = pytest.mark.skipif(not binaries_present(), reason="control-plane binaries not built")

WATCHED, OTHER = "team-a", "team-b"

#: annotation -> hostile value; every one of them would reach team-b's Secret if put in a URL raw.
HOSTILE: dict[str, tuple[str, str]] = {
    "trav-plain": ("konghq.com/client-cert", "../../team-b/secrets/victim-tls"),
    "trav-encoded": ("konghq.com/client-cert", "..%2F..%2Fteam-b%2Fsecrets%2Fvictim-tls"),
    "trav-dots-encoded": ("konghq.com/client-cert", "%2e%2e/%2e%2e/team-b/secrets/victim-tls"),
    "trav-deep": (
        "konghq.com/client-cert",
        "../../../../api/v1/namespaces/team-b/secrets/victim-tls",
    ),
    "trav-query": ("konghq.com/client-cert", "x?fieldSelector=metadata.namespace%3Dteam-b"),
    "trav-ca": ("konghq.com/ca-certificates-secrets", "ok-name,../../team-b/secrets/victim-tls"),
}

VICTIM = "../../team-b/secrets/victim-tls"

AUDIT_POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
"""


def _audit(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def test_traversal_in_secret_references_makes_no_request_outside_the_watched_namespace(
    tmp_path: Path,
) -> None:
    policy = tmp_path / "audit-policy.yaml"
    policy.write_text(AUDIT_POLICY)
    log_path = tmp_path / "audit.log"
    args = [f"--audit-policy-file={policy}", f"--audit-log-path={log_path}"]
    with trio.fail_after(180):
        async with (
            ControlPlane(apiserver_args=args) as cp,
            FakeKong() as kong,
            cp.admin_client() as client,
        ):
            for ns in (WATCHED, OTHER):
                (
                    await client.post("/api/v1/namespaces", json={"metadata": {"name": ns}})
                ).raise_for_status()
            victim = {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "victim-tls"},
                "type": "Opaque",
                "data": {"tls.crt": "c2VjcmV0", "tls.key": "c2VjcmV0"},
            }
            await apply(client, [victim], namespace=OTHER)
            await apply(client, app("baseline", "baseline.example.com"), namespace=WATCHED)
            cfg = kic_trio.Config(
                kubeconfig=str(cp.kubeconfig),
                kong_admin_url=[kong.url],
                watch_namespace=[WATCHED],
                publish_status_address=["192.0.2.10"],
                health_probe_bind_address="127.0.0.1:0",
                metrics_bind_address="127.0.0.1:0",
                proxy_sync_seconds=0.2,
            )
            failed: set[str] = set()
            expected = {*HOSTILE, "control", "trav-plugin", "trav-consumer"}

            async def watch_failures(controller: kic_trio.Controller, task_status: Any) -> None:
                async with controller.subscribe() as events:
                    task_status.started()
                    async for event in events:
                        if isinstance(event, kic_trio.TranslationDone):
                            failed.update(f.obj.name for f in event.failures)

            async with trio.open_nursery() as nursery:
                controller: kic_trio.Controller = await nursery.start(kic_trio.run, cfg)
                await nursery.start(watch_failures, controller)
                await controller.wait_ready()
                await kong.wait_for(lambda k: "baseline.example.com" in hosts_in(k.config))
                # After the first sync: new references are fetched at once (a GET each).
                objects: list[dict[str, Any]] = []
                for name, (annotation, value) in HOSTILE.items():
                    objs = app(name, f"{name}.example.com")
                    # https + tls-verify: the CA list is only looked at on a verified TLS service
                    objs[0]["metadata"]["annotations"] = {
                        annotation: value,
                        "konghq.com/protocol": "https",
                        "konghq.com/tls-verify": "true",
                    }
                    objects.extend(objs)
                control = app("control", "control.example.com")
                control[0]["metadata"]["annotations"] = {"konghq.com/client-cert": "absent-tls"}
                objects.extend(control)
                # the other kinds that name Secrets: KongPlugin configFrom, consumer credentials
                # (an Ingress's spec.tls[].secretName is validated by the API server itself)
                plugin = {
                    "apiVersion": "configuration.konghq.com/v1",
                    "kind": "KongPlugin",
                    "metadata": {"name": "trav-plugin"},
                    "plugin": "key-auth",
                    "configFrom": {"secretKeyRef": {"name": VICTIM, "key": "tls.key"}},
                }
                protected = app(
                    "trav-protected",
                    "trav-protected.example.com",
                    annotations={"konghq.com/plugins": "trav-plugin"},
                )
                consumer = {
                    "apiVersion": "configuration.konghq.com/v1",
                    "kind": "KongConsumer",
                    "metadata": {
                        "name": "trav-consumer",
                        "annotations": {"kubernetes.io/ingress.class": "kong"},
                    },
                    "username": "trav",
                    "credentials": [VICTIM],
                }
                objects.extend([plugin, *protected, consumer])
                await apply(client, objects, namespace=WATCHED)
                await eventually(lambda: expected <= failed)
                # the control reference was really requested (the fetcher works and is audited)
                control_uri = f"/api/v1/namespaces/{WATCHED}/secrets/absent-tls"
                await eventually(
                    lambda: any(
                        e.get("requestURI") == control_uri
                        and e.get("userAgent", "").startswith("kic-trio")
                        for e in _audit(log_path)
                    )
                )
                assert "baseline.example.com" in hosts_in(kong.config)
                # a change applied after every failure was seen: once Kong has it, Kong has a
                # config translated with the hostile objects present
                await apply(client, app("after", "after.example.com"), namespace=WATCHED)
                await kong.wait_for(lambda k: "after.example.com" in hosts_in(k.config))
                # the objects naming a Secret by a traversal all got a failure (waited above);
                # what the translator does with the route of a plugin whose configFrom Secret is
                # missing is the fail-closed work of issue 13 part 3, not asserted here.
                nursery.cancel_scope.cancel()

    ours = [e for e in _audit(log_path) if str(e.get("userAgent", "")).startswith("kic-trio")]
    assert ours, "the audit log shows no request of the controller"
    for entry in ours:
        uri = str(entry["requestURI"])
        plain = urllib.parse.unquote(urllib.parse.unquote(uri))
        assert OTHER not in plain and "victim" not in plain, uri
        assert (entry.get("objectRef") or {}).get("namespace") in (None, WATCHED), uri
    # and no Secret other than the control one (and the watch's list) was asked for
    secret_gets = {
        e["requestURI"]
        for e in ours
        if (e.get("objectRef") or {}).get("resource") == "secrets" and e["verb"] == "get"
    }
    assert secret_gets <= {control_uri, f"/api/v1/namespaces/{WATCHED}/secrets/ok-name"}
