"""Two whole controllers (``run()``) on one API server and one Kong: only the leader pushes,
and the follower takes over when the leader stops (promptly) or dies (after the lease).

Timings are upstream's real 15 s / 10 s / 2 s (Config has no knobs for them)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import trio
import trio.testing

import kic_trio
from _eventually import eventually
from k8s_objects import app, hosts_in
from kic_trio.testing import FakeKong, apply
from kic_trio.testing.controlplane import ControlPlane

LEASE = "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/5b374a9e.konghq.com"


def ingress(name: str, host: str) -> list[dict[str, Any]]:
    return app(name, host, endpoints=False)


def flags(kubeconfig: Path, kong: FakeKong, namespace: str) -> dict[str, Any]:
    return {
        "kubeconfig": str(kubeconfig),
        "kong_admin_url": [kong.url],
        "watch_namespace": [namespace],
        "pod_namespace": namespace,
        "leader_election": True,
        "health_probe_bind_address": "127.0.0.1:0",
        "metrics_bind_address": "127.0.0.1:0",
        "proxy_sync_seconds": 0.2,
        "kong_admin_init_retries": 5,
        "kong_admin_init_retry_delay": 0.2,
    }


class Pushes:
    """Configurations each controller reports applied (not skipped)."""

    def __init__(self) -> None:
        self.by: dict[str, list[str]] = {}
        self.first: dict[str, trio.Event] = {}
        self.leadership: dict[str, list[str]] = {}
        #: hashes of the configurations each controller translated
        self.translated: dict[str, list[str]] = {}
        self._changed = trio.Event()

    async def wait_translated(self, name: str, config_hash: str) -> None:
        while config_hash not in self.translated.get(name, ()):
            await self._changed.wait()

    async def collect(self, name: str, controller: kic_trio.Controller) -> None:
        self.by.setdefault(name, [])
        first = self.first.setdefault(name, trio.Event())
        async with controller.subscribe() as events:
            async for event in events:
                if isinstance(event, kic_trio.ConfigApplied) and not event.skipped:
                    self.by[name].append(event.config_hash)
                    first.set()
                elif isinstance(event, kic_trio.LeadershipGained | kic_trio.LeadershipLost):
                    self.leadership.setdefault(name, []).append(type(event).__name__)
                elif isinstance(event, kic_trio.TranslationDone):
                    self.translated.setdefault(name, []).append(event.config_hash)
                    self._changed.set()
                    self._changed = trio.Event()


async def test_only_the_leader_pushes_and_a_stopped_leader_hands_over(
    control_plane: ControlPlane, kubeconfig: Path, k8s_namespace: str
) -> None:
    with trio.fail_after(120):
        async with FakeKong() as kong, control_plane.admin_client() as client:
            await apply(client, ingress("one", "one.example.com"), namespace=k8s_namespace)
            cfg = kic_trio.Config(**flags(kubeconfig, kong, k8s_namespace))
            pushes = Pushes()
            async with trio.open_nursery() as nursery:
                a: kic_trio.Controller = await nursery.start(kic_trio.run, cfg)
                nursery.start_soon(pushes.collect, "a", a)
                await kong.wait_for(lambda k: "one.example.com" in hosts_in(k.config))
                b: kic_trio.Controller = await nursery.start(kic_trio.run, cfg)
                nursery.start_soon(pushes.collect, "b", b)
                assert a.is_leader and not b.is_leader

                # a change while both run: pushed by the leader only
                await apply(client, ingress("two", "two.example.com"), namespace=k8s_namespace)
                await kong.wait_for(lambda k: "two.example.com" in hosts_in(k.config))
                # b has translated it too, and has had its chance to (wrongly) push: its
                # translation is done and every task of the test is blocked again
                await eventually(lambda: len(pushes.by["a"]) >= 2)  # a reported pushing "two"
                await pushes.wait_translated("b", pushes.by["a"][-1])
                await trio.testing.wait_all_tasks_blocked(cushion=0.2)
                assert pushes.by["b"] == [] and len(pushes.by["a"]) >= 2

                # stop the leader; the follower pushes the next change within 3 s
                a.stop()
                with trio.fail_after(3):
                    await apply(
                        client, ingress("three", "three.example.com"), namespace=k8s_namespace
                    )
                    await kong.wait_for(lambda k: "three.example.com" in hosts_in(k.config))
                await pushes.first["b"].wait()  # reported just after Kong answered
                assert b.is_leader
                # the hook on the handle: b's subscriber saw it become the leader
                assert pushes.leadership["b"] == ["LeadershipGained"]
                nursery.cancel_scope.cancel()


async def test_a_killed_leader_is_replaced_after_its_lease(
    control_plane: ControlPlane, kubeconfig: Path, k8s_namespace: str
) -> None:
    with trio.fail_after(120):
        async with FakeKong() as kong, control_plane.admin_client() as client:
            await apply(client, ingress("one", "one.example.com"), namespace=k8s_namespace)
            f = flags(kubeconfig, kong, k8s_namespace)
            argv = [
                sys.executable, "-m", "kic_trio", "run",
                "--kubeconfig", f["kubeconfig"],
                "--kong-admin-url", kong.url,
                "--watch-namespace", k8s_namespace,
                "--pod-namespace", k8s_namespace,
                "--pod-name", "doomed",
                "--leader-election", "true",
                "--health-probe-bind-address", "127.0.0.1:0",
                "--metrics-bind-address", "127.0.0.1:0",
                "--proxy-sync-seconds", "0.2",
            ]  # fmt: skip
            proc = await trio.lowlevel.open_process(
                argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            try:
                await kong.wait_for(lambda k: "one.example.com" in hosts_in(k.config))
                lease = (await client.get(LEASE.format(ns=k8s_namespace))).json()
                assert lease["spec"]["holderIdentity"].startswith("doomed_")

                cfg = kic_trio.Config(**flags(kubeconfig, kong, k8s_namespace))
                pushes = Pushes()
                async with trio.open_nursery() as nursery:
                    b: kic_trio.Controller = await nursery.start(kic_trio.run, cfg)
                    nursery.start_soon(pushes.collect, "b", b)
                    # a renews twice while b runs (every 2 s): b has tried for the Lease and
                    # seen it held in between
                    async def renew_time() -> str:
                        now = (await client.get(LEASE.format(ns=k8s_namespace))).json()
                        return str(now["spec"]["renewTime"])

                    seen = [await renew_time()]

                    async def renewed() -> bool:
                        current = await renew_time()
                        if current != seen[-1]:
                            seen.append(current)
                        return len(seen) >= 3

                    await eventually(renewed, interval=0.2)
                    assert not b.is_leader
                    proc.send_signal(signal.SIGKILL)
                    await proc.wait()
                    await apply(client, ingress("two", "two.example.com"), namespace=k8s_namespace)
                    # the dead leader's lease runs out (15 s from b's last sight of a renewal),
                    # then b's next retry (2 s, +20 % jitter) takes it; a second of slack for I/O
                    with trio.fail_after(15 + 2.4 + 1):
                        await kong.wait_for(lambda k: "two.example.com" in hosts_in(k.config))
                    await pushes.first["b"].wait()
                    assert b.is_leader
                    lease = (await client.get(LEASE.format(ns=k8s_namespace))).json()
                    assert lease["spec"]["leaseTransitions"] == 1
                    nursery.cancel_scope.cancel()
            finally:
                if proc.returncode is None:
                    proc.kill()
                    with trio.move_on_after(5) as cs:
                        cs.shield = True
                        await proc.wait()
