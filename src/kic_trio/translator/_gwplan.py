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
from ._gwattach import ANY
from ._ingress import RouteOut
from ._model import Backend, GwService
from ._services import translate_gw_service
from ._util import tags_for

Dep = tuple[str, str, str]

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
            deps.add(("ReferenceGrant", ns, ANY))
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


def build_service(
    plan: ServicePlan,
    snap: Snapshot,
    *,
    cluster_domain: str,
    drain: bool,
    fill_ids: bool,
) -> BuiltService:
    """The Kong service (routes nested), upstream and targets of one :class:`ServicePlan`,
    through the kind-neutral Gateway API service builder (``_services.translate_gw_service``:
    weights split over endpoints, backends' annotations, upstream policies)."""
    spec = GwService(
        parent=plan.owner,
        parent_tags=plan.owner_tags,
        backends=plan.backends,
        protocol=plan.protocol,
        dropped=plan.refs_dropped,
        terminate_when_dropped=not plan.stream,
    )
    out = translate_gw_service(
        plan.name,
        spec,
        plan.routes,
        snap,
        service_upstream=False,
        cluster_domain=cluster_domain,
        drain=drain,
        fill_ids=fill_ids,
    )
    failures = list(out.failures)
    if out.service is None:
        return BuiltService((), tuple(failures), (), out.deps)
    if out.client_cert is not None:
        # the certificates stage only emits client certificates of Ingress-owned services:
        # a dangling reference would make Kong refuse the whole configuration
        out.service.pop("client_certificate", None)
        failures.append(
            Failure(
                out.client_cert_parent or plan.owner,
                "metadata.annotations.konghq.com/client-cert",
                f"client certificates are not supported yet on {plan.owner.kind} backends; "
                "not presented to the backend",
            )
        )
    return BuiltService(
        entries=(("upstreams", plan.name, out.upstream), ("services", plan.name, out.service)),
        failures=tuple(failures),
        configured=tuple(dict.fromkeys([*out.configured, plan.owner])),
        deps=out.deps,
    )


def named_rule_tags(names: Sequence[str]) -> list[str]:
    """``k8s-named-route-rule:<name>`` for each non-empty rule name, in order, once each."""
    return [f"k8s-named-route-rule:{n}" for n in dict.fromkeys(n for n in names if n)]


def route_tags(obj: Any) -> list[str]:
    """The Kong route tags of a Gateway API route object (``k8s-*`` + ``konghq.com/tags``)."""
    return list(tags_for(obj))


__all__ = [
    "NO_BACKEND",
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
