"""Offline translation: raw manifests (dicts) -> a translation result."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from .._deltas import Upsert
from ..models import SPECS, parse
from ..store import Snapshot, Store
from ._options import TranslatorOptions
from ._translator import TranslationResult, Translator


def translate_objects(
    raw_objects: Iterable[Mapping[str, Any]], options: TranslatorOptions | None = None
) -> TranslationResult:
    """Translate raw Kubernetes objects (as dicts) the way the controller would.

    Objects of kinds the controller does not watch (Deployments, ConfigMaps... in a manifest
    folder) are left out, as the controller never sees them: the kind registry (``SPECS``)
    says which kinds are watched; ``result.ignored_kinds`` counts them per kind, so a caller
    can say so (a typo in a kind must not vanish without a word). Later objects with the same kind/namespace/name replace
    earlier ones (as ``kubectl apply`` would).
    """
    snapshot, ignored = snapshot_of(raw_objects)
    result = Translator(options).translate(snapshot)
    return attrs.evolve(result, ignored_kinds=ignored) if ignored else result


def snapshot_of(raw_objects: Iterable[Mapping[str, Any]]) -> tuple[Snapshot, dict[str, int]]:
    """The store snapshot the controller would hold for these raw objects, and how many of
    each unwatched kind were left out. ``kic-trio translate --assume-refused`` builds the
    fallback's object graph from it: the very models the controller's fallback reads."""
    store = Store()
    ignored: dict[str, int] = {}
    for raw in raw_objects:
        kind = raw.get("kind") if isinstance(raw, Mapping) else None
        if not isinstance(kind, str) or kind not in SPECS:
            shown = kind if isinstance(kind, str) else f"<{type(kind).__name__}>"
            ignored[shown] = ignored.get(shown, 0) + 1
            continue
        store.apply(Upsert(kind, parse(kind, raw)))
    return store.snapshot(), ignored


__all__ = ["snapshot_of", "translate_objects"]
