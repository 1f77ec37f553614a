"""Typed, frozen keys of the translator's units of work.

A unit is the smallest piece of output recomputed on its own (one Ingress, one Kong service,
one referenced plugin...). Its key indexes everything the translator remembers about it: its
serialised entities (``_fragments``), failures, configured objects and the dependencies it
recorded (``_Deps``). Keys are NamedTuples: hashed and compared in C like the plain tuples they
replace (the 10k-set benchmark pays for every unit key many times), yet typed, and the class says
which stage a unit belongs to (``isinstance`` dispatch, no string tags).

Advice: a new stage declares its key here, with the fields that identify one unit; the ``stage``
field keeps two stages with equally shaped keys apart (tuples compare by content).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, NamedTuple

import attrs

from ..models import NO_STATUS, Failure, ObjectRef, ObjectStatus

Key = tuple[str, str]
#: ``(kind, namespace, name)`` of an object, or ``("eps", namespace, service)``.
Dep = tuple[str, str, str]


class IngressUnit(NamedTuple):
    key: Key
    stage: Literal["ing"] = "ing"


class RouteNameUnit(NamedTuple):
    """The arbitration of one Kong route name between the Ingresses that make it."""

    name: str
    stage: Literal["route"] = "route"


class ServiceUnit(NamedTuple):
    """One Kong service with its routes, upstream and targets."""

    name: str
    stage: Literal["svc"] = "svc"


class ConsumerGroupUnit(NamedTuple):
    key: Key
    stage: Literal["group"] = "group"


class ConsumerUnit(NamedTuple):
    key: Key
    stage: Literal["cons"] = "cons"


class PluginUnit(NamedTuple):
    """One referenced KongPlugin/KongClusterPlugin (``key``: the reference's namespace/name)."""

    key: Key
    stage: Literal["plugin"] = "plugin"


class BlockedUnit(NamedTuple):
    """The failure of an entity left out because a plugin it references fails closed."""

    #: ``(kind, identifier)`` of the entity (``_failclosed.Ent``).
    ent: tuple[str, str]
    stage: Literal["blocked"] = "blocked"


class StreamUnit(NamedTuple):
    """One TCPIngress or UDPIngress (``key``: kind, namespace, name)."""

    key: tuple[str, str, str]
    stage: Literal["stream"] = "stream"


class GatewayRouteUnit(NamedTuple):
    """One Gateway API route (``key``: kind, namespace, name): HTTPRoute, GRPCRoute, L4 routes."""

    key: tuple[str, str, str]
    stage: Literal["gwroute"] = "gwroute"


class BackendTLSPolicyUnit(NamedTuple):
    """The status of one BackendTLSPolicy (``key``: namespace, name)."""

    key: Key
    stage: Literal["btls"] = "btls"


class GatewayUnit(NamedTuple):
    """One Gateway's status (listeners, addresses, attachedRoutes): ``key`` namespace, name."""

    key: Key
    stage: Literal["gateway"] = "gateway"


class GatewayAttachUnit(NamedTuple):
    """What one route's attachment read (Gateways, classes, listener Secrets, Namespaces...):
    a change there recomputes the route and its Gateways' attachedRoutes."""

    key: tuple[str, str, str]
    stage: Literal["gwattach"] = "gwattach"


class GatewayClassUnit(NamedTuple):
    """One GatewayClass's status (``Accepted`` when ours)."""

    name: str
    stage: Literal["gatewayclass"] = "gatewayclass"


class GlobalPluginsUnit(NamedTuple):
    stage: Literal["global"] = "global"


class CertificatesUnit(NamedTuple):
    stage: Literal["certs"] = "certs"


class CACertificatesUnit(NamedTuple):
    stage: Literal["ca"] = "ca"


class CustomEntityUnit(NamedTuple):
    key: Key
    stage: Literal["kce"] = "kce"


class VaultsUnit(NamedTuple):
    stage: Literal["vaults"] = "vaults"


Unit = (
    IngressUnit
    | RouteNameUnit
    | ServiceUnit
    | ConsumerGroupUnit
    | ConsumerUnit
    | PluginUnit
    | BlockedUnit
    | StreamUnit
    | GatewayRouteUnit
    | BackendTLSPolicyUnit
    | GlobalPluginsUnit
    | GatewayUnit
    | GatewayClassUnit
    | GatewayAttachUnit
    | CertificatesUnit
    | CACertificatesUnit
    | CustomEntityUnit
    | VaultsUnit
)


@attrs.frozen(slots=True, eq=False)
class UnitOut:
    """What computing one unit gives: the protocol every stage's unit answers with.

    ``entries``: ``(Kong list, sort key, entity)``; ``failures`` and ``configured`` go on the
    objects read; ``deps`` is what the unit read (``("Service", ns, name)``, ``("eps", ns,
    service)``...): a change to any of them recomputes the unit. ``None`` means the unit is
    dirtied by its own kind's change handler only (and records nothing). ``status``: per-object
    status this unit decides (Gateway API conditions); merged over the kind-level defaults.

    Advice: compute a ``UnitOut`` from a view in a pure function (``translator/_<kind>.py``)
    and hand it to ``Translator._record``, which stores all of it the same way for every stage
    (entities that cannot be serialised become failures on the objects read).
    """

    entries: Sequence[tuple[str, Any, Any]] = ()
    failures: Sequence[Failure] = ()
    configured: Sequence[ObjectRef] = ()
    deps: frozenset[Dep] | None = None
    status: Mapping[ObjectRef, ObjectStatus] = NO_STATUS


GLOBAL_PLUGINS = GlobalPluginsUnit()
CERTIFICATES = CertificatesUnit()
CA_CERTIFICATES = CACertificatesUnit()
VAULTS = VaultsUnit()

__all__ = [
    "CA_CERTIFICATES",
    "CERTIFICATES",
    "GLOBAL_PLUGINS",
    "VAULTS",
    "BackendTLSPolicyUnit",
    "BlockedUnit",
    "CACertificatesUnit",
    "CertificatesUnit",
    "ConsumerGroupUnit",
    "ConsumerUnit",
    "CustomEntityUnit",
    "Dep",
    "GatewayAttachUnit",
    "GatewayClassUnit",
    "GatewayRouteUnit",
    "GatewayUnit",
    "GlobalPluginsUnit",
    "IngressUnit",
    "Key",
    "PluginUnit",
    "RouteNameUnit",
    "ServiceUnit",
    "StreamUnit",
    "Unit",
    "UnitOut",
    "VaultsUnit",
]
