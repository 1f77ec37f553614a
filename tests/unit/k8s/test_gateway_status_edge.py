"""The Gateway API status edge (k8s/_gwstatus.py): bodies built from translator status,
other controllers' entries kept, only-when-different, resourceVersion precondition, leader-only."""

from __future__ import annotations

import copy
from typing import Any

import trio
import trio.testing

from kic_trio._errors import KubernetesError
from kic_trio._leadership import LeaderState
from kic_trio.k8s._gwstatus import GatewayStatusWriter, desired_status, same_status
from kic_trio.models import Condition, ListenerStatus, ObjectRef, ObjectStatus, RouteParentStatus

GW = "gateway.networking.k8s.io"
OURS = "konghq.com/kic-gateway-controller"
ROUTE = ObjectRef("HTTPRoute", "ns", "r", "uid-r", GW, "v1")
GATEWAY = ObjectRef("Gateway", "ns", "gw", "uid-gw", GW, "v1")


def _route_status(accepted: str = "True") -> ObjectStatus:
    parent = RouteParentStatus(
        gateway=GATEWAY,
        section_name="http",
        controller_name=OURS,
        conditions=(
            Condition(
                "Accepted", accepted, "Accepted" if accepted == "True" else "NotAllowedByListeners"
            ),
        ),
        generation=4,
    )
    return ObjectStatus(conditions=parent.conditions, parent=GATEWAY, parents=(parent,))


def test_route_parents_keep_other_controllers_and_drop_our_stale_ones() -> None:
    current = {
        "status": {
            "parents": [
                {
                    "parentRef": {"name": "x", "namespace": "o"},
                    "controllerName": "other.io/c",
                    "conditions": [],
                },
                {"parentRef": {"name": "old"}, "controllerName": OURS, "conditions": []},
            ]
        }
    }
    body = desired_status(ROUTE, _route_status(), current, OURS)
    parents = body["parents"]
    assert [p["controllerName"] for p in parents] == ["other.io/c", OURS]
    ours = parents[1]
    assert ours["parentRef"] == {
        "group": GW,
        "kind": "Gateway",
        "namespace": "ns",
        "name": "gw",
        "sectionName": "http",
    }
    (cond,) = ours["conditions"]
    assert (cond["type"], cond["status"], cond["observedGeneration"]) == ("Accepted", "True", 4)
    # nothing decided any more: only our entries go
    gone = desired_status(ROUTE, None, {"status": body}, OURS)
    assert [p["controllerName"] for p in gone["parents"]] == ["other.io/c"]


def test_transition_time_kept_while_the_status_holds() -> None:
    first = desired_status(ROUTE, _route_status(), {}, OURS)
    stamp = "2020-01-01T00:00:00Z"
    first["parents"][0]["conditions"][0]["lastTransitionTime"] = stamp
    again = desired_status(ROUTE, _route_status(), {"status": first}, OURS)
    assert again["parents"][0]["conditions"][0]["lastTransitionTime"] == stamp
    assert same_status(again, first)
    flipped = desired_status(ROUTE, _route_status("False"), {"status": first}, OURS)
    assert flipped["parents"][0]["conditions"][0]["lastTransitionTime"] != stamp
    assert not same_status(flipped, first)


def test_gateway_body_has_listeners_and_addresses_and_keeps_foreign_conditions() -> None:
    status = ObjectStatus(
        conditions=(
            Condition("Accepted", "True", "Accepted"),
            Condition("Programmed", "True", "Programmed"),
        ),
        listeners=(
            ListenerStatus(
                "http", ((GW, "HTTPRoute"),), 3, (Condition("Programmed", "True", "Programmed"),)
            ),
        ),
        addresses=(("IPAddress", "10.0.0.1"),),
        generation=7,
    )
    current = {
        "status": {
            "conditions": [
                {"type": "Custom", "status": "True", "reason": "X", "lastTransitionTime": "t"}
            ],
            "listeners": [
                {
                    "name": "http",
                    "conditions": [
                        {"type": "Conflicted", "status": "True", "reason": "ProtocolConflict"}
                    ],
                }
            ],
        }
    }
    body = desired_status(GATEWAY, status, current, OURS)
    assert [c["type"] for c in body["conditions"]] == ["Custom", "Accepted", "Programmed"]
    assert all(c.get("observedGeneration") == 7 for c in body["conditions"][1:])
    (lst,) = body["listeners"]
    assert lst["attachedRoutes"] == 3 and lst["supportedKinds"] == [
        {"group": GW, "kind": "HTTPRoute"}
    ]
    assert [c["type"] for c in lst["conditions"]] == ["Programmed"]  # listener conditions: ours
    assert body["addresses"] == [{"type": "IPAddress", "value": "10.0.0.1"}]


