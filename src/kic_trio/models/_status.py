"""Per-object status as the translator computes it (pure), for the status edge to write.

The translator knows, for every object it read, whether it went out and why not; the status edge
(``k8s/_status.py``) only adds what needs I/O (the gateways' published addresses) and writes.
Ingress uses ``publish_addresses`` (``status.loadBalancer.ingress``); Gateway API objects will
carry their ``conditions`` (Accepted, ResolvedRefs, Programmed...) per parent in the same record.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

import attrs

from ._base import ObjectRef

ConditionStatus = Literal["True", "False", "Unknown"]


@attrs.frozen(slots=True)
class Condition:
    """One ``metav1.Condition`` without its timestamps (the edge fills those when writing).

    ``message`` is shown to the object's owner: like a Failure's reason, never a Secret value.
    """

    type: str
    status: ConditionStatus
    reason: str
    message: str = ""


@attrs.frozen(slots=True)
class RouteParentStatus:
    """One ``status.parents`` entry of a Gateway API route: our conditions about one parent.

    ``gateway`` is the parent Gateway (namespace always set, as upstream writes it);
    ``section_name`` only when the parentRef had one (port is never written, as upstream).
    ``generation`` is the route's ``metadata.generation`` (``observedGeneration``).
    """

    gateway: ObjectRef
    section_name: str
    controller_name: str
    conditions: tuple[Condition, ...]
    generation: int = 0


@attrs.frozen(slots=True)
class ListenerStatus:
    """One Gateway ``status.listeners[]`` entry as the translator decides it."""

    name: str
    #: supportedKinds as (group, kind)
    supported_kinds: tuple[tuple[str, str], ...]
    attached_routes: int
    conditions: tuple[Condition, ...]

    @property
    def programmed(self) -> bool:
        return any(c.type == "Programmed" and c.status == "True" for c in self.conditions)

    @property
    def accepted(self) -> bool:
        return any(c.type == "Accepted" and c.status == "True" for c in self.conditions)


@attrs.frozen(slots=True)
class ObjectStatus:
    """What the status edge should write on one object.

    ``publish_addresses``: the object carries the gateways' addresses (Ingress
    ``status.loadBalancer``), written once the configuration holding it was applied.
    ``parent``: for route kinds, the parent (Gateway) these conditions are about.
    """

    conditions: tuple[Condition, ...] = ()
    publish_addresses: bool = False
    parent: ObjectRef | None = None
    #: Gateway API routes: one entry per parent that is one of our Gateways (``conditions``
    #: and ``parent`` repeat the first one, for readers that know a single parent).
    parents: tuple[RouteParentStatus, ...] = ()
    #: Gateway: ``status.listeners`` and ``status.addresses`` (type, value); GatewayClass and
    #: Gateway: ``generation`` is the ``observedGeneration`` of ``conditions``.
    listeners: tuple[ListenerStatus, ...] = ()
    addresses: tuple[tuple[str, str], ...] = ()
    generation: int = 0


#: The status of a configured Ingress: one record shared by every Ingress (cheap at 10k).
INGRESS_PROGRAMMED = ObjectStatus(
    conditions=(Condition("Programmed", "True", "Programmed"),), publish_addresses=True
)

NO_STATUS: Mapping[ObjectRef, ObjectStatus] = MappingProxyType({})

#: Kong's own kinds whose ``status.conditions`` carry ``Programmed``, as upstream writes it
#: (``ctrlutils.EnsureProgrammedCondition``) for the kinds added in issue 16. (Upstream does
#: the same for KongConsumer and KongConsumerGroup: not written here yet.)
CONDITIONED_KINDS = frozenset({"KongCustomEntity", "KongVault", "KongServiceFacade"})
#: Upstream's texts (``internal/controllers/utils/conditions.go``).
KONG_PROGRAMMED = ObjectStatus(
    conditions=(
        Condition(
            "Programmed", "True", "Programmed", "Object was successfully configured in Kong."
        ),
    )
)
KONG_INVALID = ObjectStatus(
    conditions=(
        Condition(
            "Programmed",
            "False",
            "Invalid",
            "Object failed to be configured in Kong - see its attached Events for more information.",
        ),
    )
)


def conditions_to_write(
    status: Mapping[ObjectRef, ObjectStatus], configured: frozenset[ObjectRef]
) -> dict[ObjectRef, tuple[Condition, ...]]:
    """The ``status.conditions`` to write on each object of :data:`CONDITIONED_KINDS`.

    ``configured`` is what went out: an object the translator found fine but a fallback left
    out (Kong refused it, or it depends on something refused) is not programmed, so it gets
    ``Invalid`` — its Events say why — never ``Programmed``.
    """
    out: dict[ObjectRef, tuple[Condition, ...]] = {}
    for ref, st in status.items():
        if ref.kind not in CONDITIONED_KINDS or not st.conditions:
            continue
        programmed = any(c.type == "Programmed" and c.status == "True" for c in st.conditions)
        out[ref] = (
            KONG_INVALID.conditions if programmed and ref not in configured else st.conditions
        )
    return out


def publishing(
    status: Mapping[ObjectRef, ObjectStatus], configured: frozenset[ObjectRef]
) -> frozenset[ObjectRef]:
    """The objects that should carry published addresses and are still in the configuration.

    ``configured`` is what went out (a fallback configuration leaves objects out after the
    translator computed their status): an object left out is never reported as served.
    """
    return frozenset(r for r, s in status.items() if s.publish_addresses and r in configured)
