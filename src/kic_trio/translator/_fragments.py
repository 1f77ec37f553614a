"""The output as sorted lists of pre-serialised entities, so a change re-serialises one entity.

Each top-level list of the declarative config (``services``, ``upstreams``, ...) is kept as
``key -> canonical JSON bytes`` plus a sorted key list. The body is assembled by joining bytes;
the hash is SHA-256 over the per-entity digests (a hash tree of the body), so neither
serialisation nor hashing is proportional to the config size after a small change.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterable
from typing import Any

import orjson

_OPTS = orjson.OPT_SORT_KEYS

#: Top-level keys in canonical (byte) order.
LISTS = (
    "ca_certificates",
    "certificates",
    "consumer_group_consumers",
    "consumer_groups",
    "consumers",
    "plugins",
    "services",
    "upstreams",
)


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, option=_OPTS)


class SortedList:
    """``key -> (bytes, digest)`` with keys kept in order (lazy bulk sort, insort when few)."""

    __slots__ = ("_items", "_keys", "_pending", "_sorted")

    def __init__(self) -> None:
        self._items: dict[Any, tuple[bytes, bytes]] = {}
        self._keys: list[Any] = []
        self._pending: list[Any] = []
        self._sorted = True

    def __len__(self) -> int:
        return len(self._items)

    def set(self, key: Any, data: bytes) -> None:
        old = self._items.get(key)
        if old is not None and old[0] == data:
            return
        self._items[key] = (data, hashlib.sha256(data).digest())
        if old is None:
            self._pending.append(key)

    def delete(self, key: Any) -> None:
        if self._items.pop(key, None) is None:
            return
        if self._pending and key in self._pending:
            self._pending.remove(key)
            return
        i = bisect.bisect_left(self._keys, key)
        if i < len(self._keys) and self._keys[i] == key:
            del self._keys[i]

    def _settle(self) -> None:
        if not self._pending:
            return
        if len(self._pending) > 32:
            self._keys.extend(self._pending)
            self._keys.sort()
        else:
            for key in self._pending:
                bisect.insort(self._keys, key)
        self._pending = []

    def keys(self) -> list[Any]:
        self._settle()
        return self._keys

    def join(self) -> tuple[bytes, bytes]:
        """``(b"[e1,e2,...]", concatenated digests)``."""
        self._settle()
        items = self._items
        parts = [items[k] for k in self._keys]
        return (
            b"[" + b",".join([p[0] for p in parts]) + b"]",
            b"".join([p[1] for p in parts]),
        )


class Fragments:
    """All output lists, plus which unit contributed which entries."""

    def __init__(self) -> None:
        self.lists: dict[str, SortedList] = {name: SortedList() for name in LISTS}
        self._owned: dict[Any, list[tuple[str, Any]]] = {}

    def replace(self, unit: Any, entries: Iterable[tuple[str, Any, Any]]) -> None:
        """Make ``entries`` (``(list, key, entity)``) exactly what ``unit`` contributes."""
        old = self._owned.pop(unit, None)
        new_keys = []
        for list_name, key, entity in entries:
            self.lists[list_name].set(key, dumps(entity))
            new_keys.append((list_name, key))
        if old:
            keep = set(new_keys)
            for list_name, key in old:
                if (list_name, key) not in keep:
                    self.lists[list_name].delete(key)
        if new_keys:
            self._owned[unit] = new_keys

    def assemble(self) -> tuple[bytes, str, bool]:
        """``(body, sha, empty)``; an empty config gets upstream's stub upstream ``kong``."""
        parts = [b'{"_format_version":"3.0"']
        h = hashlib.sha256(b"3.0")
        empty = True
        for name in LISTS:
            lst = self.lists[name]
            if not len(lst):
                continue
            empty = False
            body, digests = lst.join()
            parts.append(b',"' + name.encode() + b'":' + body)
            h.update(b"\0" + name.encode() + b"\0")
            h.update(digests)
        if empty:
            stub = b'[{"name":"kong"}]'
            parts.append(b',"upstreams":' + stub)
            h.update(b"\0stub\0" + stub)
        parts.append(b"}")
        return b"".join(parts), h.hexdigest(), empty
