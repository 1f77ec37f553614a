"""Store: O(1) immutable snapshots, the EndpointSlice index, the Secret reference index."""

from __future__ import annotations

from kic_trio._deltas import Delete, Upsert
from kic_trio.models import parse
from kic_trio.store import Store


def _ing(name: str, secret: str, rv: str = "1") -> object:
    return parse(
        "Ingress",
        {
            "metadata": {"name": name, "namespace": "ns", "resourceVersion": rv},
            "spec": {"tls": [{"hosts": ["h"], "secretName": secret}]},
        },
    )


def _eps(name: str, svc: str) -> object:
    return parse(
        "EndpointSlice",
        {
            "metadata": {
                "name": name,
                "namespace": "ns",
                "labels": {"kubernetes.io/service-name": svc},
            }
        },
    )


def test_snapshot_is_immutable_and_sorted() -> None:
    store = Store()
    assert store.apply(Upsert("Ingress", _ing("b", "s1")))
    snap = store.snapshot()
    assert store.apply(Upsert("Ingress", _ing("a", "s1")))
    assert [i.ref.name for i in snap.list("Ingress")] == ["b"]
    assert [i.ref.name for i in store.snapshot().list("Ingress")] == ["a", "b"]
    assert store.count("Ingress") == 2
    # same resourceVersion: a relist, nothing changed
    assert not store.apply(Upsert("Ingress", _ing("a", "s1")))
    assert store.apply(Delete("Ingress", "ns", "a"))
    assert not store.apply(Delete("Ingress", "ns", "a"))
    assert store.snapshot().get("Ingress", "ns", "a") is None
    assert store.take_changes() == {("Ingress", "ns", "a"), ("Ingress", "ns", "b")}
    assert store.take_changes() == set()


def test_endpoint_slice_index_follows_moves() -> None:
    store = Store()
    store.apply(Upsert("EndpointSlice", _eps("e1", "svc")))
    store.apply(Upsert("EndpointSlice", _eps("e2", "svc")))
    assert [e.ref.name for e in store.snapshot().endpoint_slices("ns", "svc")] == ["e1", "e2"]
    store.apply(Upsert("EndpointSlice", _eps("e2", "other")))
    snap = store.snapshot()
    assert [e.ref.name for e in snap.endpoint_slices("ns", "svc")] == ["e1"]
    assert [e.ref.name for e in snap.endpoint_slices("ns", "other")] == ["e2"]
    store.apply(Delete("EndpointSlice", "ns", "e1"))
    assert store.snapshot().endpoint_slices("ns", "svc") == []


def test_secret_reference_index() -> None:
    store = Store()
    store.apply(Upsert("Ingress", _ing("a", "s1")))
    store.apply(Upsert("Ingress", _ing("b", "s1")))
    assert store.wants_secret("ns", "s1")
    assert store.take_newly_wanted_secrets() == {("ns", "s1")}
    assert store.take_newly_wanted_secrets() == set()
    store.apply(Upsert("Ingress", _ing("a", "s2", rv="2")))
    store.apply(Upsert("Secret", parse("Secret", {"metadata": {"name": "s2", "namespace": "ns"}})))
    assert store.take_newly_wanted_secrets() == set()  # s2 arrived already
    store.apply(Delete("Ingress", "ns", "b"))
    assert not store.wants_secret("ns", "s1")
    assert store.wants_secret("ns", "s2")
    store.apply(Delete("Ingress", "ns", "a"))
    assert not store.wants_secret("ns", "s2")


def test_bookkeeping_is_bounded_after_many_create_update_delete_cycles() -> None:
    # The controller takes both records at every translation; here every 10 cycles.
    store = Store()
    high_water: dict[str, int] = {}
    for i in range(1000):
        name = f"ing-{i}"
        assert store.apply(Upsert("Ingress", _ing(name, f"secret-{i}", rv="1")))
        assert store.apply(Upsert("Ingress", _ing(name, f"secret-{i}-b", rv="2")))
        assert store.apply(Upsert("EndpointSlice", _eps(f"eps-{i}", f"svc-{i}")))
        assert store.apply(Delete("Ingress", "ns", name))
        assert store.apply(Delete("EndpointSlice", "ns", f"eps-{i}"))
        for key, size in store.bookkeeping().items():
            high_water[key] = max(high_water.get(key, 0), size)
        if i % 10 == 9:
            changes = store.take_changes()
            assert len(changes) == 20  # 10 Ingresses + 10 EndpointSlices, each once
            store.take_newly_wanted_secrets()
    store.take_changes()
    store.take_newly_wanted_secrets()
    assert store.bookkeeping() == dict.fromkeys(store.bookkeeping(), 0)
    # never more than one consumer window's worth at any time
    assert max(high_water.values()) <= 20, high_water
