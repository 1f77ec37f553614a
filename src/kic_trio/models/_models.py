"""Slim, immutable models of the watched Kubernetes objects.

A model keeps only what translation and status need (the raw dict is dropped after parsing:
that is where the memory goes in a big cluster). Models compare by identity: the store hands out
the very same object until it changes, which is what the incremental translator relies on.
Annotations are filtered to the prefixes the controller reads, so a 100 kB
``last-applied-configuration`` does not stay in memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

import attrs

from ._base import _EMPTY
from ._base import Model as Model  # re-exported: its home before the Gateway API models
from ._gateway_api import (  # records only: their parsers (_gateway_parsers.py) import this
    BackendTLSPolicy,
    Gateway,
    GatewayClass,
    GRPCRoute,
    HTTPRoute,
    Namespace,
    ReferenceGrant,
    TCPRoute,
    TLSRoute,
    UDPRoute,
)

#: Annotation prefixes worth keeping (everything else is dropped at parse time).
KEPT_ANNOTATION_PREFIXES = (
    "konghq.com/",
    "ingress.kubernetes.io/",
    "kubernetes.io/ingress.class",
    "ingressclass.kubernetes.io/",
)

# --- Ingress -----------------------------------------------------------------------------


@attrs.frozen(slots=True)
class IngressBackend:
    """``service: {name, port: {number|name}}`` or ``resource: {apiGroup, kind, name}``."""

    service_name: str | None = None
    port_number: int | None = None
    port_name: str | None = None
    #: ``(apiGroup, kind, name)`` of a resource backend (only KongServiceFacade upstream).
    resource: tuple[str, str, str] | None = None


@attrs.frozen(slots=True)
class IngressPath:
    path: str
    path_type: str | None
    backend: IngressBackend


@attrs.frozen(slots=True)
class IngressRule:
    host: str
    paths: tuple[IngressPath, ...]
    #: False when the rule has no ``http`` section (skipped by translation).
    has_http: bool = True


@attrs.frozen(slots=True)
class IngressTLS:
    hosts: tuple[str, ...]
    secret_name: str


@attrs.frozen(slots=True)
class LoadBalancerIngress:
    """One ``status.loadBalancer.ingress[]`` entry."""

    ip: str = ""
    hostname: str = ""


@attrs.frozen(slots=True, kw_only=True, eq=False)
class Ingress(Model):
    ingress_class_name: str | None = None
    rules: tuple[IngressRule, ...] = ()
    default_backend: IngressBackend | None = None
    tls: tuple[IngressTLS, ...] = ()
    #: Current ``status.loadBalancer.ingress`` (the status updater compares before writing).
    load_balancer: tuple[LoadBalancerIngress, ...] = ()


@attrs.frozen(slots=True)
class ParametersRef:
    """``IngressClass.spec.parameters``."""

    api_group: str
    kind: str
    name: str
    namespace: str = ""
    scope: str = ""


@attrs.frozen(slots=True, kw_only=True, eq=False)
class IngressClass(Model):
    controller: str = ""
    parameters: ParametersRef | None = None

    @property
    def is_default(self) -> bool:
        return self.annotations.get("ingressclass.kubernetes.io/is-default-class") == "true"


@attrs.frozen(slots=True, kw_only=True, eq=False)
class IngressClassParameters(Model):
    service_upstream: bool = False
    enable_legacy_regex_detection: bool = False


# --- Service / EndpointSlice ------------------------------------------------------------------


@attrs.frozen(slots=True)
class ServicePort:
    name: str
    port: int
    target_port: int | str | None = None
    protocol: str = "TCP"


@attrs.frozen(slots=True, kw_only=True, eq=False)
class Service(Model):
    type: str = "ClusterIP"
    external_name: str = ""
    ports: tuple[ServicePort, ...] = ()
    cluster_ips: tuple[str, ...] = ()
    load_balancer: tuple[LoadBalancerIngress, ...] = ()


@attrs.frozen(slots=True)
class EndpointPort:
    name: str
    port: int | None
    protocol: str = "TCP"


@attrs.frozen(slots=True)
class Endpoint:
    addresses: tuple[str, ...]
    #: ``conditions.ready``: ``None`` means unknown, which Kubernetes says to read as ready.
    ready: bool | None = None
    serving: bool | None = None
    terminating: bool | None = None
    target_kind: str = ""
    target_name: str = ""


@attrs.frozen(slots=True, kw_only=True, eq=False)
class EndpointSlice(Model):
    #: Label ``kubernetes.io/service-name``.
    service_name: str = ""
    address_type: str = "IPv4"
    ports: tuple[EndpointPort, ...] = ()
    endpoints: tuple[Endpoint, ...] = ()
    #: Name of the owning Service (ownerReferences), if any.
    owner_service: str = ""


# --- Secret ----------------------------------------------------------------------------------


@attrs.frozen(slots=True, kw_only=True, eq=False)
class Secret(Model):
    type: str = "Opaque"
    #: Decoded ``data`` (plus ``stringData``, which offline manifests use). Never printed.
    data: Mapping[str, bytes] = attrs.field(default=_EMPTY, repr=False)
    #: Whether ``tls.crt``/``tls.key`` form a valid X.509 key pair, checked once at parse time
    #: (it costs ~100 µs, which must not be paid on every translation). ``None``: no pair.
    tls_pair_valid: bool | None = None

    def text(self, key: str) -> str | None:
        """``data[key]`` as text (UTF-8, undecodable bytes replaced), ``None`` when absent."""
        value = self.data.get(key)
        return None if value is None else value.decode("utf-8", "replace")


# --- Kong custom resources ------------------------------------------------------------------


@attrs.frozen(slots=True)
class SecretKeyRef:
    name: str
    key: str
    namespace: str = ""


@attrs.frozen(slots=True)
class ConfigPatch:
    path: str
    value_from: SecretKeyRef


@attrs.frozen(slots=True, kw_only=True, eq=False)
class KongPlugin(Model):
    plugin: str = ""
    config: Mapping[str, Any] | None = None
    config_from: SecretKeyRef | None = None
    config_patches: tuple[ConfigPatch, ...] = ()
    disabled: bool = False
    run_on: str | None = None
    protocols: tuple[str, ...] = ()
    ordering: Mapping[str, Any] | None = None
    instance_name: str | None = None


@attrs.frozen(slots=True, kw_only=True, eq=False)
class KongClusterPlugin(KongPlugin):
    """Cluster-scoped KongPlugin; ``configFrom`` names the Secret's namespace."""

    @property
    def is_global(self) -> bool:
        return self.labels.get("global") == "true"


