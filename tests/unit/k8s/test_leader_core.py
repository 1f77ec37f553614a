"""Leader election: the Lease record rules (pure) and the elector's timing (MockClock).

The timing tests need virtual time, which a real API server cannot follow, so they run the
elector against ``LeaseAPI`` below: a few lines that keep one Lease with the API server's
optimistic-concurrency rule (a write with a stale ``resourceVersion`` gets 409). Everything
else about the Lease API is exercised against a real kube-apiserver in
tests/integration/test_leader_election.py.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import trio
import trio.testing

import kic_trio
from kic_trio._errors import KubernetesError
from kic_trio._lifecycle import LeadershipGained, LeadershipLost, LifecycleBus
from kic_trio.k8s._leader import (
    AlwaysLeader,
    LeaderElector,
    LeaderState,
    LeaseRecord,
    format_micro_time,
    leader_election_enabled,
    make_leader,
    next_record,
    parse_time,
    released_record,
)

NOW = datetime(2026, 11, 28, 5, 0, 0, 123456, tzinfo=UTC)


# -- pure rules ---------------------------------------------------------------------------------


def test_micro_time_round_trips_with_six_digits() -> None:
    text = format_micro_time(NOW)
    assert text == "2026-11-28T05:00:00.123456Z"
    assert parse_time(text) == NOW
    assert parse_time("garbage") is None
    assert parse_time(None) is None


def test_missing_lease_is_created_by_us() -> None:
    rec = next_record(None, "me", held_by_other=False, lease_duration=15, now=NOW)
    assert rec == LeaseRecord("me", 15, format_micro_time(NOW), format_micro_time(NOW), 0)


def test_renewal_keeps_acquire_time_and_transitions() -> None:
    current = LeaseRecord("me", 15, "2026-01-01T00:00:00.000000Z", "2026-01-01T00:00:05.000000Z", 3)
    rec = next_record(current, "me", held_by_other=False, lease_duration=15, now=NOW)
    assert rec is not None
    assert (rec.holder, rec.acquire_time, rec.transitions) == ("me", current.acquire_time, 3)
    assert rec.renew_time == format_micro_time(NOW)


def test_valid_lease_of_another_holder_is_left_alone() -> None:
    current = LeaseRecord("other", 15, "a", "b", 1)
    assert next_record(current, "me", held_by_other=True, lease_duration=15, now=NOW) is None


def test_expired_or_released_lease_is_taken_as_a_new_term() -> None:
    expired = LeaseRecord("other", 15, "a", "b", 1)
    taken = next_record(expired, "me", held_by_other=False, lease_duration=15, now=NOW)
    assert taken is not None and (taken.holder, taken.transitions) == ("me", 2)
    released = released_record(LeaseRecord("other", 15, "a", "b", 4), NOW)
    assert released.holder == "" and released.lease_duration_seconds == 1
    taken = next_record(released, "me", held_by_other=True, lease_duration=15, now=NOW)
    assert taken is not None and (taken.holder, taken.transitions) == ("me", 5)


def test_record_parsing_tolerates_junk_and_omits_an_empty_holder() -> None:
    assert LeaseRecord.from_spec(None) == LeaseRecord()
    rec = LeaseRecord.from_spec(
        {"holderIdentity": 7, "leaseDurationSeconds": True, "leaseTransitions": 2}
    )
    assert rec == LeaseRecord("", 0, None, None, 2)
    assert "holderIdentity" not in LeaseRecord("", 1, "a", "a", 2).to_spec()
    assert LeaseRecord.from_spec(LeaseRecord("x", 15, "a", "b", 1).to_spec()) == LeaseRecord(
        "x", 15, "a", "b", 1
    )


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"kong_admin_url": ["http://k:8001"]}, False),  # static URLs: each sidecar its own Kong
        ({"kong_admin_svc": "kong/kong-admin"}, True),  # gateway discovery: one leader pushes
        ({"kong_admin_url": ["http://k:8001"], "leader_election": True}, True),
        ({"kong_admin_svc": "kong/kong-admin", "leader_election": "disabled"}, False),
    ],
)
def test_mode_follows_upstream(kwargs: dict[str, Any], expected: bool) -> None:
    assert leader_election_enabled(kic_trio.Config(**kwargs)) is expected


def test_make_leader_picks_namespace_and_mode() -> None:
    api = LeaseAPI()
    cfg = kic_trio.Config(kong_admin_svc="kong/kong-admin", pod_namespace="kong", pod_name="kic-0")
    elector = make_leader(cfg, api.client("x"))
    assert isinstance(elector, LeaderElector)
    assert (elector.namespace, elector.name) == ("kong", "5b374a9e.konghq.com")
    assert elector.identity.startswith("kic-0_")
    other = make_leader(cfg, api.client("y"))
    assert isinstance(other, LeaderElector) and other.identity != elector.identity
    cfg = kic_trio.Config(kong_admin_url=["http://k:8001"])
    assert isinstance(make_leader(cfg, api.client("x")), AlwaysLeader)


def test_election_namespace_falls_back_to_the_clients_namespace() -> None:
    api = LeaseAPI()
    client = api.client("x")
    cfg = kic_trio.Config(kong_admin_svc="kong/kong-admin")
    with pytest.raises(ValueError, match="namespace"):
        make_leader(cfg, client)
    client.namespace = "kong-system"  # what KubeClient knows from the service account
    elector = make_leader(cfg, client)
    assert isinstance(elector, LeaderElector) and elector.namespace == "kong-system"
    cfg = kic_trio.Config(
        kong_admin_svc="kong/kong-admin", pod_namespace="kong", election_namespace="elect"
    )
    elector = make_leader(cfg, client)
    assert isinstance(elector, LeaderElector) and elector.namespace == "elect"


def test_bad_timings_are_refused() -> None:
    api = LeaseAPI()
    with pytest.raises(ValueError, match="lease_duration"):
        LeaderElector(api.client("a"), namespace="ns", lease_duration=5, renew_deadline=5)
    with pytest.raises(ValueError, match="retry_period"):
        LeaderElector(api.client("a"), namespace="ns", renew_deadline=2, retry_period=2)
    with pytest.raises(ValueError, match="namespace"):
        LeaderElector(api.client("a"), namespace="")


# -- timing, on virtual time ----------------------------------------------------------------------


class LeaseAPI:
    """One namespace's Leases with resourceVersion preconditions; clients can be cut off."""

    def __init__(self) -> None:
        self.leases: dict[str, dict[str, Any]] = {}
        self.rv = 0
        self.writes = 0

    def client(self, name: str) -> Client:
        return Client(self, name)


