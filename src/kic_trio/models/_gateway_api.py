"""Gateway API models (``gateway.networking.k8s.io``); their parsers are in ``_gateway_parsers.py``.

GatewayClass, Gateway, HTTPRoute, GRPCRoute, TCPRoute, UDPRoute, TLSRoute, ReferenceGrant and
BackendTLSPolicy. The class and field names are a contract with the route translators
(``translator/_httproute.py``, ``_grpcroute.py``, ``_l4route.py``): add fields, never rename.

Parsers never raise. A bad field becomes a :class:`~kic_trio.models.Failure` with its path (never
its value) and the bad part is dropped, always in the direction that serves *less*:

* a bad match, filter or timeout drops its whole rule (a rule without its match would be a
  catch-all; without its filter it would lose a header removal); the other rules keep their
  index, so Kong names such as ``httproute.<ns>.<name>.<ruleIndex>`` stay stable;
* a bad parentRef or backendRef is dropped alone (fewer parents / backends only narrow);
* bad hostnames are dropped; when hostnames were given and none is valid, every rule is
  dropped (no hostname at all would match any host);
* a bad listener is dropped (routes cannot attach to it).

API-server defaults are *not* applied where upstream's golden inputs rely on their absence
(backendRef ``kind`` unset stays ``None``; ``allowedRoutes`` unset stays ``None``). What Kong
would refuse (ports, host names, header names, path forms) is checked here, so a typo becomes a
failure on its object instead of a configuration Kong refuses as a whole.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from ._base import Model

GW_GROUP = "gateway.networking.k8s.io"

#: ``metadata.annotations`` key marking a GatewayClass whose Gateways this controller runs
#: itself (listeners from the publish Service): any non-empty value (upstream).
UNMANAGED_ANNOTATION = "konghq.com/gatewayclass-unmanaged"
#: The annotation upstream writes on unmanaged Gateways (``ns/name[,udp ns/name]``).
PUBLISH_SERVICE_ANNOTATION = "konghq.com/publish-service"

# --- records ------------------------------------------------------------------------------


@attrs.frozen(slots=True)
class ParentRef:  # spec.parentRefs[i]
    index: int
    name: str
    group: str | None = None  # None = unset (defaults to gateway.networking.k8s.io)
    kind: str | None = None  # None = unset (defaults to Gateway)
    namespace: str | None = None  # None = the route's namespace
    section_name: str = ""
    port: int | None = None

    @property
    def is_gateway(self) -> bool:
        """Whether the (defaulted) group/kind is ``gateway.networking.k8s.io/Gateway``."""
        return (self.group is None or self.group == GW_GROUP) and (
            self.kind is None or self.kind == "Gateway"
        )


@attrs.frozen(slots=True)
class BackendRef:  # rules[i].backendRefs[j]
    index: int
    name: str
    group: str | None = None  # None = unset ("" core)
    kind: str | None = None  # None = unset (golden inputs: dropped; live API defaults "Service")
    namespace: str | None = None
    port: int | None = None
    weight: int | None = None  # None = unset (API default 1)
    has_filters: bool = False  # per-backendRef filters present (ignored, as upstream)


@attrs.frozen(slots=True)
class HeaderMatch:
    name: str
    value: str
    type: str = "Exact"  # Exact | RegularExpression


@attrs.frozen(slots=True)
class HTTPPathMatch:
    type: str = "PathPrefix"  # Exact | PathPrefix | RegularExpression
    value: str = "/"


@attrs.frozen(slots=True)
class HTTPRouteMatch:
    index: int
    path: HTTPPathMatch | None = None
    headers: tuple[HeaderMatch, ...] = ()
    query_params: tuple[HeaderMatch, ...] = ()
    method: str = ""


@attrs.frozen(slots=True)
class HeaderModifier:
    set: tuple[tuple[str, str], ...] = ()
    add: tuple[tuple[str, str], ...] = ()
    remove: tuple[str, ...] = ()


@attrs.frozen(slots=True)
class HTTPFilter:
    """One spec.rules[i].filters[k]; exactly the member for ``type`` is set, unknown types keep
    only ``type`` (the translator fails them: 'httpFilter X unsupported')."""

    type: str
    header_modifier: HeaderModifier | None = None
    # RequestRedirect
    redirect_scheme: str | None = None
    redirect_hostname: str | None = None
    redirect_port: int | None = None
    redirect_status_code: int | None = None
    # RequestRedirect.path / URLRewrite.path: (type, value) type ReplaceFullPath | ReplacePrefixMatch
    path_modifier: tuple[str, str] | None = None
    rewrite_hostname: str | None = None
    # ExtensionRef
    extension_group: str = ""
    extension_kind: str = ""
    extension_name: str = ""


@attrs.frozen(slots=True)
class HTTPRouteRule:
    index: int
    name: str = ""  # spec.rules[i].name (named-rule tag k8s-named-route-rule:<name>)
    matches: tuple[HTTPRouteMatch, ...] = ()
    filters: tuple[HTTPFilter, ...] = ()
    backend_refs: tuple[BackendRef, ...] = ()
    backend_request_timeout_ms: int | None = None  # timeouts.backendRequest parsed (Go duration)


#: (controllerName, namespace, name, sectionName) of one ``status.parents[]`` entry as read.
StatusParent = tuple[str, str, str, str]


@attrs.frozen(slots=True, kw_only=True, eq=False)
class HTTPRoute(Model):
    generation: int = 0
    parent_refs: tuple[ParentRef, ...] = ()
    hostnames: tuple[str, ...] = ()
    rules: tuple[HTTPRouteRule, ...] = ()
    #: status.parents as read (controller_name, parent ref key ns/name/section) — needed for
    #: upstream's attachedRoutes counting and to keep other controllers' entries untouched.
    status_parents: tuple[StatusParent, ...] = ()


@attrs.frozen(slots=True)
class GRPCMethodMatch:
    type: str = "Exact"  # Exact | RegularExpression
    service: str = ""
    method: str = ""


@attrs.frozen(slots=True)
class GRPCRouteMatch:
    index: int
    method: GRPCMethodMatch | None = None
    headers: tuple[HeaderMatch, ...] = ()


@attrs.frozen(slots=True)
class GRPCRouteRule:
    index: int
    name: str = ""
    matches: tuple[GRPCRouteMatch, ...] = ()
    filters: tuple[HTTPFilter, ...] = ()
    backend_refs: tuple[BackendRef, ...] = ()


@attrs.frozen(slots=True, kw_only=True, eq=False)
class GRPCRoute(Model):
    generation: int = 0
    parent_refs: tuple[ParentRef, ...] = ()
    hostnames: tuple[str, ...] = ()
    rules: tuple[GRPCRouteRule, ...] = ()
    status_parents: tuple[StatusParent, ...] = ()


@attrs.frozen(slots=True)
class L4RouteRule:
    index: int
    name: str = ""
    backend_refs: tuple[BackendRef, ...] = ()


@attrs.frozen(slots=True, kw_only=True, eq=False)
class TCPRoute(Model):
    generation: int = 0
    parent_refs: tuple[ParentRef, ...] = ()
    rules: tuple[L4RouteRule, ...] = ()
    status_parents: tuple[StatusParent, ...] = ()


@attrs.frozen(slots=True, kw_only=True, eq=False)
class UDPRoute(Model):
    generation: int = 0
    parent_refs: tuple[ParentRef, ...] = ()
    rules: tuple[L4RouteRule, ...] = ()
    status_parents: tuple[StatusParent, ...] = ()


@attrs.frozen(slots=True, kw_only=True, eq=False)
class TLSRoute(Model):
    generation: int = 0
    parent_refs: tuple[ParentRef, ...] = ()
    hostnames: tuple[str, ...] = ()
    rules: tuple[L4RouteRule, ...] = ()
    status_parents: tuple[StatusParent, ...] = ()


@attrs.frozen(slots=True)
class SecretObjectRef:  # listener tls.certificateRefs[k], BackendTLSPolicy caCertificateRefs
    name: str
    group: str | None = None
    kind: str | None = None
    namespace: str | None = None


@attrs.frozen(slots=True)
class RouteNamespaces:
    from_: str = "Same"  # Same | All | Selector
    #: matchLabels as pairs, matchExpressions as (key, operator, values)
    match_labels: tuple[tuple[str, str], ...] = ()
    match_expressions: tuple[tuple[str, str, tuple[str, ...]], ...] = ()

    def selects(self, labels: Mapping[str, str]) -> bool:
        """Whether a Namespace with ``labels`` matches the selector (``from: Selector``)."""
        for key, value in self.match_labels:
            if labels.get(key) != value:
                return False
        for key, op, values in self.match_expressions:
            have = key in labels
            if op == "In" and not (have and labels[key] in values):
                return False
            if op == "NotIn" and have and labels[key] in values:
                return False
            if op == "Exists" and not have:
                return False
            if op == "DoesNotExist" and have:
                return False
        return True


@attrs.frozen(slots=True)
class Listener:
    index: int
    name: str
    port: int
    protocol: str  # HTTP | HTTPS | TLS | TCP | UDP | other (kept as written)
    hostname: str = ""
    tls_mode: str | None = None  # None = no tls block; else Terminate | Passthrough
    certificate_refs: tuple[SecretObjectRef, ...] = ()
    #: None = allowedRoutes unset (upstream: allowed); else the namespaces policy
    allowed_namespaces: RouteNamespaces | None = None
    #: allowedRoutes.kinds as (group|None, kind); () = unset
    allowed_kinds: tuple[tuple[str | None, str], ...] = ()


#: One ``status.conditions[]`` entry as read: (type, status, reason, observedGeneration).
ReadCondition = tuple[str, str, str, int]


@attrs.frozen(slots=True)
class ListenerStatusRead:
    """One ``status.listeners[]`` entry as read (managed Gateways: written by someone else)."""

    name: str
    conditions: tuple[ReadCondition, ...] = ()
    #: supportedKinds as (group|None, kind)
    supported_kinds: tuple[tuple[str | None, str], ...] = ()
    attached_routes: int = 0

    @property
    def programmed(self) -> bool:
        return any(c[0] == "Programmed" and c[1] == "True" for c in self.conditions)


@attrs.frozen(slots=True, kw_only=True, eq=False)
class Gateway(Model):
    generation: int = 0
    class_name: str = ""
    listeners: tuple[Listener, ...] = ()
    #: spec.addresses as (type, value)
    addresses: tuple[tuple[str, str], ...] = ()
    #: spec.infrastructure.parametersRef as (group, kind, name); None when unset. kic-trio
    #: supports no infrastructure parameters kind, so any ref is ``InvalidParameters``.
    parameters_ref: tuple[str, str, str] | None = None
    #: status.conditions as read: (type, status, reason, observedGeneration) — managed
    #: (non-unmanaged) classes: upstream only ingests Gateways another component accepted.
    status_conditions: tuple[ReadCondition, ...] = ()
    #: status.listeners names as read (managed gateways: listeners present in status)
    status_listener_names: tuple[str, ...] = ()
    #: status.listeners as read, in full (conditions, supportedKinds, attachedRoutes)
    status_listeners: tuple[ListenerStatusRead, ...] = ()
    #: status.addresses as read (type, value)
    status_addresses: tuple[tuple[str, str], ...] = ()

    def accepted_by_status(self) -> bool:
        """``Accepted=True`` reason ``Accepted`` for the current generation (upstream's
        ``isGatewayAccepted``): how a managed class's Gateway is known to be ours to serve."""
        return any(
            c == ("Accepted", "True", "Accepted", self.generation) for c in self.status_conditions
        )


