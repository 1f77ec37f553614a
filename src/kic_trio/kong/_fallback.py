"""A fallback configuration that fails closed: the refused config minus what Kong refused.

DB-less Kong refuses a configuration as a whole, so one broken object would hold back every
other change. When Kong's 400 names entities (through their ``k8s-*`` tags), the applier
pushes the same configuration without those objects — and without everything that depends
on them — so the rest goes out. Upstream offers this behind its FallbackConfiguration
feature gate; here it is the default.

What "depends on" means follows upstream's dependency graph (``reference/upstream-surface.md``
§9), read off the configuration itself, where each entity's tags name its object:

* a refused **plugin** takes down what it is attached to (route, service, consumer, consumer
  group) and so the objects those came from: an Ingress is never served without a plugin its
  author asked for. A KongPlugin that Kong refuses goes as a whole (all its instances, all
  their referrers); a refused instance of a **KongClusterPlugin** is blamed on the object that
  referenced it, and only that instance goes — other namespaces keep theirs;
* a refused **global** plugin cannot be left out at all (it protects everything): no fallback,
  the last good configuration stays;
* a route whose service went takes its whole Ingress (upstream: an Ingress depends on its
  Services); a service whose client or CA certificate went takes its Service;
* a refused credential (a Secret) takes down its consumer (upstream: a KongConsumer depends on
  its credential Secrets; an ACL deny-list would otherwise let it through); a consumer group
  that went takes its members with it (its plugins limited them);
* what only referenced something that went (a plugin on a dropped route, a target of a dropped
  upstream, a credential of a dropped consumer) goes quietly.

The result also carries who is to blame and who is left out, for Events and lifecycle events.
Pure code: no trio, no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import orjson

from .._payload import ConfigPayload
from ..models import Failure, ObjectRef
from ._dependencies import ObjectGraph, object_key, ref_key
from ._parse import ConfigRejection, EntityError, ref_from_tags

#: Entity lists that may be nested under another entity (Kong's declarative nesting). FakeKong
#: has its own copy; tests/unit/fakekong/test_kong_rules_agree.py keeps the two equal.
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
    "key_sets": ("keys",),
    "consumer_groups": ("plugins",),
}
#: How an entity of a type can be referenced: its id and these fields.
_KEYS: dict[str, tuple[str, ...]] = {
    "services": ("name",),
    "routes": ("name",),
    "consumers": ("username", "custom_id"),
    "upstreams": ("name",),
    "certificates": (),
    "ca_certificates": (),
    "consumer_groups": ("name",),
}
_CREDENTIALS = (
    "acls",
    "keyauth_credentials",
    "basicauth_credentials",
    "hmacauth_credentials",
    "jwt_secrets",
    "oauth2_credentials",
    "mtls_auth_credentials",
)
#: References that must still resolve: type -> {field: referenced type}.
_REFS: dict[str, dict[str, str]] = {
    "routes": {"service": "services"},
    "services": {"client_certificate": "certificates", "ca_certificates": "ca_certificates"},
    "upstreams": {"client_certificate": "certificates"},
    "plugins": {
        "route": "routes",
        "service": "services",
        "consumer": "consumers",
        "consumer_group": "consumer_groups",
    },
    "targets": {"upstream": "upstreams"},
    "snis": {"certificate": "certificates"},
    "consumer_group_consumers": {"consumer": "consumers", "consumer_group": "consumer_groups"},
    **{c: {"consumer": "consumers"} for c in _CREDENTIALS},
}
_PARENT_FK = {
    "services": "service",
    "routes": "route",
    "consumers": "consumer",
    "upstreams": "upstream",
    "certificates": "certificate",
    "key_sets": "set",
    "consumer_groups": "consumer_group",
}
#: An entity that loses this reference takes its own object down with it (not only itself).
_TAKES_OWNER_DOWN = frozenset(
    {
        ("routes", "service"),
        ("services", "client_certificate"),
        ("services", "ca_certificates"),
        ("upstreams", "client_certificate"),
    }
)
#: What a plugin is attached to.
_PLUGIN_TARGETS = ("route", "service", "consumer", "consumer_group")
STUB = {"name": "kong"}
_CLUSTER_PLUGIN = "KongClusterPlugin"
_PLUGINS_ANNOTATION = "metadata.annotations.konghq.com/plugins"


class _Node:
    """One entity of the configuration, where it sits, and which object it came from."""

    __slots__ = ("_owner", "dependants", "ent", "etype", "key", "parent", "refs", "uid")

    def __init__(
        self,
        etype: str,
        ent: dict[str, Any],
        parent: _Node | None,
        uid: str | None,
        key: str | None,
    ) -> None:
        self.etype = etype
        self.ent = ent
        self.parent = parent
        #: The ``k8s-uid`` tag (even when the other tags are too incomplete for ``owner``).
        self.uid = uid
        #: The object the entity came from, as upstream identifies it (UID, kind, namespace,
        #: name): all entities with one key stand or fall together.
        self.key = key
        self._owner: ObjectRef | bool | None = False  # False: not read from the tags yet
        #: (field, entities it references through that field), the parent link included.
        self.refs: list[tuple[str, list[_Node]]] = []
        #: (entity, field) pairs that reference this one.
        self.dependants: list[tuple[_Node, str]] = []

    @property
    def owner(self) -> ObjectRef | None:
        """The object the entity came from (its ``k8s-*`` tags), read when first needed."""
        if self._owner is False:
            tags = self.ent.get("tags") if self.uid else None
            self._owner = (
                ref_from_tags([t for t in tags if isinstance(t, str)])
                if isinstance(tags, list)
                else None
            )
        return self._owner if isinstance(self._owner, ObjectRef) else None

    def targets(self) -> list[_Node]:
        """For a plugin: the entities it is attached to."""
        return [t for f, ts in self.refs if f in _PLUGIN_TARGETS for t in ts]


def _ref_values(ref: Any) -> list[str]:
    if isinstance(ref, str):
        return [ref]
    if isinstance(ref, Mapping) and isinstance(ref.get("id"), str):
        return [str(ref["id"])]
    if isinstance(ref, list):
        return [v for r in ref for v in _ref_values(r)]
    return []


class _Graph:
    """The entities of a configuration, linked by their references both ways."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.nodes: list[_Node] = []
        self.by_key: dict[str, list[_Node]] = {}
        self.by_uid: dict[str, set[str]] = {}  # uid -> object keys
        self.by_id: dict[tuple[str, str], list[_Node]] = {}
        #: built on first use (only a refusal without entity ids needs them)
        self._by_tags: dict[tuple[str, ...], list[_Node]] | None = None
        self._by_type: dict[str, list[_Node]] | None = None
        keys: dict[tuple[str, str], list[_Node]] = {}
        for etype, items in cfg.items():
            if not etype.startswith("_") and isinstance(items, list):
                self._walk(etype, items, None)
        for node in self.nodes:
            ent = node.ent
            eid = ent.get("id")
            if isinstance(eid, str):
                self.by_id.setdefault((node.etype, eid), []).append(node)
                keys.setdefault((node.etype, eid), []).append(node)
            for f in _KEYS.get(node.etype, ()):
                v = ent.get(f)
                if isinstance(v, str):
                    keys.setdefault((node.etype, v), []).append(node)
        for node in self.nodes:
            parent_fk = None
            if node.parent is not None:
                parent_fk = _PARENT_FK.get(node.parent.etype, "")
                node.refs.append((parent_fk, [node.parent]))
            refs = _REFS.get(node.etype)
            if not refs:
                continue
            for field, target in refs.items():
                if field == parent_fk or field not in node.ent:
                    continue
                found = [t for v in _ref_values(node.ent[field]) for t in keys.get((target, v), ())]
                if found:  # a reference that never resolved is Kong's business, not ours
                    node.refs.append((field, found))
        for node in self.nodes:
            for field, ts in node.refs:
                for t in ts:
                    t.dependants.append((node, field))

    def _walk(self, etype: str, items: list[Any], parent: _Node | None) -> None:
        for ent in items:
            if not isinstance(ent, dict):
                continue
            uid, key = _tag_identity(ent.get("tags"))
            node = _Node(etype, ent, parent, uid, key)
            self.nodes.append(node)
            if key:
                self.by_key.setdefault(key, []).append(node)
                if uid:
                    self.by_uid.setdefault(uid, set()).add(key)
            for child in _CHILDREN.get(etype, ()):
                sub = ent.get(child)
                if isinstance(sub, list):
                    self._walk(child, sub, node)

    def match(self, err: EntityError) -> list[_Node]:
        """The entities of the configuration Kong's error is about (by id, else by content)."""
        types = [t for t in _types() if _singular(t) == err.entity_type] or list(_types())
        if err.entity_id:
            found = [n for t in types for n in self.by_id.get((t, err.entity_id), ())]
            if found:
                return found
        shown = {
            k: v for k, v in err.entity.items() if not isinstance(v, dict | list) or k == "tags"
        }
        if not shown:
            return []
        if self._by_tags is None or self._by_type is None:
            self._by_tags, self._by_type = {}, {}
            for node in self.nodes:
                self._by_type.setdefault(node.etype, []).append(node)
                tags = node.ent.get("tags")
                if isinstance(tags, list) and all(isinstance(t, str) for t in tags):
                    self._by_tags.setdefault(tuple(tags), []).append(node)
        candidates = (
            self._by_tags.get(err.tags, [])
            if err.tags
            else [n for t in types for n in self._by_type.get(t, ())]
        )
        return [
            n
            for n in candidates
            if n.etype in types and all(n.ent.get(k) == v for k, v in shown.items())
        ]


