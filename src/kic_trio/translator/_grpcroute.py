"""GRPCRoute -> Kong services and routes, both router flavors (gateway-api.md §6, §9.2).

Pure: one GRPCRoute and the listeners of its parent Gateways in, a
:class:`~._l4route.GatewayRouteOut` (one :class:`~._gwplan.ServicePlan` per Kong service) out.

Traditional (``traditional``/``traditional_compatible``):

* rule ``i`` -> Kong service ``grpcroute.<ns>.<route>.<i>``, ``protocol: grpc`` when a parent
  listener is HTTP, else ``grpcs``;
* match ``j`` -> route ``grpcroute.<ns>.<route>.<i>.<j>``, ``protocols: [grpc, grpcs]``,
  ``hosts`` = ``spec.hostnames`` or else the parent listeners' hostnames, a method match as the
  path ``~/<service>/<method>`` (missing service ``.+``; missing method ``""``, or ``.+`` for
  RegularExpression), header matches as ``headers``; a rule without matches gets one route
  with the hosts only, or ``paths: ["/"]``.

Expressions: one service per (hostname x rule), ``grpcroute.<ns>.<route>.<host|_>.<i>``,
one route per match with an ``expression`` (method, headers, host) and upstream's
``priority`` (:func:`base_priority` + a relative order in bits 0-7 among equal bases,
:func:`relative_orders`).

Deliberate differences (docs/gateway-api.md): a ``RegularExpression`` header match is a regex
match (upstream matches it exactly); an Exact method match whose service/method is not a gRPC
identifier is left out with a Failure (it would be read as a regex by Kong); translation
problems are Failures on the route (upstream only logs them). Kept as upstream (its goldens
depend on it): every named-rule tag of the route on every Kong route.

Route annotations (``konghq.com/strip-path``, ``protocols``, ``methods``, ...) apply to every Kong
route of the object exactly as on an Ingress (gateway-api.md §8); ``konghq.com/plugins`` binds
to each route.

Advice: ``relative`` comes from the stage, which knows every GRPCRoute's split keys
(:func:`split_keys`); a route whose group of equal base priorities changed is recomputed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ..models import Failure, split_list
from ..models._gateway_api import GRPCMethodMatch, GRPCRoute, GRPCRouteMatch, HeaderMatch, Listener
from ..store import Snapshot
from ._expressions import quote, route_field_annotations, valid_host, valid_sni
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
from ._ingress import _apply_route_annotations as apply_route_annotations
from ._util import entity_id, plugin_names

Dep = tuple[str, str, str]
#: ``(creation, namespace, name, rule index, match index)``: the tie-break among equal bases.
SplitKey = tuple[str, str, str, int, int]
#: ``(base priority, split key) -> relative order`` (0..255).
Relative = Callable[[int, SplitKey], int]

_KIND_GRPCROUTE = 1 << 44
_PRECISE_HOST = 1 << 43
_HOST_LEN_SHIFT = 35
_SERVICE_LEN_SHIFT = 24
_METHOD_LEN_SHIFT = 13
_HEADERS_SHIFT = 8
_RELATIVE_MAX = 255
#: A RegularExpression service/method longer than this is refused (hostile-input bound).
_MAX_REGEX = 1024


def _blen(s: str) -> int:
    return len(s.encode("utf-8", "surrogatepass"))


def _ident(value: str, dotted: bool) -> bool:
    """``[A-Za-z_][A-Za-z_0-9]*`` (dotted: joined by ``.``, optional leading ``.``): the CRD's
    pattern for Exact method matches, checked without a regex engine."""
    if dotted and value.startswith("."):
        value = value[1:]
    parts = value.split(".") if dotted else [value]
    return all(
        p
        and p.isascii()
        and (p[0].isalpha() or p[0] == "_")
        and all(c.isalnum() or c == "_" for c in p)
        for p in parts
    )


def _method_ok(m: GRPCMethodMatch) -> str:
    """Why a method match cannot be used, ``""`` when it can."""
    if m.type == "Exact":
        if m.service and not _ident(m.service, True):
            return "method.service is not a gRPC service name"
        if m.method and not _ident(m.method, False):
            return "method.method is not a gRPC method name"
    elif m.type == "RegularExpression":
        if _blen(m.service) > _MAX_REGEX or _blen(m.method) > _MAX_REGEX:
            return f"method regular expressions are limited to {_MAX_REGEX} bytes"
        if any(c in "\n\r\x00" for c in m.service + m.method):
            return "method regular expressions may not contain control characters"
    else:
        return "method.type must be Exact or RegularExpression"
    return ""


def traditional_path(m: GRPCMethodMatch) -> str:
    """upstream's path for a method match: ``~/<service or .+>/<method or "" / .+>``."""
    service = m.service or ".+"
    method = m.method or (".+" if m.type == "RegularExpression" else "")
    return f"~/{service}/{method}"


