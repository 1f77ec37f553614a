"""Gateway API attachment: which of our Gateways (and which listeners) accept a route.

Pure functions over the translator's view. Everything they read is recorded as a dependency
(``("Gateway", ns, name)``, ``("GatewayClass", "", name)``, ``("Namespace", "", ns)`` for
selectors, ``("ReferenceGrant", ns, ANY)`` for "any grant in that namespace"), so a route unit
that calls :func:`attach` is recomputed when one of them changes and only then.

Semantics are upstream's (``internal/controllers/gateway/route_utils.go``,
docs ``gateway-api.md`` §4.2): per parentRef, listeners are tried in order through allowedRoutes,
listener readiness (present with the route kind supported, Programmed), sectionName, port,
listener type and hostname intersection; the reason of a refused parent follows upstream's
precedence. Where we differ (docs/gateway-api.md, "gw-core"): hostnames are filtered against the
listeners that *accepted* the route, not every listener of the Gateway.

``attachment=False`` is what upstream's translator does with routes already in its cache (its
golden cases load routes straight in, without GatewayClass and often without Gateway): every
parentRef naming a Gateway is taken as accepted, the parent Gateway is read when present (for
listener protocols and ports) and hostnames are left as written.

Advice: route stages call :func:`attach` once per route and keep ``deps``; status code uses
``parents`` (one per parentRef naming one of our Gateways), translation uses ``hostnames``,
:meth:`RouteAttachment.protocols`, :meth:`RouteAttachment.l4_ports` and ``tls_passthrough``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

import attrs

from ..models import GW_GROUP, ObjectRef
from ..models._gateway_api import (
    Gateway,
    GatewayClass,
    GatewayRoute,
    GRPCRoute,
    HTTPRoute,
    Listener,
    ParentRef,
    ReferenceGrant,
    TLSRoute,
)
from ._units import Dep

DEFAULT_CONTROLLER_NAME = "konghq.com/kic-gateway-controller"
#: Dependency name meaning "every object of the kind in that namespace" (the translator's
#: ``_on_namespaced_read`` marks it; same value as ``_httproute.ANY``, a test checks).
ANY = "\0*"

#: Route kind -> listener protocols it may attach to (upstream ``routeTypeMatchesListenerType``).
_LISTENER_TYPES: dict[str, tuple[str, ...]] = {
    "HTTPRoute": ("HTTP", "HTTPS"),
    "GRPCRoute": ("HTTP", "HTTPS"),
    "TCPRoute": ("TCP",),
    "UDPRoute": ("UDP",),
    "TLSRoute": ("TLS",),
}
#: Listener protocols whose hostnames take part in HTTP hostname filtering.
_HOSTNAME_PROTOCOLS = ("HTTP", "HTTPS", "TLS")


class GatewayView(Protocol):
    """What attachment reads: the translator's ``_View`` (any object with ``get`` and ``snap``)."""

    def get(self, kind: str, namespace: str, name: str) -> Any: ...

    @property
    def snap(self) -> Any: ...


@attrs.frozen(slots=True)
class ListenerState:
    """A listener's readiness as the route check needs it (upstream reads it from status)."""

    #: supportedKinds as (group, kind)
    supported_kinds: tuple[tuple[str, str], ...]
    programmed: bool
    #: What deciding this read (a Secret for certificate validity, grants, ...).
    deps: frozenset[Dep] = frozenset()


#: ``(gateway, class, listener) -> ListenerState``: the unmanaged-gateway stage computes it;
#: :func:`status_listener_state` reads the Gateway's status as written by someone else.
ListenerCheck = Callable[[Gateway, GatewayClass | None, Listener], ListenerState]


def status_listener_state(
    gateway: Gateway, gclass: GatewayClass | None, listener: Listener
) -> ListenerState:
    """The listener's state from the Gateway's ``status.listeners`` as read (upstream's way)."""
    for s in gateway.status_listeners:
        if s.name == listener.name:
            kinds = tuple((g if g is not None else GW_GROUP, k) for g, k in s.supported_kinds)
            return ListenerState(kinds, s.programmed)
    return ListenerState((), False)


