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