def _tag_identity(tags: Any) -> tuple[str | None, str | None]:
    """The first ``k8s-uid`` tag (what ``ref_from_tags`` reads too: a user tag after it is not)
    and the object key the ``k8s-*`` tags name, read in one pass (it runs for every entity)."""
    if not isinstance(tags, list):
        return None, None
    kind = namespace = name = uid = None
    for t in tags:
        if not isinstance(t, str) or t[:4] != "k8s-":
            continue
        if t[:8] == "k8s-uid:":
            uid = uid if uid is not None else t[8:]
        elif t[:9] == "k8s-kind:":
            kind = kind if kind is not None else t[9:]
        elif t[:9] == "k8s-name:":
            name = name if name is not None else t[9:]
        elif t[:14] == "k8s-namespace:":
            namespace = namespace if namespace is not None else t[14:]
    uid = uid or None
    if not kind or not name:
        return uid, None
    return uid, object_key(kind, namespace or "", name, uid or "")


def _types() -> Iterable[str]:
    return {*_CHILDREN, *(c for cs in _CHILDREN.values() for c in cs), *_REFS, "plugins"}


def _singular(etype: str) -> str:
    return etype[:-1] if etype.endswith("s") else etype


def _show(ref: ObjectRef) -> str:
    return f"{ref.kind} {ref.namespace + '/' if ref.namespace else ''}{ref.name}"