@attrs.frozen(slots=True)
class ParentAttachment:
    """One spec.parentRef that names one of our Gateways, and its outcome."""

    parent_ref: ParentRef
    gateway: ObjectRef
    accepted: bool
    #: Accepted | NotAllowedByListeners | NoMatchingListenerHostname | NoMatchingParent
    reason: str
    #: The listeners that accepted the route.
    listeners: tuple[Listener, ...] = ()
    #: Upstream's "parent listeners": the sectionName listener, else every listener of the
    #: Gateway (route ``protocols``, L4 destination ports, TLS passthrough come from these).
    parent_listeners: tuple[Listener, ...] = ()
    #: Listeners the route would be accepted by were they Programmed (e.g. an HTTPS listener
    #: whose certificate is missing): nothing is served there, but the spec counts the route
    #: in their ``attachedRoutes`` ("based solely on allowedRoutes and parentRefs").
    unready_listeners: tuple[Listener, ...] = ()


@attrs.frozen(slots=True)
class RouteAttachment:
    parents: tuple[ParentAttachment, ...] = ()
    #: HTTPRoute/GRPCRoute/TLSRoute: hostnames to serve; ``()`` = any host; ``None`` = no
    #: hostname left after filtering, or accepted by no parent: the route must not be served.
    #: TCP/UDP: ``()`` when attached.
    hostnames: tuple[str, ...] | None = ()
    deps: frozenset[Dep] = frozenset()

    @property
    def attached(self) -> bool:
        """Some parent accepted the route."""
        return any(p.accepted for p in self.parents)

    def _accepted_listeners(self) -> Iterable[Listener]:
        for p in self.parents:
            if p.accepted:
                yield from p.parent_listeners

    def protocols(self, kinds: tuple[str, ...] = ("HTTP", "HTTPS")) -> tuple[str, ...]:
        """Sorted lower-case listener protocols (of ``kinds``) of the accepting parents: Kong
        route ``protocols`` (empty: no parent Gateway known, leave Kong's default)."""
        return tuple(
            sorted(
                {
                    lst.protocol.lower()
                    for lst in self._accepted_listeners()
                    if lst.protocol in kinds
                }
            )
        )

    def l4_ports(self, protocol: str) -> tuple[int, ...]:
        """Ports of the accepting parents' listeners with ``protocol`` (TCP/UDP destinations;
        ``parentRef.port`` is not consulted, as upstream)."""
        return tuple(
            sorted({lst.port for lst in self._accepted_listeners() if lst.protocol == protocol})
        )

    @property
    def tls_passthrough(self) -> bool:
        """A parent listener is TLS mode Passthrough (TLSRoute -> ``tls_passthrough``)."""
        return any(lst.tls_mode == "Passthrough" for lst in self._accepted_listeners())

    @property
    def gateways(self) -> tuple[ObjectRef, ...]:
        """The Gateways that accepted the route (each once)."""
        return tuple(dict.fromkeys(p.gateway for p in self.parents if p.accepted))


# --- hostnames -------------------------------------------------------------------------------


def _wild_covers(wild: str, host: str) -> bool:
    """``*.example.com`` covers ``a.example.com`` and ``a.b.example.com`` (spec: one or more
    labels), not ``example.com``."""
    suffix = wild[1:]  # ".example.com"
    return host.endswith(suffix) and len(host) > len(suffix)


def hostnames_intersect(a: str, b: str) -> bool:
    """Whether two Gateway API hostnames (``*.`` wildcards either side) share some host."""
    if a == b:
        return True
    aw, bw = a.startswith("*."), b.startswith("*.")
    if aw and bw:
        return a.endswith(b[1:]) or b.endswith(a[1:])
    if aw:
        return _wild_covers(a, b)
    if bw:
        return _wild_covers(b, a)
    return False


def minimum_intersection(listener: str, route: str) -> str | None:
    """The narrower of two intersecting hostnames (listener ``""`` -> the route's); ``None``
    when they do not intersect."""
    if not listener:
        return route
    if not hostnames_intersect(listener, route):
        return None
    if listener.startswith("*.") and not route.startswith("*."):
        return route
    if route.startswith("*.") and not listener.startswith("*."):
        return listener
    return route if len(route) >= len(listener) else listener


def _filter_hostnames(
    route_hosts: tuple[str, ...], listeners: Iterable[Listener]
) -> tuple[str, ...] | None:
    lsts = [lst for lst in listeners if lst.protocol in _HOSTNAME_PROTOCOLS]
    if not route_hosts:
        if not lsts or any(not lst.hostname for lst in lsts):
            return ()
        return tuple(dict.fromkeys(lst.hostname for lst in lsts))
    out: list[str] = []
    for host in route_hosts:
        for lst in lsts:
            got = minimum_intersection(lst.hostname, host)
            if got is not None:
                out.append(got)
    if not lsts:
        return route_hosts
    return tuple(dict.fromkeys(out)) or None


