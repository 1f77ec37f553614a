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

from ..models import ObjectRef
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
_Plugins = Callable[[str, Mapping[str, Any]], Iterator[str]]


def object_key(kind: str, namespace: str, name: str, uid: str) -> str:
    """The identity upstream gives an object (its ``ObjectHash``: UID, kind, namespace, name)."""
    ns = "" if kind in CLUSTER_SCOPED else namespace
    return f"{kind}\0{ns}\0{name}\0{uid}"


def ref_key(ref: ObjectRef) -> str:
    return object_key(ref.kind, ref.namespace, ref.name, ref.uid)


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value[:_MAX_REFS] if isinstance(value, list) else []


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def ref_of(raw: Mapping[str, Any]) -> ObjectRef | None:
    """The reference of a raw object (``None`` without a kind or a name)."""
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


def build_object_graph(objects: Iterable[Mapping[str, Any]]) -> ObjectGraph:
    """Upstream's dependency graph over ``objects`` (later duplicates replace earlier ones)."""
    graph = ObjectGraph()
    by_name: dict[tuple[str, str, str], str] = {}  # (kind, namespace, name) -> key
    raws: dict[str, Mapping[str, Any]] = {}
    for raw in objects:
        ref = ref_of(raw)
        if ref is None:
            continue
        key = ref_key(ref)
        old = by_name.get((ref.kind, ref.namespace, ref.name))
        if old is not None and old != key:
            graph.refs.pop(old, None)
            raws.pop(old, None)
        by_name[(ref.kind, ref.namespace, ref.name)] = key
        graph.refs[key] = ref
        raws[key] = raw

    def find(kind: str, namespace: str, name: str) -> str | None:
        return by_name.get((kind, "" if kind in CLUSTER_SCOPED else namespace, name))

    def plugins(namespace: str, annotations: Mapping[str, Any]) -> Iterator[str]:
        for entry in _str(annotations.get(_PLUGINS)).split(",")[:_MAX_REFS]:
            name = entry.strip()
            if not name or ":" in name:
                continue
            found = find("KongPlugin", namespace, name) or find("KongClusterPlugin", "", name)
            if found:
                yield found

    for key, raw in raws.items():
        ref = graph.refs[key]
        deps = set(_dependencies(ref, raw, find, plugins))
        deps.discard(key)
        for dep in deps:
            graph.dependants.setdefault(dep, set()).add(key)
    return graph


def _dependencies(
    ref: ObjectRef,
    raw: Mapping[str, Any],
    find: _Find,
    plugins: _Plugins,
) -> Iterator[str]:
    kind, ns = ref.kind, ref.namespace
    annotations = _map(_map(raw.get("metadata")).get("annotations"))
    spec = _map(raw.get("spec"))

    def one(k: str, namespace: str, name: Any) -> Iterator[str]:
        if isinstance(name, str) and name:
            found = find(k, namespace, name)
            if found:
                yield found

    if kind in ("Service", "KongServiceFacade", "Ingress"):
        yield from plugins(ns, annotations)
        yield from one("KongUpstreamPolicy", ns, annotations.get(_POLICY))
    if kind == "Ingress":
        cls = spec.get("ingressClassName") or annotations.get(_CLASS)
        yield from one("IngressClass", "", cls)
        for rule in _list(spec.get("rules")):
            for path in _list(_map(_map(rule).get("http")).get("paths")):
                backend = _map(_map(path).get("backend"))
                yield from one("Service", ns, _map(backend.get("service")).get("name"))
                resource = _map(backend.get("resource"))
                if resource.get("kind") == "KongServiceFacade":
                    yield from one("KongServiceFacade", ns, resource.get("name"))
    elif kind in _ROUTES:
        yield from plugins(ns, annotations)
        for rule in _list(spec.get("rules")):
            for backend in _list(_map(rule).get("backendRefs")):
                b = _map(backend)
                if b.get("kind") == "Service" and b.get("group", "") in ("", None):
                    yield from one("Service", _str(b.get("namespace")) or ns, b.get("name"))
    elif kind in ("KongPlugin", "KongClusterPlugin"):
        config_from = _map(raw.get("configFrom"))
        refs = [_map(config_from.get("secretKeyRef"))]
        for patch in _list(raw.get("configPatches")):
            refs.append(_map(_map(_map(patch).get("valueFrom")).get("secretKeyRef")))
        for r in refs:
            where = ns if kind == "KongPlugin" else _str(r.get("namespace"))
            yield from one("Secret", where, r.get("name"))
    elif kind == "KongConsumer":
        yield from plugins(ns, annotations)
        for cred in _list(raw.get("credentials")):
            yield from one("Secret", ns, cred)
    elif kind == "KongConsumerGroup":
        yield from plugins(ns, annotations)
    elif kind in ("TCPIngress", "UDPIngress"):
        yield from plugins(ns, annotations)
        for rule in _list(spec.get("rules")):
            yield from one("Service", ns, _map(_map(rule).get("backend")).get("serviceName"))
    elif kind == "KongCustomEntity":
        parent = _map(spec.get("parentRef"))
        pkind, pname = parent.get("kind"), parent.get("name")
        if pkind == "KongPlugin" and parent.get("namespace") in (None, "", ns):
            yield from one("KongPlugin", ns, pname)
        elif pkind == "KongClusterPlugin":
            yield from one("KongClusterPlugin", "", pname)


__all__ = ["ObjectGraph", "build_object_graph", "object_key", "ref_key", "ref_of"]
