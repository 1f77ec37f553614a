"""Every gateway down for a while (30 s in the long version, 8 s in the short one) while the
cluster keeps changing.

"Down" is a gateway whose port still accepts TCP connections but drops every one of them
before answering (a crashed Kong behind a still-listening load balancer, or a Kong that is
restarting): the stand-in listener records each request line it receives, so the requests
made during the outage are counted exactly. Then every gateway comes back *empty*, as a
restarted DB-less Kong does.

Expected:

* during the outage the push attempts stay within what the applier's exponential backoff
  allows (computed from its base, cap and least jitter), and ``/status`` probes within one per
  ``kong_status_check_interval``: no hammering of a dead gateway;
* after recovery each gateway gets the newest configuration once: every ``POST /config`` it
  receives carries the final configuration (no replay of the intermediate ones), exactly one
  is loaded (201), and it then holds the offline translation of the final cluster state.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import attrs
import trio
from _reliability import (
    LONG,
    Summary,
    config_of,
    controller_config,
    expected_translation,
    list_objects,
)

import kic_trio
from kic_trio.kong._applier import BACKOFF_BASE, BACKOFF_CAP
from kic_trio.testing import FakeKong, apply
from kic_trio.testing.controlplane import ControlPlane

OUTAGE = 30.0 if LONG else 8.0
CHANGES = 30 if LONG else 12
STATUS_INTERVAL = 1.0


def max_push_attempts(window: float) -> int:
    """The most ``POST /config`` attempts the backoff allows in ``window`` seconds: a first
    attempt, then retries after base * 2^n (capped), each shortened by the least jitter (x0.5)."""
    attempts, t, n = 1, 0.0, 0
    while True:
        t += min(BACKOFF_CAP, BACKOFF_BASE * 2**n) * 0.5
        if t > window:
            return attempts
        attempts += 1
        n += 1


@attrs.define
class Seen:
    method: str
    path: str
    at: float


class DeadGateway:
    """Listens on a dead gateway's port, records each request line, drops the connection."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.seen: list[Seen] = []

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(self.port, host="127.0.0.1")
        task_status.started()
        await trio.serve_listeners(self._handle, listeners)

    async def _handle(self, stream: trio.SocketStream) -> None:
        async with stream:
            data = b""
            with trio.move_on_after(5):
                while b"\r\n" not in data and len(data) < 8192:
                    chunk = await stream.receive_some(4096)
                    if not chunk:
                        break
                    data += chunk
            line = data.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            if len(line) >= 2:
                self.seen.append(Seen(line[0], line[1].split("?", 1)[0], trio.current_time()))

    def count(self, method: str, path: str) -> int:
        return sum(1 for s in self.seen if s.method == method and s.path == path)


def ingress(name: str, host: str) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name},
            "spec": {"ports": [{"name": "http", "port": 80, "protocol": "TCP"}]},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": name},
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
                                    "backend": {"service": {"name": name, "port": {"number": 80}}},
                                }
                            ]
                        },
                    }
                ],
            },
        },
    ]


async def test_kong_outage_then_newest_config_once(
    control_plane: ControlPlane, kubeconfig: Path, k8s_namespace: str, summary: Summary
) -> None:
    section = summary.section("kong_outage")
    ns = k8s_namespace
    with trio.fail_after(OUTAGE + 120):
        async with control_plane.admin_client() as admin, trio.open_nursery() as nursery:
            kongs = [FakeKong(), FakeKong()]
            for k in kongs:
                await nursery.start(k.serve)
            await apply(admin, ingress("app", "v0.example.com"), namespace=ns)
            cfg = controller_config(
                kubeconfig,
                kong_admin_url=[k.url for k in kongs],
                watch_namespace=[ns],
                kong_status_check_interval=STATUS_INTERVAL,
                proxy_timeout_seconds=5.0,
            )
            controller: kic_trio.Controller = await nursery.start(kic_trio.run, cfg)
            with trio.fail_after(30):
                await controller.wait_ready()
                for k in kongs:
                    await k.wait_for(lambda k: bool(k.config.get("services")))

            # -- the outage: every gateway's port drops every connection -----------------------
            dead: list[DeadGateway] = []
            for k in kongs:
                k.stop()
            await trio.sleep(0.6)  # hypercorn's graceful shutdown (0.5 s) closes the sockets
            async with trio.open_nursery() as outage:
                for k in kongs:
                    d = DeadGateway(k.port)
                    await outage.start(d.serve)
                    dead.append(d)
                began = trio.current_time()
                wall_began = time.monotonic()
                for i in range(1, CHANGES + 1):
                    await apply(admin, ingress("app", f"v{i}.example.com")[1:], namespace=ns)
                    await apply(
                        admin, ingress(f"extra-{i}", f"extra-{i}.example.com"), namespace=ns
                    )
                    await trio.sleep_until(began + OUTAGE * i / (CHANGES + 1))
                await trio.sleep_until(began + OUTAGE)
                outage.cancel_scope.cancel()
            window = trio.current_time() - began

            # -- recovery: the gateways come back empty, as a restarted DB-less Kong -----------
            objects = await list_objects(admin, [ns])
            want = config_of(expected_translation(cfg, objects).body)
            want_md5 = hashlib.md5(
                expected_translation(cfg, objects).body, usedforsecurity=False
            ).hexdigest()
            recovered_at: list[int] = []
            for k in kongs:
                k.restart_empty()
                recovered_at.append(len(k.requests))
                await nursery.start(k.serve)
            recovered = time.monotonic()
            with trio.fail_after(BACKOFF_CAP + 15):
                for k in kongs:
                    await k.wait_for(lambda k: k.config == want)
            section.converged_in(time.monotonic() - recovered)
            # room for a (wrong) replay to show up: two more status checks of every gateway
            for k in kongs:
                checks = sum(1 for r in k.requests if r.path == "/status")
                await k.wait_for(
                    lambda k, n=checks: sum(1 for r in k.requests if r.path == "/status") >= n + 2
                )

            bound = max_push_attempts(window)
            status_bound = int(window / STATUS_INTERVAL) + 2
            section.operations += 2 * CHANGES
            section.objects += sum(1 for o in objects if o["metadata"].get("namespace") == ns)
            section.faults["kong_outage"] += len(kongs)
            section.notes["outage_seconds"] = round(recovered - wall_began, 1)
            for idx, (k, d) in enumerate(zip(kongs, dead, strict=True)):
                posts = d.count("POST", "/config")
                statuses = d.count("GET", "/status")
                section.notes[f"gw{idx}_posts_during_outage"] = posts
                section.notes[f"gw{idx}_status_probes_during_outage"] = statuses
                section.notes["push_attempt_bound"] = bound
                assert 1 <= posts <= bound, (posts, bound, window)
                assert statuses <= status_bound, (statuses, status_bound)
                after = [
                    r
                    for r in k.requests[recovered_at[idx] :]
                    if r.method == "POST" and r.path == "/config"
                ]
                section.notes[f"gw{idx}_posts_after_recovery"] = [r.status for r in after]
                # nothing intermediate replayed: every push after recovery is the final config
                assert all(r.body_md5 == want_md5 for r in after), [r.body_md5 for r in after]
                assert [r.status for r in after].count(201) == 1, [r.status for r in after]
                assert k.config == want
            nursery.cancel_scope.cancel()