# --- grants ------------------------------------------------------------------------------------


def _group(g: str | None) -> str:
    return "" if g is None or g == "core" else g


def grant_allows(
    view: GatewayView,
    from_group: str,
    from_kind: str,
    from_namespace: str,
    to_group: str,
    to_kind: str,
    to_namespace: str,
    to_name: str,
    deps: set[Dep] | None = None,
) -> bool:
    """Whether a reference from ``from_namespace`` to ``to_namespace/to_name`` is allowed.

    Same namespace: always. Otherwise a ReferenceGrant in the *target* namespace must list the
    referrer (``from``: group, kind, namespace, exactly) and the target (``to``: group, kind,
    and name unset or equal). Groups ``""`` and ``core`` are the same. ``deps`` (when given)
    gets ``("ReferenceGrant", to_namespace, ANY)``: any grant there appearing or changing
    recomputes the caller.
    """
    if from_namespace == to_namespace:
        return True
    if deps is not None:
        deps.add(("ReferenceGrant", to_namespace, ANY))
    want_to = _group(to_group)
    for grant in view.snap.list("ReferenceGrant"):
        if grant.ref.namespace != to_namespace or not isinstance(grant, ReferenceGrant):
            continue
        if not any(
            _group(f.group) == _group(from_group)
            and f.kind == from_kind
            and f.namespace == from_namespace
            for f in grant.from_
        ):
            continue
        if any(
            _group(t.group) == want_to and t.kind == to_kind and t.name in (None, "", to_name)
            for t in grant.to
        ):
            return True
    return False


# --- attachment --------------------------------------------------------------------------------


def _route_kind_allowed(listener: Listener, route: GatewayRoute) -> bool:
    if not listener.allowed_kinds:
        return True
    kind = route.ref.kind
    return any((g or GW_GROUP) == GW_GROUP and k == kind for g, k in listener.allowed_kinds)


def _namespace_allowed(
    view: GatewayView, listener: Listener, gateway: Gateway, route: GatewayRoute, deps: set[Dep]
) -> bool:
    ns = listener.allowed_namespaces
    if ns is None or ns.from_ == "All":
        return True
    if ns.from_ == "Same":
        return route.ref.namespace == gateway.ref.namespace
    if ns.from_ == "Selector":
        deps.add(("Namespace", "", route.ref.namespace))
        obj = view.get("Namespace", "", route.ref.namespace)
        # the Namespace unknown: not selected (serve less, never more)
        return obj is not None and ns.selects(obj.labels)
    return False


def _type_matches(listener: Listener, kind: str) -> bool:
    if listener.protocol not in _LISTENER_TYPES.get(kind, ()):
        return False
    mode = listener.tls_mode
    if kind in ("HTTPRoute", "TCPRoute"):
        return mode in (None, "Terminate")
    if kind == "UDPRoute":
        return mode is None
    if kind == "TLSRoute":
        return mode in (None, "Passthrough")
    return True  # GRPCRoute: HTTP/HTTPS whatever the mode


def _route_hostnames(route: GatewayRoute) -> tuple[str, ...]:
    return route.hostnames if isinstance(route, HTTPRoute | GRPCRoute | TLSRoute) else ()


def _parent_listeners(gateway: Gateway | None, ref: ParentRef) -> tuple[Listener, ...]:
    if gateway is None:
        return ()
    if ref.section_name:
        return tuple(lst for lst in gateway.listeners if lst.name == ref.section_name)
    return gateway.listeners


