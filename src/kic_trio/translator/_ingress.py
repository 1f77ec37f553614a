"""One Ingress -> its Kong routes (grouped by Kong service), TLS claims and default backend.

Everything here depends on the Ingress alone (plus the class-wide regex settings), which is
what lets the translator cache the result per Ingress object and reuse it until that object
changes. Rules: kic-behaviour.md §3.3-3.6 and §3.11 (upstream ``subtranslator/ingress.go``,
``kongstate/route.go``).
"""

from __future__ import annotations

import re
from typing import Any

import attrs

from ..models import Failure, Ingress, IngressBackend, IngressPath, ObjectRef, split_list
from ._expressions import route_field_annotations, to_default_backend_route, to_expression_route
from ._model import Backend as Backend
from ._model import GwService
from ._model import PortDef as PortDef
from ._util import (
    entity_id,
    go_bool,
    go_int,
    has_control_char,
    plugin_names,
    shown,
    tags_for,
    valid_header_name,
    valid_host,
    valid_ingress_host,
    valid_sni,
)

VALID_PROTOCOLS = frozenset(
    {"http", "https", "grpc", "grpcs", "ws", "wss", "tls", "tcp", "tls_passthrough"}
)
#: Kong's ``path_handling`` is ``one_of v0, v1`` (upstream's ``v\d`` search let ``zzv1zz`` through).
_PATH_HANDLING = frozenset({"v0", "v1"})
_TLS_PROTOCOLS = frozenset({"grpcs", "https", "tls", "tls_passthrough"})
_LEGACY_PLAIN_PATH = re.compile(r"[a-zA-Z0-9.\-_~/%]*")
_SLASHES = re.compile(r"//+")
_REDIRECT_CODES = frozenset({426, 301, 302, 307, 308})
KONG_REGEX_PREFIX = "~"
#: KongServiceFacade backends (behind upstream's ``KongServiceFacade`` feature gate).
FACADE_GROUP = "incubator.ingress-controller.konghq.com"
#: The :data:`PortDef` of a facade backend: ``Backend(ns, <facade name>, FACADE_PORT)``; the
#: service stage resolves the facade to its Service and port (the Ingress never reads it).
FACADE_PORT: PortDef = ("facade", "")


def facade_service_name(namespace: str, facade: str) -> str:
    """Upstream's Kong service (and upstream, and host) name of a facade."""
    return f"{namespace}.{facade}.svc.facade"


def _facade_of(resource: tuple[str, str, str] | None, facades: bool) -> str | None:
    """The facade a backend ``resource`` names when facades are on (else ``None``)."""
    if facades and resource is not None:
        group, kind, name = resource
        if kind == "KongServiceFacade" and group == FACADE_GROUP and name:
            return name
    return None


def port_token(port: PortDef) -> str:
    """Upstream's ``PortDef.CanonicalString``: the port part of service and route names."""
    if port[0] == "number":
        return str(port[1])
    if port[0] == "name":
        return str(port[1])
    return "implicitPort"


def port_def(backend: IngressBackend) -> PortDef:
    if backend.port_name:
        return ("name", backend.port_name)
    if backend.port_number:
        return ("number", backend.port_number)
    return ("implicit", "")


@attrs.frozen(slots=True, eq=False)
class RouteOut:
    """One Kong route and the Kong service it belongs to."""

    name: str
    #: Kong service name ``<ns>.<svc>.<port>``.
    service: str
    #: The Kubernetes Service port behind the route's Kong service (see :mod:`._model`).
    backend: Backend
    route: dict[str, Any]
    #: The object that made the route (an Ingress today; any route kind): failures and
    #: plugin references go to it. :attr:`owner` is the kind-neutral name for it.
    ingress: ObjectRef
    #: ``konghq.com/plugins`` of the Ingress: ``(namespace, name)``.
    plugins: tuple[tuple[str, str], ...] = ()
    #: Set when ``konghq.com/rewrite`` cannot be honoured: upstream then drops the whole service.
    rewrite_error: str = ""
    #: True for the default-backend route (its service carries no ``path``).
    default_backend: bool = False
    #: Further weighted backends of the route's Kong service (HTTPRoute ``backendRefs``);
    #: ``()`` for Ingress, whose Kong service has exactly one backend.
    more_backends: tuple[Backend, ...] = ()
    #: ``"tcp"``/``"udp"`` for a stream route (TCPIngress, UDPIngress): its Kong service
    #: gets that protocol; ``""`` for HTTP routes.
    stream: str = ""
    #: Gateway API routes: how their Kong service is built (``None``: Ingress-style service).
    gw: GwService | None = None

    @property
    def backends(self) -> tuple[Backend, ...]:
        """Every backend of the route's Kong service, the first one naming the service."""
        return (self.backend, *self.more_backends) if self.more_backends else (self.backend,)

    @property
    def owner(self) -> ObjectRef:
        """The object this route was made from (Ingress, later HTTPRoute, TCPIngress...)."""
        return self.ingress