def method_expression(m: GRPCMethodMatch) -> str:
    """upstream's ``methodMatcherFromGRPCMethodMatch``."""
    if m.type == "RegularExpression":
        if not m.service and not m.method:
            return f"http.path ^= {quote('/')}"
        return f"http.path ~ {quote('^/' + (m.service or '.+') + '/' + (m.method or '.+'))}"
    if m.service and m.method:
        return f"http.path == {quote('/' + m.service + '/' + m.method)}"
    if m.service:
        return f"http.path ^= {quote('/' + m.service + '/')}"
    if m.method:
        return f"http.path =^ {quote('/' + m.method)}"
    return f"http.path ^= {quote('/')}"


def _and(parts: Iterable[str]) -> str:
    ps = [p for p in parts if p]
    return ps[0] if len(ps) == 1 else " && ".join(f"({p})" for p in ps)


def _or(parts: Iterable[str]) -> str:
    ps = [p for p in parts if p]
    return ps[0] if len(ps) == 1 else " || ".join(f"({p})" for p in ps)


def _header_expression(headers: Sequence[HeaderMatch]) -> str:
    parts = []
    for h in sorted(headers, key=lambda x: x.name):
        field = "http.headers." + h.name.lower().replace("-", "_")
        op = "~" if h.type == "RegularExpression" else "=="
        parts.append(f"{field} {op} {quote(h.value)}")
    return _and(parts)


def _host_expression(host: str) -> str:
    if not host:
        return ""
    if host.startswith("*"):
        return f"http.host =^ {quote(host[1:])}"
    return f"http.host == {quote(host)}"


def _snis_expression(ann: Mapping[str, str]) -> str:
    if "konghq.com/snis" not in ann:
        return ""
    return _or(f"tls.sni == {quote(s)}" for s in split_list(ann["konghq.com/snis"]) if valid_sni(s))


def base_priority(host: str, match: GRPCRouteMatch | None) -> int:
    """upstream's ``GRPCRoutePriorityTraits`` without the relative order (bits 0-7)."""
    p = _KIND_GRPCROUTE
    if host and not host.startswith("*"):
        p += _PRECISE_HOST
    p += _blen(host) << _HOST_LEN_SHIFT
    if match is not None:
        if match.method is not None:
            p += _blen(match.method.service) << _SERVICE_LEN_SHIFT
            p += _blen(match.method.method) << _METHOD_LEN_SHIFT
        p += len(match.headers) << _HEADERS_SHIFT
    return p


def _hostnames(route: GRPCRoute) -> list[str]:
    return [h for h in route.hostnames if valid_host(h)]


def _splits(route: GRPCRoute) -> Iterable[tuple[str, int, int, GRPCRouteMatch | None]]:
    """(hostname, rule index, match index, match) of every expressions split."""
    hosts = _hostnames(route) or [""]
    for host in hosts:
        for rule in route.rules:
            if not rule.matches:
                yield host, rule.index, 0, None
            for m in rule.matches:
                yield host, rule.index, m.index, m


def split_keys(route: GRPCRoute) -> list[tuple[int, SplitKey]]:
    """``(base priority, tie-break key)`` of every expressions split of ``route``."""
    ns, name = route.ref.namespace, route.ref.name
    return [
        (base_priority(host, m), (route.created, ns, name, ri, mi))
        for host, ri, mi, m in _splits(route)
    ]


def relative_orders(keys: Iterable[tuple[int, SplitKey]]) -> dict[tuple[int, SplitKey], int]:
    """upstream's relative order: within one base, ``255 - i`` in tie-break order (floor 0)."""
    by_base: dict[int, list[SplitKey]] = {}
    for base, key in keys:
        by_base.setdefault(base, []).append(key)
    out: dict[tuple[int, SplitKey], int] = {}
    for base, ks in by_base.items():
        for i, k in enumerate(sorted(set(ks))):
            out[(base, k)] = max(_RELATIVE_MAX - i, 0)
    return out


def _listener_protocols(listeners: Sequence[Listener]) -> set[str]:
    return {lst.protocol for lst in listeners}


