"""The registry of watched kinds: one :class:`KindSpec` per kind, declared once, here.

Order matters only for stable logs and watch start-up (the order kinds are listed in).
Everything else about a kind (what the watch layer lists, which Config switch turns it off,
whether it needs a CRD, which Secrets it references, whether it is class-filtered or tagged) is
read from these records: change it here and every layer follows. ``tests/unit/test_kind_registry.py``
checks the records against the Config fields, the CRD assets and the translator's handlers.
"""

from __future__ import annotations

from ._custom_entity import parse_custom_entity
from ._facade import parse_facade
from ._gateway_parsers import (
    backend_tls_secret_refs,
    gateway_secret_refs,
    parse_backend_tls_policy,
    parse_gateway,
    parse_gatewayclass,
    parse_grpcroute,
    parse_httproute,
    parse_namespace,
    parse_reference_grant,
    parse_tcproute,
    parse_tlsroute,
    parse_udproute,
)
from ._helpers import (
    consumer_secret_refs,
    ingress_secret_refs,
    plugin_secret_refs,
    service_secret_refs,
)
from ._kinds import ClassFilter, KindInfo, KindSpec, kinds_where, register
from ._kongingress import parse_kong_ingress
from ._parsers import (
    _consumer,
    _consumer_group,
    _endpoint_slice,
    _ingress,
    _ingress_class,
    _ingress_class_parameters,
    _plugin,
    _secret,
    _service,
    _upstream_policy,
)
from ._stream import parse_tcp_ingress, parse_udp_ingress, stream_secret_refs
from ._vault import parse_vault

_KONG = "configuration.konghq.com"
_GW = "gateway.networking.k8s.io"