@attrs.frozen(slots=True, eq=False)
class IngressOut:
    ref: ObjectRef
    created: str
    routes: tuple[RouteOut, ...] = ()
    #: ``(secret namespace/name, hosts)`` per ``spec.tls`` entry.
    tls: tuple[tuple[tuple[str, str], tuple[str, ...]], ...] = ()
    default: RouteOut | None = None
    failures: tuple[Failure, ...] = ()


# --- paths -------------------------------------------------------------------------------


def _paths_for(p: IngressPath, path: str) -> list[str]:
    kind = p.path_type or "ImplementationSpecific"
    if kind == "Prefix":
        base = path.strip("/")
        if not base:
            return ["/"]
        return [f"/{base}/", f"{KONG_REGEX_PREFIX}/{base}$"]
    if kind == "Exact":
        return [f"{KONG_REGEX_PREFIX}/{path.lstrip('/')}$"]
    if kind == "ImplementationSpecific":
        return [path or "/"]
    return []


def _regex_prefixed(path: str, prefix: str, legacy: bool) -> str:
    if path.startswith(prefix):
        return path.replace(prefix, KONG_REGEX_PREFIX, 1)
    if legacy and not _LEGACY_PLAIN_PATH.fullmatch(path) and not path.startswith(KONG_REGEX_PREFIX):
        return KONG_REGEX_PREFIX + path
    return path


# --- route overrides (annotations) -------------------------------------------------------


def _fail(failures: list[Failure], ref: ObjectRef, key: str, reason: str) -> None:
    failures.append(Failure(ref, f"metadata.annotations.{key}", reason))


def _use_ssl_protocols(protocols: list[str] | None) -> list[str]:
    grpc = any("grpc" in p for p in protocols or ())
    http = any("http" in p for p in protocols or ())
    out = []
    if grpc:
        out.append("grpcs")
    if http or not grpc:
        out.append("https")
    return out


_HEADERS_PREFIX = "konghq.com/headers."


def _service_name_ok(name: str) -> bool:
    """A Kubernetes Service name (DNS-1035 label: ``[a-z]([-a-z0-9]*[a-z0-9])?``, <= 63)."""
    return (
        0 < len(name) <= 63
        and name.isascii()
        and name == name.lower()
        and name[0].isalpha()
        and name[-1] != "-"
        and name.replace("-", "").isalnum()
    )


def _valid_method(method: str) -> bool:
    """Kong's ``^%u+$`` (upper-case ASCII letters), without a regex."""
    return method.isascii() and method.isalpha() and method.isupper()


def header_problems(ann: Any) -> list[tuple[str, str]]:
    """``(annotation, reason)`` for every ``konghq.com/headers.*`` value Kong would refuse.

    Upstream passes these through and Kong then refuses the whole configuration. Header
    matches narrow a route, so an Ingress with a bad one is not served at all (serving it
    without the match would widen it): the caller drops its routes. Reasons never echo values.
    """
    if not ann or not any(k.startswith(_HEADERS_PREFIX) for k in ann):
        return []
    out: list[tuple[str, str]] = []
    if ann.get("konghq.com/headers-separator", ",") == "":
        out.append(("konghq.com/headers-separator", "must not be empty"))
    for key, value in ann.items():
        if not key.startswith(_HEADERS_PREFIX) or len(key) <= len(_HEADERS_PREFIX) or not value:
            continue
        name = key[len(_HEADERS_PREFIX) :]
        if name.lower() == "host":
            out.append(
                (
                    key,
                    "Kong refuses a 'host' header match: use the rule's host or "
                    "konghq.com/host-aliases",
                )
            )
        elif not valid_header_name(name):
            out.append((key, "header name may only hold A-Z, a-z, 0-9, '_' and '-'"))
        elif has_control_char(value):
            out.append((key, "header value contains a control character (CR, LF, NUL, ...)"))
    return out