def translate_grpcroute(
    route: GRPCRoute,
    listeners: Sequence[Listener],
    snap: Snapshot,
    *,
    expressions: bool,
    fill_ids: bool,
    relative: Relative | None = None,
    grant_allows: GrantCheck = snapshot_grant_allows,
) -> GatewayRouteOut:
    """The Kong services and routes of one GRPCRoute."""
    ref = route.ref
    ns, name = ref.namespace, ref.name
    failures: list[Failure] = []
    deps: set[Dep] = set()
    plugins = tuple(plugin_names(route))
    refused: tuple[str, str] | None = None
    if not route.rules:
        failures.append(Failure(ref, "spec.rules", "no rules provided; route not served"))
        return GatewayRouteOut(ref, (), tuple(failures), frozenset())
    for i, h in enumerate(route.hostnames):
        if not valid_host(h):
            failures.append(Failure(ref, f"spec.hostnames[{i}]", "not a valid host name; left out"))
    protos = _listener_protocols(listeners)
    service_protocol = "grpc" if "HTTP" in protos else "grpcs"
    tags = [*route_tags(route), *named_rule_tags([r.name for r in route.rules])]
    usable: dict[tuple[int, int], bool] = {}
    for rule in route.rules:
        for m in rule.matches:
            why = _method_ok(m.method) if m.method is not None else ""
            if why:
                failures.append(
                    Failure(
                        ref,
                        f"spec.rules[{rule.index}].matches[{m.index}].method",
                        why + "; match left out",
                    )
                )
            usable[(rule.index, m.index)] = not why
    plans: list[ServicePlan] = []
    for rule in route.rules:
        field = f"spec.rules[{rule.index}]"
        if rule.filters:
            failures.append(
                Failure(
                    ref, f"{field}.filters", "GRPCRoute filters are not supported; rule not served"
                )
            )
            continue
        matches = [m for m in rule.matches if usable[(rule.index, m.index)]]
        if rule.matches and not matches:
            continue
        resolved = resolve_backends(ref, rule.backend_refs, snap, field, grant_allows)
        failures.extend(resolved.failures)
        deps.update(resolved.deps)
        if refused is None:
            refused = resolved.refused
        backends = resolved.backends
        groups: list[tuple[str, str, list[tuple[int, GRPCRouteMatch | None]]]] = []
        if expressions:
            for host in _hostnames(route) or [""]:
                token = host.replace("*", "_") if host else "_"
                svc = f"grpcroute.{ns}.{name}.{token}.{rule.index}"
                items: list[tuple[int, GRPCRouteMatch | None]] = (
                    [(m.index, m) for m in matches] if matches else [(0, None)]
                )
                groups.append((svc, host, items))
        else:
            svc = f"grpcroute.{ns}.{name}.{rule.index}"
            groups.append((svc, "", [(m.index, m) for m in matches] if matches else [(0, None)]))
        for svc, host, items in groups:
            outs: list[RouteOut] = []
            for mi, match in items:
                rname = f"{svc}.{mi}"
                kong: dict[str, Any] = {
                    "name": rname,
                    "https_redirect_status_code": 426,
                    "tags": list(tags),
                }
                if expressions:
                    _expression_route(kong, route, host, match, rule.index, mi, protos, relative)
                    apply_route_annotations(
                        kong, route_field_annotations(route.annotations), ref, failures, True
                    )
                else:
                    _traditional_route(kong, route, match, listeners)
                    apply_route_annotations(kong, route.annotations, ref, failures, False)
                if fill_ids:
                    kong["id"] = entity_id("routes", rname)
                outs.append(
                    RouteOut(
                        name=rname,
                        service=svc,
                        backend=backends[0] if backends else NO_BACKEND,
                        route=kong,
                        ingress=ref,
                        plugins=plugins,
                        more_backends=backends[1:],
                    )
                )
            plans.append(
                ServicePlan(
                    name=svc,
                    protocol=service_protocol,
                    owner=ref,
                    owner_tags=tuple(route_tags(route)),
                    routes=tuple(outs),
                    backends=backends,
                    refs_dropped=resolved.dropped,
                )
            )
    return GatewayRouteOut(ref, tuple(plans), tuple(failures), frozenset(deps), refused)


def _traditional_route(
    kong: dict[str, Any], route: GRPCRoute, m: GRPCRouteMatch | None, listeners: Sequence[Listener]
) -> None:
    kong["protocols"] = ["grpc", "grpcs"]
    kong["path_handling"] = "v0"
    hosts = _hostnames(route) or list(
        dict.fromkeys(lst.hostname for lst in listeners if lst.hostname)
    )
    if hosts:
        kong["hosts"] = hosts
    if m is not None and m.method is not None:
        kong["paths"] = [traditional_path(m.method)]
    if m is not None and m.headers:
        headers: dict[str, list[str]] = {}
        for h in m.headers:
            value = f"~*{h.value}" if h.type == "RegularExpression" else h.value
            headers.setdefault(h.name, []).append(value)
        kong["headers"] = headers
    if not any(k in kong for k in ("hosts", "paths", "headers")):
        kong["paths"] = ["/"]


def _expression_route(
    kong: dict[str, Any],
    route: GRPCRoute,
    host: str,
    m: GRPCRouteMatch | None,
    rule_index: int,
    match_index: int,
    protos: set[str],
    relative: Relative | None,
) -> None:
    kong["preserve_host"] = True
    protocols = [p for p, lp in (("grpc", "HTTP"), ("grpcs", "HTTPS")) if lp in protos]
    if protocols:
        kong["protocols"] = protocols
    expression = _and(
        [
            method_expression(m.method) if m is not None and m.method is not None else "",
            _header_expression(m.headers) if m is not None else "",
            _host_expression(host),
            _snis_expression(route.annotations),
        ]
    )
    kong["expression"] = expression or '(net.protocol == "http") || (net.protocol == "https")'
    base = base_priority(host, m)
    key: SplitKey = (route.created, route.ref.namespace, route.ref.name, rule_index, match_index)
    kong["priority"] = base + (relative(base, key) if relative is not None else _RELATIVE_MAX)


__all__ = [
    "Relative",
    "SplitKey",
    "base_priority",
    "method_expression",
    "relative_orders",
    "split_keys",
    "traditional_path",
    "translate_grpcroute",
]
