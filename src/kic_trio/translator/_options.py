"""What the translator needs to know besides the objects: pure, hashable data."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ._custom_entities import EntitySchema
from ._expressions import ROUTER_FLAVORS

#: Upstream's feature gates that change translation, with upstream's defaults.
DEFAULT_GATES: Mapping[str, bool] = {
    "FillIDs": True,
    "RewriteURIs": False,
    "KongCustomEntity": True,
    "KongServiceFacade": False,
}


_CONTROLLER = "konghq.com/kic-gateway-controller"


def _sorted_schemas(schemas: Iterable[EntitySchema]) -> tuple[EntitySchema, ...]:
    return tuple(sorted(schemas, key=lambda s: s.entity_type))


@attrs.frozen(slots=True)
class TranslatorOptions:
    """Settings of one translation. Built by hand or from a ``Config`` with :meth:`from_config`."""

    ingress_class: str = "kong"
    #: Appended to ``service-upstream`` target host names (``svc.ns.svc.<domain>``).
    cluster_domain: str = ""
    #: Deterministic UUIDv5 IDs on services, routes, consumers, groups and plugins.
    fill_ids: bool = True
    #: Honour ``konghq.com/rewrite`` (else it is a failure on the Ingress).
    rewrite_uris: bool = False
    #: Keep terminating endpoints as weight-0 targets.
    enable_drain_support: bool = False
    #: Ingress backends may be KongServiceFacades (upstream's ``KongServiceFacade`` gate).
    kong_service_facade: bool = False
    #: The controller's regex path prefix, replaced by Kong's ``~``.
    regex_path_prefix: str = "/~"
    #: Used when no IngressClassParameters says otherwise.
    default_legacy_regex_detection: bool = False
    #: Feature gate ``KongCustomEntity`` (upstream: on): translate KongCustomEntities.
    custom_entities: bool = True
    #: Kong's ``router_flavor`` (the controller learns it from each gateway's ``GET /``).
    #: Only ``expressions`` changes translation: routes carry ``expression`` + ``priority``
    #: instead of ``paths``/``hosts``/... (as upstream; the other two give the same routes).
    router_flavor: str = attrs.field(
        default="traditional_compatible", validator=attrs.validators.in_(ROUTER_FLAVORS)
    )
    #: Kong's schemas of the KongCustomEntity types (the controller learns them from
    #: ``GET /schemas/<type>``), sorted by type. A type not listed uses the built-in table,
    #: or is left out with a Failure ("not known yet"): see ``_custom_entities.schema_for``.
    entity_schemas: tuple[EntitySchema, ...] = attrs.field(default=(), converter=_sorted_schemas)

    #: Gateway API attachment as the controller does it (GatewayClass controllerName, listeners,
    #: allowedRoutes, hostnames...). ``False``: what upstream's translator does with routes
    #: already in its cache (its golden cases): every parentRef naming a Gateway is accepted,
    #: parent Gateways are read when present (listener protocols/ports), hostnames as written.
    gateway_attachment: bool = True
    #: ``--gateway-api-controller-name``: the GatewayClasses (and so Gateways) that are ours.
    gateway_controller_name: str = _CONTROLLER
    #: ``--gateway-to-reconcile`` as ``ns/name`` ("" = every Gateway of our classes).
    gateway_to_reconcile: str = ""

    #: ``--publish-service`` / ``--publish-service-udp`` (``ns/name``): Gateway listeners
    publish_services: tuple[str, ...] = ()
    #: ``--publish-status-address`` + ``-udp``: Gateway ``status.addresses`` when set
    publish_addresses: tuple[str, ...] = ()
    #: Kong's ``proxy_listeners`` / ``stream_listeners`` (port, ssl) from ``GET /``: which
    #: publish Service ports carry HTTP, HTTPS, TLS (the controller learns them at start-up)
    kong_proxy_listeners: tuple[tuple[int, bool], ...] = ()
    kong_stream_listeners: tuple[tuple[int, bool], ...] = ()

    @classmethod
    def from_config(cls, cfg: Any) -> TranslatorOptions:
        """Read ``ingress_class``, ``cluster_domain``, ``feature_gates``, ``enable_drain_support``
        from a ``Config`` (duck-typed: anything with those attributes)."""
        gates = dict(DEFAULT_GATES)
        raw_gates = getattr(cfg, "feature_gates", None) or {}
        for name, value in dict(raw_gates).items():
            gates[str(name)] = bool(value)
        return cls(
            ingress_class=str(getattr(cfg, "ingress_class", "kong") or "kong"),
            cluster_domain=str(getattr(cfg, "cluster_domain", "") or ""),
            fill_ids=gates["FillIDs"],
            rewrite_uris=gates["RewriteURIs"],
            custom_entities=gates["KongCustomEntity"],
            kong_service_facade=gates["KongServiceFacade"],
            enable_drain_support=bool(getattr(cfg, "enable_drain_support", False)),
            gateway_attachment=True,
            gateway_controller_name=str(
                getattr(cfg, "gateway_api_controller_name", "") or _CONTROLLER
            ),
            gateway_to_reconcile=str(getattr(cfg, "gateway_to_reconcile", "") or ""),
            publish_services=tuple(
                str(s)
                for s in (
                    getattr(cfg, "publish_service", None),
                    getattr(cfg, "publish_service_udp", None),
                )
                if s
            ),
            publish_addresses=tuple(
                str(a)
                for a in (
                    *(getattr(cfg, "publish_status_address", ()) or ()),
                    *(getattr(cfg, "publish_status_address_udp", ()) or ()),
                )
            ),
        )
