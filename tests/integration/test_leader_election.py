"""Leader election against a real kube-apiserver: one leader, fast hand-over, takeover after death."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import trio

import kic_trio
from _eventually import eventually
from kic_trio._errors import KubernetesError
from kic_trio.k8s._client import KubeClient, open_kube_client
from kic_trio.k8s._leader import KubeRequester, LeaderElector
from kic_trio.testing.controlplane import ControlPlane

# Short timings keep most tests quick; one test runs upstream's real 15 s / 10 s / 2 s.
SHORT = {"lease_duration": 3.0, "renew_deadline": 2.0, "retry_period": 0.5}


class Kube:
    """The project's ``KubeClient``, with a switch that cuts this client off (a partition)."""

    def __init__(self, client: KubeClient) -> None:
        self.client = client
        self.broken = False
        #: (who, method, "sent" | "answered") of every request, in order; who is "" unless
        #: the request came through :class:`As`
        self.log: list[tuple[str, str, str]] = []
        #: who -> streams (watches) open now
        self.streams: dict[str, int] = {}

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        headers: Any = None,
        who: str = "",
    ) -> httpx.Response:
        if self.broken:
            raise KubernetesError("connection refused (test partition)")
        self.log.append((who, method, "sent"))
        try:
            return await self.client.request(
                method, path, params=params, json=json, headers=headers
            )
        finally:
            self.log.append((who, method, "answered"))

    @contextlib.asynccontextmanager
    async def stream(
        self, method: str, path: str, *, params: Any = None, who: str = ""
    ) -> AsyncIterator[httpx.Response]:
        if self.broken:
            raise KubernetesError("connection refused (test partition)")
        async with self.client.stream(method, path, params=params) as resp:
            self.streams[who] = self.streams.get(who, 0) + 1
            try:
                yield resp
            finally:
                self.streams[who] -= 1

    def saw_a_write_after(self, who: str) -> bool:
        """Whether ``who`` sent a request after someone else's write (a renew) was answered."""
        write_done = False
        for caller, method, step in self.log:
            if caller != who and method in ("PUT", "POST") and step == "answered":
                write_done = True
            elif caller == who and step == "sent" and write_done:
                return True
        return False


class As:
    """One elector's view of a shared :class:`Kube`: its requests are logged under ``who``."""

    def __init__(self, kube: Kube, who: str, *, can_stream: bool = True) -> None:
        self.kube, self.who = kube, who
        if can_stream:
            self.stream = functools.partial(kube.stream, who=who)

    async def request(
        self, method: str, path: str, *, params: Any = None, json: Any = None, headers: Any = None
    ) -> httpx.Response:
        return await self.kube.request(
            method, path, params=params, json=json, headers=headers, who=self.who
        )


@contextlib.asynccontextmanager
async def kube_client(cp: ControlPlane) -> AsyncIterator[Kube]:
    cfg = kic_trio.Config(kong_admin_url=["http://127.0.0.1:8001"], kubeconfig=str(cp.kubeconfig))
    async with open_kube_client(cfg) as client:
        yield Kube(client)


async def lease_holder(kube: Kube, namespace: str) -> str | None:
    resp = await kube.request(
        "GET", f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/election"
    )
    holder: str | None = resp.json()["spec"].get("holderIdentity")
    return holder


def elector(kube: KubeRequester, namespace: str, identity: str, **kwargs: Any) -> LeaderElector:
    return LeaderElector(kube, namespace=namespace, name="election", identity=identity, **kwargs)


async def watch_for_two_leaders(*electors: LeaderElector) -> None:
    """Fail the test the moment two electors believe they lead."""
    while True:
        assert sum(e.state.is_leader for e in electors) <= 1, "two leaders at once"
        await trio.sleep(0.01)


