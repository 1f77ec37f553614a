"""Kong services planned by the GRPCRoute and L4 route translators (Gateway API), and their build.

A Gateway API rule names its own Kong service (``grpcroute.<ns>.<route>.<rule>``,
``tcproute.<ns>.<route>.<rule>``...): service name = ``host`` = upstream name, unlike an
Ingress service named after its Kubernetes Service port. The route translators
(``_grpcroute.py``, ``_l4route.py``) are pure and say *what* each service is — a
:class:`ServicePlan`: its name, protocol, resolved weighted backends and routes — and
:func:`build_service` makes the Kong entities, reusing the kind-neutral service builder
(``_services.translate_service``) for targets, Service annotations and upstream policies.

Backend references follow upstream's rules (gateway-api.md §5.4): a ref without ``kind``, of
another kind or group, to a missing Service or, across namespaces, without a ReferenceGrant, is
skipped; when refs existed but none resolved, an HTTP/gRPC service answers 500 (upstream's
``request-termination`` "no existing backendRef provided") instead of routing nowhere.

Advice: everything read here goes into the plan's ``deps`` (Services, grants): the caller
records them on its unit so a change to any of them recomputes the route.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs

from ..models import Failure, ObjectRef, Service
from ..models._gateway_api import GW_GROUP, BackendRef, ReferenceGrant
from ..store import Snapshot
from ._ingress import RouteOut
from ._model import Backend
from ._services import translate_service
from ._util import entity_id, tags_for

Dep = tuple[str, str, str]

#: Tags of a Kong service whose Kubernetes Service is unknown (upstream's placeholder set).
UNKNOWN_TAGS = (
    "k8s-name:UNKNOWN",
    "k8s-namespace:UNKNOWN",
    "k8s-kind:Service",
    "k8s-uid:00000000-0000-0000-0000-000000000000",
    "k8s-group:core",
    "k8s-version:v1",
)
#: Upstream's answer when every backendRef of an HTTP/gRPC rule was dropped.
NO_BACKEND_PLUGIN: dict[str, Any] = {
    "name": "request-termination",
    "config": {"status_code": 500, "message": "no existing backendRef provided"},
}
_TIMEOUTS = ("connect_timeout", "read_timeout", "write_timeout")

#: ``(view, from_group, from_kind, from_namespace, to_group, to_kind, to_namespace, to_name)``
#: -> allowed: the ReferenceGrant check (gw-core's ``grant_allows`` has this shape).
GrantCheck = Callable[[Snapshot, str, str, str, str, str, str, str], bool]


def snapshot_grant_allows(
    snap: Snapshot,
    from_group: str,
    from_kind: str,
    from_namespace: str,
    to_group: str,
    to_kind: str,
    to_namespace: str,
    to_name: str,
) -> bool:
    """Whether a ReferenceGrant in ``to_namespace`` lets ``from`` objects reference ``to``.

    upstream's ``references.go``: a ``from`` equal to (group, kind, namespace) and a ``to``
    with the same group and kind and no name or the same name.
    """
    for grant in snap.list("ReferenceGrant"):
        if not isinstance(grant, ReferenceGrant) or grant.ref.namespace != to_namespace:
            continue
        if not any(
            f.group == from_group and f.kind == from_kind and f.namespace == from_namespace
            for f in grant.from_
        ):
            continue
        if any(
            t.group == to_group and t.kind == to_kind and (not t.name or t.name == to_name)
            for t in grant.to
        ):
            return True
    return False


@attrs.frozen(slots=True, eq=False)
class ServicePlan:
    """One Kong service a Gateway API rule makes, before it is built.

    ``backends``: the backendRefs that resolved (weighted); ``refs_dropped``: some refs existed
    and none resolved. ``protocol``: the Kong service protocol (``grpc``/``grpcs``/``tcp``/
    ``udp``), the Service's ``konghq.com/protocol`` annotation wins as for any service.
    """

    name: str
    protocol: str
    owner: ObjectRef
    owner_tags: tuple[str, ...]
    routes: tuple[RouteOut, ...]
    backends: tuple[Backend, ...] = ()
    refs_dropped: bool = False
    #: Kong routes of a stream (L4) service: they take no HTTP fields.
    stream: bool = False


#: The placeholder first Backend of a route whose backendRefs did not resolve (never built:
#: :func:`build_service` makes a bare service for a plan without backends).
NO_BACKEND = Backend("", "", ("number", 0))


@attrs.frozen(slots=True, eq=False)
class GatewayRouteOut:
    """What one Gateway API route object makes: its Kong services (planned), failures, reads."""

    ref: ObjectRef
    plans: tuple[ServicePlan, ...] = ()
    failures: tuple[Failure, ...] = ()
    deps: frozenset[Dep] = frozenset()
    #: ``(reason, message)`` of the first backendRef (rule order) that did not resolve.
    refused: tuple[str, str] | None = None


@attrs.frozen(slots=True, eq=False)
class Resolved:
    backends: tuple[Backend, ...]
    dropped: bool
    failures: tuple[Failure, ...]
    deps: frozenset[Dep]
    #: ``(reason, message)`` of the first ref that did not resolve, for the route's
    #: ``ResolvedRefs=False`` condition (InvalidKind, RefNotPermitted, BackendNotFound).
    refused: tuple[str, str] | None = None


def resolve_backends(
    owner: ObjectRef,
    refs: Sequence[BackendRef],
    snap: Snapshot,
    field: str,
    grant_allows: GrantCheck = snapshot_grant_allows,
) -> Resolved:
    """The backendRefs of one rule that name a usable Service port (gateway-api.md §5.4).

    Skipped refs are reported (never with a value from the object beyond its own names):
    a ref without ``kind`` stays skipped, as in upstream's golden inputs (the API server
    defaults ``kind: Service`` on live objects anyway).
    """
    out: list[Backend] = []
    failures: list[Failure] = []
    deps: set[Dep] = set()
    refused: list[tuple[str, str]] = []
    for ref in refs:
        where = f"{field}.backendRefs[{ref.index}]"
        group = ref.group or ""
        ns = ref.namespace or owner.namespace
        if ref.kind is None:
            continue  # upstream drops it silently (golden inputs); live objects always have it
        if ref.kind != "Service" or group not in ("", "core"):
            failures.append(Failure(owner, where, "only core Services are supported backends"))
            refused.append(("InvalidKind", f"{where}: only core Services are supported backends"))
            continue
        if ns != owner.namespace:
            deps.add(("ReferenceGrant", ns, ""))
            if not grant_allows(
                snap, GW_GROUP, owner.kind, owner.namespace, group, "Service", ns, ref.name
            ):
                failures.append(
                    Failure(
                        owner,
                        where,
                        f"Service {ns}/{ref.name} is in another namespace and no ReferenceGrant "
                        "allows the reference; backend left out",
                    )
                )
                refused.append(
                    (
                        "RefNotPermitted",
                        f"{ns}/{ref.name} is in a different namespace than the {owner.kind} "
                        f"(namespace {owner.namespace}) and no ReferenceGrant allowing reference "
                        "is configured",
                    )
                )
                continue
        deps.add(("Service", ns, ref.name))
        svc = snap.get("Service", ns, ref.name)
        if not isinstance(svc, Service):
            failures.append(
                Failure(owner, where, f"Service {ns}/{ref.name} not found; backend left out")
            )
            refused.append(
                ("BackendNotFound", f"target {ns}/{ref.name} of type Service does not exist")
            )
            continue
        if ref.port is None:
            failures.append(
                Failure(
                    owner,
                    where,
                    f"can't find port for backend kubernetes service {ns}/{ref.name}: port unset",
                )
            )
            continue
        out.append(Backend(ns, ref.name, ("number", ref.port), ref.weight))
    return Resolved(
        backends=tuple(out),
        dropped=bool(refs) and not out,
        failures=tuple(failures),
        deps=frozenset(deps),
        refused=refused[0] if refused else None,
    )


@attrs.frozen(slots=True, eq=False)
class BuiltService:
    entries: tuple[tuple[str, Any, Any], ...]
    failures: tuple[Failure, ...]
    configured: tuple[ObjectRef, ...]
    deps: frozenset[Dep]


def _bare(plan: ServicePlan, fill_ids: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    tags = list(UNKNOWN_TAGS)
    service: dict[str, Any] = {
        "name": plan.name,
        "host": plan.name,
        "protocol": plan.protocol,
        "connect_timeout": 60000,
        "read_timeout": 60000,
        "write_timeout": 60000,
        "retries": 5,
        "tags": tags,
    }
    upstream: dict[str, Any] = {"name": plan.name, "algorithm": "round-robin", "tags": tags}
    return service, upstream


def build_service(
    plan: ServicePlan,
    snap: Snapshot,
    *,
    cluster_domain: str,
    drain: bool,
    fill_ids: bool,
) -> BuiltService:
    """The Kong service (routes nested), upstream and targets of one :class:`ServicePlan`."""
    failures: list[Failure] = []
    configured: list[ObjectRef] = []
    deps: frozenset[Dep] = frozenset()
    if not plan.backends:
        service, upstream = _bare(plan, fill_ids)
    else:
        out = translate_service(
            plan.name,
            plan.backends,
            plan.routes,
            snap,
            service_upstream=False,
            cluster_domain=cluster_domain,
            drain=drain,
            fill_ids=fill_ids,
        )
        failures.extend(out.failures)
        configured.extend(out.configured)
        deps = out.deps
        if out.service is None:
            return BuiltService((), tuple(failures), (), deps)
        service, upstream = out.service, out.upstream
        service["host"] = plan.name
        upstream["name"] = plan.name
        b0 = plan.backends[0]
        k8s = snap.get("Service", b0.namespace, b0.service)
        annotated = isinstance(k8s, Service) and "konghq.com/protocol" in k8s.annotations
        if not annotated:
            service["protocol"] = plan.protocol
        if not (isinstance(k8s, Service) and k8s.annotations.get("konghq.com/path")):
            service.pop("path", None)
        if plan.stream:
            service.pop("path", None)
            for key in _TIMEOUTS:
                service.setdefault(key, 60000)
            service.setdefault("retries", 5)
        if len({(b.namespace, b.service) for b in plan.backends}) > 1:
            tags = list(plan.owner_tags)  # several Services: the parent route's tags
            service["tags"] = tags
            upstream["tags"] = tags
    if plan.refs_dropped and plan.protocol not in ("tcp", "udp", "tls", "tls_passthrough"):
        service["plugins"] = [dict(NO_BACKEND_PLUGIN, config=dict(NO_BACKEND_PLUGIN["config"]))]
    if fill_ids:
        service["id"] = entity_id("services", plan.name)
    service["routes"] = [r.route for r in plan.routes]
    configured.append(plan.owner)
    return BuiltService(
        entries=(("upstreams", plan.name, upstream), ("services", plan.name, service)),
        failures=tuple(failures),
        configured=tuple(dict.fromkeys(configured)),
        deps=deps,
    )


def named_rule_tags(names: Sequence[str]) -> list[str]:
    """``k8s-named-route-rule:<name>`` for each non-empty rule name, in order, once each."""
    return [f"k8s-named-route-rule:{n}" for n in dict.fromkeys(n for n in names if n)]


def route_tags(obj: Any) -> list[str]:
    """The Kong route tags of a Gateway API route object (``k8s-*`` + ``konghq.com/tags``)."""
    return list(tags_for(obj))


__all__ = [
    "NO_BACKEND",
    "NO_BACKEND_PLUGIN",
    "UNKNOWN_TAGS",
    "BuiltService",
    "GatewayRouteOut",
    "GrantCheck",
    "Resolved",
    "ServicePlan",
    "build_service",
    "named_rule_tags",
    "resolve_backends",
    "route_tags",
    "snapshot_grant_allows",
]