def _show_plugin(node: _Node) -> str:
    name = node.ent.get("name")
    name = name if isinstance(name, str) else "?"
    return f"plugin {name!r} of {_show(node.owner)}" if node.owner else f"plugin {name!r}"


@attrs.frozen
class FallbackPlan:
    """What to do about a refused configuration, computed once for every gateway.

    ``body`` is the fallback configuration (``None``: no fallback can be made, ``blocked``
    says why, and the last good configuration stays). ``failures`` are Kong's refusals, each on
    the object to blame; ``left_out`` maps each object the fallback leaves out to why, and
    ``plugins_removed`` names the plugin instances it removes (with what they protected).
    """

    body: bytes | None
    removed: int
    failures: tuple[Failure, ...]
    left_out: Mapping[ObjectRef, str]
    plugins_removed: tuple[str, ...]
    unmapped: tuple[EntityError, ...] = ()
    blocked: str = ""


class _Planner:
    def __init__(self, cfg: dict[str, Any], objects: ObjectGraph | None = None) -> None:
        self.graph = _Graph(cfg)
        #: upstream's graph between the Kubernetes objects, when the caller has the objects
        self.objects = objects
        self.removed: dict[int, bool] = {}  # id(node) -> removed "for itself" (vs dangling)
        self.left_out: dict[str, tuple[ObjectRef, str]] = {}
        self.gone: set[str] = set()
        #: plugin object uid -> what its removed instances protected
        self.protects: dict[str, set[str]] = {}
        self.plugins: dict[int, str] = {}
        self.queue: list[_Node] = []
        self.blocked = ""

    def remove(self, node: _Node, itself: bool) -> None:
        was = self.removed.get(id(node))
        if was is None or (itself and not was):
            self.removed[id(node)] = itself
            self.queue.append(node)

    def take_down(self, ref: ObjectRef, why: str) -> None:
        self.take_down_key(ref_key(ref), ref, why)

    def take_down_key(self, key: str, ref: ObjectRef | None, why: str) -> None:
        if key in self.gone:
            return
        self.gone.add(key)
        if ref is not None:
            self.left_out[key] = (ref, why)
        for node in self.graph.by_key.get(key, ()):
            self.remove(node, True)
        if self.objects is not None:
            shown = _show(ref) if ref is not None else "an object"
            plugin = next((n for n in self.graph.by_key.get(key, ()) if n.etype == "plugins"), None)
            if plugin is not None:  # say which plugin: what the dependant loses
                shown = _show_plugin(plugin)
            for dep in sorted(self.objects.dependants.get(key, ())):
                self.take_down_key(
                    dep, self.objects.refs.get(dep), f"it depends on {shown}, which is left out"
                )

    def take_down_entity(self, node: _Node, why: str) -> None:
        if node.key:
            owner = node.owner
            if owner is None and self.objects is not None:
                owner = self.objects.refs.get(node.key)
            self.take_down_key(node.key, owner, why)
        else:
            self.remove(node, True)

    def run(self) -> None:
        while self.queue:
            node = self.queue.pop()
            itself = self.removed[id(node)]
            if itself and node.etype == "plugins":
                self._plugin_gone(node)
            elif itself and node.etype in _CREDENTIALS and node.owner is not None:
                for _, ts in node.refs:
                    for consumer in ts:
                        self.take_down_entity(
                            consumer, f"it depends on {_show(node.owner)}, which is left out"
                        )
            for dep, field in node.dependants:
                if id(dep) in self.removed:
                    continue
                self.remove(dep, False)
                cause = _show(node.owner) if node.owner else f"{_singular(node.etype)} entity"
                why = f"it depends on {cause}, which is left out"
                if (dep.etype, field) in _TAKES_OWNER_DOWN:
                    self.take_down_entity(dep, why)
                elif dep.etype == "consumer_group_consumers" and field == "consumer_group":
                    # a member of a group that went would escape the group's plugins
                    for f, ts in dep.refs:
                        if f == "consumer":
                            for consumer in ts:
                                self.take_down_entity(consumer, why)

    def _plugin_gone(self, node: _Node) -> None:
        targets = node.targets()
        shown = _show_plugin(node)
        if not targets:
            self.blocked = (
                f"Kong refused the global {shown}: a configuration without it would serve "
                "everything with less protection, so the last good configuration stays"
            )
            return
        on = sorted({_show(t.owner) if t.owner else _singular(t.etype) for t in targets})
        self.plugins[id(node)] = f"{shown} on {', '.join(on)}"
        if node.key:
            self.protects.setdefault(node.key, set()).update(on)
        for t in targets:
            self.take_down_entity(t, f"{shown}, attached to it, is left out")

    def check(self) -> None:
        """Fail closed: every plugin left out has something it protected left out with it."""
        for node in self.graph.nodes:
            if node.etype == "plugins" and id(node) in self.removed:
                targets = node.targets()
                if not targets or not any(id(t) in self.removed for t in targets):
                    self.blocked = self.blocked or (
                        f"{_show_plugin(node)} would be left out while what it protects is served"
                    )