async def first_leader(*electors: LeaderElector) -> LeaderElector:
    winner: list[LeaderElector] = []
    async with trio.open_nursery() as nursery:

        async def wait(e: LeaderElector) -> None:
            await e.state.wait_leader()
            winner.append(e)
            nursery.cancel_scope.cancel()

        for e in electors:
            nursery.start_soon(wait, e)
    return winner[0]


async def test_two_electors_exactly_one_leads(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    with trio.fail_after(30):
        async with kube_client(control_plane) as kube:
            a = elector(kube, k8s_namespace, "a", **SHORT)
            b = elector(kube, k8s_namespace, "b", **SHORT)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(watch_for_two_leaders, a, b)
                await nursery.start(a.run)
                await nursery.start(b.run)
                leader = await first_leader(a, b)
                # several lease durations of renewals: the same single leader throughout
                await trio.sleep(4 * SHORT["lease_duration"])
                assert leader.state.is_leader
                assert await lease_holder(kube, k8s_namespace) == leader.identity
                nursery.cancel_scope.cancel()


async def test_cancelled_leader_hands_over_at_once_with_real_timings(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    """At upstream's 15/10/2 a successor would wait 15 s; the release makes it ~one retry."""
    with trio.fail_after(40):
        async with kube_client(control_plane) as kube:
            a = elector(kube, k8s_namespace, "a")
            # no watch: the retry finds it
            b = elector(As(kube, "b", can_stream=False), k8s_namespace, "b")
            async with trio.open_nursery() as nursery:
                nursery.start_soon(watch_for_two_leaders, a, b)
                a_scope = trio.CancelScope()
                a_done = trio.Event()

                async def run_a() -> None:
                    with a_scope:
                        await a.run()
                    a_done.set()

                nursery.start_soon(run_a)
                await a.state.wait_leader()
                await nursery.start(b.run)
                await eventually(lambda: kube.saw_a_write_after("b"))  # b has seen a renew
                assert not b.state.is_leader
                a_scope.cancel()
                await a_done.wait()
                assert await lease_holder(kube, k8s_namespace) is None  # released
                with trio.fail_after(3):  # the bound; without the release: >= 15 s
                    await b.state.wait_leader()
                assert await lease_holder(kube, k8s_namespace) == "b"
                nursery.cancel_scope.cancel()


async def test_leader_that_dies_without_releasing_is_replaced_after_the_lease(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    """A leader that just stops (SIGKILL: no release) is replaced once its lease runs out."""
    with trio.fail_after(30):
        async with kube_client(control_plane) as kube:
            a = elector(kube, k8s_namespace, "a", release_on_cancel=False, **SHORT)
            b = elector(kube, k8s_namespace, "b", **SHORT)
            async with trio.open_nursery() as nursery:
                a_scope = trio.CancelScope()
                a_done = trio.Event()

                async def run_a() -> None:
                    with a_scope:
                        await a.run()
                    a_done.set()

                nursery.start_soon(run_a)
                await a.state.wait_leader()
                await nursery.start(b.run)
                await trio.sleep(1)
                a_scope.cancel()
                await a_done.wait()
                assert await lease_holder(kube, k8s_namespace) == "a"  # not released
                # within the lease duration plus one retry (with its jitter) plus request time
                with trio.fail_after(SHORT["lease_duration"] + 1.2 * SHORT["retry_period"] + 1.0):
                    await b.state.wait_leader()
                assert await lease_holder(kube, k8s_namespace) == "b"
                nursery.cancel_scope.cancel()


async def test_partitioned_leader_steps_down_and_the_other_takes_over(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    with trio.fail_after(30):
        async with kube_client(control_plane) as kube_a, kube_client(control_plane) as kube_b:
            a = elector(kube_a, k8s_namespace, "a", **SHORT)
            b = elector(kube_b, k8s_namespace, "b", **SHORT)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(watch_for_two_leaders, a, b)
                await nursery.start(a.run)
                await a.state.wait_leader()
                await nursery.start(b.run)
                await trio.sleep(1)
                kube_a.broken = True
                await a.state.wait_changed()  # stepped down by the renew deadline ...
                await b.state.wait_leader()  # ... before b could take over
                kube_a.broken = False
                await trio.sleep(2 * SHORT["lease_duration"])
                assert b.state.is_leader and not a.state.is_leader
                lease = await kube_b.request(
                    "GET",
                    f"/apis/coordination.k8s.io/v1/namespaces/{k8s_namespace}/leases/election",
                )
                assert lease.json()["spec"]["leaseTransitions"] == 1
                nursery.cancel_scope.cancel()


async def test_watching_follower_takes_over_a_released_lease_without_waiting_for_its_retry(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    """With a 6 s retry period only the watch on the Lease can make the hand-over this quick."""
    timings = {"lease_duration": 15.0, "renew_deadline": 10.0, "retry_period": 6.0}
    with trio.fail_after(40):
        async with kube_client(control_plane) as kube:
            a = elector(kube, k8s_namespace, "a", **timings)
            b = elector(As(kube, "b"), k8s_namespace, "b", **timings)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(watch_for_two_leaders, a, b)
                a_scope = trio.CancelScope()
                a_done = trio.Event()

                async def run_a() -> None:
                    with a_scope:
                        await a.run()
                    a_done.set()

                nursery.start_soon(run_a)
                await a.state.wait_leader()
                await nursery.start(b.run)
                # b failed one attempt and now waits, watching
                await eventually(lambda: kube.streams.get("b", 0) >= 1)
                assert not b.state.is_leader
                a_scope.cancel()
                await a_done.wait()
                with trio.fail_after(2):  # < the 6 s retry period
                    await b.state.wait_leader()
                nursery.cancel_scope.cancel()


async def test_election_works_with_only_get_create_update_on_leases(
    control_plane: ControlPlane, k8s_namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Without ``watch`` on Leases (a tighter Role) followers fall back to polling."""
    caplog.set_level(logging.DEBUG, logger="kic_trio.leader")
    user = f"elector-{k8s_namespace}"
    rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{k8s_namespace}"
    with trio.fail_after(30):
        async with kube_client(control_plane) as admin:
            await admin.request(
                "POST",
                f"{rbac}/roles",
                json={
                    "metadata": {"name": "lease"},
                    "rules": [
                        {
                            "apiGroups": ["coordination.k8s.io"],
                            "resources": ["leases"],
                            "verbs": ["get", "create", "update"],
                        }
                    ],
                },
            )
            await admin.request(
                "POST",
                f"{rbac}/rolebindings",
                json={
                    "metadata": {"name": "lease"},
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "Role",
                        "name": "lease",
                    },
                    "subjects": [{"kind": "User", "name": user}],
                },
            )
            cfg = kic_trio.Config(
                kong_admin_url=["http://127.0.0.1:8001"],
                kubeconfig=str(control_plane.add_user(user)),
            )
            async with open_kube_client(cfg) as client:
                kube = Kube(client)
                a = elector(kube, k8s_namespace, "a", **SHORT)
                b = elector(kube, k8s_namespace, "b", **SHORT)
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(watch_for_two_leaders, a, b)
                    a_scope = trio.CancelScope()
                    a_done = trio.Event()

                    async def run_a() -> None:
                        with a_scope:
                            await a.run()
                        a_done.set()

                    nursery.start_soon(run_a)
                    await a.state.wait_leader()
                    await nursery.start(b.run)
                    await trio.sleep(1)
                    a_scope.cancel()
                    await a_done.wait()
                    assert await lease_holder(admin, k8s_namespace) is None  # released
                    with trio.fail_after(1.2 * SHORT["retry_period"] + 1.0):
                        await b.state.wait_leader()
                    nursery.cancel_scope.cancel()
            assert "watch failed" in caplog.text and " 403 " in caplog.text
