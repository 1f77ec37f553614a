"""GatewayClass and Gateway status, listener readiness, listener certificates: pure functions.

Upstream (``gateway-api.md`` §2-3.5): a GatewayClass whose ``controllerName`` is ours is
Accepted. Gateways of an *unmanaged* class (``konghq.com/gatewayclass-unmanaged``) are run by
this controller: their listeners are matched against what Kong listens on — the publish
Service's ports, upgraded to HTTP/HTTPS/TLS by Kong's ``proxy_listeners``/``stream_listeners``
(``GET /``, learnt by the controller and passed in :class:`GatewayInputs`) — and get every
condition upstream writes. Gateways of a *managed* class are someone else's (Kong Operator):
no status is written, and they are used only once Accepted by that component.

The same computation answers the route side (:func:`listener_check`: a listener is ready when
Programmed and supports the route kind), so routes attach to what this translation says,
without waiting for the status write to come back through the watch.

Deliberate differences (docs/gateway-api.md, "gw-core"): ``GRPCRoute`` listed in
``allowedRoutes.kinds`` is accepted (upstream rejects it as InvalidRouteKinds) and a kind the
listener protocol cannot carry is refused; ``attachedRoutes`` counts every route kind;
addresses of a non-LoadBalancer publish Service are its cluster IPs (upstream: none).

Advice: everything read goes into the ``deps`` set handed in, so the Gateway unit (and every
route unit asking :func:`listener_check`) is recomputed when a Secret, a grant, the class or
the publish Service changes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping

import attrs

from ..models import GW_GROUP, Condition, ListenerStatus, ObjectStatus, Secret, Service
from ..models._gateway_api import Gateway, GatewayClass, Listener
from ._gwattach import GatewayView, ListenerState, grant_allows
from ._units import Dep

#: Route kinds a listener protocol can carry (supportedKinds when allowedRoutes.kinds is unset).
KINDS_BY_PROTOCOL: Mapping[str, tuple[str, ...]] = {
    "HTTP": ("HTTPRoute", "GRPCRoute"),
    "HTTPS": ("HTTPRoute", "GRPCRoute"),
    "TCP": ("TCPRoute",),
    "UDP": ("UDPRoute",),
    "TLS": ("TLSRoute",),
}
_SHARE_GROUP = {"HTTP": "http", "HTTPS": "tls", "TLS": "tls"}
GATEWAYCLASS_ACCEPTED_MESSAGE = "the gatewayclass has been accepted by the controller"
GATEWAY_ACCEPTED_MESSAGE = (
    "this unmanaged gateway has been picked up by the controller and will be processed"
)
UNSUPPORTED_PROTOCOL_MESSAGE = "no Kong listen with the requested protocol is configured"
NO_VALID_LISTENER_MESSAGE = "no listener of this gateway is accepted: see each listener's status"
SOME_INVALID_MESSAGE = "some listeners of this gateway are not valid: see each listener's status"
PORT_UNAVAILABLE_MESSAGE = (
    "no Kong listen with the requested protocol is configured for the requested port"
)


@attrs.frozen(slots=True)
class GatewayInputs:
    """What Gateway status needs besides objects (from flags and Kong's ``GET /``)."""

    controller_name: str = "konghq.com/kic-gateway-controller"
    #: ``--publish-service`` and ``--publish-service-udp`` as ``ns/name`` ("" = unset)
    publish_services: tuple[str, ...] = ()
    #: ``--publish-status-address[-udp]``: replaces the Service's addresses when set
    publish_addresses: tuple[str, ...] = ()
    #: Kong's ``proxy_listeners`` / ``stream_listeners`` as (port, ssl)
    proxy_listeners: tuple[tuple[int, bool], ...] = ()
    stream_listeners: tuple[tuple[int, bool], ...] = ()
    gateway_to_reconcile: str = ""


def gatewayclass_status(gclass: GatewayClass, controller_name: str) -> ObjectStatus | None:
    """``Accepted`` for a class that is ours (upstream writes no other condition), else None."""
    if gclass.controller_name != controller_name:
        return None
    return ObjectStatus(
        conditions=(Condition("Accepted", "True", "Accepted", GATEWAYCLASS_ACCEPTED_MESSAGE),),
        generation=gclass.generation,
    )


def our_class(
    view: GatewayView, gateway: Gateway, controller_name: str, deps: set[Dep]
) -> GatewayClass | None:
    deps.add(("GatewayClass", "", gateway.class_name))
    gclass = view.get("GatewayClass", "", gateway.class_name)
    if isinstance(gclass, GatewayClass) and gclass.controller_name == controller_name:
        return gclass
    return None


# --- what Kong listens on ------------------------------------------------------------------


def kong_listens(
    view: GatewayView, inputs: GatewayInputs, deps: set[Dep]
) -> tuple[dict[str, set[int]], list[Service]]:
    """protocol -> Service ports Kong serves it on (§3.2 steps 3-4), and the publish Services."""
    proxy = dict(inputs.proxy_listeners)
    stream = dict(inputs.stream_listeners)
    listens: dict[str, set[int]] = {}
    services: list[Service] = []
    for ref in inputs.publish_services:
        ns, _, name = ref.partition("/")
        if not ns or not name:
            continue
        deps.add(("Service", ns, name))
        svc = view.get("Service", ns, name)
        if not isinstance(svc, Service):
            continue
        services.append(svc)
        for port in svc.ports:
            protocol = port.protocol or "TCP"
            target = port.target_port if isinstance(port.target_port, int) else 0
            if port.target_port is None:
                target = port.port
            if target in proxy:
                protocol = "HTTPS" if proxy[target] else "HTTP"
            elif stream.get(target):
                protocol = "TLS"
            listens.setdefault(protocol, set()).add(port.port)
    return listens, services


def gateway_addresses(
    services: Iterable[Service], inputs: GatewayInputs
) -> tuple[tuple[str, str], ...]:
    """``status.addresses``: the publish addresses override, else the LoadBalancer ingress
    (upstream's order: per entry hostname before IP, the whole list reversed), else the
    Services' cluster IPs (upstream gives none there)."""
    if inputs.publish_addresses:
        return tuple((_address_type(a), a) for a in inputs.publish_addresses)
    out: list[tuple[str, str]] = []
    for svc in services:
        if svc.type == "LoadBalancer":
            for lb in svc.load_balancer:
                if lb.ip:
                    out.insert(0, ("IPAddress", lb.ip))
                if lb.hostname:
                    out.insert(0, ("Hostname", lb.hostname))
    if not out:
        for svc in services:
            out.extend(("IPAddress", ip) for ip in svc.cluster_ips)
    return tuple(dict.fromkeys(out))


def _address_type(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return "Hostname"
    return "IPAddress"


# --- listeners -------------------------------------------------------------------------------


def supported_kinds(listener: Listener) -> tuple[tuple[tuple[str, str], ...], bool]:
    """(supportedKinds, whether some allowedRoutes.kinds entry was refused)."""
    can = KINDS_BY_PROTOCOL.get(listener.protocol, ())
    if not listener.allowed_kinds:
        return tuple((GW_GROUP, k) for k in can), False
    out: list[tuple[str, str]] = []
    refused = False
    for group, kind in listener.allowed_kinds:
        if (group or GW_GROUP) == GW_GROUP and kind in can:
            if (GW_GROUP, kind) not in out:
                out.append((GW_GROUP, kind))
        else:
            refused = True
    return tuple(out), refused


def certificate_problem(
    view: GatewayView, gateway: Gateway, listener: Listener, deps: set[Dep]
) -> str | None:
    """The listener's certificateRefs reason (§3.3), first failing ref; ``None``: all good."""
    if listener.tls_mode is None:
        return None
    gw_ns = gateway.ref.namespace
    for ref in listener.certificate_refs:
        ns = ref.namespace or gw_ns
        if ns != gw_ns and not grant_allows(
            view, GW_GROUP, "Gateway", gw_ns, "", "Secret", ns, ref.name, deps
        ):
            return "RefNotPermitted"
        if ref.group not in (None, "", "core") or ref.kind not in (None, "Secret"):
            return "InvalidCertificateRef"
        deps.add(("Secret", ns, ref.name))
        secret = view.get("Secret", ns, ref.name)
        if not isinstance(secret, Secret) or secret.tls_pair_valid is not True:
            return "InvalidCertificateRef"
    return None


def _sorted(conds: Iterable[Condition]) -> tuple[Condition, ...]:
    return tuple(sorted(conds, key=lambda c: c.type + c.status + c.reason + c.message))


def listener_statuses(
    view: GatewayView,
    gateway: Gateway,
    listens: Mapping[str, set[int]],
    deps: set[Dep],
    attached: Mapping[str, int] | None = None,
) -> tuple[ListenerStatus, ...]:
    """Every listener's status, with upstream's conditions and reasons (§3.3)."""
    attached = attached or {}
    first: list[tuple[Listener, list[Condition], tuple[tuple[str, str], ...]]] = []
    seen_protocols: dict[int, set[str]] = {}
    seen_hosts: dict[int, set[str]] = {}
    protocol_conflict_ports: set[int] = set()
    hostname_conflicts: set[tuple[int, str]] = set()
    for lst in gateway.listeners:
        conds: list[Condition] = []
        kinds, refused = supported_kinds(lst)
        resolved = certificate_problem(view, gateway, lst, deps) or (
            "InvalidRouteKinds" if refused else None
        )
        if resolved:
            conds.append(Condition("ResolvedRefs", "False", resolved))
        group = _SHARE_GROUP.get(lst.protocol)
        if lst.port in seen_protocols:
            others = seen_protocols[lst.port]
            if group is None or any(_SHARE_GROUP.get(p) != group for p in others):
                conds.append(Condition("Conflicted", "True", "ProtocolConflict"))
                protocol_conflict_ports.add(lst.port)
            elif lst.hostname in seen_hosts[lst.port]:
                conds.append(Condition("Conflicted", "True", "HostnameConflict"))
                hostname_conflicts.add((lst.port, lst.hostname))
        seen_protocols.setdefault(lst.port, set()).add(lst.protocol)
        seen_hosts.setdefault(lst.port, set()).add(lst.hostname)
        if lst.protocol not in listens:
            conds.append(
                Condition("Accepted", "False", "UnsupportedProtocol", UNSUPPORTED_PROTOCOL_MESSAGE)
            )
        elif lst.port not in listens[lst.protocol]:
            conds.append(
                Condition("Accepted", "False", "PortUnavailable", PORT_UNAVAILABLE_MESSAGE)
            )
        if not conds:
            conds += [
                Condition("Conflicted", "False", "NoConflicts"),
                Condition("ResolvedRefs", "True", "ResolvedRefs"),
                Condition("Programmed", "True", "Programmed"),
            ]
        else:
            conds.append(Condition("Programmed", "False", "Invalid"))
        if not any(c.type == "Accepted" for c in conds):
            conds.append(Condition("Accepted", "True", "Accepted"))
        first.append((lst, conds, kinds))
    out: list[ListenerStatus] = []
    for lst, conds, kinds in first:
        reason = (
            "ProtocolConflict"
            if lst.port in protocol_conflict_ports
            else "HostnameConflict"
            if (lst.port, lst.hostname) in hostname_conflicts
            else None
        )
        if reason is not None:
            conds = [c for c in conds if c.type not in ("Programmed", "Conflicted")]
            conds += [
                Condition("Conflicted", "True", reason),
                Condition("Programmed", "False", "Invalid"),
            ]
        out.append(ListenerStatus(lst.name, kinds, attached.get(lst.name, 0), _sorted(conds)))
    return tuple(out)


def gateway_status(
    gateway: Gateway,
    listeners: tuple[ListenerStatus, ...],
    addresses: tuple[tuple[str, str], ...],
    programmed: bool,
) -> ObjectStatus:
    """An unmanaged Gateway's status: ``Accepted`` and ``Programmed`` (upstream writes only
    these two), listeners, addresses. ``programmed`` False (no publish Service known yet,
    Kong's listeners unknown): ``Programmed=False/Pending`` as upstream before the first pass.

    Where the spec is stricter than upstream (which always writes ``Accepted=True/Accepted``),
    the spec's reasons are used (docs/gateway-api.md, "gwfix"; no golden output depends on
    Gateway status): an ``infrastructure.parametersRef`` is ``Accepted=False/InvalidParameters``
    (kic-trio supports no parameters kind); no listener accepted is
    ``Accepted=False/ListenersNotValid``; some listener not accepted, conflicted or with
    unresolved refs is ``Accepted=True/ListenersNotValid``. An unaccepted Gateway is
    ``Programmed=False/Invalid``.
    """
    accepted = Condition("Accepted", "True", "Accepted", GATEWAY_ACCEPTED_MESSAGE)
    if gateway.parameters_ref is not None:
        group, kind, name = gateway.parameters_ref
        accepted = Condition(
            "Accepted",
            "False",
            "InvalidParameters",
            f"infrastructure.parametersRef {group}/{kind} {name!r}: "
            "kic-trio supports no infrastructure parameters; remove the reference",
        )
    elif programmed and listeners and not any(lst.accepted for lst in listeners):
        accepted = Condition("Accepted", "False", "ListenersNotValid", NO_VALID_LISTENER_MESSAGE)
    elif programmed and any(not lst.programmed for lst in listeners):
        accepted = Condition("Accepted", "True", "ListenersNotValid", SOME_INVALID_MESSAGE)
    if accepted.status != "True":
        prog = Condition("Programmed", "False", "Invalid")
    elif programmed:
        prog = Condition("Programmed", "True", "Programmed")
    else:
        prog = Condition("Programmed", "False", "Pending")
    return ObjectStatus(
        conditions=(accepted, prog),
        listeners=listeners,
        addresses=addresses,
        generation=gateway.generation,
    )


# --- listener certificates -> Kong (§3.5) ------------------------------------------------------

#: upstream's literal, un-interpolated message (kept: tools grep for it)
MORE_THAN_ONE_CERT = "listener '%s' has more than one certificateRef, it's not supported"


def listener_certificates(
    view: GatewayView,
    gateway: Gateway,
    gclass: GatewayClass,
    ready: Mapping[str, bool],
    deps: set[Dep],
) -> tuple[list[tuple[tuple[str, str], str]], list[str]]:
    """``((secret ns, name), sni)`` claims of a Gateway's listeners, and failure reasons.

    Listeners count when present in status (``ready``: for unmanaged classes, this
    translation's Programmed; managed: listed in the Gateway's status as read) with
    ``tls.certificateRefs``. More than one ref: a failure, listener skipped; a cross-namespace
    ref needs a grant (exact group ``""``), else skipped; the Secret itself is checked by the
    certificate stage (a bad pair: ``failed to construct certificate from secret``). SNI: the
    listener hostname, ``*`` without one.
    """
    claims: list[tuple[tuple[str, str], str]] = []
    problems: list[str] = []
    gw_ns = gateway.ref.namespace
    for lst in gateway.listeners:
        if not lst.certificate_refs or not ready.get(lst.name, False):
            continue
        if len(lst.certificate_refs) > 1:
            problems.append(MORE_THAN_ONE_CERT)
            continue
        ref = lst.certificate_refs[0]
        if ref.group not in (None, "") or ref.kind not in (None, "Secret"):
            continue
        ns = ref.namespace or gw_ns
        if ns != gw_ns and not grant_allows(
            view, GW_GROUP, "Gateway", gw_ns, "", "Secret", ns, ref.name, deps
        ):
            continue
        deps.add(("Secret", ns, ref.name))
        if not isinstance(view.get("Secret", ns, ref.name), Secret):
            continue  # upstream: logged only
        claims.append(((ns, ref.name), lst.hostname or "*"))
    return claims, problems


# --- the route side -----------------------------------------------------------------------------


#: The dependency a route records on "the listener readiness of Gateway ns/name": the
#: translator marks it only when that readiness changed (not on every Secret rotation).
LISTENERS_DEP = "GatewayListeners"

#: gateway key -> (the Gateway object it was computed for, listener name -> state)
Readiness = Mapping[tuple[str, str], tuple[Gateway, Mapping[str, ListenerState]]]


def listener_readiness(
    view: GatewayView, gateway: Gateway, inputs: GatewayInputs, deps: set[Dep]
) -> dict[str, ListenerState]:
    """Listener name -> readiness of an unmanaged Gateway; what it read goes into ``deps``,
    the states carry only the :data:`LISTENERS_DEP` dependency."""
    listens, _ = kong_listens(view, inputs, deps)
    states = listener_statuses(view, gateway, listens, deps)
    dep = frozenset({(LISTENERS_DEP, *gateway.ref.key)})
    return {s.name: ListenerState(s.supported_kinds, s.programmed, dep) for s in states}


def listener_check(
    view: GatewayView, inputs: GatewayInputs, precomputed: Readiness | None = None
) -> Callable[[Gateway, GatewayClass | None, Listener], ListenerState]:
    """A ``ListenerCheck`` for :func:`_gwattach.attach`: unmanaged classes from this module's
    computation (``precomputed`` by the translator's listener stage, else computed here and
    memoised per Gateway object), managed ones from the Gateway's status as read."""
    memo: dict[int, tuple[Gateway, Mapping[str, ListenerState]]] = {}

    def check(gateway: Gateway, gclass: GatewayClass | None, listener: Listener) -> ListenerState:
        if gclass is None or not gclass.unmanaged:
            from ._gwattach import status_listener_state

            return status_listener_state(gateway, gclass, listener)
        pre = precomputed.get(gateway.ref.key) if precomputed is not None else None
        if pre is not None and pre[0] is gateway:
            return pre[1].get(listener.name, ListenerState((), False))
        hit = memo.get(id(gateway))
        if hit is None or hit[0] is not gateway:
            deps: set[Dep] = set()
            listens, _ = kong_listens(view, inputs, deps)
            states = listener_statuses(view, gateway, listens, deps)
            frozen = frozenset(deps)
            hit = (
                gateway,
                {s.name: ListenerState(s.supported_kinds, s.programmed, frozen) for s in states},
            )
            memo[id(gateway)] = hit
        return hit[1].get(listener.name, ListenerState((), False))

    return check


__all__ = [
    "GatewayInputs",
    "certificate_problem",
    "gateway_addresses",
    "gateway_status",
    "gatewayclass_status",
    "kong_listens",
    "listener_certificates",
    "listener_check",
    "listener_readiness",
    "listener_statuses",
    "our_class",
    "supported_kinds",
]
