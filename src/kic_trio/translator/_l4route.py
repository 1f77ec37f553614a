"""TCPRoute, UDPRoute, TLSRoute -> Kong stream services and routes (gateway-api.md §7, §9.3).

Pure: one route object and the listeners of its parent Gateways in, :class:`GatewayRouteOut`
(one :class:`~._gwplan.ServicePlan` per rule) out.

* Rule ``i`` -> Kong service ``<kind>.<ns>.<route>.<i>`` (name = host = upstream name;
  ``protocol`` ``tcp``/``udp``/``tcp``), with one route ``<service>.0``.
* TCPRoute/UDPRoute match on ``destinations`` = the ports of the parent listeners of protocol
  TCP/UDP (the ``sectionName`` listener or all; ``parentRef.port`` ignored, as upstream).
* TLSRoute matches ``snis`` = ``spec.hostnames``; ``protocols: [tls_passthrough]`` when a
  parent listener has TLS mode Passthrough, else ``[tls]``.
* Expressions router: ``expression`` = AND(OR of ``tls.sni == "<sni>"``, OR of
  ``net.dst.port == <port>``), ``priority: 1``, no ``snis``/``destinations``.

Where upstream only logs (TCP/TLS: no rules, rule without backendRefs, TLS without
hostnames) or emits a route Kong refuses (no listener port at all), the rule is left out with
a Failure on the route (hence a Warning Event), and the route's other rules still go out.

Advice: the caller chooses the listeners (attached ones live, every parent listener in
"attachment assumed" mode) and records ``deps`` (Gateways, Services, grants) on its unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..models import Failure
from ..models._gateway_api import Listener, TCPRoute, TLSRoute, UDPRoute
from ..store import Snapshot
from ._expressions import quote, valid_sni
from ._gwplan import (
    NO_BACKEND,
    GatewayRouteOut,
    GrantCheck,
    ServicePlan,
    named_rule_tags,
    resolve_backends,
    route_tags,
    snapshot_grant_allows,
)
from ._ingress import RouteOut
from ._util import entity_id, plugin_names

L4Route = TCPRoute | UDPRoute | TLSRoute
Dep = tuple[str, str, str]
#: upstream's priority for every L4 expression route
L4_EXPRESSION_PRIORITY = 1


def _prefix(route: L4Route) -> str:
    if isinstance(route, TCPRoute):
        return "tcproute"
    if isinstance(route, UDPRoute):
        return "udproute"
    return "tlsroute"


def l4_expression(snis: Sequence[str], ports: Sequence[int]) -> str:
    """upstream's ``ApplyExpressionToL4KongRoute``: AND(OR of SNIs, OR of ports)."""

    def one_of(parts: list[str]) -> str:
        return parts[0] if len(parts) == 1 else " || ".join(f"({p})" for p in parts)

    groups = [
        g
        for g in (
            one_of([f"tls.sni == {quote(s)}" for s in snis]) if snis else "",
            one_of([f"net.dst.port == {p}" for p in ports]) if ports else "",
        )
        if g
    ]
    return one_of(groups) if len(groups) == 1 else " && ".join(f"({g})" for g in groups)


def listener_ports(listeners: Sequence[Listener], protocol: str) -> list[int]:
    """Ports of the listeners of ``protocol`` (TCP/UDP), first-seen order, once each."""
    return list(dict.fromkeys(lst.port for lst in listeners if lst.protocol == protocol))


def translate_l4route(
    route: L4Route,
    listeners: Sequence[Listener],
    snap: Snapshot,
    *,
    expressions: bool,
    fill_ids: bool,
    grant_allows: GrantCheck = snapshot_grant_allows,
) -> GatewayRouteOut:
    """The Kong stream services and routes of one TCPRoute/UDPRoute/TLSRoute."""
    ref = route.ref
    kind = _prefix(route)
    failures: list[Failure] = []
    deps: set[Dep] = set()
    plugins = tuple(plugin_names(route))
    refused: tuple[str, str] | None = None
    if not route.rules:
        failures.append(Failure(ref, "spec.rules", "no rules provided; route not served"))
        return GatewayRouteOut(ref, (), tuple(failures), frozenset())
    snis: list[str] = []
    ports: list[int] = []
    if isinstance(route, TLSRoute):
        protocol, service_protocol = "tls", "tcp"
        if any(lst.tls_mode == "Passthrough" for lst in listeners):
            protocol = "tls_passthrough"
        for i, host in enumerate(route.hostnames):
            if valid_sni(host) or (expressions and host.startswith("*.") and valid_sni(host[2:])):
                snis.append(host)
            else:
                failures.append(
                    Failure(
                        ref, f"spec.hostnames[{i}]", "not a host name Kong takes as SNI; left out"
                    )
                )
        if not snis:
            failures.append(Failure(ref, "spec.hostnames", "no usable hostname; route not served"))
            return GatewayRouteOut(ref, (), tuple(failures), frozenset())
    else:
        protocol = service_protocol = "udp" if isinstance(route, UDPRoute) else "tcp"
        ports = listener_ports(listeners, protocol.upper())
        if not ports:
            failures.append(
                Failure(
                    ref,
                    "spec.parentRefs",
                    f"no parent Gateway listener of protocol {protocol.upper()}; route not served",
                )
            )
            return GatewayRouteOut(ref, (), tuple(failures), frozenset())
    base_tags = route_tags(route)
    plans: list[ServicePlan] = []
    for rule in route.rules:
        field = f"spec.rules[{rule.index}]"
        if not rule.backend_refs:
            failures.append(Failure(ref, field, "no backendRefs in rule; rule not served"))
            continue
        resolved = resolve_backends(ref, rule.backend_refs, snap, field, grant_allows)
        failures.extend(resolved.failures)
        deps.update(resolved.deps)
        if refused is None:
            refused = resolved.refused
        service_name = f"{kind}.{ref.namespace}.{ref.name}.{rule.index}"
        route_name = f"{service_name}.0"
        kong: dict[str, Any] = {
            "name": route_name,
            "protocols": [protocol],
            "https_redirect_status_code": 426,
            "tags": [*base_tags, *named_rule_tags([rule.name])],
        }
        if expressions:
            kong["expression"] = l4_expression(snis, ports)
            kong["priority"] = L4_EXPRESSION_PRIORITY
        else:
            if snis:
                kong["snis"] = list(snis)
            if ports:
                kong["destinations"] = [{"port": p} for p in ports]
            kong["path_handling"] = "v0"
        if fill_ids:
            kong["id"] = entity_id("routes", route_name)
        backends = resolved.backends
        out = RouteOut(
            name=route_name,
            service=service_name,
            backend=backends[0] if backends else NO_BACKEND,
            route=kong,
            ingress=ref,
            plugins=plugins,
            more_backends=backends[1:],
        )
        plans.append(
            ServicePlan(
                name=service_name,
                protocol=service_protocol,
                owner=ref,
                owner_tags=tuple(base_tags),
                routes=(out,),
                backends=backends,
                refs_dropped=resolved.dropped,
                stream=True,
            )
        )
    return GatewayRouteOut(ref, tuple(plans), tuple(failures), frozenset(deps), refused)


__all__ = [
    "L4_EXPRESSION_PRIORITY",
    "L4Route",
    "l4_expression",
    "listener_ports",
    "translate_l4route",
]
