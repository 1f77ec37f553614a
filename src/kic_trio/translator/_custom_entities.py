"""KongCustomEntity -> extra top-level lists of Kong's declarative config (``degraphql_routes``).

Pure: the stage hands in what the parent plugin is attached to (Kong service, route and
consumer identifiers, collected exactly like plugin bindings) and gets the entities and
failures back. As upstream: no parent, or a parent attached to nothing, gives exactly one
entity, ``spec.fields`` as given; otherwise one entity per combination of the attached IDs
of the type's foreign fields, each a copy of ``spec.fields`` with ``<field>: {"id": ...}``.
No ``id`` and no tags are added (upstream adds neither).

Upstream learns a type's foreign fields from Kong (``GET /schemas/<type>``); the translator is
pure, so it knows them from :data:`FOREIGN_FIELDS` (Kong's documented schemas). Advice: to
support another entity type with foreign keys, add its fields there (and to FakeKong's schema
leniency); a type not listed works without a parentRef and fails clearly with one.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from ..models import Failure, KongCustomEntity
from ._util import entity_id

#: entity type -> {field: the entity list it references}, from Kong's documented schemas.
FOREIGN_FIELDS: Mapping[str, Mapping[str, str]] = {
    "degraphql_routes": {"service": "services"},
}
#: entity type -> the foreign fields Kong's schema requires (``required: true``).
REQUIRED_FOREIGN: Mapping[str, tuple[str, ...]] = {
    "degraphql_routes": ("service",),
}


@attrs.frozen(slots=True)
class Attached:
    """What the parent plugin is attached to (Kong names, in a stable order)."""

    services: tuple[str, ...] = ()
    routes: tuple[str, ...] = ()
    #: ``(route name, its Kong service name)`` for the routes (services of attached routes).
    route_services: tuple[str, ...] = ()
    consumers: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.services or self.routes or self.consumers)


def _ids(target: str, attached: Attached) -> list[str]:
    if target == "services":
        names: Iterable[str] = attached.services or dict.fromkeys(attached.route_services)
        return sorted(entity_id("services", n) for n in names)
    if target == "routes":
        return sorted(entity_id("routes", n) for n in attached.routes)
    if target == "consumers":
        return sorted(entity_id("consumers", n) for n in attached.consumers)
    return []


def translate_custom_entity(
    kce: KongCustomEntity, attached: Attached | None, fill_ids: bool
) -> tuple[list[tuple[str, Any, Any]], list[Failure]]:
    """``(entries, failures)`` of one accepted custom entity (``attached``: its parent's
    attachments, ``None`` without a parent).

    An entity that would lack a foreign field Kong requires (a ``degraphql_routes`` with no
    parent attached to a service and no ``service`` in its fields) is left out with a Failure
    here. Upstream sends it, Kong refuses the whole configuration, and its fallback then
    leaves the entity out: the same outcome, without a refused push.
    """
    entries, failures = _entries(kce, attached, fill_ids)
    for _, _, entity in entries:
        missing = [f for f in REQUIRED_FOREIGN.get(kce.entity_type, ()) if f not in entity]
        if missing:
            return [], [
                Failure(
                    kce.ref,
                    "spec.parentRef",
                    f"Kong requires {', '.join(missing)} on {kce.entity_type}: give it in "
                    "spec.fields, or a spec.parentRef to a plugin attached to one: left out",
                )
            ]
    return entries, failures


def _entries(
    kce: KongCustomEntity, attached: Attached | None, fill_ids: bool
) -> tuple[list[tuple[str, Any, Any]], list[Failure]]:
    etype = kce.entity_type
    fields = dict(kce.fields)
    if attached is None or attached.empty:
        return [(etype, (kce.namespace, kce.name), fields)], []
    foreign = FOREIGN_FIELDS.get(etype)
    if foreign is None:
        return [], [
            Failure(
                kce.ref,
                "spec.parentRef",
                f"the foreign fields of entity type {etype} are not known to kic-trio, so the "
                "entity cannot be attached to its parent's entities: left out",
            )
        ]
    if not fill_ids:
        return [], [
            Failure(
                kce.ref,
                "spec.parentRef",
                "attaching a custom entity needs Kong entity IDs (feature gate FillIDs): left out",
            )
        ]
    axes: list[tuple[str, Sequence[str]]] = []
    for field, target in sorted(foreign.items()):
        ids = _ids(target, attached)
        if ids:
            axes.append((field, ids))
    if not axes:
        return [(etype, (kce.namespace, kce.name), fields)], []
    entries: list[tuple[str, Any, Any]] = []
    for combo in itertools.product(*(ids for _, ids in axes)):
        entity = dict(fields)
        for (field, _), ident in zip(axes, combo, strict=True):
            entity[field] = {"id": ident}
        entries.append((etype, (kce.namespace, kce.name, *combo), entity))
    return entries, []