def _prune(etype: str, items: list[Any], removed: Mapping[int, bool]) -> list[Any]:
    """``items`` without the removed entities; a child list this empties is left out, as
    upstream never emits an empty list."""
    kept: list[Any] = []
    for ent in items:
        if isinstance(ent, dict):
            if id(ent) in removed:
                continue
            for child in _CHILDREN.get(etype, ()):
                sub = ent.get(child)
                if isinstance(sub, list) and sub:
                    pruned = _prune(child, sub, removed)
                    if pruned:
                        ent[child] = pruned
                    else:
                        del ent[child]
        kept.append(ent)
    return kept


def _seed(
    planner: _Planner, rejections: Sequence[ConfigRejection]
) -> tuple[list[Failure], list[EntityError]]:
    failures: list[Failure] = []
    unmapped: list[EntityError] = []
    for rejection in rejections:
        for err in rejection.entities:
            ref = ref_from_tags(err.tags)
            nodes = planner.graph.match(err)
            if ref is not None and ref.kind == _CLUSTER_PLUGIN:
                instances = [n for n in nodes if n.etype == "plugins" and n.targets()]
                if instances and len(instances) == len(nodes):
                    # blame the referrers of this instance, not the plugin in every namespace
                    for inst in instances:
                        planner.remove(inst, True)
                        for t in inst.targets():
                            blame = t.owner if t.owner is not None else ref
                            for key, message in err.problems:
                                failures.append(
                                    Failure(
                                        blame,
                                        _PLUGINS_ANNOTATION if blame is not ref else "",
                                        f"invalid {key}: {message} ({_show(ref)}, plugin "
                                        f"{inst.ent.get('name')!r})",
                                    )
                                )
                    continue
            if ref is not None:
                for key, message in err.problems:
                    failures.append(Failure(ref, "", f"invalid {key}: {message}"))
                planner.take_down(ref, "Kong refused it")
                if ref_key(ref) not in planner.graph.by_key:
                    for n in nodes:  # tags name an object, but no entity carries them as owner
                        planner.remove(n, True)
            elif nodes:
                for n in nodes:
                    planner.remove(n, True)
                unmapped.append(err)
            else:
                unmapped.append(err)
    return _dedupe(failures), unmapped


