"""One Kong service (+ its upstream and targets) from its routes and backing Kubernetes Service.

Reads: the Service, its EndpointSlices, a KongUpstreamPolicy, client/CA certificate Secrets.
Every read is recorded in ``deps`` so the translator knows which changes touch this service.
Rules: kic-behaviour.md §3.4, §3.7, §3.12 (upstream ``translate_upstreams.go``,
``kongstate/service.go``, ``kongstate/upstream.go``, ``ingressrules.go``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ..models import (
    Failure,
    KongIngress,
    KongServiceFacade,
    ObjectRef,
    Service,
    ServicePort,
    split_list,
)
from ..store import Snapshot
from ._backendtls import service_with_backend_tls
from ._ingress import FACADE_PORT, VALID_PROTOCOLS, RouteOut, port_token
from ._model import Backend, GwService, PortDef
from ._util import (
    entity_id,
    go_bool,
    go_int,
    has_control_char,
    plugin_names,
    shown,
    tags_for,
    valid_host_header,
)

_NON_TLS = frozenset({"http", "grpc", "ws", "tcp", "udp"})
_UNKNOWN_TAGS = [
    "k8s-name:UNKNOWN",
    "k8s-namespace:UNKNOWN",
    "k8s-kind:Service",
    "k8s-uid:00000000-0000-0000-0000-000000000000",
    "k8s-group:core",
    "k8s-version:v1",
]

Dep = tuple[str, str, str]

#: Kong's ranges for the integer service annotations (``services.lua``): a value outside
#: them makes Kong refuse the whole configuration, so it is refused here, on its Service.
_INT_FIELDS = (
    ("konghq.com/connect-timeout", "connect_timeout", 1, 2_147_483_646),
    ("konghq.com/write-timeout", "write_timeout", 1, 2_147_483_646),
    ("konghq.com/read-timeout", "read_timeout", 1, 2_147_483_646),
    ("konghq.com/retries", "retries", 0, 32_767),
    ("konghq.com/tls-verify-depth", "tls_verify_depth", 0, 64),
)


@attrs.frozen(slots=True, eq=False)
class ServiceOut:
    name: str
    #: The Kong service (with nested routes), ``None`` when it is dropped.
    service: dict[str, Any] | None
    upstream: dict[str, Any]
    failures: tuple[Failure, ...]
    #: ``konghq.com/plugins`` of the Kubernetes Service: ``(namespace, name)``.
    plugins: tuple[tuple[str, str], ...]
    #: Secret ``(ns, name)`` used as client certificate (emitted as a certificate too).
    client_cert: tuple[str, str] | None
    client_cert_parent: ObjectRef | None
    configured: tuple[ObjectRef, ...]
    deps: frozenset[Dep]


def _find_port(svc: Service, want: PortDef) -> tuple[ServicePort | None, str]:
    kind, value = want
    if kind == "number":
        if svc.type == "ExternalName":
            return ServicePort(name="", port=value, target_port=value), ""
        for p in svc.ports:
            if p.port == value:
                return p, ""
    elif kind == "name":
        if svc.type == "ExternalName":
            return None, "rules with an ExternalName service must specify numeric ports"
        for p in svc.ports:
            if p.name == value or (isinstance(p.target_port, str) and p.target_port == value):
                return p, ""
    else:
        if svc.type == "ExternalName":
            return None, "rules with an ExternalName service must specify numeric ports"
        if len(svc.ports) != 1:
            return None, f"in implicit mode, service must have exactly 1 port, has {len(svc.ports)}"
        return svc.ports[0], ""
    return None, "no suitable port found"


def _target(address: str, port: str) -> str:
    """``addr:port``, every IPv6 address in brackets.

    Upstream leaves IPv4-mapped addresses (``::ffff:10.0.0.9``) bare, as Go's ``To4`` sees
    IPv4 in them; Kong rejects ``::ffff:10.0.0.9:8080`` (and with it the whole config), so they
    are bracketed here too.
    """
    if ":" in address:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return f"{address}:{port}"
        if isinstance(ip, ipaddress.IPv6Address):
            return f"[{address}]:{port}"
    return f"{address}:{port}"


def _targets(
    snap: Snapshot,
    svc: Service,
    port: ServicePort,
    deps: set[Dep],
    service_upstream: bool,
    cluster_domain: str,
    drain: bool,
) -> list[dict[str, Any]]:
    ns = svc.ref.namespace
    if service_upstream or svc.annotations.get("ingress.kubernetes.io/service-upstream") == "true":
        host = f"{svc.ref.name}.{ns}.svc"
        if cluster_domain:
            host += "." + cluster_domain
        return [{"target": f"{host}:{port.port}"}]
    if svc.type == "ExternalName":
        tp = port.target_port if port.target_port is not None else 0
        return [{"target": _target(svc.external_name, str(tp))}]
    deps.add(("eps", ns, svc.ref.name))
    extra = sorted({p.protocol for p in svc.ports if p.protocol and p.protocol != "TCP"})
    protocols = ["TCP", *extra]
    seen: dict[str, dict[str, Any]] = {}
    for proto in protocols:
        for eps in snap.endpoint_slices(ns, svc.ref.name):
            for ep_port in eps.ports:
                if (
                    ep_port.port is None
                    or ep_port.port < 0
                    or ep_port.protocol != proto
                    or ep_port.name != port.name
                ):
                    continue
                for ep in eps.endpoints:
                    terminating = bool(ep.terminating)
                    if ep.ready is False and not (terminating and drain):
                        continue
                    if not ep.addresses:
                        continue
                    target = _target(ep.addresses[0], str(ep_port.port))
                    if target in seen:
                        continue
                    t: dict[str, Any] = {"target": target}
                    if terminating and drain and ep.ready is False:
                        t["weight"] = 0
                    seen[target] = t
    return [seen[k] for k in sorted(seen)]


def _weighted(
    first: list[dict[str, Any]],
    backends: Sequence[Backend],
    snap: Snapshot,
    deps: set[Dep],
    failures: list[Failure],
    parents: Sequence[ObjectRef],
    service_upstream: bool,
    cluster_domain: str,
    drain: bool,
) -> list[dict[str, Any]]:
    """The targets of several weighted backends: each target weighted by its backend.

    A target listed by two backends keeps the first one's weight; a draining target (weight 0)
    stays at 0; a backend whose Service or port is missing fails on the route owners and adds
    no target (the other backends still serve).
    """
    seen: dict[str, dict[str, Any]] = {}
    for i, b in enumerate(backends):
        if i == 0:
            targets = first
        else:
            deps.add(("Service", b.namespace, b.service))
            svc: Service | None = snap.get("Service", b.namespace, b.service)
            port, err = _find_port(svc, b.port) if svc is not None else (None, "not found")
            if svc is None or port is None:
                for parent in parents:
                    failures.append(
                        Failure(
                            parent,
                            "",
                            f"backend Service {b.namespace}/{b.service}: {err}; it gets no traffic",
                        )
                    )
                continue
            targets = _targets(snap, svc, port, deps, service_upstream, cluster_domain, drain)
        weight = 100 if b.weight is None else b.weight
        for t in targets:
            if t["target"] not in seen:
                seen[t["target"]] = {**t, "weight": t.get("weight", weight)}
    return [seen[k] for k in sorted(seen)]


def _kong_ingress(
    snap: Snapshot,
    svc: Service,
    upstream: dict[str, Any],
    deps: set[Dep],
    failures: list[Failure],
    configured: list[ObjectRef],
) -> None:
    """Lay the KongIngress a Service names in ``konghq.com/override`` over its upstream.

    Deprecated upstream: only ``upstream`` fields apply (the deprecation warnings are the
    KongIngress's own, from its parser). A missing KongIngress fails on the Service and the
    upstream goes out without its overrides (load balancing only, no protection lost).
    """
    name = svc.annotations.get("konghq.com/override")
    if not name:
        return
    ns = svc.ref.namespace
    deps.add(("KongIngress", ns, name))
    ki: KongIngress | None = snap.get("KongIngress", ns, name)
    if ki is None:
        failures.append(
            Failure(
                svc.ref,
                "metadata.annotations.konghq.com/override",
                f"failed to get KongIngress: KongIngress {ns}/{name} not found",
            )
        )
        return
    configured.append(ki.ref)
    fields = dict(ki.upstream)
    host_header = fields.pop("host_header", None)
    if host_header is not None and not valid_host_header(host_header):
        failures.append(
            Failure(
                ki.ref,
                "upstream.host_header",
                "not a host name (with an optional port) Kong accepts; ignored",
            )
        )
    elif host_header is not None:
        fields["host_header"] = host_header
    upstream.update(fields)


def _service_annotations(
    service: dict[str, Any],
    upstream: dict[str, Any],
    k8s: Service,
    ann: Mapping[str, str],
    ref: ObjectRef,
    snap: Snapshot,
    deps: set[Dep],
    failures: list[Failure],
    configured: list[ObjectRef],
    *,
    kong_ingress: bool = True,
) -> tuple[str, str] | None:
    """Lay a Kubernetes Service's ``konghq.com/*`` annotations over its Kong service/upstream
    (upstream's ``overrideByAnnotation``); returns the client-certificate Secret, if any.

    Shared by Ingress-owned and Gateway-API-owned Kong services; ``kong_ingress=False`` skips
    ``konghq.com/override`` (upstream ignores KongIngress for Gateway API parents).
    """
    ns = k8s.ref.namespace
    client_cert = None
    # client certificate
    cert_name = ann.get("konghq.com/client-cert")
    protocol = ann.get("konghq.com/protocol") or "http"
    if cert_name:
        deps.add(("Secret", ns, cert_name))
        secret = snap.get("Secret", ns, cert_name)
        if secret is None:
            failures.append(
                Failure(
                    ref,
                    "metadata.annotations.konghq.com/client-cert",
                    f"Failed to fetch secret '{ns}/{cert_name}'",
                )
            )
        elif protocol in _NON_TLS:
            failures.append(
                Failure(
                    ref,
                    "metadata.annotations.konghq.com/client-cert",
                    f"Client certificate requested for incompatible service protocol '{protocol}'",
                )
            )
        elif secret.tls_pair_valid is not True:
            # upstream references it anyway and Kong refuses the dangling reference (and
            # with it the whole configuration); without the certificate the backend
            # refuses the connection, so nothing is served with less protection
            failures.append(
                Failure(
                    ref,
                    "metadata.annotations.konghq.com/client-cert",
                    f"Secret '{ns}/{cert_name}' holds no valid TLS key pair; "
                    "client certificate not set",
                )
            )
        else:
            client_cert = (ns, cert_name)
            # decK's file format (what upstream POSTs) flattens the reference to the ID
            service["client_certificate"] = secret.ref.uid
    # CA certificates
    ca_names = split_list(ann.get("konghq.com/ca-certificates-secrets"))
    if ca_names:
        verify = go_bool(ann.get("konghq.com/tls-verify", ""))
        if not verify:
            failures.append(
                Failure(
                    ref,
                    "metadata.annotations.konghq.com/ca-certificates-secrets",
                    "CA certificates requested for service without TLS verification enabled",
                )
            )
        elif protocol in _NON_TLS:
            failures.append(
                Failure(
                    ref,
                    "metadata.annotations.konghq.com/ca-certificates-secrets",
                    f"CA certificates requested for incompatible service protocol '{protocol}'",
                )
            )
        else:
            ids = []
            for ca in ca_names:
                deps.add(("Secret", ns, ca))
                secret = snap.get("Secret", ns, ca)
                if secret is None:
                    failures.append(
                        Failure(
                            ref,
                            "metadata.annotations.konghq.com/ca-certificates-secrets",
                            f"Failed to fetch secret for CA Certificate '{ns}/{ca}'",
                        )
                    )
                elif "id" not in secret.data:
                    failures.append(
                        Failure(
                            ref,
                            "metadata.annotations.konghq.com/ca-certificates-secrets",
                            f"Invalid CA certificate '{ns}/{ca}': missing 'id' field in data",
                        )
                    )
                else:
                    ids.append(secret.text("id"))
            if ids:
                service["ca_certificates"] = ids
    # service annotations (overrideByAnnotation)
    proto = ann.get("konghq.com/protocol")
    if proto:
        if proto in VALID_PROTOCOLS:
            service["protocol"] = proto
        else:
            failures.append(
                Failure(
                    ref,
                    "metadata.annotations.konghq.com/protocol",
                    f"konghq.com/protocol annotation has invalid value: {proto}",
                )
            )
    path = ann.get("konghq.com/path")
    if path and has_control_char(path):
        failures.append(
            Failure(
                ref,
                "metadata.annotations.konghq.com/path",
                "contains a control character (NUL, CR, LF, ...); ignored",
            )
        )
    elif path and path.startswith("/"):
        service["path"] = path
    elif path:
        failures.append(
            Failure(ref, "metadata.annotations.konghq.com/path", "must start with /; ignored")
        )
    for key, field, low, high in _INT_FIELDS:
        if (v := ann.get(key)) is not None:
            n = go_int(v)
            if n is None:
                failures.append(
                    Failure(
                        ref,
                        f"metadata.annotations.{key}",
                        f"{shown(v)} is not an integer; ignored",
                    )
                )
            elif not low <= n <= high:
                failures.append(
                    Failure(
                        ref,
                        f"metadata.annotations.{key}",
                        f"must be between {low} and {high}; ignored",
                    )
                )
            else:
                service[field] = n
    if (v := ann.get("konghq.com/tls-verify")) is not None:
        b = go_bool(v)
        if b is None:
            failures.append(
                Failure(
                    ref,
                    "metadata.annotations.konghq.com/tls-verify",
                    f"{shown(v)} is not a boolean; ignored",
                )
            )
        else:
            service["tls_verify"] = b
    if service["protocol"] in ("grpc", "grpcs"):
        service.pop("path", None)
    # upstream overrides: KongIngress (deprecated), host-header, KongUpstreamPolicy (wins)
    if kong_ingress:
        _kong_ingress(snap, k8s, upstream, deps, failures, configured)
    host_header = ann.get("konghq.com/host-header")
    if host_header and not valid_host_header(host_header):
        failures.append(
            Failure(
                ref,
                "metadata.annotations.konghq.com/host-header",
                "not a host name (with an optional port) Kong accepts; ignored",
            )
        )
    elif host_header:
        upstream["host_header"] = host_header
    policy_name = ann.get("konghq.com/upstream-policy")
    if policy_name:
        deps.add(("KongUpstreamPolicy", ns, policy_name))
        policy = snap.get("KongUpstreamPolicy", ns, policy_name)
        if policy is None:
            failures.append(
                Failure(
                    ref,
                    "metadata.annotations.konghq.com/upstream-policy",
                    f"failed fetching KongUpstreamPolicy: KongUpstreamPolicy {ns}/{policy_name} not found",
                )
            )
        else:
            upstream.update(policy.upstream)
            configured.append(policy.ref)
    return client_cert


def translate_service(
    name: str,
    backends: Sequence[Backend],
    routes: Sequence[RouteOut],
    snap: Snapshot,
    *,
    service_upstream: bool,
    cluster_domain: str,
    drain: bool,
    fill_ids: bool,
    facade: KongServiceFacade | None = None,
) -> ServiceOut:
    """The Kong service ``name`` with ``routes`` (sorted by name), its upstream and failures.

    The first backend names the service (host, port, annotations); with several backends the
    upstream's targets are the union of every backend's, each weighted (:class:`Backend`).
    A KongServiceFacade backend (``FACADE_PORT``) is resolved through ``facade`` (the caller
    reads it, class-filtered): its Service and port, its annotations laid over the Service's,
    its tags (upstream-surface.md §7).
    """
    ns, svc_name, pd = backends[0][:3]
    deps: set[Dep] = set()
    failures: list[Failure] = []
    configured: list[ObjectRef] = []
    stream = next((r.stream for r in routes if r.stream), "")
    if stream:
        routes = _stream_routes(name, routes, failures)
    port_found = False
    rule_routes = [r for r in routes if not r.default_backend]
    if pd == FACADE_PORT:
        deps.add(("KongServiceFacade", ns, svc_name))
        if facade is None or not facade.service or not facade.port:
            why = "not found" if facade is None else "its spec.backendRef is not usable"
            owners = list(dict.fromkeys(r.ingress for r in routes))
            if facade is not None:
                owners.append(facade.ref)
            return ServiceOut(
                name=name,
                service=None,
                upstream={},
                failures=tuple(
                    Failure(o, "", f"failed to get KongServiceFacade {ns}/{svc_name}: {why}")
                    for o in owners
                ),
                plugins=(),
                client_cert=None,
                client_cert_parent=None,
                configured=(),
                deps=frozenset(deps),
            )
        svc_name, pd = facade.service, ("number", facade.port)
        host = name
    else:
        host = f"{svc_name}.{ns}.{port_token(pd)}.svc"
    deps.add(("Service", ns, svc_name))
    service: dict[str, Any] = {
        "name": name,
        "host": host,
        "port": 80,
        "protocol": "http",
        "connect_timeout": 60000,
        "read_timeout": 60000,
        "write_timeout": 60000,
        "retries": 5,
    }
    if rule_routes:
        service["path"] = "/"
    parents = list(dict.fromkeys(r.ingress for r in routes))
    upstream: dict[str, Any] = {"name": host, "algorithm": "round-robin"}
    plugins: tuple[tuple[str, str], ...] = ()
    client_cert = None
    k8s: Service | None = snap.get("Service", ns, svc_name)
    if k8s is None:
        for parent in parents:
            failures.append(
                Failure(
                    parent,
                    "",
                    "failed to resolve Kubernetes Service for backend: failed to fetch Service "
                    f"{ns}/{svc_name}: Service {ns}/{svc_name} not found",
                )
            )
        tags: Sequence[str] = _UNKNOWN_TAGS if facade is None else tags_for(facade)
    else:
        configured.append(k8s.ref)
        tags = tags_for(k8s)
        ann = k8s.annotations
        ref = k8s.ref
        plugins = tuple(plugin_names(k8s))
        if facade is not None:
            # the facade stands for the Service: its annotations win, failures go to it
            configured.insert(0, facade.ref)
            tags = tags_for(facade)
            ann = {**ann, **facade.annotations}
            ref = facade.ref
            if "konghq.com/plugins" in facade.annotations:
                plugins = tuple(plugin_names(facade))
        # port and targets
        port, err = _find_port(k8s, pd)
        if port is None:
            for obj in [ref, *parents]:
                failures.append(
                    Failure(obj, "", f"can't find port for backend kubernetes service: {err}")
                )
        else:
            service["port"] = port.port
            port_found = True
            targets = _targets(snap, k8s, port, deps, service_upstream, cluster_domain, drain)
            if len(backends) > 1:
                targets = _weighted(
                    targets, backends, snap, deps, failures, parents,
                    service_upstream, cluster_domain, drain,
                )  # fmt: skip
            if targets:
                upstream["targets"] = targets
        client_cert = _service_annotations(
            service, upstream, k8s, ann, ref, snap, deps, failures, configured
        )
    if stream:
        _stream_service(service, stream, pd, port_found=port_found)
    upstream["tags"] = tags
    service["tags"] = tags
    if fill_ids:
        service["id"] = entity_id("services", name)
    service["routes"] = [r.route for r in routes]
    out_service: dict[str, Any] | None = service
    rewrite_errors = [r for r in rule_routes if r.rewrite_error]
    if rewrite_errors:
        for r in rewrite_errors:
            failures.append(
                Failure(r.ingress, "metadata.annotations.konghq.com/rewrite", r.rewrite_error)
            )
        defaults = [r.route for r in routes if r.default_backend]
        if defaults:
            service.pop("path", None)
            service["routes"] = defaults
        else:
            out_service = None
    return ServiceOut(
        name=name,
        service=out_service,
        upstream=upstream,
        failures=tuple(dict.fromkeys(failures)),
        plugins=plugins if out_service is not None else (),
        client_cert=client_cert,
        client_cert_parent=k8s.ref if k8s is not None and client_cert else None,
        configured=tuple(configured),
        deps=frozenset(deps),
    )


def _stream_routes(
    name: str, routes: Sequence[RouteOut], failures: list[Failure]
) -> Sequence[RouteOut]:
    """A Kong service with stream routes (TCPIngress) keeps only those.

    The TCPIngress service name is the Ingress one for the same Service port; upstream lets
    the later source overwrite the service, so the Ingress routes silently vanish. Here they
    are left out too (a service cannot be both ``http`` and ``tcp``) but each such Ingress is
    told, with a failure (hence a Warning Event).
    """
    kept = [r for r in routes if r.stream]
    for owner in dict.fromkeys(r.ingress for r in routes if not r.stream):
        failures.append(
            Failure(
                owner,
                "spec.rules",
                f"Kong service {name!r} is also made by a TCPIngress (same Service and port), "
                "which takes it over as upstream does; this object's routes to it are left out",
            )
        )
    return kept


def _stream_service(service: dict[str, Any], stream: str, pd: PortDef, *, port_found: bool) -> None:
    """upstream-surface.md §5: ``protocol`` tcp/udp (unless the Service's ``konghq.com/protocol``
    names a stream protocol), no ``path``; UDP without timeouts/retries and, while its Service
    port is unresolved, the backend's port number."""
    service.pop("path", None)
    if service.get("protocol") not in ("tcp", "tls", "udp", "tls_passthrough"):
        service["protocol"] = stream
    if stream == "udp":
        for key in ("connect_timeout", "read_timeout", "write_timeout", "retries"):
            service.pop(key, None)
        if not port_found and pd[0] == "number":
            service["port"] = pd[1]


# --- Gateway-API-owned Kong services ---------------------------------------------------------

#: upstream's answer when every backendRef of a rule was dropped (conformance wants a 500)
_NO_BACKEND_CONFIG: Mapping[str, Any] = {
    "status_code": 500,
    "message": "no existing backendRef provided",
}


def _kong_annotations(svc: Service) -> dict[str, str]:
    return {k: v for k, v in svc.annotations.items() if k.startswith("konghq.com/")}


def _gw_targets(
    snap: Snapshot,
    resolved: Sequence[tuple[Backend, Service, ServicePort]],
    deps: set[Dep],
    service_upstream: bool,
    cluster_domain: str,
    drain: bool,
) -> list[dict[str, Any]]:
    """Targets of weighted backends, upstream's way (gateway-api.md §5.4).

    A backend's weight is split over its serving endpoints (``weight // n``, at least 1; weight
    0 keeps 0), unset weight gives targets without ``weight`` (Kong's 100), identical targets of
    several backends are merged summing their weights, draining targets keep 0.
    """
    seen: dict[str, dict[str, Any]] = {}
    for b, svc, port in resolved:
        targets = _targets(snap, svc, port, deps, service_upstream, cluster_domain, drain)
        live = [t for t in targets if t.get("weight") != 0]
        share = None
        if b.weight is not None:
            share = 0 if b.weight == 0 else max(1, b.weight // max(1, len(live)))
        for t in targets:
            w = t.get("weight")
            if w != 0 and share is not None:
                w = share
            old = seen.get(t["target"])
            if old is None:
                seen[t["target"]] = {"target": t["target"]} if w is None else {**t, "weight": w}
            elif w is not None:
                old["weight"] = old.get("weight", 100) + w
    return [seen[k] for k in sorted(seen)]


def translate_gw_service(
    name: str,
    spec: GwService,
    routes: Sequence[RouteOut],
    snap: Snapshot,
    *,
    service_upstream: bool,
    cluster_domain: str,
    drain: bool,
    fill_ids: bool,
) -> ServiceOut:
    """A Kong service owned by a Gateway API route (upstream's ``translate_upstreams.go``).

    Name = host = upstream name; ``protocol`` from the route kind; no ``path``; ``port`` of the
    last backend whose port resolved; timeouts from the rule; the Kubernetes Services'
    ``konghq.com/*`` annotations (which must be the same on every backend, else the service is
    left out with a failure on each Service: serving it with one backend's TLS or plugin
    settings would treat the others wrongly), KongUpstreamPolicy, weighted targets. No
    backend resolved (but some were given) -> ``request-termination`` 500, as upstream and
    the Gateway API conformance tests want.

    Advice: route kinds hand over a :class:`GwService` on their routes; nothing here is
    HTTPRoute-specific, so GRPCRoute and the L4 routes build their services here too.
    """
    deps: set[Dep] = set()
    failures: list[Failure] = []
    configured: list[ObjectRef] = []
    timeout = spec.timeout_ms if spec.timeout_ms is not None else 60000
    service: dict[str, Any] = {
        "name": name,
        "host": name,
        "protocol": spec.protocol,
        "connect_timeout": timeout,
        "read_timeout": timeout,
        "write_timeout": timeout,
        "retries": 5,
    }
    upstream: dict[str, Any] = {"name": name, "algorithm": "round-robin"}
    parents = list(dict.fromkeys(r.ingress for r in routes))
    resolved: list[tuple[Backend, Service, ServicePort]] = []
    found: list[Service] = []
    for b in spec.backends:
        deps.add(("Service", b.namespace, b.service))
        svc: Service | None = snap.get("Service", b.namespace, b.service)
        if svc is None:
            for parent in parents:
                failures.append(
                    Failure(
                        parent,
                        "spec.rules",
                        f"backend Service {b.namespace}/{b.service} not found; it gets no traffic",
                    )
                )
            continue
        if spec.protocol in ("http", "https"):
            # BackendTLSPolicy: a copy of the Service with the TLS annotations it implies
            tls = service_with_backend_tls(svc, snap, deps)
            svc = tls.service
            failures.extend(tls.failures)
        found.append(svc)
        port, err = _find_port(svc, b.port) if b.port[1] is not None else (None, "no port given")
        if port is None:
            for obj in [svc.ref, *parents]:
                failures.append(
                    Failure(obj, "", f"can't find port for backend kubernetes service: {err}")
                )
            continue
        resolved.append((b, svc, port))
        service["port"] = port.port
    distinct = list({s.ref: s for s in found}.values())
    if len(distinct) == 1:
        tags: Sequence[str] = tags_for(distinct[0])
    elif distinct:
        tags = spec.parent_tags
    else:
        tags = _UNKNOWN_TAGS
    plugins: tuple[tuple[str, str], ...] = ()
    client_cert = None
    first = distinct[0] if distinct else None
    out_service: dict[str, Any] | None = service
    if first is not None:
        ann = _kong_annotations(first)
        if any(_kong_annotations(s) != ann for s in distinct[1:]):
            for s in distinct:
                failures.append(
                    Failure(
                        s.ref,
                        "metadata.annotations",
                        f"the backends of Kong service {name!r} carry different konghq.com/* "
                        "annotations; they must be the same on every Service of a rule, "
                        "service left out",
                    )
                )
            out_service = None
        else:
            configured.extend(s.ref for s in distinct)
            plugins = tuple(plugin_names(first))
            client_cert = _service_annotations(
                service, upstream, first, ann, first.ref, snap, deps, failures, configured,
                kong_ingress=False,
            )  # fmt: skip
            policies = {s.annotations.get("konghq.com/upstream-policy", "") for s in distinct}
            if len(policies) > 1:
                for s in distinct:
                    failures.append(
                        Failure(
                            s.ref,
                            "metadata.annotations.konghq.com/upstream-policy",
                            "inconsistent KongUpstreamPolicy configuration for services "
                            f"behind Kong service {name!r}",
                        )
                    )
        service.pop("path", None)
        targets = _gw_targets(snap, resolved, deps, service_upstream, cluster_domain, drain)
        if targets:
            upstream["targets"] = targets
    if spec.dropped and not resolved and spec.terminate_when_dropped:
        service["plugins"] = [{"name": "request-termination", "config": dict(_NO_BACKEND_CONFIG)}]
    upstream["tags"] = tags
    service["tags"] = tags
    if fill_ids:
        service["id"] = entity_id("services", name)
    service["routes"] = [r.route for r in routes]
    return ServiceOut(
        name=name,
        service=out_service,
        upstream=upstream,
        failures=tuple(dict.fromkeys(failures)),
        plugins=plugins if out_service is not None else (),
        client_cert=client_cert if out_service is not None else None,
        client_cert_parent=first.ref if first is not None and client_cert else None,
        configured=tuple(configured),
        deps=frozenset(deps),
    )
