"""The store of watched objects: persistent maps per kind, O(1) immutable snapshots."""

from ._store import Snapshot, Store

__all__ = ["Snapshot", "Store"]