def attach(
    route: GatewayRoute,
    view: GatewayView,
    controller_name: str = DEFAULT_CONTROLLER_NAME,
    *,
    attachment: bool = True,
    listener_state: ListenerCheck = status_listener_state,
    gateway_to_reconcile: str = "",
) -> RouteAttachment:
    """Which of our Gateways accept ``route`` (see the module docstring); never raises on
    well-typed models."""
    deps: set[Dep] = set()
    parents: list[ParentAttachment] = []
    kind = route.ref.kind
    route_hosts = _route_hostnames(route)
    for ref in route.parent_refs:
        if not ref.is_gateway:
            continue  # upstream: "unsupported parent kind" (a reconcile error); not ours
        gw_ns = ref.namespace or route.ref.namespace
        if gateway_to_reconcile and f"{gw_ns}/{ref.name}" != gateway_to_reconcile:
            continue
        deps.add(("Gateway", gw_ns, ref.name))
        gateway = view.get("Gateway", gw_ns, ref.name)
        if not isinstance(gateway, Gateway):
            gateway = None
        gw_ref = (
            gateway.ref
            if gateway is not None
            else ObjectRef("Gateway", gw_ns, ref.name, group=GW_GROUP, version="v1")
        )
        if not attachment:
            parents.append(
                ParentAttachment(
                    ref,
                    gw_ref,
                    True,
                    "Accepted",
                    _parent_listeners(gateway, ref),
                    _parent_listeners(gateway, ref),
                )
            )
            continue
        if gateway is None:
            continue
        deps.add(("GatewayClass", "", gateway.class_name))
        gclass = view.get("GatewayClass", "", gateway.class_name)
        if not isinstance(gclass, GatewayClass) or gclass.controller_name != controller_name:
            continue
        if not gclass.unmanaged and not gateway.accepted_by_status():
            continue  # a managed class: only Gateways another component accepted are ours
        parents.append(_attach_one(view, route, kind, ref, gateway, gclass, listener_state, deps))
    if not attachment:
        hostnames: tuple[str, ...] | None = route_hosts
    elif not any(p.accepted for p in parents):
        hostnames = None  # attached nowhere: nothing to serve
    elif kind in ("HTTPRoute", "GRPCRoute"):
        hostnames = _filter_hostnames(
            route_hosts, (lst for p in parents if p.accepted for lst in p.listeners)
        )
    else:
        hostnames = route_hosts
    return RouteAttachment(tuple(parents), hostnames, frozenset(deps))


def _attach_one(
    view: GatewayView,
    route: GatewayRoute,
    kind: str,
    ref: ParentRef,
    gateway: Gateway,
    gclass: GatewayClass,
    listener_state: ListenerCheck,
    deps: set[Dep],
) -> ParentAttachment:
    accepted: list[Listener] = []
    unready: list[Listener] = []
    allowed_seen = ready_seen = section_seen = port_seen = hostname_mismatch = False
    route_hosts = _route_hostnames(route)
    for lst in gateway.listeners:
        # 1. allowedRoutes
        if not _route_kind_allowed(lst, route) or not _namespace_allowed(
            view, lst, gateway, route, deps
        ):
            continue
        # 2. present in status with the route kind supported
        state = listener_state(gateway, gclass, lst)
        deps |= state.deps
        if (GW_GROUP, kind) not in state.supported_kinds:
            continue
        allowed_seen = True
        # 3. Programmed (a listener that is not: the route is not served there, but it is
        # attached in the spec's sense and counts in that listener's attachedRoutes)
        ready = state.programmed
        ready_seen = ready_seen or ready
        # 4. sectionName, 5. port
        if ref.section_name and ref.section_name != lst.name:
            continue
        section_seen = section_seen or ready
        if ref.port is not None and ref.port != lst.port:
            continue
        port_seen = port_seen or ready
        # 6. listener type
        if not _type_matches(lst, kind):
            continue
        # 7. hostnames (TCP/UDP: always pass)
        if (
            route_hosts
            and lst.hostname
            and not any(hostnames_intersect(lst.hostname, h) for h in route_hosts)
        ):
            hostname_mismatch = hostname_mismatch or ready
            continue
        (accepted if ready else unready).append(lst)
    if accepted:
        reason = "Accepted"
    elif hostname_mismatch:
        reason = "NoMatchingListenerHostname"
    elif ref.section_name and not section_seen:
        reason = "NoMatchingParent"
    elif not ready_seen:
        reason = "NotAllowedByListeners"
    elif ref.port is not None and not port_seen:
        reason = "NoMatchingParent"
    elif not allowed_seen:
        reason = "NotAllowedByListeners"
    else:
        reason = "NoMatchingParent"
    return ParentAttachment(
        ref,
        gateway.ref,
        bool(accepted),
        reason,
        tuple(accepted),
        _parent_listeners(gateway, ref),
        tuple(unready),
    )


__all__ = [
    "DEFAULT_CONTROLLER_NAME",
    "GatewayView",
    "ListenerCheck",
    "ListenerState",
    "ParentAttachment",
    "RouteAttachment",
    "attach",
    "grant_allows",
    "hostnames_intersect",
    "minimum_intersection",
    "status_listener_state",
]
