"""KongVault -> Kong ``vaults``, as upstream's ``FillVaults``.

One prefix, one vault: the oldest KongVault (``creationTimestamp``, then name) keeps a prefix,
the others fail with upstream's ``spec.prefix "<p>" is duplicate``. Output sorted by prefix,
descending (upstream's order). Plugin configs naming ``{vault://<prefix>/...}`` are passed
through untouched by the plugin stage.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..models import Failure, KongVault, ObjectRef
from ._fragments import dumps
from ._util import entity_id


def translate_vaults(
    vaults: Iterable[KongVault], fill_ids: bool
) -> tuple[list[tuple[str, Any, Any]], list[Failure], list[ObjectRef]]:
    """``(entries, failures, configured)`` for every accepted, well-formed KongVault."""
    by_prefix: dict[str, KongVault] = {}
    failures: list[Failure] = []
    for v in sorted(vaults, key=lambda v: (v.created or "\uffff", v.name)):
        if v.prefix in by_prefix:
            failures.append(Failure(v.ref, "spec.prefix", f"spec.prefix {v.prefix!r} is duplicate"))
            continue
        by_prefix[v.prefix] = v
    entries: list[tuple[str, Any, Any]] = []
    ordered = sorted(by_prefix, reverse=True)
    configured: list[ObjectRef] = []
    for i, prefix in enumerate(ordered):
        v = by_prefix[prefix]
        entity: dict[str, Any] = {"name": v.backend, "prefix": prefix, "config": dict(v.config)}
        if v.description:
            entity["description"] = v.description
        # upstream tags a vault with its object's tags, without a namespace (cluster-scoped)
        entity["tags"] = [t for t in v.tags if not t.startswith("k8s-namespace:")]
        if fill_ids:
            entity["id"] = entity_id("vaults", prefix)
        try:
            dumps(entity)  # one vault that cannot be serialised fails alone
        except Exception as exc:
            reason = f"could not be translated ({type(exc).__name__}): the object is left out"
            failures.append(Failure(v.ref, "spec.config", reason))
            continue
        entries.append(("vaults", i, entity))
        configured.append(v.ref)
    return entries, failures, configured