class Client:
    def __init__(self, api: LeaseAPI, name: str) -> None:
        self.api = api
        self.name = name
        self.broken = False
        self.namespace = ""

    async def request(
        self, method: str, path: str, *, params: Any = None, json: Any = None, headers: Any = None
    ) -> httpx.Response:
        await trio.sleep(0.01)  # a request takes time
        if self.broken:
            raise KubernetesError("connection refused")
        api = self.api
        base = "/apis/coordination.k8s.io/v1/namespaces/ns/leases"
        if method == "POST" and path == base:
            name = json["metadata"]["name"]
            if name in api.leases:
                raise KubernetesError("exists", status=409)
            return self._store(name, json)
        name = path.removeprefix(base + "/")
        if name not in api.leases:
            raise KubernetesError("not found", status=404)
        if method == "GET":
            return _response(api.leases[name])
        if method == "PUT":
            if (
                json["metadata"].get("resourceVersion")
                != api.leases[name]["metadata"]["resourceVersion"]
            ):
                raise KubernetesError("conflict", status=409)
            return self._store(name, json)
        raise AssertionError(f"unexpected {method} {path}")

    def _store(self, name: str, obj: dict[str, Any]) -> httpx.Response:
        api = self.api
        api.rv += 1
        api.writes += 1
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = str(api.rv)
        api.leases[name] = obj
        return _response(obj)


def _response(obj: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, content=json.dumps(obj).encode())


def _elector(
    api: LeaseAPI, name: str, bus: LifecycleBus | None = None
) -> tuple[LeaderElector, Client]:
    client = api.client(name)
    elector = LeaderElector(
        client,
        namespace="ns",
        name="lease",
        identity=name,
        lease_duration=15,
        renew_deadline=10,
        retry_period=2,
        bus=bus,
    )
    return elector, client


async def _never_two_leaders(*electors: LeaderElector) -> None:
    while True:
        assert sum(e.state.is_leader for e in electors) <= 1
        await trio.sleep(0.05)