def _dedupe(failures: Iterable[Failure]) -> list[Failure]:
    return list(dict.fromkeys(failures))


def plan_fallback(
    body: bytes,
    rejections: Sequence[ConfigRejection],
    objects: ObjectGraph | None = None,
    last_valid: bytes | None = None,
    last_valid_objects: ObjectGraph | None = None,
) -> FallbackPlan:
    """The fallback for ``body`` after Kong's ``rejections`` (one per refused round).

    ``objects`` (upstream's graph between the Kubernetes objects, :func:`build_object_graph`)
    adds the dependencies no entity shows (a KongPlugin configured from a refused Secret, the
    Ingresses of a refused IngressClass); without it the configuration's own references are
    followed, which covers everything Kong itself can refuse. The controller and ``kic-trio
    translate --assume-refused`` both come through
    :func:`kic_trio.kong._fallback_parts.plan_for_snapshots`, which builds it from the models.

    ``last_valid`` (upstream's ``--use-last-valid-config-for-fallback``): the last
    configuration Kong accepted; every object left out is back-filled from it, with what
    depended on it there (:func:`_backfill`), ``last_valid_objects`` being the graph of the
    objects that configuration was made from.
    """
    try:
        cfg = orjson.loads(body)
    except orjson.JSONDecodeError:
        return FallbackPlan(None, 0, (), {}, (), blocked="the configuration is not JSON")
    if not isinstance(cfg, dict):
        return FallbackPlan(None, 0, (), {}, (), blocked="the configuration is not an object")
    planner = _Planner(cfg, objects)
    failures, unmapped = _seed(planner, rejections)
    return _finish(planner, cfg, failures, unmapped, last_valid, last_valid_objects)


