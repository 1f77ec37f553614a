"""The kind-neutral model every route kind emits into: Kong services with weighted backends.

An Ingress path, an HTTPRoute rule or a TCPIngress rule all end up as Kong routes on a Kong
service whose upstream targets come from one or more Kubernetes Services. Route translators
(``_ingress.py`` today, Gateway API kinds next) build :class:`RouteOut` records naming their
owner object and their :class:`Backend` list; the service stage (``_services.py``) turns each
Kong service's backends into the service, its upstream and targets, whatever kind made them.

Advice: a new route kind should produce ``RouteOut`` values and leave service/upstream/target
building to the service stage, so weights, drain, upstream policies and client certificates
behave the same for every kind.
"""

from __future__ import annotations

from typing import Any, NamedTuple

#: How a backend names its Service port: ``("number", 80)``, ``("name", "http")`` or
#: ``("implicit", "")`` (the Service's only port).
PortDef = tuple[str, Any]


class Backend(NamedTuple):
    """One Kubernetes Service port behind a Kong service, with its share of the traffic.

    A NamedTuple (not attrs): it is hashed and compared on every translation at 10k sets,
    and tuple hashing is done in C. ``weight`` ``None`` is the single-backend case (Ingress):
    targets carry no weight and the output is what it always was. With several backends each
    target of a backend gets that backend's weight (``0`` turns a backend off; upstream's
    HTTPRoute ``backendRefs[].weight``), a draining target keeps weight 0.
    """

    namespace: str
    service: str
    port: PortDef
    weight: int | None = None


class GwService(NamedTuple):
    """What a Gateway API route unit says about the Kong service one of its rule groups makes.

    Upstream builds Gateway-API-owned Kong services differently from Ingress ones (name = host
    = upstream name, no ``path``, the port of the last backend that resolved, timeouts from the
    rule): the service stage reads this instead of the Ingress rules. Kind-neutral: HTTPRoute,
    GRPCRoute and the L4 routes all hand one over on their :class:`RouteOut` records.

    ``backends`` are the references that resolved (kind, Service present, grant); ``dropped``
    says some were given but none resolved, which upstream answers with a
    ``request-termination`` 500 on the service (HTTP/gRPC) instead of an empty upstream.
    """

    #: The route object (failures, and the service/upstream tags when several backends).
    parent: Any
    #: Its Kong tags (``k8s-*``), used when more than one Kubernetes Service is behind it.
    parent_tags: tuple[str, ...]
    backends: tuple[Backend, ...]
    protocol: str = "http"
    #: ``rules[].timeouts.backendRequest`` in ms (sets the three timeouts), ``None`` = 60 s.
    timeout_ms: int | None = None
    dropped: bool = False
    #: False for L4 services (no ``request-termination``: Kong refuses HTTP plugins there).
    terminate_when_dropped: bool = True
