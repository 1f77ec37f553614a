"""Incremental translation gives exactly what a full translation of the same snapshot gives."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import key_of, maybe_garbled, mutation, unique_objects, world

from kic_trio._deltas import Delete, Upsert
from kic_trio.models import parse
from kic_trio.store import Store
from kic_trio.translator import Translator, TranslatorOptions

OPTS = TranslatorOptions(rewrite_uris=True, kong_service_facade=True)

operation = st.one_of(
    st.tuples(st.just("upsert"), maybe_garbled()),
    st.tuples(st.just("delete"), st.integers(0, 1000)),
)


def _upsert(store: Store, raw: dict[str, Any]) -> None:
    store.apply(Upsert(raw["kind"], parse(raw["kind"], raw)))


def _check(initial: list[dict[str, Any]], batches: list[list[Any]]) -> None:
    store = Store()
    for raw in initial:
        _upsert(store, raw)
    incremental = Translator(OPTS)
    incremental.translate(store.snapshot())
    store.take_changes()
    for batch in batches:
        for op, arg in batch:
            if op == "upsert":
                _upsert(store, arg)
            else:
                held = sorted(
                    (kind, m.ref.namespace, m.ref.name) for kind, m in store.snapshot().all()
                )
                if held:
                    kind, ns, name = held[arg % len(held)]
                    store.apply(Delete(kind, ns, name))
        snap = store.snapshot()
        got = incremental.translate(snap, store.take_changes())
        want = Translator(OPTS).translate(snap)
        assert got.body == want.body
        assert got.sha == want.sha
        assert got.failures == want.failures
        assert got.configured == want.configured
        assert got.empty == want.empty
        assert dict(got.status) == dict(want.status)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    initial=unique_objects(max_size=20),
    batches=st.lists(st.lists(operation, min_size=1, max_size=4), min_size=1, max_size=6),
)
def test_incremental_equals_full_random_objects(
    initial: list[dict[str, Any]], batches: list[list[Any]]
) -> None:
    _check(initial, batches)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    initial=world(),
    batches=st.lists(st.lists(mutation(), min_size=1, max_size=3), min_size=1, max_size=8),
)
def test_incremental_equals_full_linked_worlds(
    initial: list[dict[str, Any]], batches: list[list[Any]]
) -> None:
    _check(initial, batches)


def test_unchanged_snapshot_is_reused_cheaply() -> None:
    store = Store()
    raw = {
        "kind": "Ingress",
        "metadata": {"name": "i", "namespace": "n"},
        "spec": {
            "ingressClassName": "kong",
            "rules": [
                {
                    "host": "h",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "s", "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ],
        },
    }
    _upsert(store, raw)
    tr = Translator(OPTS)
    first = tr.translate(store.snapshot())
    second = tr.translate(store.snapshot(), set())
    assert first.body == second.body and first.sha == second.sha
    assert key_of(raw) == ("Ingress", "n", "i")
