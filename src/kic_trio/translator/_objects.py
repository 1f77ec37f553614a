"""Offline translation: raw manifests (dicts or YAML files) -> a translation result."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .._deltas import Upsert
from ..models import SPECS, parse
from ..store import Store
from ._manifests import load_manifests
from ._options import TranslatorOptions
from ._translator import TranslationResult, Translator


def translate_objects(
    raw_objects: Iterable[Mapping[str, Any]], options: TranslatorOptions | None = None
) -> TranslationResult:
    """Translate raw Kubernetes objects (as dicts) the way the controller would.

    Objects of kinds the controller does not watch (Deployments, ConfigMaps... in a manifest
    folder) are left out, as the controller never sees them: the kind registry (``SPECS``)
    says which kinds are watched. Later objects with the same kind/namespace/name replace
    earlier ones (as ``kubectl apply`` would).
    """
    store = Store()
    for raw in raw_objects:
        kind = raw.get("kind") if isinstance(raw, Mapping) else None
        if not isinstance(kind, str) or kind not in SPECS:
            continue
        store.apply(Upsert(kind, parse(kind, raw)))
    return Translator(options).translate(store.snapshot())


__all__ = ["load_manifests", "translate_objects"]