def _headers(ann: dict[str, str] | Any) -> dict[str, list[str]]:
    sep = ann.get("konghq.com/headers-separator", ",") or ","
    out: dict[str, list[str]] = {}
    for key, value in ann.items():
        if key.startswith("konghq.com/headers.") and len(key) > 19 and value:
            out[key[19:]] = [v.strip() for v in value.split(sep)]
    return out


#: Annotations that change routes (plus the ``konghq.com/headers.*`` family).
ROUTE_ANNOTATIONS = frozenset(
    {
        "konghq.com/strip-path",
        "ingress.kubernetes.io/force-ssl-redirect",
        "konghq.com/https-redirect-status-code",
        "konghq.com/preserve-host",
        "konghq.com/request-buffering",
        "konghq.com/response-buffering",
        "konghq.com/protocols",
        "konghq.com/regex-priority",
        "konghq.com/methods",
        "konghq.com/snis",
        "konghq.com/host-aliases",
        "konghq.com/path-handling",
    }
)


def has_route_annotations(ann: Any) -> bool:
    """Cheap pre-check: most Ingresses carry none of the route annotations."""
    if not ann:
        return False
    if not ROUTE_ANNOTATIONS.isdisjoint(ann):
        return True
    return any(k.startswith("konghq.com/headers.") for k in ann)