register(
    KindSpec(
        kind="Ingress",
        api=KindInfo("networking.k8s.io", "v1", "ingresses", True),
        parser=_ingress,
        switch="enable_controller_ingress_networkingv1",
        class_filter=ClassFilter.INGRESS,
        secret_refs=ingress_secret_refs,
        tagged=True,
    ),
    KindSpec(
        kind="IngressClass",
        api=KindInfo("networking.k8s.io", "v1", "ingressclasses", False),
        parser=_ingress_class,
        switch="enable_controller_ingress_class_networkingv1",
    ),
    KindSpec(
        kind="IngressClassParameters",
        api=KindInfo(_KONG, "v1alpha1", "ingressclassparameterses", True),
        parser=_ingress_class_parameters,
        switch="enable_controller_ingress_class_parameters",
    ),
    KindSpec(
        kind="Service",
        api=KindInfo("", "v1", "services", True),
        parser=_service,
        switch="enable_controller_service",
        secret_refs=service_secret_refs,
        tagged=True,
    ),
    KindSpec(
        kind="EndpointSlice",
        api=KindInfo("discovery.k8s.io", "v1", "endpointslices", True),
        parser=_endpoint_slice,
    ),
    KindSpec(
        kind="Secret",
        api=KindInfo("", "v1", "secrets", True),
        parser=_secret,
        tagged=True,
    ),
    KindSpec(
        kind="KongPlugin",
        api=KindInfo(_KONG, "v1", "kongplugins", True),
        parser=lambda raw: _plugin("KongPlugin", raw),
        switch="enable_controller_kongplugin",
        secret_refs=plugin_secret_refs,
        tagged=True,
    ),
    KindSpec(
        kind="KongClusterPlugin",
        api=KindInfo(_KONG, "v1", "kongclusterplugins", False),
        parser=lambda raw: _plugin("KongClusterPlugin", raw),
        switch="enable_controller_kongclusterplugin",
        class_filter=ClassFilter.ANNOTATION,
        secret_refs=plugin_secret_refs,
        tagged=True,
    ),
    KindSpec(
        kind="KongConsumer",
        api=KindInfo(_KONG, "v1", "kongconsumers", True),
        parser=_consumer,
        switch="enable_controller_kongconsumer",
        class_filter=ClassFilter.ANNOTATION,
        secret_refs=consumer_secret_refs,
        tagged=True,
    ),
    KindSpec(
        kind="KongConsumerGroup",
        api=KindInfo(_KONG, "v1beta1", "kongconsumergroups", True),
        parser=_consumer_group,
        switch="enable_controller_kongconsumergroup",
        class_filter=ClassFilter.ANNOTATION,
        tagged=True,
    ),
    KindSpec(
        kind="KongUpstreamPolicy",
        api=KindInfo(_KONG, "v1beta1", "kongupstreampolicies", True),
        parser=_upstream_policy,
        switch="enable_controller_kong_upstream_policy",
    ),
    KindSpec(
        kind="KongCustomEntity",
        api=KindInfo(_KONG, "v1alpha1", "kongcustomentities", True),
        parser=parse_custom_entity,
        switch="enable_controller_kong_custom_entity",
    ),
    KindSpec(
        kind="KongVault",
        api=KindInfo(_KONG, "v1alpha1", "kongvaults", False),
        parser=parse_vault,
        switch="enable_controller_kong_vault",
        class_filter=ClassFilter.ANNOTATION,
        tagged=True,
    ),
    KindSpec(  # translated only behind the KongServiceFacade feature gate (upstream's default off)
        kind="KongServiceFacade",
        api=KindInfo(
            "incubator.ingress-controller.konghq.com", "v1alpha1", "kongservicefacades", True
        ),
        parser=parse_facade,
        switch="enable_controller_kong_service_facade",
        class_filter=ClassFilter.ANNOTATION,
        secret_refs=service_secret_refs,
        tagged=True,
    ),
    KindSpec(  # deprecated: upstream overrides through a Service's konghq.com/override
        kind="KongIngress",
        api=KindInfo(_KONG, "v1", "kongingresses", True),
        parser=parse_kong_ingress,
        switch="enable_controller_kongingress",
    ),
    # deprecated upstream, still translated (Kong stream routes): models/_stream.py
    KindSpec(
        kind="TCPIngress",
        api=KindInfo(_KONG, "v1beta1", "tcpingresses", True),
        parser=parse_tcp_ingress,
        switch="enable_controller_tcpingress",
        class_filter=ClassFilter.ANNOTATION,
        secret_refs=stream_secret_refs,
        tagged=True,
    ),
    KindSpec(
        kind="UDPIngress",
        api=KindInfo(_KONG, "v1beta1", "udpingresses", True),
        parser=parse_udp_ingress,
        switch="enable_controller_udpingress",
        class_filter=ClassFilter.ANNOTATION,
        tagged=True,
    ),
    # Gateway API (models/_gateway_api.py). Versions as upstream (KIC 3.5 reads v1 for the
    # GA kinds, ReferenceGrant v1beta1, the L4 routes v1alpha2: their objects' k8s-version tag
    # is part of Kong's output). GatewayClass has no switch of its own upstream: it comes with
    # the Gateway controller.
    KindSpec(
        kind="GatewayClass",
        api=KindInfo(_GW, "v1", "gatewayclasses", False),
        parser=parse_gatewayclass,
        switch="enable_controller_gwapi_gateway",
    ),
    KindSpec(
        kind="Gateway",
        api=KindInfo(_GW, "v1", "gateways", True),
        parser=parse_gateway,
        switch="enable_controller_gwapi_gateway",
        secret_refs=gateway_secret_refs,
    ),
    KindSpec(  # labels only, for allowedRoutes namespace selectors
        kind="Namespace",
        api=KindInfo("", "v1", "namespaces", False),
        parser=parse_namespace,
        switch="enable_controller_gwapi_gateway",
    ),
    KindSpec(
        kind="HTTPRoute",
        api=KindInfo(_GW, "v1", "httproutes", True),
        parser=parse_httproute,
        switch="enable_controller_gwapi_httproute",
        tagged=True,
    ),
    KindSpec(
        kind="GRPCRoute",
        api=KindInfo(_GW, "v1", "grpcroutes", True),
        parser=parse_grpcroute,
        switch="enable_controller_gwapi_grpcroute",
        tagged=True,
    ),
    KindSpec(
        kind="ReferenceGrant",
        api=KindInfo(_GW, "v1beta1", "referencegrants", True),
        parser=parse_reference_grant,
        switch="enable_controller_gwapi_reference_grant",
    ),
    KindSpec(
        kind="TCPRoute",
        api=KindInfo(_GW, "v1alpha2", "tcproutes", True),
        parser=parse_tcproute,
        switch="enable_controller_gwapi_gateway",
        gate="GatewayAlpha",
        tagged=True,
    ),
    KindSpec(
        kind="UDPRoute",
        api=KindInfo(_GW, "v1alpha2", "udproutes", True),
        parser=parse_udproute,
        switch="enable_controller_gwapi_gateway",
        gate="GatewayAlpha",
        tagged=True,
    ),
    KindSpec(
        kind="TLSRoute",
        api=KindInfo(_GW, "v1alpha2", "tlsroutes", True),
        parser=parse_tlsroute,
        switch="enable_controller_gwapi_gateway",
        gate="GatewayAlpha",
        tagged=True,
    ),
    # v1, not upstream's v1alpha3: the pinned v1.6.1 CRDs store v1 and serve v1alpha3 only as
    # a deprecated alias (no conversion webhook: the fields read here are the same in both);
    # watching the storage version keeps working when the alias is dropped.
    KindSpec(
        kind="BackendTLSPolicy",
        api=KindInfo(_GW, "v1", "backendtlspolicies", True),
        parser=parse_backend_tls_policy,
        switch="enable_controller_gwapi_gateway",
        requires=("enable_controller_gwapi_httproute",),
        gate="GatewayAlpha",
        secret_refs=backend_tls_secret_refs,
    ),
)

#: Kinds whose class is given by the ``kubernetes.io/ingress.class`` annotation only.
ANNOTATION_CLASSED_KINDS = kinds_where(lambda s: s.class_filter is ClassFilter.ANNOTATION)
#: Kinds the translator tags entities with (``k8s-*`` + ``konghq.com/tags``).
TAGGED_KINDS = kinds_where(lambda s: s.tagged)
#: Cluster-scoped kinds (no namespace in their refs).
CLUSTER_SCOPED_KINDS = kinds_where(lambda s: not s.namespaced)
