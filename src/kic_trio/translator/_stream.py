"""TCPIngress / UDPIngress -> Kong stream routes (upstream ``translate_kong_l4.go``).

Pure: one object in, its :class:`~._model.RouteOut` records out; the service stage builds the
Kong services (``protocol: tcp``/``udp``), upstreams and targets from the routes' backends,
like any other route kind (reference: upstream-surface.md §5).

* TCPIngress rule ``i`` -> route ``<ns>.<name>.<i>`` (``protocols: [tcp, tls]``,
  ``destinations: [{port}]``, ``snis: [host]`` when the rule has a host) on Kong service
  ``<ns>.<svc>.<servicePort>`` (the name an Ingress backend to the same port gets).
* UDPIngress rule ``i`` -> route ``<ns>.<name>.<i>.udp`` (``protocols: [udp]``) on
  ``<ns>.<svc>.<servicePort>.udp``.
* TCPIngress ``spec.tls``: Secret->SNI claims for the certificates stage, like Ingress TLS.
* Expressions router: ``expression`` = ``tls.sni == "<host>"`` AND ``net.dst.port == <port>``,
  ``priority: 1``, without ``snis``/``destinations``.

Advice: only ``konghq.com/plugins`` of the route annotations applies here; the HTTP ones
(methods, hosts, headers...) make routes Kong refuses for stream protocols.
"""

from __future__ import annotations

from typing import Any

import attrs

from ..models import Failure, ObjectRef, StreamRule, TCPIngress, UDPIngress
from ._expressions import quote
from ._ingress import RouteOut
from ._model import Backend
from ._util import entity_id, plugin_names, tags_for, valid_sni

#: ``RouteOut.stream`` values: the Kong service protocol of the route's service.
TCP = "tcp"
UDP = "udp"
#: upstream's priority for every L4 expression route
STREAM_EXPRESSION_PRIORITY = 1


@attrs.frozen(slots=True, eq=False)
class StreamOut:
    """What one TCPIngress/UDPIngress makes: its routes (and its translation failures)."""

    ref: ObjectRef
    created: str
    routes: tuple[RouteOut, ...] = ()
    failures: tuple[Failure, ...] = ()
    #: ``((namespace, secret), hosts)`` per TCPIngress ``spec.tls`` entry: the same Secret->SNI
    #: claims as Ingress TLS (claimed after every Ingress's, as upstream's ``getCerts``).
    tls: tuple[tuple[tuple[str, str], tuple[str, ...]], ...] = ()


def stream_expression(rule: StreamRule) -> str:
    """Upstream's L4 expression: ``(tls.sni == "<host>") && (net.dst.port == <port>)``."""
    port = f"net.dst.port == {rule.port}"
    if not rule.host:
        return port
    return f"(tls.sni == {quote(rule.host)}) && ({port})"


def translate_stream(
    obj: TCPIngress | UDPIngress, *, expressions: bool, fill_ids: bool
) -> StreamOut:
    """The routes of one TCPIngress or UDPIngress (rules were validated by the parser)."""
    udp = isinstance(obj, UDPIngress)
    ns, name = obj.ref.namespace, obj.ref.name
    tags = list(obj.tags or tags_for(obj))
    plugins = tuple(plugin_names(obj))
    routes: list[RouteOut] = []
    failures: list[Failure] = []
    for rule in obj.rules:
        if rule.host and not expressions and not valid_sni(rule.host):
            # Kong's traditional flavors take plain SNIs only (no wildcard) in ``snis``
            failures.append(
                Failure(
                    obj.ref,
                    f"spec.rules[{rule.index}].host",
                    "a wildcard host needs Kong's expressions router; rule left out",
                )
            )
            continue
        suffix = ".udp" if udp else ""
        route_name = f"{ns}.{name}.{rule.index}{suffix}"
        route: dict[str, Any] = {
            "name": route_name,
            "protocols": [UDP] if udp else [TCP, "tls"],
            "https_redirect_status_code": 426,
            "tags": tags,
        }
        if expressions:
            route["expression"] = stream_expression(rule)
            route["priority"] = STREAM_EXPRESSION_PRIORITY
        else:
            route["destinations"] = [{"port": rule.port}]
            if rule.host:
                route["snis"] = [rule.host]
            route["path_handling"] = "v0"
        if fill_ids:
            route["id"] = entity_id("routes", route_name)
        routes.append(
            RouteOut(
                name=route_name,
                service=f"{ns}.{rule.service}.{rule.service_port}{suffix}",
                backend=Backend(ns, rule.service, ("number", rule.service_port)),
                route=route,
                ingress=obj.ref,
                plugins=plugins,
                stream=UDP if udp else TCP,
            )
        )
    tls = (
        tuple(((ns, secret), hosts) for secret, hosts in obj.tls if secret and hosts)
        if isinstance(obj, TCPIngress)
        else ()
    )
    return StreamOut(
        ref=obj.ref,
        created=str(obj.created),
        routes=tuple(routes),
        failures=tuple(failures),
        tls=tls,
    )