@attrs.frozen(slots=True, kw_only=True, eq=False)
class GatewayClass(Model):
    generation: int = 0
    controller_name: str = ""
    #: status.conditions as read (type, status, reason, observedGeneration)
    status_conditions: tuple[ReadCondition, ...] = ()

    @property
    def unmanaged(self) -> bool:
        """``konghq.com/gatewayclass-unmanaged`` with any non-empty value (upstream)."""
        return bool(self.annotations.get(UNMANAGED_ANNOTATION, ""))


@attrs.frozen(slots=True, kw_only=True, eq=False)
class Namespace(Model):
    """A Namespace, for its labels only: ``allowedRoutes.namespaces.from: Selector``."""


@attrs.frozen(slots=True)
class GrantFrom:
    group: str
    kind: str
    namespace: str


@attrs.frozen(slots=True)
class GrantTo:
    group: str
    kind: str
    name: str | None = None


@attrs.frozen(slots=True, kw_only=True, eq=False)
class ReferenceGrant(Model):
    from_: tuple[GrantFrom, ...] = ()
    to: tuple[GrantTo, ...] = ()


@attrs.frozen(slots=True)
class PolicyTargetRef:
    group: str
    kind: str
    name: str
    section_name: str = ""


@attrs.frozen(slots=True, kw_only=True, eq=False)
class BackendTLSPolicy(Model):
    generation: int = 0
    target_refs: tuple[PolicyTargetRef, ...] = ()
    hostname: str = ""
    ca_certificate_refs: tuple[SecretObjectRef, ...] = ()  # kinds ConfigMap / Secret
    well_known_ca_certificates: str = ""
    subject_alt_names: int = 0  # count; upstream: any -> Invalid 'not currently supported'
    options: tuple[tuple[str, str], ...] = ()


#: Every route kind of the Gateway API (what parentRefs attach).
GatewayRoute = HTTPRoute | GRPCRoute | TCPRoute | UDPRoute | TLSRoute
ROUTE_KINDS = ("HTTPRoute", "GRPCRoute", "TCPRoute", "UDPRoute", "TLSRoute")