def _drop_unrouted(planner: _Planner) -> None:
    """A service all of whose routes went is left out, with its upstream.

    Upstream re-translates without the left-out objects, and a Kubernetes Service becomes a
    Kong service only through the routes that use it: one that only left-out Ingresses used
    is not emitted at all. Leaving out more is never less protection.
    """
    removed = planner.removed
    gone_hosts: set[str] = set()
    for node in planner.graph.nodes:
        if node.etype != "services" or id(node) in removed:
            continue
        routes = [d for d, _ in node.dependants if d.etype == "routes"]
        if routes and all(id(r) in removed for r in routes):
            planner.remove(node, False)
            host = node.ent.get("host")
            if isinstance(host, str):
                gone_hosts.add(host)
    if not gone_hosts:
        return
    planner.run()
    used = {
        n.ent.get("host")
        for n in planner.graph.nodes
        if n.etype == "services" and id(n) not in removed
    }
    for node in planner.graph.nodes:
        name = node.ent.get("name")
        if (
            node.etype == "upstreams"
            and id(node) not in removed
            and name in gone_hosts
            and name not in used
        ):
            planner.remove(node, False)
    planner.run()


def _ident(etype: str, ent: Mapping[str, Any]) -> list[tuple[str, str]]:
    out = [(etype, f"id:{ent['id']}")] if isinstance(ent.get("id"), str) else []
    for f in _KEYS.get(etype, ()):
        if isinstance(ent.get(f), str):
            out.append((etype, f"{f}:{ent[f]}"))
    return out


def _backfill(
    cfg: dict[str, Any],
    gone: Iterable[str],
    last_valid: bytes,
    objects: ObjectGraph | None = None,
) -> int:
    """Put back, from the last configuration Kong accepted, the left-out objects as they were
    there and what depended on them there (upstream's ``GenerateBackfillingBrokenObjects``).

    The subgraph is computed on the old configuration with the same rules as the exclusion,
    so what comes back is a whole that Kong accepted, plugins and all: never less protection.
    An entity whose identity (id, name) the fallback already has is not added twice; a parent
    it needs (a service for its routes) comes back with it, with its upstream. Returns how many
    entities came back.
    """
    try:
        old = orjson.loads(last_valid)
    except orjson.JSONDecodeError:
        return 0
    if not isinstance(old, dict):
        return 0
    back = _Planner(old, objects)
    for key in sorted(gone):
        back.take_down_key(key, None, "")
    back.run()
    if back.blocked or not back.removed:
        return 0
    have: set[tuple[str, str]] = set()
    index: dict[tuple[str, str], dict[str, Any]] = {}
    fallback = _Graph(cfg)
    for node in fallback.nodes:
        for ident in _ident(node.etype, node.ent):
            have.add(ident)
            index.setdefault(ident, node.ent)
    wanted = {id(n.ent) for n in back.graph.nodes if id(n) in back.removed}
    hosts: set[str] = set()
    added = 0

    def copy(etype: str, ent: dict[str, Any], parent_list: list[Any]) -> None:
        nonlocal added
        idents = _ident(etype, ent)
        mine = id(ent) in wanted
        target = next((index[i] for i in idents if i in index), None)
        if target is None:
            if not mine and not _has_wanted(etype, ent, wanted):
                return
            target = {k: v for k, v in ent.items() if k not in _CHILDREN.get(etype, ())}
            parent_list.append(target)
            for i in idents:
                have.add(i)
                index[i] = target
            added += 1
            if etype == "services" and isinstance(ent.get("host"), str):
                hosts.add(ent["host"])
        elif mine:
            return  # the fallback has its own version: kept
        for child in _CHILDREN.get(etype, ()):
            sub = ent.get(child)
            if isinstance(sub, list):
                kids = target.setdefault(child, [])
                for c in sub:
                    if isinstance(c, dict):
                        copy(child, c, kids)
                if not kids:
                    del target[child]

    for etype, items in old.items():
        if etype.startswith("_") or not isinstance(items, list):
            continue
        dest = cfg.setdefault(etype, [])
        for ent in items:
            if isinstance(ent, dict):
                copy(etype, ent, dest)
        if not dest:
            del cfg[etype]
    for ent in old.get("upstreams") or []:
        name = ent.get("name") if isinstance(ent, dict) else None
        if name in hosts and ("upstreams", f"name:{name}") not in have:
            cfg.setdefault("upstreams", []).append(ent)
            added += 1
    return added


