"""The store: every held object, one persistent (HAMT) map per kind.

``immutables.Map`` is a hash array mapped trie: an update copies O(log n) nodes and shares the
rest, so ``snapshot()`` is just "take the current maps" — O(1), and the snapshot never changes
afterwards even while the store moves on. The translator can keep a snapshot as long as it likes.

The store also indexes which Secrets the held objects reference, so the Secret watcher keeps only
those (upstream caches every Secret in the cluster, its top memory complaint), and which
EndpointSlices belong to which Service.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import immutables

from .._deltas import Delete, Upsert
from ..models import EndpointSlice, Model, secret_refs

Key = tuple[str, str]
_EMPTY_MAP: immutables.Map[Any, Any] = immutables.Map()


class Snapshot:
    """An immutable view of the store at one moment. Cheap to take, safe to keep.

    ``list(kind)`` sorts once per snapshot and kind and remembers the result (the snapshot is
    immutable, so the memo can never be stale).
    """

    __slots__ = ("_by_kind", "_eps_index", "_sorted")

    def __init__(
        self,
        by_kind: Mapping[str, immutables.Map[Key, Model]],
        eps_index: immutables.Map[Key, immutables.Map[str, bool]],
    ) -> None:
        self._by_kind = by_kind
        self._eps_index = eps_index
        self._sorted: dict[str, builtins.list[Any]] = {}

    def get(self, kind: str, namespace: str, name: str) -> Any:
        """The model of ``kind`` at ``namespace/name`` (``""`` for cluster-scoped), or None."""
        m = self._by_kind.get(kind)
        return None if m is None else m.get((namespace, name))

    def list(self, kind: str) -> builtins.list[Any]:
        """Every held model of ``kind``, sorted by ``(namespace, name)``."""
        out = self._sorted.get(kind)
        if out is None:
            m = self._by_kind.get(kind, _EMPTY_MAP)
            out = [m[k] for k in sorted(m.keys())]
            self._sorted[kind] = out
        return out

    def count(self, kind: str) -> int:
        return len(self._by_kind.get(kind, _EMPTY_MAP))

    def map(self, kind: str) -> immutables.Map[Key, Any]:
        """The raw persistent map of ``kind`` (identity changes iff the kind changed)."""
        return self._by_kind.get(kind, _EMPTY_MAP)

    def kinds(self) -> Iterator[str]:
        return iter(self._by_kind)

    def endpoint_slices(self, namespace: str, service: str) -> builtins.list[EndpointSlice]:
        """EndpointSlices labelled ``kubernetes.io/service-name=<service>``, sorted by name."""
        names = self._eps_index.get((namespace, service))
        if not names:
            return []
        m = self._by_kind.get("EndpointSlice", _EMPTY_MAP)
        return [m[(namespace, n)] for n in sorted(names.keys())]

    def with_objects(self, objects: Iterable[tuple[str, Model]]) -> Snapshot:
        """This snapshot with ``(kind, model)`` added or replaced: a "what if" view, O(log n).

        The admission webhook translates a candidate object against the controller's view
        this way, without touching the store. EndpointSlices are not indexed here: pass none.
        """
        by_kind = dict(self._by_kind)
        for kind, obj in objects:
            by_kind[kind] = by_kind.get(kind, _EMPTY_MAP).set(
                (obj.ref.namespace, obj.ref.name), obj
            )
        return Snapshot(by_kind, self._eps_index)

    def all(self) -> Iterator[tuple[str, Any]]:
        """``(kind, model)`` for everything held (kinds in name order, models sorted)."""
        for kind in sorted(self._by_kind):
            for model in self.list(kind):
                yield kind, model


class Store:
    """The controller's copy of the watched objects. Not thread-safe: one task owns it."""

    def __init__(self) -> None:
        self._maps: dict[str, immutables.Map[Key, Model]] = {}
        self._eps_index: immutables.Map[Key, immutables.Map[str, bool]] = immutables.Map()
        # secret (ns, name) -> how many held objects reference it
        self._secret_refcount: dict[Key, int] = {}
        # (kind, ns, name) -> the secrets that object references
        self._refs_of: dict[tuple[str, str, str], frozenset[Key]] = {}
        self._newly_wanted: set[Key] = set()
        self._changes: set[tuple[str, str, str]] = set()

    # --- writes --------------------------------------------------------------------------

    def apply(self, delta: Upsert | Delete) -> bool:
        """Apply one delta; True when the store changed.

        An ``Upsert`` whose object has the same non-empty ``resource_version`` as the held one is
        a no-op (relists deliver everything again).
        """
        if isinstance(delta, Upsert):
            obj: Model = delta.obj
            key = (obj.ref.namespace, obj.ref.name)
            m = self._maps.get(delta.kind, _EMPTY_MAP)
            old = m.get(key)
            if (
                old is not None
                and obj.resource_version
                and old.resource_version == obj.resource_version
            ):
                return False
            self._maps[delta.kind] = m.set(key, obj)
            if delta.kind == "EndpointSlice":
                self._index_eps(old, obj)
            self._track_refs(delta.kind, key, obj)
            self._changes.add((delta.kind, key[0], key[1]))
            return True
        key = (delta.namespace, delta.name)
        m = self._maps.get(delta.kind, _EMPTY_MAP)
        old = m.get(key)
        if old is None:
            return False
        self._maps[delta.kind] = m.delete(key)
        if delta.kind == "EndpointSlice":
            self._index_eps(old, None)
        self._track_refs(delta.kind, key, None)
        self._changes.add((delta.kind, key[0], key[1]))
        return True

    def _index_eps(self, old: Any, new: Any) -> None:
        # an EndpointSlice that could not be parsed is an UnknownObject: no service to index
        old = old if getattr(old, "service_name", None) else None
        new = new if getattr(new, "service_name", None) else None
        if old is not None and old.service_name:
            k = (old.ref.namespace, old.service_name)
            names = self._eps_index.get(k, _EMPTY_MAP).delete(old.ref.name)
            self._eps_index = self._eps_index.set(k, names) if names else self._eps_index.delete(k)
        if new is not None and new.service_name:
            k = (new.ref.namespace, new.service_name)
            self._eps_index = self._eps_index.set(
                k, self._eps_index.get(k, _EMPTY_MAP).set(new.ref.name, True)
            )

    def _track_refs(self, kind: str, key: Key, obj: Model | None) -> None:
        if kind == "Secret":
            return
        okey = (kind, key[0], key[1])
        new = secret_refs(obj) if obj is not None else frozenset()
        old = self._refs_of.get(okey, frozenset())
        if new == old:
            return
        for ref in old - new:
            count = self._secret_refcount[ref] - 1
            if count:
                self._secret_refcount[ref] = count
            else:
                del self._secret_refcount[ref]
        secrets = self._maps.get("Secret", _EMPTY_MAP)
        for ref in new - old:
            count = self._secret_refcount.get(ref, 0)
            self._secret_refcount[ref] = count + 1
            if count == 0 and ref not in secrets:
                self._newly_wanted.add(ref)
        if new:
            self._refs_of[okey] = new
        else:
            self._refs_of.pop(okey, None)

    def apply_all(self, deltas: Iterable[Upsert | Delete]) -> bool:
        changed = False
        for delta in deltas:
            changed = self.apply(delta) or changed
        return changed

    # --- reads ---------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The store as it is now: O(1) (a dict of ~11 persistent maps), immutable."""
        return Snapshot(dict(self._maps), self._eps_index)

    def count(self, kind: str) -> int:
        return len(self._maps.get(kind, _EMPTY_MAP))

    def get(self, kind: str, namespace: str, name: str) -> Any:
        return self._maps.get(kind, _EMPTY_MAP).get((namespace, name))

    def wants_secret(self, namespace: str, name: str) -> bool:
        """Whether a held object references the Secret ``namespace/name``."""
        return (namespace, name) in self._secret_refcount

    def take_newly_wanted_secrets(self) -> set[tuple[str, str]]:
        """Secrets referenced but not held, that became referenced since the last call."""
        secrets = self._maps.get("Secret", _EMPTY_MAP)
        out = {
            ref for ref in self._newly_wanted if ref in self._secret_refcount and ref not in secrets
        }
        self._newly_wanted.clear()
        return out

    def take_changes(self) -> set[tuple[str, str, str]]:
        """``(kind, namespace, name)`` of every object changed since the last call.

        This is exactly the ``changed`` argument :meth:`Translator.translate` wants. The record
        grows until it is taken: whoever owns a long-lived store must call this (the controller's
        translator task does, at every translation, so the record holds one debounce window).
        """
        out = self._changes
        self._changes = set()
        return out

    def bookkeeping(self) -> dict[str, int]:
        """Sizes of the store's indexes and records beyond the objects themselves.

        Each is bounded by what is held (or, for the two ``take_*`` records, by what changed
        since they were last taken); ``tests/unit/test_store.py`` checks none of them leaks
        after many create/update/delete cycles. Useful when chasing memory growth.
        """
        return {
            "objects": sum(len(m) for m in self._maps.values()),
            "endpoint_slice_index": len(self._eps_index),
            "secret_refcount": len(self._secret_refcount),
            "refs_of": len(self._refs_of),
            "newly_wanted": len(self._newly_wanted),
            "changes": len(self._changes),
        }
