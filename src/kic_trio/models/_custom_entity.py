"""KongCustomEntity's parser: any Kong entity (``degraphql_routes``...), attached to a plugin.

The model is in ``_models.py`` (where ``AnyModel`` names it without an import cycle). Only
what translation reads is kept: the entity type, its fields (plain JSON, walked by the reader
so hostile data becomes failures), the controller name (upstream's class) and the parent
plugin. The CRD's CEL rules are re-checked here (an API server without them, or an
offline manifest, must not make a core entity type through this back door).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ._models import KongCustomEntity, ParentRef
from ._parsers import _meta

#: Entity types the controller makes itself; upstream refuses them in a custom entity.
KNOWN_ENTITY_TYPES = frozenset(
    {"services", "routes", "upstreams", "targets", "plugins", "consumers", "consumer_groups"}
)
#: Kong entity (DAO) names: lower-case words joined by ``_`` (a top-level key of the config).
_TYPE = re.compile(r"[a-z][a-z0-9_]{0,62}")
_PARENT_KINDS = ("KongPlugin", "KongClusterPlugin")


def parse_custom_entity(raw: Mapping[str, Any]) -> KongCustomEntity:
    r, base = _meta("KongCustomEntity", raw)
    spec = r.as_map(raw.get("spec"), "spec")
    etype = r.as_str(spec.get("type"), "spec.type", "") or ""
    if not etype:
        r.fail("spec.type", "is required")
    elif etype in KNOWN_ENTITY_TYPES:
        r.fail("spec.type", f"cannot use known entity type {etype} in custom entity")
        etype = ""
    elif not _TYPE.fullmatch(etype):
        r.fail("spec.type", "must be a Kong entity name (lower-case letters, digits and _)")
        etype = ""
    fields = r.json_value(r.as_map(spec.get("fields"), "spec.fields"), "spec.fields")
    controller = r.as_str(spec.get("controllerName"), "spec.controllerName", "") or ""
    if not controller:
        r.fail("spec.controllerName", "is required")
    parent = None
    pref = spec.get("parentRef")
    if pref is not None:
        pm = r.as_map(pref, "spec.parentRef")
        group = r.as_str(pm.get("group"), "spec.parentRef.group", "") or ""
        kind = r.as_str(pm.get("kind"), "spec.parentRef.kind", "") or ""
        name = r.as_str(pm.get("name"), "spec.parentRef.name", "") or ""
        namespace = r.as_str(pm.get("namespace"), "spec.parentRef.namespace", "") or ""
        # upstream ignores a parentRef to anything but a Kong plugin (the entity goes out
        # as given); a nameless one cannot be resolved
        if group == "configuration.konghq.com" and kind in _PARENT_KINDS:
            if name:
                parent = ParentRef(kind, name, namespace)
            else:
                r.fail("spec.parentRef.name", "is required")
    return KongCustomEntity(
        **base,
        failures=tuple(r.failures),
        entity_type=etype if not r.failures else "",
        fields=fields if isinstance(fields, Mapping) else {},
        controller_name=controller,
        parent=parent,
    )