class FakeKube:
    """Objects by path; PUT /status checks the resourceVersion like the API server."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.puts: list[str] = []
        self.conflict_next = 0

    def add(self, path: str, obj: dict[str, Any]) -> None:
        self.objects[path] = obj

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        await trio.lowlevel.checkpoint()
        if method == "GET":
            if path not in self.objects:
                raise KubernetesError("not found", status=404)
            obj = copy.deepcopy(self.objects[path])
            return _Resp(obj)
        assert method == "PUT" and path.endswith("/status"), (method, path)
        base = path.removesuffix("/status")
        body = kwargs["json"]
        cur = self.objects[base]
        if self.conflict_next:
            self.conflict_next -= 1
            cur["metadata"]["resourceVersion"] = str(int(cur["metadata"]["resourceVersion"]) + 1)
        if body["metadata"]["resourceVersion"] != cur["metadata"]["resourceVersion"]:
            raise KubernetesError("conflict", status=409)
        cur["status"] = body["status"]
        cur["metadata"]["resourceVersion"] = str(int(cur["metadata"]["resourceVersion"]) + 1)
        self.puts.append(path)
        return _Resp(cur)


class _Resp:
    def __init__(self, body: Any) -> None:
        self._body = body

    def json(self) -> Any:
        return self._body


ROUTE_PATH = f"/apis/{GW}/v1/namespaces/ns/httproutes/r"


def _kube() -> FakeKube:
    kube = FakeKube()
    kube.add(
        ROUTE_PATH,
        {
            "apiVersion": f"{GW}/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": "r", "namespace": "ns", "uid": "uid-r", "resourceVersion": "1"},
        },
    )
    return kube


async def test_writer_writes_once_retries_conflicts_and_only_when_leading() -> None:
    kube = _kube()
    leader = LeaderState()
    writer = GatewayStatusWriter(kube, OURS, leader=leader)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(writer.run)
            writer.submit({ROUTE: _route_status()})
            await trio.testing.wait_all_tasks_blocked()
            assert kube.puts == []  # not the leader: nothing written
            leader.set(True)
            kube.conflict_next = 1  # someone else wrote meanwhile: read again, then write
            await writer.wait_idle()
            assert kube.puts == [ROUTE_PATH + "/status"] and writer.conflicts == 1
            written = kube.objects[ROUTE_PATH]["status"]
            assert written["parents"][0]["controllerName"] == OURS
            # the same status again: no write
            writer.submit({ROUTE: _route_status()})
            await writer.wait_idle()
            assert len(kube.puts) == 1
            # detached everywhere: our entry is removed
            writer.submit({})
            await writer.wait_idle()
            assert len(kube.puts) == 2 and kube.objects[ROUTE_PATH]["status"]["parents"] == []
            nursery.cancel_scope.cancel()


async def test_route_status_of_an_unchanged_configuration_is_written() -> None:
    # A route that attaches nowhere changes no Kong entity: the translation has the sha a
    # gateway already applied, nothing is pushed, no ConfigApplied comes. Its status must
    # still be written (conformance HTTPRouteInvalidParentRefNotMatchingSectionName).
    from kic_trio._latest import LatestValue
    from kic_trio._lifecycle import ConfigApplied, LifecycleBus, TranslationDone
    from kic_trio._payload import ConfigPayload

    kube = _kube()
    bus = LifecycleBus()
    latest: LatestValue[ConfigPayload] = LatestValue()
    latest.put(ConfigPayload(body=b"{}", sha="applied"))
    writer = GatewayStatusWriter(kube, OURS)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(writer.run)
            await nursery.start(writer.follow_pushes, bus, latest)
            refused = {ROUTE: _route_status("False")}
            # the translation being pushed: the route does not exist yet
            bus.emit(TranslationDone(config_hash="applied", failures=(), duration=0, status={}))
            await trio.testing.wait_all_tasks_blocked()
            await writer.wait_idle()
            assert kube.puts == []
            bus.emit(ConfigApplied("kong", "applied", 0.0, 2))
            await trio.testing.wait_all_tasks_blocked()
            await writer.wait_idle()
            assert kube.puts == []  # the applied translation had no route status
            # the same configuration again, now with the route's refusal: written at once
            bus.emit(
                TranslationDone(config_hash="applied", failures=(), duration=0, status=refused)
            )
            await trio.testing.wait_all_tasks_blocked()
            await writer.wait_idle()
            assert kube.puts == [ROUTE_PATH + "/status"]
            parent = kube.objects[ROUTE_PATH]["status"]["parents"][0]
            assert parent["conditions"][0]["reason"] == "NotAllowedByListeners"
            # a configuration not applied yet: the route waits for its push
            bus.emit(TranslationDone(config_hash="new", failures=(), duration=0, status={}))
            await trio.testing.wait_all_tasks_blocked()
            await writer.wait_idle()
            assert len(kube.puts) == 1
            nursery.cancel_scope.cancel()


async def test_push_reports_the_newest_status_of_its_configuration() -> None:
    # A translation with the same hash as the payload already taken for pushing does not
    # replace that payload; when the push reports, the newer translation's route status wins.
    from kic_trio._latest import LatestValue
    from kic_trio._lifecycle import ConfigApplied, LifecycleBus, TranslationDone
    from kic_trio._payload import ConfigPayload

    kube = _kube()
    bus = LifecycleBus()
    latest: LatestValue[ConfigPayload] = LatestValue()
    latest.put(ConfigPayload(body=b"{}", sha="x"))  # being pushed, no route status
    writer = GatewayStatusWriter(kube, OURS)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(writer.run)
            await nursery.start(writer.follow_pushes, bus, latest)
            refused = {ROUTE: _route_status("False")}
            bus.emit(TranslationDone(config_hash="x", failures=(), duration=0, status=refused))
            await trio.testing.wait_all_tasks_blocked()
            await writer.wait_idle()
            assert kube.puts == []  # x not applied yet
            bus.emit(ConfigApplied("kong", "x", 0.0, 2))
            await trio.testing.wait_all_tasks_blocked()
            await writer.wait_idle()
            assert kube.puts == [ROUTE_PATH + "/status"]
            parent = kube.objects[ROUTE_PATH]["status"]["parents"][0]
            assert parent["conditions"][0]["reason"] == "NotAllowedByListeners"
            nursery.cancel_scope.cancel()