@attrs.frozen(slots=True, kw_only=True, eq=False)
class KongConsumer(Model):
    username: str = ""
    custom_id: str = ""
    credentials: tuple[str, ...] = ()
    consumer_groups: tuple[str, ...] = ()


@attrs.frozen(slots=True, kw_only=True, eq=False)
class KongConsumerGroup(Model):
    pass


@attrs.frozen(slots=True, kw_only=True, eq=False)
class KongUpstreamPolicy(Model):
    #: The Kong upstream fields this policy sets (already in Kong's snake_case shape).
    upstream: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(slots=True)
class ParentRef:
    """``KongCustomEntity.spec.parentRef``: the plugin whose attachments fill its foreign fields."""

    kind: str
    name: str
    #: ``""``: the custom entity's own namespace.
    namespace: str = ""


@attrs.frozen(slots=True, kw_only=True, eq=False)
class KongCustomEntity(Model):
    """An arbitrary Kong entity (``degraphql_routes``...); parsed in ``_custom_entity.py``."""

    #: ``spec.type``; ``""`` when missing or refused (the object then fails as a whole).
    entity_type: str = ""
    fields: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    controller_name: str = ""
    parent: ParentRef | None = None


@attrs.frozen(slots=True, kw_only=True, eq=False)
class KongVault(Model):
    """A Kong vault (cluster-scoped); parsed in ``_vault.py``. ``config`` may hold credentials:
    never in the repr."""

    #: ``spec.backend`` (Kong's vault ``name``); ``""`` when missing (the object fails).
    backend: str = ""
    prefix: str = ""
    description: str = ""
    config: Mapping[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen(slots=True, kw_only=True, eq=False)
class KongServiceFacade(Model):
    """An Ingress backend standing for one Service port under its own name (parsed in
    ``_facade.py``): its own Kong service/upstream, its annotations laid over the Service's."""

    #: ``spec.backendRef.name``: a Service in the facade's namespace (``""``: a failure).
    service: str = ""
    #: ``spec.backendRef.port`` (``0``: a failure).
    port: int = 0


@attrs.frozen(slots=True, kw_only=True, eq=False)
class KongIngress(Model):
    """Deprecated upstream overrides, attached by a Service's ``konghq.com/override`` (parsed
    in ``_kongingress.py``). Only ``upstream`` has an effect, as upstream since 3.0."""

    #: The Kong upstream fields it sets (Kong's own snake_case shape, as the CRD spells them).
    upstream: Mapping[str, Any] = attrs.field(factory=dict)
    #: Its top-level sections present (``proxy``/``route``/``upstream``): deprecation warnings.
    sections: tuple[str, ...] = ()


@attrs.frozen(slots=True, kw_only=True, eq=False)
class UnknownObject(Model):
    """What :func:`parse` returns for a kind it does not know (with a failure)."""


# --- TCPIngress / UDPIngress (parsers: _stream.py) -----------------------------------------


@attrs.frozen(slots=True)
class StreamRule:
    """One rule: traffic to ``port`` (and SNI ``host``, TCP only) goes to Service ``service``."""

    index: int
    port: int
    service: str
    service_port: int
    host: str = ""


@attrs.frozen(slots=True)
class TCPIngress(Model):
    rules: tuple[StreamRule, ...] = ()
    #: ``(secret name, hosts)`` per ``spec.tls`` entry (read, not yet turned into certificates).
    tls: tuple[tuple[str, tuple[str, ...]], ...] = ()


@attrs.frozen(slots=True)
class UDPIngress(Model):
    rules: tuple[StreamRule, ...] = ()


AnyModel: TypeAlias = (
    Ingress
    | IngressClass
    | IngressClassParameters
    | Service
    | EndpointSlice
    | Secret
    | KongPlugin
    | KongClusterPlugin
    | KongConsumer
    | KongConsumerGroup
    | KongUpstreamPolicy
    | KongCustomEntity
    | KongVault
    | KongServiceFacade
    | KongIngress
    | TCPIngress
    | UDPIngress
    | GatewayClass
    | Gateway
    | HTTPRoute
    | GRPCRoute
    | TCPRoute
    | UDPRoute
    | TLSRoute
    | ReferenceGrant
    | BackendTLSPolicy
    | Namespace
    | UnknownObject
)
