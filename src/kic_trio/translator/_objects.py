"""Offline translation: raw manifests (dicts or YAML files) -> a translation result."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from .._deltas import Upsert
from ..models import KINDS, parse
from ..store import Store
from ._options import TranslatorOptions
from ._translator import TranslationResult, Translator


def _flatten(doc: Any, depth: int = 0) -> Iterable[Mapping[str, Any]]:
    """The objects of one document: a ``*List`` is unpacked (bounded nesting), others kept.

    A ``kind`` that is not a string is kept as it is (``translate_objects`` ignores it), never
    a crash: the manifests may come from anyone.
    """
    if not isinstance(doc, Mapping):
        return
    kind = doc.get("kind")
    if isinstance(kind, str) and (kind == "List" or (kind.endswith("List") and "items" in doc)):
        items = doc.get("items")
        if isinstance(items, list) and depth < 8:
            for item in items:
                yield from _flatten(item, depth + 1)
        return
    yield doc


def load_manifests(paths: Iterable[str | os.PathLike[str]]) -> list[Mapping[str, Any]]:
    """Every object in the given files or directories (multi-document YAML or JSON; ``-`` is stdin).

    Directories are read recursively, ``*.yaml``, ``*.yml`` and ``*.json`` in name order.
    """
    import sys

    out: list[Mapping[str, Any]] = []
    for p in paths:
        if str(p) == "-":
            texts = [sys.stdin.read()]
        else:
            path = Path(p)
            if path.is_dir():
                files = sorted(
                    f
                    for f in path.rglob("*")
                    if f.suffix in (".yaml", ".yml", ".json") and f.is_file()
                )
            else:
                files = [path]
            texts = [f.read_text() for f in files]
        for text in texts:
            for doc in yaml.safe_load_all(text):
                out.extend(_flatten(doc))
    return out


def translate_objects(
    raw_objects: Iterable[Mapping[str, Any]], options: TranslatorOptions | None = None
) -> TranslationResult:
    """Translate raw Kubernetes objects (as dicts) the way the controller would.

    Objects of kinds the controller does not watch are ignored. Later objects with the same
    kind/namespace/name replace earlier ones (as ``kubectl apply`` would).
    """
    store = Store()
    for raw in raw_objects:
        kind = raw.get("kind") if isinstance(raw, Mapping) else None
        if not isinstance(kind, str) or kind not in KINDS:
            continue
        store.apply(Upsert(kind, parse(kind, raw)))
    return Translator(options).translate(store.snapshot())
