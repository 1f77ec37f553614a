"""Event recorder: the pure parts (rate limits, Event bodies, queueing and coalescing).

Writing to the API server (create, then PATCH the count) is tested against a real
kube-apiserver in tests/integration/test_events_recorder.py.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

import kic_trio
from kic_trio._instance import Instance
from kic_trio.k8s._events import (
    EventKey,
    EventQueue,
    EventRecorder,
    TokenBucket,
    event_body,
    make_event_recorder,
    pod_ref,
    truncate_message,
)
from kic_trio.k8s._leader import LeaderState
from kic_trio.models import ObjectRef


class NoKube:
    """These tests never reach the API server."""

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        raise AssertionError("no request expected")


INGRESS = ObjectRef("Ingress", "shop", "web", "uid-1", "networking.k8s.io", "v1")
CLUSTER_PLUGIN = ObjectRef(
    "KongClusterPlugin", "", "auth", "uid-2", "configuration.konghq.com", "v1"
)


def test_token_bucket_spends_its_burst_then_refills_at_its_rate() -> None:
    bucket = TokenBucket(rate=2.0, burst=3)
    assert [bucket.try_take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.wait_time(0.0) == pytest.approx(0.5)
    assert bucket.try_take(0.5) and not bucket.try_take(0.5)
    assert [bucket.try_take(100.0) for _ in range(4)] == [
        True,
        True,
        True,
        False,
    ]  # capped at burst


async def test_token_bucket_take_queues_callers_in_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    bucket = TokenBucket(rate=2.0, burst=1)
    done: list[float] = []

    async def taker() -> None:
        await bucket.take()
        done.append(trio.current_time())

    start = trio.current_time()
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            for _ in range(5):
                nursery.start_soon(taker)
    assert [round(t - start, 3) for t in done] == [0.0, 0.5, 1.0, 1.5, 2.0]


def test_event_body_names_the_object_as_kubectl_describe_expects() -> None:
    key = EventKey(INGRESS, "Warning", "KongConfigurationTranslationFailed", "bad path")
    body = event_body(
        key,
        name="web.1",
        count=3,
        first="t1",
        last="t2",
        instance="pod_x",
        host="pod",
        annotations={"konghq.com/instance-id": "abc"},
    )
    assert body["metadata"] == {
        "name": "web.1",
        "namespace": "shop",
        "annotations": {"konghq.com/instance-id": "abc"},
    }
    assert body["involvedObject"] == {
        "kind": "Ingress",
        "namespace": "shop",
        "name": "web",
        "uid": "uid-1",
        "apiVersion": "networking.k8s.io/v1",
    }
    assert (body["type"], body["reason"], body["message"], body["count"]) == (
        "Warning",
        "KongConfigurationTranslationFailed",
        "bad path",
        3,
    )
    assert body["source"] == {"component": "kic-trio", "host": "pod"}
    assert (body["firstTimestamp"], body["lastTimestamp"], body["reportingInstance"]) == (
        "t1",
        "t2",
        "pod_x",
    )


def test_events_about_cluster_scoped_objects_go_to_the_default_namespace() -> None:
    body = event_body(
        EventKey(CLUSTER_PLUGIN, "Warning", "R", "m"), name="n", count=1, first="t", last="t"
    )
    assert body["metadata"] == {"name": "n", "namespace": "default"}
    assert "namespace" not in body["involvedObject"]  # type: ignore[operator]
    pod = event_body(
        EventKey(pod_ref("kong", "kic-0"), "Normal", "R", "m"),
        name="n",
        count=1,
        first="t",
        last="t",
    )
    assert pod["involvedObject"] == {
        "kind": "Pod",
        "namespace": "kong",
        "name": "kic-0",
        "apiVersion": "v1",
    }


def test_long_messages_are_truncated() -> None:
    assert truncate_message("short") == "short"
    long = truncate_message("x" * 5000)
    assert len(long) == 1024 and long.endswith("...")


async def test_emits_of_one_problem_coalesce_while_queued() -> None:
    recorder = EventRecorder(NoKube())  # queueing only: nothing runs the writer here
    for _ in range(11):
        recorder.emit(INGRESS, "Warning", "KongConfigurationTranslationFailed", "bad path")
    recorder.emit(INGRESS, "Warning", "KongConfigurationTranslationFailed", "another problem")
    assert recorder.pending == 2
    assert [n for _, n in recorder.queued()] == [11, 1]


async def test_the_queue_is_bounded() -> None:
    recorder = EventRecorder(NoKube(), max_pending=3)
    for i in range(10):
        recorder.emit(INGRESS, "Warning", "R", f"problem {i}")
    assert (recorder.pending, recorder.dropped) == (3, 7)
    recorder.emit(INGRESS, "Warning", "R", "problem 0")  # already queued: coalesced, not dropped
    assert recorder.dropped == 7


async def test_events_off_means_a_recorder_that_discards() -> None:
    instance = Instance.create(
        kic_trio.Config(kong_admin_url=["http://k:8001"], emit_kubernetes_events=False)
    )
    recorder = make_event_recorder(instance, kube=None)
    assert not recorder.enabled
    recorder.emit(INGRESS, "Warning", "R", "m")
    assert recorder.pending == 0
    with trio.fail_after(5):
        await recorder.wait_idle()


async def test_events_without_an_object_name_are_dropped_not_queued() -> None:
    recorder = EventRecorder(NoKube())
    recorder.emit(ObjectRef("Pod", "kong", ""), "Normal", "KongConfigurationSucceeded", "ok")
    recorder.emit(INGRESS, "Warning", "", "no reason")
    assert recorder.pending == 0


async def test_followers_do_not_report() -> None:
    leader = LeaderState()
    recorder = EventRecorder(NoKube(), leader=leader)
    recorder.emit(INGRESS, "Warning", "KongConfigurationTranslationFailed", "bad path")
    assert recorder.pending == 0
    leader.set(True)
    recorder.emit(INGRESS, "Warning", "KongConfigurationTranslationFailed", "bad path")
    assert recorder.pending == 1


async def test_the_controllers_recorder_follows_its_leadership() -> None:
    instance = Instance.create(kic_trio.Config(kong_admin_svc="kong/kong-admin"))
    recorder = make_event_recorder(instance, NoKube())
    instance.leader.set(False)  # what leader election does before it has won
    recorder.emit(INGRESS, "Warning", "R", "m")
    assert recorder.pending == 0
    instance.leader.set(True)
    recorder.emit(INGRESS, "Warning", "R", "m")
    assert recorder.pending == 1


def _key(ns: str, name: str, message: str = "bad") -> EventKey:
    return EventKey(ObjectRef("Ingress", ns, name, f"uid-{ns}-{name}"), "Warning", "R", message)


def test_the_queue_serves_new_problems_before_repeats() -> None:
    queue = EventQueue(namespace_qps=1.0, namespace_burst=10)
    queue.add(_key("a", "old"), written=True)  # a count update of a reported problem
    queue.add(_key("a", "new"), written=False)
    first = queue.take(0.0)
    second = queue.take(0.0)
    assert not isinstance(first, float) and not isinstance(second, float)
    assert [first[0].ref.name, second[0].ref.name] == ["new", "old"]


def test_one_namespaces_flood_does_not_delay_anothers_first_event() -> None:
    queue = EventQueue(namespace_qps=1.0, namespace_burst=5)
    for i in range(200):
        queue.add(_key("flood", f"ing-{i}"), written=False)
    queue.add(_key("quiet", "web"), written=False)
    taken = [queue.take(0.0) for _ in range(7)]
    names = [t[0].ref.namespace for t in taken if not isinstance(t, float)]
    # round-robin: the quiet namespace is served second, then the flood spends its burst
    assert names == ["flood", "quiet", "flood", "flood", "flood", "flood"]
    assert taken[-1] == pytest.approx(1.0)  # the flood's bucket: next token in 1 s
    assert queue.size == 200 - 5
    later = queue.take(1.0)
    assert not isinstance(later, float) and later[0].ref.namespace == "flood"


class SlowKube:
    """Answers every request after ``delay`` (trio's clock), recording what was asked."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.requests: list[tuple[str, str]] = []
        self.in_flight = 0
        self.most_in_flight = 0

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        self.requests.append((method, path))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await trio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        return {}


async def test_writers_work_in_parallel_and_never_create_one_problem_twice(
    autojump_clock: trio.testing.MockClock,
) -> None:
    kube = SlowKube(delay=0.05)
    recorder = EventRecorder(kube, concurrency=4, qps=1000.0, burst=1000)
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            await nursery.start(recorder.run)
            start = trio.current_time()
            for i in range(40):
                recorder.emit(_key("shop", f"ing-{i}").ref, "Warning", "R", "bad")
            await trio.sleep(0.01)  # the first writes are in flight
            recorder.emit(_key("shop", "ing-0").ref, "Warning", "R", "bad")  # a repeat
            await recorder.wait_idle()
            elapsed = trio.current_time() - start
            nursery.cancel_scope.cancel()
    posts = [p for m, p in kube.requests if m == "POST"]
    patches = [p for m, p in kube.requests if m == "PATCH"]
    assert (len(posts), len(patches)) == (40, 1)  # the repeat updated the first Event
    assert kube.most_in_flight == 4
    # 41 writes of 50 ms, 4 at a time: about 0.55 s of trio's clock, not 2 s
    assert elapsed == pytest.approx(0.55, abs=0.06)


def test_a_new_problem_anywhere_goes_before_repeats_everywhere() -> None:
    queue = EventQueue(namespace_qps=1.0, namespace_burst=10)
    for i in range(5):
        queue.add(_key(f"ns-{i}", "old"), written=True)
    queue.add(_key("ns-9", "new"), written=False)
    first = queue.take(0.0)
    assert not isinstance(first, float) and first[0].ref.name == "new"