async def test_exactly_one_of_two_leads_and_cancel_hands_over_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    api = LeaseAPI()
    a, _ = _elector(api, "a")
    b, _ = _elector(api, "b")
    with trio.fail_after(120):
        async with trio.open_nursery() as outer:
            outer.start_soon(_never_two_leaders, a, b)
            a_scope = trio.CancelScope()
            a_done = trio.Event()

            async def run_a() -> None:
                with a_scope:
                    await a.run()
                a_done.set()

            outer.start_soon(run_a)
            await a.state.wait_leader()
            await outer.start(b.run)
            await trio.sleep(40)  # many renewals later, still one leader
            assert a.state.is_leader and not b.state.is_leader
            writes = api.writes
            a_scope.cancel()
            await a_done.wait()
            released_at = trio.current_time()
            assert not a.state.is_leader
            assert api.writes == writes + 1  # the release
            assert api.leases["lease"]["spec"].get("holderIdentity") is None
            await b.state.wait_leader()
            # picked up on b's next retry (2 s + at most 20% jitter), not after 15 s
            assert trio.current_time() - released_at <= 2 * 1.2 + 0.1
            assert api.leases["lease"]["spec"]["leaseTransitions"] == 1
            outer.cancel_scope.cancel()


async def test_leader_that_cannot_renew_steps_down_before_anyone_takes_over(
    autojump_clock: trio.testing.MockClock,
) -> None:
    api = LeaseAPI()
    bus = LifecycleBus()
    a, a_client = _elector(api, "a", bus)
    b, _ = _elector(api, "b")
    with trio.fail_after(120):
        async with bus.subscribe() as events, trio.open_nursery() as nursery:
            nursery.start_soon(_never_two_leaders, a, b)
            await nursery.start(a.run)
            await a.state.wait_leader()
            await nursery.start(b.run)
            await trio.sleep(5)
            a_client.broken = True  # partitioned from the API server (or SIGSTOPped)
            cut_at = trio.current_time()
            await a.state.wait_changed()
            stepped_down = trio.current_time() - cut_at
            assert stepped_down <= 10 + 0.1  # the renew deadline
            await b.state.wait_leader()
            taken_over = trio.current_time() - cut_at
            # b waits out the lease from when it last saw a renewal: within lease + one retry
            assert stepped_down < taken_over <= 15 + 2 * 1.2 + 0.1
            # a comes back, sees b's lease and stays a follower
            a_client.broken = False
            await trio.sleep(30)
            assert b.state.is_leader and not a.state.is_leader
            nursery.cancel_scope.cancel()
            seen = [events.receive_nowait() for _ in range(2)]
            assert seen == [LeadershipGained(), LeadershipLost()]
            with pytest.raises(trio.WouldBlock):
                events.receive_nowait()


async def test_cancelled_follower_does_not_touch_the_lease(
    autojump_clock: trio.testing.MockClock,
) -> None:
    api = LeaseAPI()
    a, _ = _elector(api, "a")
    b, _ = _elector(api, "b")
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            await nursery.start(a.run)
            await a.state.wait_leader()
            async with trio.open_nursery() as nb:
                await nb.start(b.run)
                await trio.sleep(5)
                before = api.leases["lease"]["spec"]["holderIdentity"]
                nb.cancel_scope.cancel()
            assert before == "a" and api.leases["lease"]["spec"]["holderIdentity"] == "a"
            nursery.cancel_scope.cancel()


async def test_always_leader_leads_until_cancelled() -> None:
    bus = LifecycleBus()
    state = LeaderState()
    with trio.fail_after(5):
        async with bus.subscribe() as events:
            async with trio.open_nursery() as nursery:
                await nursery.start(AlwaysLeader(bus=bus, state=state).run)
                assert state.is_leader
                await state.wait_leader()
                nursery.cancel_scope.cancel()
            assert not state.is_leader
            assert [events.receive_nowait(), events.receive_nowait()] == [
                LeadershipGained(),
                LeadershipLost(),
            ]


async def test_leader_state_waits() -> None:
    state = LeaderState()
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(state.wait_leader)
            await trio.testing.wait_all_tasks_blocked()
            state.set(True)
        assert state.terms == 1
        state.set(True)
        assert state.terms == 1
        async with trio.open_nursery() as nursery:
            nursery.start_soon(state.wait_changed)
            await trio.testing.wait_all_tasks_blocked()
            state.set(False)
        assert not state.is_leader