def _apply_route_annotations(
    route: dict[str, Any], ann: Any, ref: ObjectRef, failures: list[Failure], expressions: bool
) -> None:
    """Upstream's ``Route.Override``: same order, same validation (bad values are ignored).

    ``expressions``: upstream's ``normalizeProtocols`` is skipped (grpc stays beside http,
    ``strip_path`` stays) and the caller passes only the field annotations.
    """
    if not has_route_annotations(ann):
        return
    if (v := ann.get("konghq.com/strip-path")) is not None and v.lower() in ("true", "false"):
        route["strip_path"] = v.lower() == "true"
    elif v:
        _fail(failures, ref, "konghq.com/strip-path", f"{shown(v)} is not true or false; ignored")
    if ann.get("ingress.kubernetes.io/force-ssl-redirect") == "true":
        route["https_redirect_status_code"] = 302
        route["protocols"] = _use_ssl_protocols(route.get("protocols"))
    if code := ann.get("konghq.com/https-redirect-status-code"):
        n = go_int(code)
        if n in _REDIRECT_CODES:
            route["https_redirect_status_code"] = n
        else:
            _fail(
                failures,
                ref,
                "konghq.com/https-redirect-status-code",
                "must be one of 301, 302, 307, 308, 426; ignored",
            )
    if (v := ann.get("konghq.com/preserve-host")) is not None and v.lower() in ("true", "false"):
        route["preserve_host"] = v.lower() == "true"
    elif v:
        _fail(
            failures, ref, "konghq.com/preserve-host", f"{shown(v)} is not true or false; ignored"
        )
    for key, field in (
        ("konghq.com/request-buffering", "request_buffering"),
        ("konghq.com/response-buffering", "response_buffering"),
    ):
        if (v := ann.get(key)) is not None:
            b = go_bool(v.lower())
            if b is None:
                _fail(failures, ref, key, f"{shown(v)} is not a boolean; ignored")
            else:
                route[field] = b
    protocols = split_list(ann.get("konghq.com/protocols"))
    if protocols:
        if all(p in VALID_PROTOCOLS for p in protocols):
            route["protocols"] = protocols
        else:
            _fail(failures, ref, "konghq.com/protocols", "contains an unknown protocol; ignored")
            if ann.get("ingress.kubernetes.io/force-ssl-redirect") != "true":
                route.pop("protocols", None)
    if (v := ann.get("konghq.com/regex-priority")) is not None and v:
        n = go_int(v)
        if n is None:
            _fail(
                failures, ref, "konghq.com/regex-priority", f"{shown(v)} is not an integer; ignored"
            )
        else:
            route["regex_priority"] = n
    methods = [m.upper() for m in split_list(ann.get("konghq.com/methods"))]
    if methods:
        if all(_valid_method(m) for m in methods):
            route["methods"] = methods
        else:
            _fail(failures, ref, "konghq.com/methods", "contains an invalid method; ignored")
    if "konghq.com/snis" in ann:
        snis = split_list(ann["konghq.com/snis"])
        if all(valid_sni(s) for s in snis):
            if snis:
                route["snis"] = snis
        else:
            _fail(failures, ref, "konghq.com/snis", "contains an invalid SNI; ignored")
    aliases = split_list(ann.get("konghq.com/host-aliases"))
    if aliases:
        if all(valid_host(h) for h in aliases):
            hosts = list(route.get("hosts", ()))
            for h in aliases:
                if h not in hosts:
                    hosts.append(h)
            route["hosts"] = hosts
        else:
            _fail(failures, ref, "konghq.com/host-aliases", "contains an invalid host; ignored")
    headers = _headers(ann)
    if headers:
        route["headers"] = headers
    if (v := ann.get("konghq.com/path-handling")) is not None:
        if v in _PATH_HANDLING:
            route["path_handling"] = v
        else:
            _fail(failures, ref, "konghq.com/path-handling", f"{shown(v)} is not v0 or v1; ignored")
    # normalizeProtocols: grpc mixed with http -> http,https; any grpc -> no strip_path
    protocols_now = route.get("protocols")
    if protocols_now and not expressions:
        grpc = any("grpc" in p for p in protocols_now)
        http = any("http" in p or p not in VALID_PROTOCOLS for p in protocols_now)
        if grpc and http:
            route["protocols"] = ["http", "https"]
        if grpc:
            route.pop("strip_path", None)
    final = route.get("protocols")
    if route.get("snis") and final and _TLS_PROTOCOLS.isdisjoint(final):
        # Kong: "'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or
        # 'tls_passthrough'" (the whole configuration refused). Without TLS there is no SNI
        # to match, so leaving them out does not widen the route.
        del route["snis"]
        _fail(
            failures,
            ref,
            "konghq.com/snis",
            "SNIs need a TLS protocol (https, grpcs, tls, tls_passthrough); ignored",
        )


def rewrite_uri_config(uri: str) -> str:
    """``konghq.com/rewrite`` -> request-transformer's ``replace.uri`` (``$1`` -> capture 1)."""
    out: list[str] = []
    state = "plain"
    for i, ch in enumerate(uri):
        if state == "escape":
            if ch != "$":
                raise ValueError(f"unexpected {ch} at pos {i}")
            out.append(ch)
            state = "plain"
        elif state == "mark":
            if not ch.isdigit():
                raise ValueError(f"unexpected {ch} at pos {i}")
            out.append("$(uri_captures[" + ch)
            state = "digit"
        elif state == "digit":
            if ch.isdigit():
                out.append(ch)
            else:
                out.append("])")
                if ch == "$":
                    state = "mark"
                elif ch == "\\":
                    state = "escape"
                else:
                    out.append(ch)
                    state = "plain"
        elif ch == "$":
            state = "mark"
        elif ch == "\\":
            state = "escape"
        else:
            out.append(ch)
    if state == "digit":
        out.append("])")
        state = "plain"
    if state != "plain":
        raise ValueError("unexpected end of string")
    return "".join(out)


def _finish_route(
    route: dict[str, Any], ing: Ingress, opts_fill_ids: bool, rewrite_uris: bool
) -> str:
    """deckgen defaults, ID, rewrite plugin. Returns a rewrite error ("" when fine)."""
    route.setdefault("https_redirect_status_code", 426)
    route.setdefault("path_handling", "v0")
    if opts_fill_ids:
        route["id"] = entity_id("routes", route["name"])
    rewrite = ing.annotations.get("konghq.com/rewrite")
    if rewrite is None:
        return ""
    if not rewrite_uris:
        return "konghq.com/rewrite annotation not supported when rewrite uris disabled"
    try:
        uri = rewrite_uri_config(rewrite or "/")
    except ValueError as exc:
        return str(exc)
    route["plugins"] = [{"name": "request-transformer", "config": {"replace": {"uri": uri}}}]
    return ""


