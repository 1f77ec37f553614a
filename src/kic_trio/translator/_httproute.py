"""HTTPRoute -> Kong routes, both router flavors (gateway-api.md §5, §8, §9.1).

Pure: one HTTPRoute, its attachment (which parents accepted it, the filtered hostnames, the
listener protocols) and reads through a recording view in; :class:`GwRouteOut` out — the Kong
routes (as :class:`~._ingress.RouteOut`, each carrying the :class:`~._model.GwService` its Kong
service is built from by the service stage), failures, what was read, and the route's parent
status (Accepted / ResolvedRefs / Programmed, :func:`route_parent_status`).

Traditional router: rules grouped by identical backendRefs make one Kong service each
(``httproute.<ns>.<name>.<lowest rule>``); inside, rules with identical filters and matches
with the same method/headers/query make one Kong route collecting every path. Expressions
router: one Kong route per (hostname x rule x match) with upstream's ``expression`` and
``priority`` (the tie-break bits are set by the translator across all HTTPRoutes).

Deliberate differences from upstream (docs/gateway-api.md): rules are ordered by index, not as
strings (rule 10 no longer precedes rule 2); a RequestRedirect rule with several matches gives
one correctly named route per match (upstream makes same-named routes, the later ones carrying
the earlier ones' paths); a rule that cannot be translated fails closed with its whole Kong
service, as upstream, but with the reason on the HTTPRoute.

Advice: anything read from the snapshot goes through the :class:`Reads` view so the route is
recomputed when it changes; GRPCRoute and the L4 routes reuse :func:`resolve_backends`,
:func:`route_parent_status` and :class:`Reads`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import orjson

from ..models import Condition, Failure, ObjectRef, ObjectStatus, RouteParentStatus
from ..models._gateway_api import (
    BackendRef,
    HTTPFilter,
    HTTPRoute,
    HTTPRouteMatch,
    HTTPRouteRule,
)
from ._expressions import Matcher, Predicate, all_of, any_of, route_field_annotations
from ._gwattach import ANY, RouteAttachment, grant_allows
from ._ingress import RouteOut, _apply_route_annotations
from ._model import Backend, GwService
from ._util import entity_id, plugin_names, tags_for, valid_host

GW_GROUP = "gateway.networking.k8s.io"
KONG_GROUP = "configuration.konghq.com"
#: ``(kind, namespace, name)`` dependency; ``name == ANY`` = every object of the kind there.
Dep = tuple[str, str, str]
#: Kong ≥ 3.9 has the ``redirect`` plugin (upstream's ``KongRedirectPluginCutoff``).
REDIRECT_PLUGIN_CUTOFF = (3, 9)
#: Priority bits of the expressions router (``atc_utils.go``): source kind, and the bits the
#: translator fills with the relative order of equal priorities (``4095 - i``).
HTTPROUTE_PRIORITY_BASE = 2 << 44
RELATIVE_ORDER_BITS = 12
RELATIVE_ORDER_MAX = (1 << RELATIVE_ORDER_BITS) - 1


# --- reads ---------------------------------------------------------------------------------


class Reads:
    """The snapshot as a route unit reads it: every read becomes a dependency of the unit.

    ``view`` is the translator's class-filtering view (``get``) with its snapshot (``snap``).
    """

    __slots__ = ("_view", "deps")

    def __init__(self, view: Any) -> None:
        self._view = view
        self.deps: set[Dep] = set()

    def get(self, kind: str, namespace: str, name: str) -> Any:
        self.deps.add((kind, namespace, name))
        return self._view.get(kind, namespace, name)

    def in_namespace(self, kind: str, namespace: str) -> list[Any]:
        """Every object of ``kind`` in ``namespace`` (ReferenceGrants: few per namespace)."""
        self.deps.add((kind, namespace, ANY))
        snap = self._view.snap
        return [m for (ns, _), m in snap.map(kind).items() if ns == namespace]

    @property
    def snap(self) -> Any:
        return self._view.snap


# --- output --------------------------------------------------------------------------------


@attrs.frozen(slots=True, eq=False)
class GwRouteOut:
    """What one Gateway API route makes (shared by every route kind's translator)."""

    ref: ObjectRef
    created: str
    routes: tuple[RouteOut, ...] = ()
    failures: tuple[Failure, ...] = ()
    status: Mapping[ObjectRef, ObjectStatus] = attrs.field(factory=dict)
    #: expressions router: ``(base priority, sort key, route dict)`` per route, for the
    #: translator's relative-order bits across all routes of the kind
    priorities: tuple[tuple[int, tuple[Any, ...], dict[str, Any]], ...] = ()


@attrs.frozen(slots=True)
class ResolvedRefs:
    """The route's ``ResolvedRefs`` condition: first failing backendRef in rule order."""

    ok: bool = True
    reason: str = "ResolvedRefs"
    message: str = ""


def resolve_backends(
    route_ref: ObjectRef,
    refs: Sequence[BackendRef],
    reads: Reads,
    *,
    first_problem: list[ResolvedRefs],
) -> list[Backend]:
    """The backendRefs that resolve (gateway-api.md §5.4), as weighted :class:`Backend`\\s.

    Dropped (and the first reason kept in ``first_problem`` for ResolvedRefs): kind unset
    (golden inputs, not API-defaulted) or not core ``Service`` -> ``InvalidKind``; Service
    missing -> ``BackendNotFound``; another namespace without a ReferenceGrant ->
    ``RefNotPermitted`` (a grant deleted later drops it again: the grants are dependencies).
    """
    out: list[Backend] = []
    ns = route_ref.namespace
    for ref in refs:
        group = ref.group or ""
        target_ns = ref.namespace or ns
        problem: ResolvedRefs | None = None
        if ref.kind != "Service" or group not in ("", "core"):
            kind = f"{group}/{ref.kind}" if group else str(ref.kind or "")
            problem = ResolvedRefs(
                False, "InvalidKind", f"target {target_ns}/{ref.name} has unsupported type {kind}"
            )
        elif reads.get("Service", target_ns, ref.name) is None:
            problem = ResolvedRefs(
                False,
                "BackendNotFound",
                f"target {target_ns}/{ref.name} of type Service does not exist",
            )
        elif not grant_allows(
            reads, GW_GROUP, route_ref.kind, ns, group, "Service", target_ns, ref.name,
            deps=reads.deps,
        ):  # fmt: skip
            problem = ResolvedRefs(
                False,
                "RefNotPermitted",
                f"{target_ns}/{ref.name} is in a different namespace than the "
                f"{route_ref.kind} (namespace {ns}) and no ReferenceGrant allowing "
                "reference is configured",
            )
        if problem is not None:
            if not first_problem:
                first_problem.append(problem)
            continue
        out.append(Backend(target_ns, ref.name, ("number", ref.port), ref.weight))
    return out


def route_parent_status(
    route: Any,
    att: RouteAttachment,
    controller_name: str,
    resolved: ResolvedRefs | None,
    programmed: bool,
) -> ObjectStatus:
    """The route's ``status.parents`` entries for our parents (gateway-api.md §4.3.5-6).

    One entry per parentRef naming one of our Gateways: ``Accepted`` (reason from the
    attachment), ``ResolvedRefs`` (``None``: the kind has none, as upstream's non-HTTP
    routes), ``Programmed`` (True/``ConfiguredInGateway`` when the route made Kong routes,
    False/``TranslationError`` when it is accepted but none went out; Unknown otherwise).
    """
    parents: list[RouteParentStatus] = []
    for p in att.parents:
        conds = [
            Condition(
                "Accepted",
                "True" if p.accepted else "False",
                "Accepted" if p.accepted else p.reason,
            )
        ]
        if resolved is not None:
            conds.append(
                Condition(
                    "ResolvedRefs",
                    "True" if resolved.ok else "False",
                    resolved.reason,
                    resolved.message,
                )
            )
        if p.accepted and programmed:
            conds.append(Condition("Programmed", "True", "ConfiguredInGateway"))
        elif p.accepted:
            conds.append(Condition("Programmed", "False", "TranslationError"))
        else:
            conds.append(Condition("Programmed", "Unknown", "Unknown"))
        parents.append(
            RouteParentStatus(
                gateway=p.gateway,
                section_name=p.parent_ref.section_name,
                controller_name=controller_name,
                conditions=tuple(conds),
                generation=int(getattr(route, "generation", 0) or 0),
            )
        )
    return ObjectStatus(
        conditions=parents[0].conditions if parents else (),
        parent=parents[0].gateway if parents else None,
        parents=tuple(parents),
    )


# --- paths, headers, filters -----------------------------------------------------------------


def _paths(match: HTTPRouteMatch) -> list[str]:
    """``generateKongRoutePathFromHTTPRouteMatch``."""
    if match.path is None:
        return []
    t, v = match.path.type, match.path.value
    if t == "Exact":
        return [f"~{v}$"]
    if t == "RegularExpression":
        return [f"~{v}"]
    return [f"~{v}$", v if v.endswith("/") else v + "/"]


def _headers(match: HTTPRouteMatch) -> tuple[dict[str, list[str]], str]:
    out: dict[str, list[str]] = {}
    seen: set[str] = set()
    for h in match.headers:
        low = h.name.lower()
        if low in seen:
            return {}, f"multiple header matches for the same header are not allowed: {h.name}"
        seen.add(low)
        out[h.name] = [f"~*{h.value}" if h.type == "RegularExpression" else h.value]
    return out, ""


def _normalised_prefix(value: str) -> str:
    return "/" if value in ("", "/") else value.rstrip("/") or "/"


def _prefix_rewrite(rule: HTTPRouteRule) -> str | None:
    for f in rule.filters:
        if f.type == "URLRewrite" and f.path_modifier is not None:
            t, v = f.path_modifier
            if t == "ReplacePrefixMatch":
                return v
    return None


def _replace_uri_for_prefix(replacement: str, root: bool) -> str:
    """``generateRequestTransformerReplaceURIForURLRewritePrefixMatch``."""
    r = replacement.rstrip("/")
    if not r and root:
        return '$(uri_captures[1] == nil and "/" or "/" .. uri_captures[1])'
    if not r:
        return '$(uri_captures[1] == nil and "/" or uri_captures[1])'
    if root:
        return r + '$(uri_captures[1] == nil and "" or "/" .. uri_captures[1])'
    return r + "$(uri_captures[1])"


def _header_pairs(pairs: Iterable[tuple[str, str]]) -> list[str]:
    return [f"{k}:{v}" for k, v in pairs]


def _transformer(plugins: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    return plugins.setdefault(name, {})


def _add_list(config: dict[str, Any], section: str, field: str, values: list[str]) -> None:
    if values:
        config.setdefault(section, {}).setdefault(field, []).extend(values)


def _filters(
    rule: HTTPRouteRule,
    match_path: str,
    ns: str,
    *,
    redirect_plugin: bool,
    errors: list[str],
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Kong plugins of a rule's filters, and the KongPlugins its ExtensionRefs name."""
    transformers: dict[str, dict[str, Any]] = {}
    extra: list[dict[str, Any]] = []
    ext: list[tuple[str, str]] = []
    for f in rule.filters:
        if f.type in ("RequestHeaderModifier", "ResponseHeaderModifier"):
            hm = f.header_modifier
            if hm is None:
                continue
            name = (
                "request-transformer"
                if f.type == "RequestHeaderModifier"
                else "response-transformer"
            )
            cfg = _transformer(transformers, name)
            _add_list(cfg, "replace", "headers", _header_pairs(hm.set))
            _add_list(cfg, "add", "headers", _header_pairs(hm.set))
            _add_list(cfg, "append", "headers", _header_pairs(hm.add))
            _add_list(cfg, "remove", "headers", list(hm.remove))
        elif f.type == "RequestRedirect":
            extra.extend(_redirect(f, match_path, redirect_plugin, transformers))
        elif f.type == "URLRewrite":
            cfg = _transformer(transformers, "request-transformer")
            if f.rewrite_hostname:
                _add_list(cfg, "replace", "headers", [f"host:{f.rewrite_hostname}"])
                _add_list(cfg, "add", "headers", [f"host:{f.rewrite_hostname}"])
            if f.path_modifier is not None:
                t, v = f.path_modifier
                if t == "ReplaceFullPath":
                    cfg.setdefault("replace", {})["uri"] = v
                elif t == "ReplacePrefixMatch":
                    root = _normalised_prefix(match_path) == "/"
                    cfg.setdefault("replace", {})["uri"] = _replace_uri_for_prefix(v, root)
            if not cfg:
                del transformers["request-transformer"]
        elif f.type == "ExtensionRef":
            if f.extension_group == KONG_GROUP and f.extension_kind == "KongPlugin":
                ext.append((ns, f.extension_name))
            else:
                errors.append(f"plugin {f.extension_group}/{f.extension_kind} unsupported")
        else:
            errors.append(f"httpFilter {f.type} unsupported")
    plugins = [{"name": n, "config": c} for n, c in transformers.items()]
    plugins.extend(extra)
    plugins.sort(key=lambda p: str(p["name"]))
    return plugins, ext


def _redirect(
    f: HTTPFilter,
    match_path: str,
    redirect_plugin: bool,
    transformers: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    code = f.redirect_status_code or 302
    full = (
        f.path_modifier[1] if f.path_modifier and f.path_modifier[0] == "ReplaceFullPath" else None
    )
    if redirect_plugin:
        p = full if full is not None else "/"
    else:
        p = full if full is not None else (match_path or "/")
    if f.redirect_hostname:
        host = f.redirect_hostname
        if f.redirect_port:
            host = f"{host}:{f.redirect_port}"
        location = f"{f.redirect_scheme or 'http'}://" + posixpath.join(host, p.lstrip("/"))
        if p.endswith("/") and not location.endswith("/"):
            location += "/"
    else:
        location = p
    if redirect_plugin:
        return [
            {
                "name": "redirect",
                "config": {
                    "status_code": code,
                    "location": location,
                    "keep_incoming_path": full is None,
                },
            }
        ]
    cfg = _transformer(transformers, "response-transformer")
    _add_list(cfg, "add", "headers", [f"Location:{location}"])
    return [{"name": "request-termination", "config": {"status_code": code}}]


def _filters_key(rule: HTTPRouteRule) -> bytes:
    """Rules with the same filters (in any order) share Kong routes."""
    return b"\n".join(sorted(orjson.dumps(attrs.asdict(f)) for f in rule.filters))


def _backends_key(rule: HTTPRouteRule) -> tuple[Any, ...]:
    """Rules with the same backendRefs (in any order) share a Kong service."""
    return tuple(
        sorted(
            (b.name, b.group or "", b.kind or "", b.namespace or "", b.port or 0, b.weight or -1)
            for b in rule.backend_refs
        )
    )


def _match_key(m: HTTPRouteMatch) -> tuple[Any, ...]:
    headers = tuple(sorted({h.name.lower(): (h.type, h.value) for h in m.headers}.items()))
    qp = tuple(sorted({(q.name, q.type, q.value) for q in m.query_params}))
    return (m.method, headers, qp)


# --- expressions -------------------------------------------------------------------------------


def _path_expr(m: HTTPRouteMatch, prefix_rewrite: bool) -> Matcher | None:
    if m.path is None:
        return None
    t, v = m.path.type, m.path.value
    if t == "Exact":
        return Predicate("http.path", "==", v)
    if t == "RegularExpression":
        return Predicate("http.path", "~", v if v.startswith("^") else "^" + v)
    p = _normalised_prefix(v)
    if prefix_rewrite:
        regex = "^/(.*)" if p == "/" else f"^{p}(/.*)"
        return any_of(Predicate("http.path", "==", p), Predicate("http.path", "~", regex))
    if p == "/":
        return Predicate("http.path", "^=", "/")
    return any_of(Predicate("http.path", "==", p), Predicate("http.path", "^=", p + "/"))


def _match_expr(m: HTTPRouteMatch, prefix_rewrite: bool) -> Matcher:
    headers: list[Matcher] = []
    for h in sorted(m.headers, key=lambda h: h.name):
        field = "http.headers." + h.name.lower().replace("-", "_")
        headers.append(Predicate(field, "~" if h.type == "RegularExpression" else "==", h.value))
    queries: list[Matcher] = []
    for q in sorted(m.query_params, key=lambda q: q.name):
        op = "~" if q.type == "RegularExpression" else "=="
        queries.append(Predicate("http.queries." + q.name, op, q.value))
    return all_of(
        _path_expr(m, prefix_rewrite),
        all_of(*headers),
        all_of(*queries),
        Predicate("http.method", "==", m.method) if m.method else None,
    )


def _host_expr(host: str) -> Matcher | None:
    if not host or not valid_host(host):
        return None
    if host.startswith("*"):
        return Predicate("http.host", "=^", host[1:])
    return Predicate("http.host", "==", host)


def _priority(host: str, m: HTTPRouteMatch | None) -> int:
    """``HTTPRoutePriorityTraits.EncodeToPriority`` without the relative-order bits."""
    p = HTTPROUTE_PRIORITY_BASE
    if host and not host.startswith("*"):
        p |= 1 << 43
    p += len(host) << 35
    if m is not None:
        if m.path is not None:
            if m.path.type == "Exact":
                p += 1 << 34
            elif m.path.type == "RegularExpression":
                p += 1 << 33
            if m.path.value:
                p += (len(m.path.value) - 1) << 23
        if m.method:
            p += 1 << 22
        p += len(m.headers) << 17
        p += len(m.query_params) << 12
    return p


_CATCH_ALL = '(net.protocol == "http") || (net.protocol == "https")'


# --- the route -------------------------------------------------------------------------------


def translate_httproute(
    route: HTTPRoute,
    att: RouteAttachment,
    reads: Reads,
    *,
    controller_name: str,
    expressions: bool,
    fill_ids: bool,
    redirect_plugin: bool = True,
) -> GwRouteOut:
    """The Kong routes of one HTTPRoute and its parent status (see the module docstring)."""
    ref = route.ref
    failures: list[Failure] = []
    problems: list[ResolvedRefs] = []
    rule_backends: dict[int, list[Backend]] = {}
    for rule in route.rules:
        rule_backends[rule.index] = resolve_backends(
            ref, rule.backend_refs, reads, first_problem=problems
        )
    resolved = problems[0] if problems else ResolvedRefs()

    routes: list[RouteOut] = []
    priorities: list[tuple[int, tuple[Any, ...], dict[str, Any]]] = []
    hostnames = att.hostnames
    if att.attached and hostnames is not None:
        if not route.rules:
            failures.append(
                Failure(ref, "spec.rules", "HTTPRoute can't be routed: no rules provided")
            )
        elif not expressions and any(m.query_params for r in route.rules for m in r.matches):
            failures.append(
                Failure(
                    ref,
                    "spec.rules",
                    "HTTPRoute can't be routed: query param matches are not yet supported "
                    "(they need Kong's expressions router)",
                )
            )
        else:
            _make_routes(
                route, att, hostnames, rule_backends, routes, priorities, failures,
                expressions=expressions, fill_ids=fill_ids, redirect_plugin=redirect_plugin,
            )  # fmt: skip
    status = route_parent_status(route, att, controller_name, resolved, bool(routes))
    return GwRouteOut(
        ref=ref,
        created=str(route.created),
        routes=tuple(routes),
        failures=tuple(failures),
        status={ref: status} if att.parents else {},
        priorities=tuple(priorities),
    )


def _base_route(tags: list[str], protocols: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "preserve_host": True,
        "strip_path": False,
        "https_redirect_status_code": 426,
        "tags": tags,
    }
    if protocols:
        out["protocols"] = protocols
    return out


def _make_routes(
    route: HTTPRoute,
    att: RouteAttachment,
    hostnames: tuple[str, ...],
    rule_backends: Mapping[int, list[Backend]],
    routes: list[RouteOut],
    priorities: list[tuple[int, tuple[Any, ...], dict[str, Any]]],
    failures: list[Failure],
    *,
    expressions: bool,
    fill_ids: bool,
    redirect_plugin: bool,
) -> None:
    ref = route.ref
    ns, name = ref.namespace, ref.name
    obj_tags = list(tags_for(route))
    protocols = list(att.protocols(("HTTP", "HTTPS")))
    own_plugins = tuple(plugin_names(route))
    ann = dict(route.annotations)
    field_ann = route_field_annotations(ann) if expressions else ann
    # rules grouped by identical backendRefs -> one Kong service each (rule order: by index)
    groups: dict[tuple[Any, ...], list[HTTPRouteRule]] = {}
    for rule in sorted(route.rules, key=lambda r: r.index):
        groups.setdefault(_backends_key(rule), []).append(rule)
    for rules in groups.values():
        first = rules[0]
        service = f"httproute.{ns}.{name}.{first.index}"
        backends = tuple(rule_backends[first.index])
        timeout = next(
            (
                r.backend_request_timeout_ms
                for r in reversed(rules)
                if r.backend_request_timeout_ms is not None
                and r.backend_request_timeout_ms != 60000
            ),
            None,
        )
        spec = GwService(
            parent=ref,
            parent_tags=tuple(obj_tags),
            backends=backends,
            timeout_ms=timeout,
            dropped=bool(first.backend_refs) and not backends,
        )
        placeholder = backends[0] if backends else Backend(ns, "", ("number", None))
        errors: list[str] = []
        made: list[tuple[str, dict[str, Any], tuple[tuple[str, str], ...]]] = []
        if expressions:
            _expression_routes(
                route, rules, hostnames, obj_tags, protocols, made, priorities, errors,
                redirect_plugin=redirect_plugin,
            )  # fmt: skip
        else:
            _traditional_routes(
                route, rules, hostnames, obj_tags, protocols, made, errors,
                redirect_plugin=redirect_plugin,
            )  # fmt: skip
        if errors:
            failures.append(
                Failure(ref, "spec.rules", "HTTPRoute can't be routed: " + "; ".join(errors))
            )
            continue  # fail closed: the whole Kong service, as upstream
        for route_name, kong_route, ext in made:
            kong_route["name"] = route_name
            _apply_route_annotations(kong_route, field_ann, ref, failures, expressions)
            if fill_ids:
                kong_route["id"] = entity_id("routes", route_name)
            routes.append(
                RouteOut(
                    name=route_name,
                    service=service,
                    backend=placeholder,
                    more_backends=backends[1:],
                    route=kong_route,
                    ingress=ref,
                    plugins=tuple(dict.fromkeys((*own_plugins, *ext))),
                    gw=spec,
                )
            )


def _rule_tags(obj_tags: list[str], rules: Iterable[HTTPRouteRule]) -> list[str]:
    tags = list(obj_tags)
    for r in rules:
        if r.name:
            tag = f"k8s-named-route-rule:{r.name}"
            if tag not in tags:
                tags.append(tag)
    return tags


def _has_redirect(rule: HTTPRouteRule) -> bool:
    return any(f.type == "RequestRedirect" for f in rule.filters)


def _traditional_routes(
    route: HTTPRoute,
    rules: list[HTTPRouteRule],
    hostnames: tuple[str, ...],
    obj_tags: list[str],
    protocols: list[str],
    made: list[tuple[str, dict[str, Any], tuple[tuple[str, str], ...]]],
    errors: list[str],
    *,
    redirect_plugin: bool,
) -> None:
    ns, name = route.ref.namespace, route.ref.name
    by_filters: dict[bytes, list[HTTPRouteRule]] = {}
    for rule in rules:
        by_filters.setdefault(_filters_key(rule), []).append(rule)
    for frules in by_filters.values():
        # match groups: (rule, match) pairs with the same method/headers/query share a route
        mgroups: dict[tuple[Any, ...], list[tuple[HTTPRouteRule, HTTPRouteMatch | None]]] = {}
        for rule in frules:
            if not rule.matches:
                mgroups[("nomatch", rule.index)] = [(rule, None)]
                continue
            for m in rule.matches:
                key: tuple[Any, ...] = _match_key(m)
                if _has_redirect(rule):
                    key = ("redirect", rule.index, m.index)  # one route per match, own name
                mgroups.setdefault(key, []).append((rule, m))
        for members in mgroups.values():
            rule0, m0 = members[0]
            route_name = f"httproute.{ns}.{name}.{rule0.index}.{m0.index if m0 else 0}"
            kong = _base_route(
                _rule_tags(obj_tags, dict.fromkeys(r for r, _ in members)), protocols
            )
            if hostnames:
                kong["hosts"] = list(hostnames)
            if m0 is not None:
                paths: list[str] = []
                methods: list[str] = []
                prefix = _prefix_rewrite(rule0)
                for _, mm in members:
                    if mm is None:
                        continue
                    if prefix is not None and mm.path is not None:
                        p = _normalised_prefix(mm.path.value)
                        paths.extend(["~/$", "~/(.*)"] if p == "/" else [f"~{p}$", f"~{p}(/.*)"])
                    else:
                        paths.extend(_paths(mm))
                    if mm.method and mm.method not in methods:
                        methods.append(mm.method)
                if paths:
                    kong["paths"] = list(dict.fromkeys(paths))
                headers, err = _headers(m0)
                if err:
                    errors.append(err)
                if headers:
                    kong["headers"] = headers
                if methods:
                    kong["methods"] = methods
            if not any(kong.get(f) for f in ("hosts", "paths", "headers", "methods")):
                # no hostname and no match field (a rule without matches, or an empty match,
                # as objects not defaulted by the API server have): the spec's default match
                # is PathPrefix "/". Upstream sends the route bare and Kong refuses the whole
                # configuration ("must set one of 'methods', 'hosts', 'headers', 'paths'").
                kong["paths"] = ["/"]
            kong["path_handling"] = "v0"
            match_path = m0.path.value if m0 is not None and m0.path is not None else ""
            plugins, ext = _filters(
                rule0, match_path, ns, redirect_plugin=redirect_plugin, errors=errors
            )
            if plugins:
                kong["plugins"] = [{**p, "tags": kong["tags"]} for p in plugins]
            made.append((route_name, kong, tuple(ext)))


def _expression_routes(
    route: HTTPRoute,
    rules: list[HTTPRouteRule],
    hostnames: tuple[str, ...],
    obj_tags: list[str],
    protocols: list[str],
    made: list[tuple[str, dict[str, Any], tuple[tuple[str, str], ...]]],
    priorities: list[tuple[int, tuple[Any, ...], dict[str, Any]]],
    errors: list[str],
    *,
    redirect_plugin: bool,
) -> None:
    ns, name = route.ref.namespace, route.ref.name
    snis = [s.strip() for s in route.annotations.get("konghq.com/snis", "").split(",") if s.strip()]
    sni_expr = any_of(*(Predicate("tls.sni", "==", s) for s in snis))
    for host in hostnames or ("",):
        host_token = host.replace("*", "_") if host else "_"
        for rule in rules:
            prefix = _prefix_rewrite(rule) is not None
            matches: tuple[HTTPRouteMatch | None, ...] = rule.matches or (None,)
            for m in matches:
                route_name = (
                    f"httproute.{ns}.{name}.{host_token}.{rule.index}.{m.index if m else 0}"
                )
                kong = _base_route(_rule_tags(obj_tags, (rule,)), protocols)
                expr = all_of(
                    _host_expr(host), sni_expr, _match_expr(m, prefix) if m is not None else None
                ).expression()
                kong["expression"] = expr or _CATCH_ALL
                base = _priority(host, m)
                kong["priority"] = base + RELATIVE_ORDER_MAX
                match_path = m.path.value if m is not None and m.path is not None else ""
                plugins, ext = _filters(
                    rule, match_path, ns, redirect_plugin=redirect_plugin, errors=errors
                )
                if plugins:
                    kong["plugins"] = [{**p, "tags": kong["tags"]} for p in plugins]
                made.append((route_name, kong, tuple(ext)))
                order = (str(route.created), ns, name, rule.index, m.index if m else 0)
                priorities.append((base, order, kong))


__all__ = [
    "ANY",
    "GwRouteOut",
    "Reads",
    "ResolvedRefs",
    "resolve_backends",
    "route_parent_status",
    "translate_httproute",
]