def _has_wanted(etype: str, ent: Mapping[str, Any], wanted: set[int]) -> bool:
    for child in _CHILDREN.get(etype, ()):
        sub = ent.get(child)
        if isinstance(sub, list):
            for c in sub:
                if isinstance(c, dict) and (id(c) in wanted or _has_wanted(child, c, wanted)):
                    return True
    return False


def _decide(
    planner: _Planner, failures: list[Failure], unmapped: list[EntityError]
) -> tuple[FallbackPlan, dict[int, bool]]:
    """Run the planner to its end: the plan without its body (``blocked`` set when no fallback
    can be made) and the removed entities (``id(entity dict) -> removed for itself``)."""
    planner.run()
    _drop_unrouted(planner)
    planner.check()
    left_out = {
        ref: why
        + (
            f"; what it protects is left out with it: {', '.join(sorted(planner.protects[uid]))}"
            if uid in planner.protects
            else ""
        )
        for uid, (ref, why) in planner.left_out.items()
    }
    plugins = tuple(sorted(planner.plugins.values()))
    removed = {
        id(n.ent): v for n in planner.graph.nodes if (v := planner.removed.get(id(n))) is not None
    }
    # Without the objects, a refusal that removes no entity would push the refused body again.
    # With them (upstream's protocol), a refused object that produced no entity (a Secret whose
    # plugin already failed) is left out by leaving it out of the snapshot: same body, pushed.
    ok = removed or (planner.objects is not None and planner.left_out)
    blocked = planner.blocked or ("" if ok else "nothing Kong refused can be left out")
    plan = FallbackPlan(
        None, len(removed), tuple(failures), left_out, plugins, tuple(unmapped), blocked
    )
    return (attrs.evolve(plan, removed=0) if blocked else plan), removed


def _finish(
    planner: _Planner,
    cfg: dict[str, Any],
    failures: list[Failure],
    unmapped: list[EntityError],
    last_valid: bytes | None = None,
    last_valid_objects: ObjectGraph | None = None,
) -> FallbackPlan:
    plan, removed = _decide(planner, failures, unmapped)
    if plan.blocked:
        return plan
    for key in list(cfg):
        if not key.startswith("_") and isinstance(cfg[key], list) and cfg[key]:
            cfg[key] = _prune(key, cfg[key], removed)
            if not cfg[key]:
                del cfg[key]  # upstream leaves an empty list out
    if last_valid is not None:
        _backfill(cfg, planner.gone, last_valid, last_valid_objects)
    if not any(isinstance(v, list) and v for k, v in cfg.items() if not k.startswith("_")):
        cfg["upstreams"] = [dict(STUB)]  # upstream's stub, so Kong reports ready
    return attrs.evolve(plan, body=orjson.dumps(cfg, option=orjson.OPT_SORT_KEYS))


def without_objects(body: bytes, uids: frozenset[str]) -> tuple[bytes, int] | None:
    """``body`` without the objects with these UIDs and everything that depends on them.

    Returns the new body and how many entities were removed, or ``None`` when no fallback
    can be made (nothing carries those UIDs, or a global plugin would go).
    """
    try:
        cfg = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(cfg, dict):
        return None
    planner = _Planner(cfg)
    for uid in sorted(uids):
        for key in sorted(planner.graph.by_uid.get(uid, ())):
            planner.take_down_key(key, planner.graph.by_key[key][0].owner, "Kong refused it")
    plan = _finish(planner, cfg, [], [])
    return None if plan.body is None else (plan.body, plan.removed)


def fallback_payload(payload: ConfigPayload, plan: FallbackPlan) -> ConfigPayload | None:
    """The plan's fallback as a payload (same failures and change times), or ``None``."""
    if plan.body is None:
        return None
    gone = {ref.uid for ref in plan.left_out}
    return ConfigPayload(
        body=plan.body,
        sha=hashlib.sha256(plan.body).hexdigest(),
        failures=payload.failures,
        configured=frozenset(r for r in payload.configured if r.uid not in gone),
        changes_seen_at=payload.changes_seen_at,
        empty=payload.empty,
        status=payload.status,
        snapshot=payload.snapshot,
    )