def translate_ingress(
    ing: Ingress,
    *,
    legacy_regex: bool,
    regex_prefix: str,
    fill_ids: bool,
    rewrite_uris: bool,
    expressions: bool = False,
    facades: bool = False,
) -> IngressOut:
    """All Kong routes of one (accepted) Ingress (``expressions``: Kong's expressions router;
    ``facades``: KongServiceFacade backends are allowed, upstream's feature gate)."""
    ref = ing.ref
    ns = ref.namespace
    failures: list[Failure] = []
    prefix = ing.annotations.get("konghq.com/regex-prefix", regex_prefix)
    tags = tags_for(ing)
    plugins = tuple(plugin_names(ing))
    ann = ing.annotations
    proto_ann = sorted(split_list(ann.get("konghq.com/protocols")))
    # route key -> (Service or facade name, host, port, [paths], is a facade)
    groups: dict[str, tuple[str, str, PortDef, list[str], bool]] = {}
    raw_paths: dict[str, list[tuple[str, str]]] = {}  # (pathType, path): expression routes
    for ri, rule in enumerate(ing.rules):
        if not rule.has_http or not rule.paths:
            continue
        if rule.host and not valid_ingress_host(rule.host):
            # the API server refuses it; offline, Kong would refuse the whole configuration
            failures.append(
                Failure(ref, f"spec.rules[{ri}].host", "not a valid host name; rule left out")
            )
            continue
        for pi, p in enumerate(rule.paths):
            if has_control_char(p.path):
                # Kong refuses the whole configuration over one such path; leaving the path
                # out only narrows what the Ingress serves
                failures.append(
                    Failure(
                        ref,
                        f"spec.rules[{ri}].http.paths[{pi}].path",
                        "path contains a control character (NUL, CR, LF, ...); path left out",
                    )
                )
                continue
            path = _SLASHES.sub("/", p.path) or "/"
            b = p.backend
            field = f"spec.rules[{ri}].http.paths[{pi}].backend"
            facade = _facade_of(b.resource, facades) if b.service_name is None else None
            if facade is not None:
                key = f"{ns}.{ing.ref.name}.{rule.host}.{facade}.svc.facade"
                entry = groups.get(key)
                if entry is None:
                    entry = groups[key] = (facade, rule.host, FACADE_PORT, [], True)
                raw_paths.setdefault(key, []).append(
                    (p.path_type or "ImplementationSpecific", path)
                )
                for kong_path in _paths_for(p, path):
                    entry[3].append(_regex_prefixed(kong_path, prefix, legacy_regex))
                continue
            if b.service_name is None:
                if b.resource is not None:
                    group, kind, _ = b.resource
                    if kind == "KongServiceFacade" and group == FACADE_GROUP:
                        reason = (
                            'KongServiceFacade is not enabled, please set the "KongServiceFacade"'
                            " feature gate to 'true' to enable it"
                        )
                    else:
                        reason = f"unknown resource type {group + '/' if group else ''}{kind}"
                else:
                    reason = "no Service or Resource specified for Ingress path"
                failures.append(
                    Failure(
                        ref, field, f"failed to get backend for ingress path {path!r}: {reason}"
                    )
                )
                continue
            if not b.service_name:
                failures.append(
                    Failure(ref, f"{field}.service.name", "the backend names no Service")
                )
                continue
            if not _service_name_ok(b.service_name) or "." in (b.port_name or ""):
                # the API server refuses these; offline they would make Kong service names
                # (``ns.svc.port``) that collide across backends
                failures.append(
                    Failure(
                        ref,
                        f"{field}.service",
                        "not a valid Service name or port name (DNS-1035 label)",
                    )
                )
                continue
            pd = port_def(b)
            key = f"{ns}.{ing.ref.name}.{b.service_name}.{rule.host}.{port_token(pd)}"
            entry = groups.get(key)
            if entry is None:
                entry = groups[key] = (b.service_name, rule.host, pd, [], False)
            raw_paths.setdefault(key, []).append((p.path_type or "ImplementationSpecific", path))
            for kong_path in _paths_for(p, path):
                entry[3].append(_regex_prefixed(kong_path, prefix, legacy_regex))
    routes = []
    field_ann = route_field_annotations(ann) if expressions else ann
    for key, (svc_name, host, pd, paths, is_facade) in groups.items():
        token = port_token(pd)
        if is_facade:
            name = f"{ns}.{ref.name}.{host.replace('*', '_')}.{svc_name}.svc.facade"
            kong_service = facade_service_name(ns, svc_name)
        else:
            name = f"{ns}.{ref.name}.{svc_name}.{host.replace('*', '_')}.{token}"
            kong_service = f"{ns}.{svc_name}.{token}"
        route: dict[str, Any] = {
            "name": name,
            "strip_path": False,
            "preserve_host": True,
            "regex_priority": 0,
            "request_buffering": True,
            "response_buffering": True,
            "tags": tags,
            "paths": paths,
        }
        if proto_ann:
            route["protocols"] = list(proto_ann)
        if host:
            route["hosts"] = [host]
        _apply_route_annotations(route, field_ann, ref, failures, expressions)
        err = _finish_route(route, ing, fill_ids, rewrite_uris)
        if expressions:
            to_expression_route(
                route, raw_paths[key], prefix or regex_prefix, host, ann, ref, failures
            )
        routes.append(
            RouteOut(
                name=name,
                service=kong_service,
                backend=Backend(ns, svc_name, pd),
                route=route,
                ingress=ref,
                plugins=plugins,
                rewrite_error=err,
            )
        )
    bad_headers = [  # expression routes skip a Host header match (the host is matched instead)
        (k, r) for k, r in header_problems(ann) if not (expressions and k.lower().endswith(".host"))
    ]
    for key, reason in bad_headers:
        _fail(failures, ref, key, f"{reason}; the Ingress is not served")
    if bad_headers:
        routes = []
    if failures:
        # annotation problems are reported once per Ingress, not once per route
        failures = list(dict.fromkeys(failures))
    tls = tuple(((ns, t.secret_name), t.hosts) for t in ing.tls if t.hosts and t.secret_name)
    default = None
    db = ing.default_backend
    if db is not None and not bad_headers:
        db_facade = _facade_of(db.resource, facades) if not db.service_name else None
        if db.service_name or db_facade:
            if db_facade:
                pd, db_name = FACADE_PORT, db_facade
                db_service = facade_service_name(ns, db_facade)
            else:
                pd, db_name = port_def(db), db.service_name or ""
                db_service = f"{ns}.{db_name}.{port_token(pd)}"
            route = {
                "name": f"{ns}.{ref.name}",
                "strip_path": False,
                "preserve_host": True,
                "request_buffering": True,
                "response_buffering": True,
                "tags": tags,
                "paths": ["/"],
                "regex_priority": 0,
            }
            if proto_ann:
                route["protocols"] = list(proto_ann)
            _apply_route_annotations(route, field_ann, ref, [], expressions)
            route.setdefault("https_redirect_status_code", 426)
            route.setdefault("path_handling", "v0")
            if expressions:
                to_default_backend_route(route)
            if fill_ids:
                route["id"] = entity_id("routes", route["name"])
            default = RouteOut(
                name=route["name"],
                service=db_service,
                backend=Backend(ns, db_name, pd),
                route=route,
                ingress=ref,
                plugins=plugins,
                default_backend=True,
            )
        elif db.resource is not None:
            group, kind, _ = db.resource
            failures.append(
                Failure(
                    ref,
                    "spec.defaultBackend.resource",
                    f"default backend: unsupported resource type {group + '/' if group else ''}{kind}",
                )
            )
    return IngressOut(
        ref=ref,
        created=ing.created,
        routes=tuple(sorted(routes, key=lambda r: r.name)),
        tls=tls,
        default=default,
        failures=tuple(failures),
    )
