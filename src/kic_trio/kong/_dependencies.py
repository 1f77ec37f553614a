"""Upstream's dependency graph between Kubernetes objects, for the fallback configuration.

Why a second graph beside the one read off the Kong configuration (``_fallback``): some
dependencies leave no trace in the entities. A KongPlugin whose ``configFrom`` names a Secret
produces a plugin tagged with the KongPlugin only, and an IngressClass produces nothing at all,
yet upstream leaves out the plugin when the Secret is refused and the Ingresses when their
class is. This module rebuilds upstream's table (``reference/upstream-surface.md`` §9,
``fallback/graph_dependencies*.go``) from the objects as a user wrote them:

=====================================  =======================================================
dependant                              depends on
=====================================  =======================================================
Service, KongServiceFacade             plugins of ``konghq.com/plugins``; the KongUpstreamPolicy
                                       of ``konghq.com/upstream-policy``
Ingress                                its IngressClass; Services / KongServiceFacades of its
                                       backends; its own upstream-policy and plugins annotations
HTTP/GRPC/TCP/UDP/TLSRoute             core Services of its backendRefs; plugins annotation
KongPlugin / KongClusterPlugin         Secrets of ``configFrom`` / ``configPatches``
KongConsumer                           plugins annotation; Secrets of ``credentials``
KongConsumerGroup                      plugins annotation
TCPIngress, UDPIngress                 plugins annotation; Services of ``rules[].backend``
KongCustomEntity                       its ``parentRef`` plugin (same namespace only)
=====================================  =======================================================

A plugin name resolves as upstream's ``ExtractPlugins``: a KongPlugin in the object's
namespace wins, else a KongClusterPlugin of that name; ``ns:name`` entries never resolve.
Only objects present count; a reference to a missing object is no edge.

Pure code, bounded: one pass over the objects, each reference list capped, every odd shape
(a list where a mapping should be, a number for a name) simply gives no edge.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import attrs

from ..models import (
    Ingress,
    KongClusterPlugin,
    KongConsumer,
    KongCustomEntity,
    KongPlugin,
    Model,
    ObjectRef,
    TCPIngress,
    UDPIngress,
)
from ..store import Snapshot
from ._parse import CLUSTER_SCOPED

#: References read per object and field: a hostile object cannot make the graph quadratic.
_MAX_REFS = 1000
_PLUGINS = "konghq.com/plugins"
_POLICY = "konghq.com/upstream-policy"
_CLASS = "kubernetes.io/ingress.class"
_ROUTES = frozenset({"HTTPRoute", "GRPCRoute", "TCPRoute", "UDPRoute", "TLSRoute"})
#: (kind, namespace, name) -> key of the object present, if any
_Find = Callable[[str, str, str], "str | None"]
#: (namespace, annotations) -> keys of the plugins the annotation names
_Plugins = Callable[[str, Mapping[str, str]], Iterator[str]]


def object_key(kind: str, namespace: str, name: str, uid: str) -> str:
    """The identity upstream gives an object (its ``ObjectHash``: UID, kind, namespace, name)."""
    ns = "" if kind in CLUSTER_SCOPED else namespace
    return f"{kind}\0{ns}\0{name}\0{uid}"


def ref_key(ref: ObjectRef) -> str:
    return object_key(ref.kind, ref.namespace, ref.name, ref.uid)


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def ref_of(raw: Mapping[str, Any]) -> ObjectRef | None:
    """The reference of a raw manifest (``None`` without a kind or a name): how ``kic-trio
    translate`` names the objects it assumes refused before they are parsed."""
    kind, meta = _str(raw.get("kind")), _map(raw.get("metadata"))
    name = _str(meta.get("name"))
    if not kind or not name:
        return None
    api = _str(raw.get("apiVersion"))
    group, _, version = api.rpartition("/")
    namespace = "" if kind in CLUSTER_SCOPED else (_str(meta.get("namespace")) or "default")
    return ObjectRef(kind, namespace, name, _str(meta.get("uid")), group, version or "v1")


@attrs.define
class ObjectGraph:
    """Objects by key and, for each, the objects that depend on it (edges dependency→dependant)."""

    refs: dict[str, ObjectRef] = attrs.field(factory=dict)
    dependants: dict[str, set[str]] = attrs.field(factory=dict)

    def reachable(self, key: str) -> Iterator[str]:
        """``key`` and everything that depends on it, transitively (upstream's DFS)."""
        seen = {key}
        stack = [key]
        while stack:
            k = stack.pop()
            yield k
            for dep in sorted(self.dependants.get(k, ())):
                if dep not in seen:
                    seen.add(dep)
                    stack.append(dep)


def snapshot_graph(snapshot: Snapshot) -> ObjectGraph:
    """Upstream's dependency graph over every object of ``snapshot`` (the controller's store,
    or the manifests ``kic-trio translate`` read: the same models either way)."""
    return build_object_graph(m for kind in snapshot.kinds() for m in snapshot.map(kind).values())


def build_object_graph(models: Iterable[Model]) -> ObjectGraph:
    """Upstream's dependency graph over ``models`` (one per kind/namespace/name: a later one
    with the same name replaces an earlier one, as in the store)."""
    graph = ObjectGraph()
    by_name: dict[tuple[str, str, str], str] = {}  # (kind, namespace, name) -> key
    held: dict[str, Model] = {}
    for model in models:
        ref = model.ref
        if not ref.kind or not ref.name:
            continue
        key = ref_key(ref)
        ns = "" if ref.kind in CLUSTER_SCOPED else ref.namespace
        old = by_name.get((ref.kind, ns, ref.name))
        if old is not None and old != key:
            graph.refs.pop(old, None)
            held.pop(old, None)
        by_name[(ref.kind, ns, ref.name)] = key
        graph.refs[key] = ref
        held[key] = model

    def find(kind: str, namespace: str, name: str) -> str | None:
        return by_name.get((kind, "" if kind in CLUSTER_SCOPED else namespace, name))

    def plugins(namespace: str, annotations: Mapping[str, str]) -> Iterator[str]:
        for entry in _str(annotations.get(_PLUGINS)).split(",")[:_MAX_REFS]:
            name = entry.strip()
            if not name or ":" in name:
                continue
            found = find("KongPlugin", namespace, name) or find("KongClusterPlugin", "", name)
            if found:
                yield found

    for key, model in held.items():
        deps = set(_dependencies(model, find, plugins))
        deps.discard(key)
        for dep in deps:
            graph.dependants.setdefault(dep, set()).add(key)
    return graph


def _dependencies(model: Model, find: _Find, plugins: _Plugins) -> Iterator[str]:
    """What ``model`` depends on, as upstream's ``ResolveDependencies`` for its kind."""
    kind, ns = model.ref.kind, model.ref.namespace
    annotations = model.annotations

    def one(k: str, namespace: str, name: str | None) -> Iterator[str]:
        if name:
            found = find(k, namespace, name)
            if found:
                yield found

    if kind in ("Service", "KongServiceFacade", "Ingress"):
        yield from plugins(ns, annotations)
        yield from one("KongUpstreamPolicy", ns, annotations.get(_POLICY))
    if isinstance(model, Ingress):
        yield from one("IngressClass", "", model.ingress_class_name or annotations.get(_CLASS))
        for rule in model.rules[:_MAX_REFS]:
            for path in rule.paths[:_MAX_REFS]:
                backend = path.backend
                yield from one("Service", ns, backend.service_name)
                if backend.resource is not None and backend.resource[1] == "KongServiceFacade":
                    yield from one("KongServiceFacade", ns, backend.resource[2])
    elif isinstance(model, KongPlugin):  # KongClusterPlugin too
        cluster = isinstance(model, KongClusterPlugin)
        refs = [model.config_from] + [p.value_from for p in model.config_patches[:_MAX_REFS]]
        for r in refs:
            if r is not None:
                yield from one("Secret", r.namespace if cluster else ns, r.name)
    elif isinstance(model, KongConsumer):
        yield from plugins(ns, annotations)
        for cred in model.credentials[:_MAX_REFS]:
            yield from one("Secret", ns, cred)
    elif kind == "KongConsumerGroup" or kind in _ROUTES:
        # Gateway API routes: their backendRefs come with their models (issue 15)
        yield from plugins(ns, annotations)
    elif isinstance(model, TCPIngress | UDPIngress):
        yield from plugins(ns, annotations)
        for stream in model.rules[:_MAX_REFS]:
            yield from one("Service", ns, stream.service)
    elif isinstance(model, KongCustomEntity) and model.parent is not None:
        parent = model.parent
        if parent.kind == "KongPlugin" and parent.namespace in ("", ns):
            yield from one("KongPlugin", ns, parent.name)
        elif parent.kind == "KongClusterPlugin":
            yield from one("KongClusterPlugin", "", parent.name)


__all__ = [
    "ObjectGraph",
    "build_object_graph",
    "object_key",
    "ref_key",
    "ref_of",
    "snapshot_graph",
]
