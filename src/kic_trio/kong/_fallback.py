"""A fallback configuration: the refused config minus the objects Kong refused.

DB-less Kong refuses a configuration as a whole, so one broken object would hold back every
other change. When Kong's 400 names entities (through their ``k8s-*`` tags), the applier
pushes the same configuration without every entity of those Kubernetes objects — and
without whatever referenced them (a plugin on a dropped route, a target of a dropped
upstream) — so the rest goes out. Upstream offers this behind its FallbackConfiguration
feature gate; here it is the default: bad input never stops the world.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

from .._payload import ConfigPayload

#: Entity lists that may be nested under another entity (Kong's declarative nesting).
_CHILDREN: dict[str, tuple[str, ...]] = {
    "services": ("routes", "plugins"),
    "routes": ("plugins",),
    "consumers": (
        "plugins",
        "acls",
        "keyauth_credentials",
        "basicauth_credentials",
        "hmacauth_credentials",
        "jwt_secrets",
        "oauth2_credentials",
        "mtls_auth_credentials",
    ),
    "upstreams": ("targets",),
    "certificates": ("snis",),
    "consumer_groups": ("plugins",),
}
#: How an entity of a type can be referenced: its id and these fields.
_KEYS: dict[str, tuple[str, ...]] = {
    "services": ("name",),
    "routes": ("name",),
    "consumers": ("username", "custom_id"),
    "upstreams": ("name",),
    "certificates": (),
    "consumer_groups": ("name",),
}
#: Top-level references that must still resolve: type -> {field: referenced type}.
_REFS: dict[str, dict[str, str]] = {
    "routes": {"service": "services"},
    "plugins": {"route": "routes", "service": "services", "consumer": "consumers", "consumer_group": "consumer_groups"},
    "targets": {"upstream": "upstreams"},
    "snis": {"certificate": "certificates"},
    "consumer_group_consumers": {"consumer": "consumers", "consumer_group": "consumer_groups"},
    "acls": {"consumer": "consumers"},
    "keyauth_credentials": {"consumer": "consumers"},
    "basicauth_credentials": {"consumer": "consumers"},
    "hmacauth_credentials": {"consumer": "consumers"},
    "jwt_secrets": {"consumer": "consumers"},
    "oauth2_credentials": {"consumer": "consumers"},
}
STUB = {"name": "kong"}


def _tagged(entity: Mapping[str, Any], uid_tags: frozenset[str]) -> bool:
    tags = entity.get("tags")
    return isinstance(tags, list) and any(t in uid_tags for t in tags if isinstance(t, str))


def _prune(etype: str, items: list[Any], uid_tags: frozenset[str]) -> tuple[list[Any], int]:
    kept: list[Any] = []
    removed = 0
    for ent in items:
        if not isinstance(ent, dict):
            kept.append(ent)
            continue
        if _tagged(ent, uid_tags):
            removed += _count(etype, ent)
            continue
        for child in _CHILDREN.get(etype, ()):
            sub = ent.get(child)
            if isinstance(sub, list):
                ent[child], n = _prune(child, sub, uid_tags)
                removed += n
        kept.append(ent)
    return kept, removed


def _ref_value(ref: Any) -> str | None:
    if isinstance(ref, str):
        return ref
    if isinstance(ref, Mapping) and isinstance(ref.get("id"), str):
        return str(ref["id"])
    return None


def _known(cfg: Mapping[str, Any]) -> dict[str, set[str]]:
    """Every referenceable key (id, name, ...) per type, nested entities included."""
    known: dict[str, set[str]] = {t: set() for t in _KEYS}

    def walk(etype: str, items: list[Any]) -> None:
        fields = _KEYS.get(etype)
        for ent in items:
            if not isinstance(ent, Mapping):
                continue
            if fields is not None:
                for f in ("id", *fields):
                    if isinstance(ent.get(f), str):
                        known[etype].add(ent[f])
            for child in _CHILDREN.get(etype, ()):
                sub = ent.get(child)
                if isinstance(sub, list):
                    walk(child, sub)

    for key, value in cfg.items():
        if not key.startswith("_") and isinstance(value, list):
            walk(key, value)
    return known


def _dangling(
    etype: str, ent: Mapping[str, Any], gone: dict[str, set[str]], parent_fk: str | None
) -> bool:
    """Whether ``ent`` references something the fallback removed (only that: a reference
    that never resolved is Kong's business, not the fallback's)."""
    for field, target in _REFS.get(etype, {}).items():
        if field == parent_fk or field not in ent:
            continue
        value = _ref_value(ent[field])
        if value is not None and value in gone.get(target, ()):
            return True
    return False


_PARENT_FK = {"services": "service", "routes": "route", "consumers": "consumer", "upstreams": "upstream",
              "certificates": "certificate", "consumer_groups": "consumer_group"}


def _drop_dangling(
    etype: str, items: list[Any], gone: dict[str, set[str]], parent_fk: str | None
) -> tuple[list[Any], int]:
    kept: list[Any] = []
    removed = 0
    for ent in items:
        if isinstance(ent, dict):
            if _dangling(etype, ent, gone, parent_fk):
                removed += _count(etype, ent)
                continue
            for child in _CHILDREN.get(etype, ()):
                sub = ent.get(child)
                if isinstance(sub, list):
                    ent[child], n = _drop_dangling(child, sub, gone, _PARENT_FK.get(etype))
                    removed += n
        kept.append(ent)
    return kept, removed


def _count(etype: str, ent: Mapping[str, Any]) -> int:
    """An entity and everything nested in it."""
    n = 1
    for child in _CHILDREN.get(etype, ()):
        sub = ent.get(child)
        if isinstance(sub, list):
            n += sum(_count(child, e) for e in sub if isinstance(e, Mapping))
    return n


def without_objects(body: bytes, uids: frozenset[str]) -> tuple[bytes, int] | None:
    """``body`` without the entities of the objects with these UIDs and what referenced them.

    Returns the new body and how many entities were removed, or ``None`` when nothing
    carries those UIDs (no fallback possible).
    """
    try:
        cfg = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(cfg, dict):
        return None
    uid_tags = frozenset(f"k8s-uid:{u}" for u in uids if u)
    before = _known(cfg)
    removed = 0
    for key in list(cfg):
        if not key.startswith("_") and isinstance(cfg[key], list):
            cfg[key], n = _prune(key, cfg[key], uid_tags)
            removed += n
    if not removed:
        return None
    while True:  # removing a route can strand a plugin: until nothing changes
        after = _known(cfg)
        gone = {t: before[t] - after[t] for t in before}
        more = 0
        for key in list(cfg):
            if not key.startswith("_") and isinstance(cfg[key], list):
                cfg[key], n = _drop_dangling(key, cfg[key], gone, None)
                more += n
        removed += more
        if not more:
            break
    if not any(isinstance(v, list) and v for k, v in cfg.items() if not k.startswith("_")):
        cfg["upstreams"] = [dict(STUB)]  # upstream's stub, so Kong reports ready
    return orjson.dumps(cfg, option=orjson.OPT_SORT_KEYS), removed


def fallback_payload(payload: ConfigPayload, uids: frozenset[str]) -> tuple[ConfigPayload, int] | None:
    """:func:`without_objects` as a payload (same failures and change times)."""
    out = without_objects(payload.body, uids)
    if out is None:
        return None
    body, removed = out
    return (
        ConfigPayload(
            body=body,
            sha=hashlib.sha256(body).hexdigest(),
            failures=payload.failures,
            configured=frozenset(r for r in payload.configured if r.uid not in uids),
            changes_seen_at=payload.changes_seen_at,
            empty=payload.empty,
        ),
        removed,
    )
