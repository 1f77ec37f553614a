"""The parsers of the Gateway API models (``_gateway_api.py``), and the checks they share.

Kept apart from the records so that ``_models.AnyModel`` can name the records without an
import cycle (the parsers need ``_parsers._meta``, which needs ``_models``). See
``_gateway_api.py`` for the rules: never raise, drop toward serving less, name the field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ._gateway_api import (
    GW_GROUP,
    BackendRef,
    BackendTLSPolicy,
    Gateway,
    GatewayClass,
    GatewayRoute,
    GrantFrom,
    GrantTo,
    GRPCMethodMatch,
    GRPCRoute,
    GRPCRouteMatch,
    GRPCRouteRule,
    HeaderMatch,
    HeaderModifier,
    HTTPFilter,
    HTTPPathMatch,
    HTTPRoute,
    HTTPRouteMatch,
    HTTPRouteRule,
    L4RouteRule,
    Listener,
    ListenerStatusRead,
    Namespace,
    ParentRef,
    PolicyTargetRef,
    ReadCondition,
    ReferenceGrant,
    RouteNamespaces,
    SecretObjectRef,
    StatusParent,
    TCPRoute,
    TLSRoute,
    UDPRoute,
)
from ._parse import Reader
from ._parsers import _meta

__all__ = ["GW_GROUP"]

# --- validation helpers -----------------------------------------------------------------------

_MAX_HOST = 253
_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
_TOKEN_CHARS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~"
)
_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
_MATCH_TYPES = ("Exact", "RegularExpression")
_PATH_TYPES = ("Exact", "PathPrefix", "RegularExpression")
_PATH_MOD_TYPES = {"ReplaceFullPath": "replaceFullPath", "ReplacePrefixMatch": "replacePrefixMatch"}
_REDIRECT_CODES = (301, 302, 303, 307, 308)
_MAX_VALUE = 4096
_MAX_REGEX = 1024
_DURATION = re.compile(r"(\d{1,5})(ms|h|m|s)")
_DURATION_MS = {"h": 3_600_000, "m": 60_000, "s": 1000, "ms": 1}
_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
_CONTROLLER_NAME = re.compile(
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/[A-Za-z0-9/\-._~%!$&'()*+,;=:]+"
)


def _label_ok(label: str) -> bool:
    return (
        0 < len(label) <= 63 and set(label) <= _LABEL_CHARS and label[0] != "-" and label[-1] != "-"
    )


def valid_gateway_hostname(host: str) -> bool:
    """A Gateway API ``Hostname``: lower-case DNS name, optionally ``*.``-prefixed, not an IP.

    What Kong accepts in a route's ``hosts``/``snis`` too; an IP address (refused by the API)
    is refused here as well.
    """
    if not 0 < len(host) <= _MAX_HOST:
        return False
    labels = host.split(".")
    if labels[0] == "*" and len(labels) > 1:
        labels = labels[1:]
    if not all(_label_ok(x) for x in labels):
        return False
    return not all(x.isdigit() for x in labels)  # 1.2.3.4 is an address


def valid_controller_name(name: str) -> bool:
    """``example.com/controller-name`` (upstream's ``--gateway-api-controller-name`` check)."""
    return len(name) <= 253 and _CONTROLLER_NAME.fullmatch(name) is not None


def header_name_ok(name: str) -> bool:
    """An HTTP header name (RFC 7230 token), at most 256 characters."""
    return 0 < len(name) <= 256 and set(name) <= _TOKEN_CHARS


def path_value_ok(value: str) -> bool:
    """A PathPrefix/Exact value as the API allows: absolute, no ``//``, dot segments, ``%2f``, ``#``."""
    if not value.startswith("/") or len(value) > 1024:
        return False
    if any(bad in value for bad in ("//", "/./", "/../", "%2f", "%2F", "#")):
        return False
    return not (value.endswith("/..") or value.endswith("/."))


def _value_ok(value: str) -> bool:
    return 0 < len(value) <= _MAX_VALUE and "\n" not in value and "\r" not in value


def go_duration_ms(text: str) -> int | None:
    """A Gateway API ``Duration`` (``1h2m3s4ms``, up to four parts) in milliseconds, or ``None``."""
    if not text or len(text) > 40:
        return None
    pos = 0
    total = 0
    parts = 0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            return None
        total += int(m.group(1)) * _DURATION_MS[m.group(2)]
        pos = m.end()
        parts += 1
    if pos != len(text) or not 1 <= parts <= 4:
        return None
    return total


# --- shared parts ------------------------------------------------------------------------------


def _opt_str(r: Reader, raw: Mapping[str, Any], key: str, path: str) -> str | None:
    return r.as_str(raw.get(key), f"{path}.{key}")


def _generation(r: Reader, raw: Mapping[str, Any]) -> int:
    meta = raw.get("metadata")
    if not isinstance(meta, Mapping):
        return 0
    return r.as_int(meta.get("generation"), "metadata.generation", 0, low=0) or 0


def _hostnames(r: Reader, spec: Mapping[str, Any]) -> tuple[tuple[str, ...], bool]:
    """(valid hostnames, whether some were given but none is valid)."""
    given = r.strs(spec.get("hostnames"), "spec.hostnames")
    out: list[str] = []
    for i, host in enumerate(given):
        if valid_gateway_hostname(host):
            out.append(host)
        else:
            r.fail(
                f"spec.hostnames[{i}]", "not a valid host name (lower-case DNS name, optionally *.)"
            )
    raw_given = spec.get("hostnames")
    none_left = isinstance(raw_given, list) and bool(raw_given) and not out
    if none_left:
        r.fail(
            "spec.hostnames",
            "no valid hostname left: the route is not served (without hostnames it would match any host)",
        )
    return tuple(dict.fromkeys(out)), none_left


def _parent_refs(r: Reader, spec: Mapping[str, Any]) -> tuple[ParentRef, ...]:
    out: list[ParentRef] = []
    for i, item in enumerate(r.as_list(spec.get("parentRefs"), "spec.parentRefs")):
        path = f"spec.parentRefs[{i}]"
        before = len(r.failures)
        ref = r.as_map(item, path)
        name = r.as_str(ref.get("name"), f"{path}.name", "") or ""
        if not name:
            r.fail(f"{path}.name", "name is required")
        group = _opt_str(r, ref, "group", path)
        kind = _opt_str(r, ref, "kind", path)
        namespace = _opt_str(r, ref, "namespace", path)
        section = r.as_str(ref.get("sectionName"), f"{path}.sectionName", "") or ""
        port = r.as_int(ref.get("port"), f"{path}.port", low=1, high=65535)
        if len(r.failures) == before:
            out.append(ParentRef(i, name, group, kind, namespace or None, section, port))
        else:
            r.fail(path, "parentRef left out")
    return tuple(out)


def _status_parents(r: Reader, raw: Mapping[str, Any], namespace: str) -> tuple[StatusParent, ...]:
    status = raw.get("status")
    if not isinstance(status, Mapping):
        return ()
    out: list[StatusParent] = []
    parents = status.get("parents")
    for item in parents if isinstance(parents, list) else ():
        if not isinstance(item, Mapping):
            continue
        controller = item.get("controllerName")
        ref = item.get("parentRef")
        if not isinstance(controller, str) or not isinstance(ref, Mapping):
            continue
        ns = ref.get("namespace")
        name = ref.get("name")
        section = ref.get("sectionName")
        out.append(
            (
                controller,
                ns if isinstance(ns, str) and ns else namespace,
                name if isinstance(name, str) else "",
                section if isinstance(section, str) else "",
            )
        )
    return tuple(out)


def _read_conditions(raw: object) -> tuple[ReadCondition, ...]:
    out: list[ReadCondition] = []
    for c in raw if isinstance(raw, list) else ():
        if not isinstance(c, Mapping):
            continue
        t, s, why, gen = (
            c.get("type"),
            c.get("status"),
            c.get("reason"),
            c.get("observedGeneration"),
        )
        if isinstance(t, str) and isinstance(s, str):
            out.append(
                (
                    t,
                    s,
                    why if isinstance(why, str) else "",
                    gen if isinstance(gen, int) and not isinstance(gen, bool) else 0,
                )
            )
    return tuple(out)


def _backend_refs(r: Reader, rule: Mapping[str, Any], path: str) -> tuple[BackendRef, ...]:
    out: list[BackendRef] = []
    for j, item in enumerate(r.as_list(rule.get("backendRefs"), f"{path}.backendRefs")):
        p = f"{path}.backendRefs[{j}]"
        before = len(r.failures)
        ref = r.as_map(item, p)
        name = r.as_str(ref.get("name"), f"{p}.name", "") or ""
        if not name:
            r.fail(f"{p}.name", "name is required")
        group = _opt_str(r, ref, "group", p)
        kind = _opt_str(r, ref, "kind", p)
        namespace = _opt_str(r, ref, "namespace", p)
        port = r.as_int(ref.get("port"), f"{p}.port", low=1, high=65535)
        weight = r.as_int(ref.get("weight"), f"{p}.weight", low=0, high=1_000_000)
        filters = r.as_list(ref.get("filters"), f"{p}.filters")
        if len(r.failures) == before:
            out.append(
                BackendRef(j, name, group, kind, namespace or None, port, weight, bool(filters))
            )
        else:
            r.fail(p, "backendRef left out")
    return tuple(out)


def _header_matches(
    r: Reader, raw: object, path: str, what: str = "header"
) -> tuple[tuple[HeaderMatch, ...], bool]:
    out: list[HeaderMatch] = []
    ok = True
    for k, item in enumerate(r.as_list(raw, path)):
        p = f"{path}[{k}]"
        m = r.as_map(item, p)
        name = r.as_str(m.get("name"), f"{p}.name", "") or ""
        value = r.as_str(m.get("value"), f"{p}.value", "") or ""
        type_ = r.as_str(m.get("type"), f"{p}.type", "Exact") or "Exact"
        if not header_name_ok(name) if what == "header" else not 0 < len(name) <= 256:
            r.fail(f"{p}.name", f"not a valid {what} name")
            ok = False
        elif not _value_ok(value) or (type_ == "RegularExpression" and len(value) > _MAX_REGEX):
            r.fail(f"{p}.value", f"{what} value is empty, too long or has a line break")
            ok = False
        elif type_ not in _MATCH_TYPES:
            r.fail(f"{p}.type", "must be Exact or RegularExpression")
            ok = False
        else:
            out.append(HeaderMatch(name, value, type_))
    return tuple(out), ok


def _header_modifier(r: Reader, raw: object, path: str) -> HeaderModifier | None:
    m = r.as_map(raw, path)
    if not m:
        r.fail(path, "the filter's configuration is missing")
        return None
    ok = True
    pairs: dict[str, tuple[tuple[str, str], ...]] = {}
    for key in ("set", "add"):
        got: list[tuple[str, str]] = []
        for k, item in enumerate(r.as_list(m.get(key), f"{path}.{key}")):
            p = f"{path}.{key}[{k}]"
            h = r.as_map(item, p)
            name = r.as_str(h.get("name"), f"{p}.name", "") or ""
            value = r.as_str(h.get("value"), f"{p}.value", "") or ""
            if not header_name_ok(name):
                r.fail(f"{p}.name", "not a valid header name")
                ok = False
            elif len(value) > _MAX_VALUE or "\n" in value or "\r" in value:
                r.fail(f"{p}.value", "header value too long or has a line break")
                ok = False
            else:
                got.append((name, value))
        pairs[key] = tuple(got)
    remove = r.strs(m.get("remove"), f"{path}.remove")
    for k, name in enumerate(remove):
        if not header_name_ok(name):
            r.fail(f"{path}.remove[{k}]", "not a valid header name")
            ok = False
    if not ok:
        return None
    return HeaderModifier(pairs["set"], pairs["add"], remove)


def _path_modifier(r: Reader, raw: object, path: str) -> tuple[tuple[str, str] | None, bool]:
    if raw is None:
        return None, True
    m = r.as_map(raw, path)
    type_ = r.as_str(m.get("type"), f"{path}.type", "") or ""
    field = _PATH_MOD_TYPES.get(type_)
    if field is None:
        r.fail(f"{path}.type", "must be ReplaceFullPath or ReplacePrefixMatch")
        return None, False
    value = r.as_str(m.get(field), f"{path}.{field}", "")
    if value is None or (value and (not value.startswith("/") or len(value) > 1024)):
        r.fail(f"{path}.{field}", "must be an absolute path of at most 1024 characters")
        return None, False
    return (type_, value), True


def _filters(r: Reader, raw: object, path: str) -> tuple[tuple[HTTPFilter, ...], bool]:
    out: list[HTTPFilter] = []
    ok = True
    for k, item in enumerate(r.as_list(raw, path)):
        p = f"{path}[{k}]"
        before = len(r.failures)
        f = r.as_map(item, p)
        type_ = r.as_str(f.get("type"), f"{p}.type", "") or ""
        flt: HTTPFilter | None = None
        if not type_:
            r.fail(f"{p}.type", "type is required")
        elif type_ in ("RequestHeaderModifier", "ResponseHeaderModifier"):
            key = type_[0].lower() + type_[1:]
            mod = _header_modifier(r, f.get(key), f"{p}.{key}")
            if mod is not None:
                flt = HTTPFilter(type_, header_modifier=mod)
        elif type_ == "RequestRedirect":
            rr = r.as_map(f.get("requestRedirect"), f"{p}.requestRedirect")
            q = f"{p}.requestRedirect"
            scheme = _opt_str(r, rr, "scheme", q)
            if scheme is not None and scheme not in ("http", "https"):
                r.fail(f"{q}.scheme", "must be http or https")
            hostname = _opt_str(r, rr, "hostname", q)
            if hostname is not None and not valid_gateway_hostname(hostname):
                r.fail(f"{q}.hostname", "not a valid host name")
            port = r.as_int(rr.get("port"), f"{q}.port", low=1, high=65535)
            code = r.as_int(rr.get("statusCode"), f"{q}.statusCode")
            if code is not None and code not in _REDIRECT_CODES:
                r.fail(f"{q}.statusCode", "must be 301, 302, 303, 307 or 308")
            pmod, _ = _path_modifier(r, rr.get("path"), f"{q}.path")
            if len(r.failures) == before:
                flt = HTTPFilter(
                    type_,
                    redirect_scheme=scheme,
                    redirect_hostname=hostname,
                    redirect_port=port,
                    redirect_status_code=code,
                    path_modifier=pmod,
                )
        elif type_ == "URLRewrite":
            q = f"{p}.urlRewrite"
            uw = r.as_map(f.get("urlRewrite"), q)
            hostname = _opt_str(r, uw, "hostname", q)
            if hostname is not None and not valid_gateway_hostname(hostname):
                r.fail(f"{q}.hostname", "not a valid host name")
            pmod, _ = _path_modifier(r, uw.get("path"), f"{q}.path")
            if len(r.failures) == before:
                flt = HTTPFilter(type_, path_modifier=pmod, rewrite_hostname=hostname)
        elif type_ == "ExtensionRef":
            q = f"{p}.extensionRef"
            ext = r.as_map(f.get("extensionRef"), q)
            group = r.as_str(ext.get("group"), f"{q}.group", "") or ""
            kind = r.as_str(ext.get("kind"), f"{q}.kind", "") or ""
            name = r.as_str(ext.get("name"), f"{q}.name", "") or ""
            if not kind or not name:
                r.fail(q, "kind and name are required")
            if len(r.failures) == before:
                flt = HTTPFilter(
                    type_, extension_group=group, extension_kind=kind, extension_name=name
                )
        else:  # RequestMirror, CORS, ...: kept by type, the translator refuses them
            flt = HTTPFilter(type_)
        if flt is None or len(r.failures) > before:
            ok = False
        else:
            out.append(flt)
    return tuple(out), ok


def _rule_name(r: Reader, rule: Mapping[str, Any], path: str) -> str:
    return r.as_str(rule.get("name"), f"{path}.name", "") or ""


# --- route parsers ---------------------------------------------------------------------------


def _http_match(r: Reader, raw: object, path: str, index: int) -> HTTPRouteMatch | None:
    before = len(r.failures)
    m = r.as_map(raw, path)
    p: HTTPPathMatch | None = None
    if m.get("path") is not None:
        pm = r.as_map(m.get("path"), f"{path}.path")
        type_ = r.as_str(pm.get("type"), f"{path}.path.type", "PathPrefix") or "PathPrefix"
        value = r.as_str(pm.get("value"), f"{path}.path.value", "/")
        value = "/" if value is None else value
        if type_ not in _PATH_TYPES:
            r.fail(f"{path}.path.type", "must be Exact, PathPrefix or RegularExpression")
        elif type_ == "RegularExpression":
            if not 0 < len(value) <= _MAX_REGEX or "\n" in value:
                r.fail(f"{path}.path.value", "a regular expression of 1 to 1024 characters")
        elif not path_value_ok(value):
            r.fail(
                f"{path}.path.value",
                "must be an absolute path without //, /./, /../, %2f or # (at most 1024 characters)",
            )
        p = HTTPPathMatch(type_, value)
    headers, _ = _header_matches(r, m.get("headers"), f"{path}.headers")
    query, _ = _header_matches(r, m.get("queryParams"), f"{path}.queryParams", "query parameter")
    method = r.as_str(m.get("method"), f"{path}.method", "") or ""
    if method and method not in _METHODS:
        r.fail(f"{path}.method", "not an HTTP method the API allows")
    if len(r.failures) > before:
        return None
    return HTTPRouteMatch(index, p, headers, query, method)


def _http_rules(r: Reader, spec: Mapping[str, Any]) -> tuple[HTTPRouteRule, ...]:
    out: list[HTTPRouteRule] = []
    for i, item in enumerate(r.as_list(spec.get("rules"), "spec.rules")):
        path = f"spec.rules[{i}]"
        before = len(r.failures)
        rule = r.as_map(item, path)
        matches = tuple(
            m
            for k, raw in enumerate(r.as_list(rule.get("matches"), f"{path}.matches"))
            if (m := _http_match(r, raw, f"{path}.matches[{k}]", k)) is not None
        )
        filters, _ = _filters(r, rule.get("filters"), f"{path}.filters")
        backends = _backend_refs(r, rule, path)
        timeout_ms: int | None = None
        timeouts = r.as_map(rule.get("timeouts"), f"{path}.timeouts")
        br = r.as_str(timeouts.get("backendRequest"), f"{path}.timeouts.backendRequest")
        if br is not None:
            timeout_ms = go_duration_ms(br)
            if timeout_ms is None:
                r.fail(f"{path}.timeouts.backendRequest", "not a duration such as 10s or 1m30s")
        name = _rule_name(r, rule, path)
        # a bad backendRef only loses itself; anything else loses the rule (serving less)
        other = [
            f
            for f in r.failures[before:]
            if not f.field.startswith(f"{path}.backendRefs") and f.field != path
        ]
        if other:
            r.fail(path, "rule left out")
            continue
        out.append(HTTPRouteRule(i, name, matches, filters, backends, timeout_ms))
    return tuple(out)


def _route_common(
    kind: str, raw: Mapping[str, Any]
) -> tuple[Reader, dict[str, Any], Mapping[str, Any]]:
    r, base = _meta(kind, raw)
    spec = r.as_map(raw.get("spec"), "spec")
    base["generation"] = _generation(r, raw)
    base["parent_refs"] = _parent_refs(r, spec)
    base["status_parents"] = _status_parents(r, raw, base["ref"].namespace)
    return r, base, spec


def parse_httproute(raw: Mapping[str, Any]) -> HTTPRoute:
    """An HTTPRoute; never raises (bad parts are dropped toward serving less, with failures)."""
    r, base, spec = _route_common("HTTPRoute", raw)
    hostnames, none_left = _hostnames(r, spec)
    rules = () if none_left else _http_rules(r, spec)
    return HTTPRoute(**base, hostnames=hostnames, rules=rules, failures=tuple(r.failures))


def _grpc_rules(r: Reader, spec: Mapping[str, Any]) -> tuple[GRPCRouteRule, ...]:
    out: list[GRPCRouteRule] = []
    for i, item in enumerate(r.as_list(spec.get("rules"), "spec.rules")):
        path = f"spec.rules[{i}]"
        before = len(r.failures)
        rule = r.as_map(item, path)
        matches: list[GRPCRouteMatch] = []
        for k, raw_m in enumerate(r.as_list(rule.get("matches"), f"{path}.matches")):
            p = f"{path}.matches[{k}]"
            m = r.as_map(raw_m, p)
            method: GRPCMethodMatch | None = None
            if m.get("method") is not None:
                mm = r.as_map(m.get("method"), f"{p}.method")
                type_ = r.as_str(mm.get("type"), f"{p}.method.type", "Exact") or "Exact"
                svc = r.as_str(mm.get("service"), f"{p}.method.service", "") or ""
                meth = r.as_str(mm.get("method"), f"{p}.method.method", "") or ""
                if type_ not in _MATCH_TYPES:
                    r.fail(f"{p}.method.type", "must be Exact or RegularExpression")
                for what, v in (("service", svc), ("method", meth)):
                    if len(v) > _MAX_REGEX or "\n" in v or "/" in v or " " in v:
                        r.fail(f"{p}.method.{what}", f"not a valid gRPC {what} name")
                method = GRPCMethodMatch(type_, svc, meth)
            headers, _ = _header_matches(r, m.get("headers"), f"{p}.headers")
            matches.append(GRPCRouteMatch(k, method, headers))
        filters, _ = _filters(r, rule.get("filters"), f"{path}.filters")
        backends = _backend_refs(r, rule, path)
        name = _rule_name(r, rule, path)
        other = [
            f
            for f in r.failures[before:]
            if not f.field.startswith(f"{path}.backendRefs") and f.field != path
        ]
        if other:
            r.fail(path, "rule left out")
            continue
        out.append(GRPCRouteRule(i, name, tuple(matches), filters, backends))
    return tuple(out)


def parse_grpcroute(raw: Mapping[str, Any]) -> GRPCRoute:
    """A GRPCRoute; never raises."""
    r, base, spec = _route_common("GRPCRoute", raw)
    hostnames, none_left = _hostnames(r, spec)
    rules = () if none_left else _grpc_rules(r, spec)
    return GRPCRoute(**base, hostnames=hostnames, rules=rules, failures=tuple(r.failures))


def _l4_rules(r: Reader, spec: Mapping[str, Any]) -> tuple[L4RouteRule, ...]:
    out: list[L4RouteRule] = []
    for i, item in enumerate(r.as_list(spec.get("rules"), "spec.rules")):
        path = f"spec.rules[{i}]"
        before = len(r.failures)
        rule = r.as_map(item, path)
        backends = _backend_refs(r, rule, path)
        name = _rule_name(r, rule, path)
        other = [
            f
            for f in r.failures[before:]
            if not f.field.startswith(f"{path}.backendRefs") and f.field != path
        ]
        if other:
            r.fail(path, "rule left out")
            continue
        out.append(L4RouteRule(i, name, backends))
    return tuple(out)


def parse_tcproute(raw: Mapping[str, Any]) -> TCPRoute:
    """A TCPRoute (v1alpha2, as upstream); never raises."""
    r, base, spec = _route_common("TCPRoute", raw)
    return TCPRoute(**base, rules=_l4_rules(r, spec), failures=tuple(r.failures))


def parse_udproute(raw: Mapping[str, Any]) -> UDPRoute:
    """A UDPRoute (v1alpha2, as upstream); never raises."""
    r, base, spec = _route_common("UDPRoute", raw)
    return UDPRoute(**base, rules=_l4_rules(r, spec), failures=tuple(r.failures))


def parse_tlsroute(raw: Mapping[str, Any]) -> TLSRoute:
    """A TLSRoute (v1alpha2, as upstream); never raises."""
    r, base, spec = _route_common("TLSRoute", raw)
    hostnames, none_left = _hostnames(r, spec)
    rules = () if none_left else _l4_rules(r, spec)
    return TLSRoute(**base, hostnames=hostnames, rules=rules, failures=tuple(r.failures))


# --- Gateway, GatewayClass -------------------------------------------------------------------


def _secret_object_refs(r: Reader, raw: object, path: str) -> tuple[SecretObjectRef, ...] | None:
    out: list[SecretObjectRef] = []
    for k, item in enumerate(r.as_list(raw, path)):
        p = f"{path}[{k}]"
        before = len(r.failures)
        ref = r.as_map(item, p)
        name = r.as_str(ref.get("name"), f"{p}.name", "") or ""
        if not name:
            r.fail(f"{p}.name", "name is required")
        group = _opt_str(r, ref, "group", p)
        kind = _opt_str(r, ref, "kind", p)
        namespace = _opt_str(r, ref, "namespace", p)
        if len(r.failures) > before:
            return None
        out.append(SecretObjectRef(name, group, kind, namespace or None))
    return tuple(out)


def _route_namespaces(r: Reader, raw: object, path: str) -> RouteNamespaces | None:
    """The policy, or ``None`` after a failure (the caller drops the listener)."""
    m = r.as_map(raw, path)
    from_ = r.as_str(m.get("from"), f"{path}.from", "Same") or "Same"
    if from_ not in ("Same", "All", "Selector"):
        r.fail(f"{path}.from", "must be Same, All or Selector")
        return None
    if from_ != "Selector":
        return RouteNamespaces(from_)
    sel = r.as_map(m.get("selector"), f"{path}.selector")
    before = len(r.failures)
    labels = tuple(
        sorted(r.str_map(sel.get("matchLabels"), f"{path}.selector.matchLabels").items())
    )
    exprs: list[tuple[str, str, tuple[str, ...]]] = []
    for k, item in enumerate(
        r.as_list(sel.get("matchExpressions"), f"{path}.selector.matchExpressions")
    ):
        p = f"{path}.selector.matchExpressions[{k}]"
        e = r.as_map(item, p)
        key = r.as_str(e.get("key"), f"{p}.key", "") or ""
        op = r.as_str(e.get("operator"), f"{p}.operator", "") or ""
        values = r.strs(e.get("values"), f"{p}.values")
        if not key:
            r.fail(f"{p}.key", "key is required")
        if op not in _OPERATORS:
            r.fail(f"{p}.operator", "must be In, NotIn, Exists or DoesNotExist")
        elif op in ("In", "NotIn") and not values:
            r.fail(f"{p}.values", "In and NotIn need values")
        exprs.append((key, op, values))
    if len(r.failures) > before:
        return None
    return RouteNamespaces(from_, labels, tuple(exprs))


def _listeners(r: Reader, spec: Mapping[str, Any]) -> tuple[Listener, ...]:
    out: list[Listener] = []
    seen: set[str] = set()
    for i, item in enumerate(r.as_list(spec.get("listeners"), "spec.listeners")):
        path = f"spec.listeners[{i}]"
        before = len(r.failures)
        lst = r.as_map(item, path)
        name = r.as_str(lst.get("name"), f"{path}.name", "") or ""
        if not name:
            r.fail(f"{path}.name", "name is required")
        elif name in seen:
            r.fail(f"{path}.name", "listener names must be unique")
        port = r.as_int(lst.get("port"), f"{path}.port", low=1, high=65535)
        if port is None and lst.get("port") is None:
            r.fail(f"{path}.port", "port is required")
        protocol = r.as_str(lst.get("protocol"), f"{path}.protocol", "") or ""
        if not protocol:
            r.fail(f"{path}.protocol", "protocol is required")
        hostname = r.as_str(lst.get("hostname"), f"{path}.hostname", "") or ""
        if hostname and not valid_gateway_hostname(hostname):
            r.fail(f"{path}.hostname", "not a valid host name (lower-case DNS name, optionally *.)")
        tls_mode: str | None = None
        refs: tuple[SecretObjectRef, ...] | None = ()
        if lst.get("tls") is not None:
            tls = r.as_map(lst.get("tls"), f"{path}.tls")
            tls_mode = r.as_str(tls.get("mode"), f"{path}.tls.mode", "Terminate") or "Terminate"
            if tls_mode not in ("Terminate", "Passthrough"):
                r.fail(f"{path}.tls.mode", "must be Terminate or Passthrough")
            refs = _secret_object_refs(r, tls.get("certificateRefs"), f"{path}.tls.certificateRefs")
        allowed_ns: RouteNamespaces | None = None
        kinds: list[tuple[str | None, str]] = []
        if lst.get("allowedRoutes") is not None:
            ar = r.as_map(lst.get("allowedRoutes"), f"{path}.allowedRoutes")
            if ar.get("namespaces") is not None:
                allowed_ns = _route_namespaces(
                    r, ar.get("namespaces"), f"{path}.allowedRoutes.namespaces"
                )
            for k, kraw in enumerate(r.as_list(ar.get("kinds"), f"{path}.allowedRoutes.kinds")):
                p = f"{path}.allowedRoutes.kinds[{k}]"
                km = r.as_map(kraw, p)
                kind = r.as_str(km.get("kind"), f"{p}.kind", "") or ""
                if not kind:
                    r.fail(f"{p}.kind", "kind is required")
                kinds.append((_opt_str(r, km, "group", p), kind))
        if len(r.failures) > before or port is None or refs is None:
            r.fail(path, "listener left out")
            continue
        seen.add(name)
        out.append(
            Listener(i, name, port, protocol, hostname, tls_mode, refs, allowed_ns, tuple(kinds))
        )
    return tuple(out)


def _status_listeners(raw: Mapping[str, Any]) -> tuple[ListenerStatusRead, ...]:
    status = raw.get("status")
    if not isinstance(status, Mapping):
        return ()
    items = status.get("listeners")
    out: list[ListenerStatusRead] = []
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            continue
        kinds: list[tuple[str | None, str]] = []
        sk = item.get("supportedKinds")
        for k in sk if isinstance(sk, list) else ():
            if isinstance(k, Mapping) and isinstance(k.get("kind"), str):
                g = k.get("group")
                kinds.append((g if isinstance(g, str) else None, k["kind"]))
        ar = item.get("attachedRoutes")
        out.append(
            ListenerStatusRead(
                item["name"],
                _read_conditions(item.get("conditions")),
                tuple(kinds),
                ar if isinstance(ar, int) and not isinstance(ar, bool) else 0,
            )
        )
    return tuple(out)


def _addresses(raw: object) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for a in raw if isinstance(raw, list) else ():
        if isinstance(a, Mapping) and isinstance(a.get("value"), str):
            t = a.get("type")
            out.append((t if isinstance(t, str) else "IPAddress", a["value"]))
    return tuple(out)


def parse_gateway(raw: Mapping[str, Any]) -> Gateway:
    """A Gateway; never raises (a bad listener is dropped with failures)."""
    r, base = _meta("Gateway", raw)
    spec = r.as_map(raw.get("spec"), "spec")
    class_name = r.as_str(spec.get("gatewayClassName"), "spec.gatewayClassName", "") or ""
    if not class_name:
        r.fail("spec.gatewayClassName", "gatewayClassName is required")
    status = raw.get("status") if isinstance(raw.get("status"), Mapping) else {}
    assert isinstance(status, Mapping)
    listeners_read = _status_listeners(raw)
    infra = spec.get("infrastructure")
    params = infra.get("parametersRef") if isinstance(infra, Mapping) else None
    parameters_ref: tuple[str, str, str] | None = None
    if isinstance(params, Mapping):
        group, kind, name = (str(params.get(k) or "") for k in ("group", "kind", "name"))
        parameters_ref = (group, kind, name)
    return Gateway(
        **base,
        generation=_generation(r, raw),
        class_name=class_name,
        listeners=_listeners(r, spec),
        addresses=_addresses(r.as_list(spec.get("addresses"), "spec.addresses")),
        parameters_ref=parameters_ref,
        status_conditions=_read_conditions(status.get("conditions")),
        status_listener_names=tuple(s.name for s in listeners_read),
        status_listeners=listeners_read,
        status_addresses=_addresses(status.get("addresses")),
        failures=tuple(r.failures),
    )


def parse_gatewayclass(raw: Mapping[str, Any]) -> GatewayClass:
    """A GatewayClass; never raises."""
    r, base = _meta("GatewayClass", raw)
    spec = r.as_map(raw.get("spec"), "spec")
    controller = r.as_str(spec.get("controllerName"), "spec.controllerName", "") or ""
    status = raw.get("status") if isinstance(raw.get("status"), Mapping) else {}
    assert isinstance(status, Mapping)
    return GatewayClass(
        **base,
        generation=_generation(r, raw),
        controller_name=controller,
        status_conditions=_read_conditions(status.get("conditions")),
        failures=tuple(r.failures),
    )


def parse_namespace(raw: Mapping[str, Any]) -> Namespace:
    """A Namespace (its labels: what listener route selectors match); never raises."""
    r, base = _meta("Namespace", raw)
    return Namespace(**base, failures=tuple(r.failures))


def gateway_secret_refs(obj: object) -> list[tuple[str, str]]:
    """Secrets the listeners' certificateRefs name (group unset/"" and kind unset/Secret)."""
    if not isinstance(obj, Gateway):
        return []
    out: list[tuple[str, str]] = []
    for lst in obj.listeners:
        for ref in lst.certificate_refs:
            if ref.group in (None, "", "core") and ref.kind in (None, "Secret"):
                out.append((ref.namespace or obj.ref.namespace, ref.name))
    return out


# --- ReferenceGrant, BackendTLSPolicy -----------------------------------------------------------


def parse_reference_grant(raw: Mapping[str, Any]) -> ReferenceGrant:
    """A ReferenceGrant (v1beta1 as upstream); never raises (bad entries are dropped)."""
    r, base = _meta("ReferenceGrant", raw)
    spec = r.as_map(raw.get("spec"), "spec")
    froms: list[GrantFrom] = []
    for i, item in enumerate(r.as_list(spec.get("from"), "spec.from")):
        p = f"spec.from[{i}]"
        m = r.as_map(item, p)
        group = r.as_str(m.get("group"), f"{p}.group")
        kind = r.as_str(m.get("kind"), f"{p}.kind", "") or ""
        ns = r.as_str(m.get("namespace"), f"{p}.namespace", "") or ""
        if group is None or not kind or not ns:
            r.fail(p, "group, kind and namespace are required (entry left out)")
            continue
        froms.append(GrantFrom(group, kind, ns))
    tos: list[GrantTo] = []
    for i, item in enumerate(r.as_list(spec.get("to"), "spec.to")):
        p = f"spec.to[{i}]"
        m = r.as_map(item, p)
        group = r.as_str(m.get("group"), f"{p}.group")
        kind = r.as_str(m.get("kind"), f"{p}.kind", "") or ""
        name = r.as_str(m.get("name"), f"{p}.name")
        if group is None or not kind:
            r.fail(p, "group and kind are required (entry left out)")
            continue
        tos.append(GrantTo(group, kind, name or None))
    return ReferenceGrant(**base, from_=tuple(froms), to=tuple(tos), failures=tuple(r.failures))


def parse_backend_tls_policy(raw: Mapping[str, Any]) -> BackendTLSPolicy:
    """A BackendTLSPolicy (v1; v1alpha3's fields read the same); never raises."""
    r, base = _meta("BackendTLSPolicy", raw)
    spec = r.as_map(raw.get("spec"), "spec")
    targets: list[PolicyTargetRef] = []
    for i, item in enumerate(r.as_list(spec.get("targetRefs"), "spec.targetRefs")):
        p = f"spec.targetRefs[{i}]"
        m = r.as_map(item, p)
        group = r.as_str(m.get("group"), f"{p}.group", "") or ""
        kind = r.as_str(m.get("kind"), f"{p}.kind", "") or ""
        name = r.as_str(m.get("name"), f"{p}.name", "") or ""
        section = r.as_str(m.get("sectionName"), f"{p}.sectionName", "") or ""
        if not kind or not name:
            r.fail(p, "kind and name are required (target left out)")
            continue
        targets.append(PolicyTargetRef(group, kind, name, section))
    v = r.as_map(spec.get("validation"), "spec.validation")
    hostname = r.as_str(v.get("hostname"), "spec.validation.hostname", "") or ""
    if hostname and not valid_gateway_hostname(hostname):
        r.fail("spec.validation.hostname", "not a valid host name")
    cas = _secret_object_refs(r, v.get("caCertificateRefs"), "spec.validation.caCertificateRefs")
    wk = r.as_str(v.get("wellKnownCACertificates"), "spec.validation.wellKnownCACertificates", "")
    sans = r.as_list(v.get("subjectAltNames"), "spec.validation.subjectAltNames")
    options = tuple(sorted(r.str_map(spec.get("options"), "spec.options").items()))
    return BackendTLSPolicy(
        **base,
        generation=_generation(r, raw),
        target_refs=tuple(targets),
        hostname=hostname,
        ca_certificate_refs=cas or (),
        well_known_ca_certificates=wk or "",
        subject_alt_names=len(sans),
        options=options,
        failures=tuple(r.failures),
    )


def backend_tls_secret_refs(obj: object) -> list[tuple[str, str]]:
    """CA Secrets a BackendTLSPolicy names (kind Secret, its own namespace)."""
    if not isinstance(obj, BackendTLSPolicy):
        return []
    return [
        (obj.ref.namespace, ref.name) for ref in obj.ca_certificate_refs if ref.kind == "Secret"
    ]


def route_parent_gateways(route: GatewayRoute) -> Iterable[tuple[str, str]]:
    """``(namespace, name)`` of the Gateways a route's parentRefs name (group/kind defaulted)."""
    for p in route.parent_refs:
        if p.is_gateway:
            yield (p.namespace or route.ref.namespace, p.name)
