"""KongCustomEntity -> extra top-level lists of Kong's declarative config (``degraphql_routes``).

Pure: the stage hands in what the parent plugin is attached to (Kong service, route and
consumer identifiers, collected exactly like plugin bindings) and gets the entities and
failures back. As upstream: no parent, or a parent attached to nothing, gives exactly one
entity, ``spec.fields`` as given; otherwise one entity per combination of the attached IDs
of the type's foreign fields, each a copy of ``spec.fields`` with ``<field>: {"id": ...}``.
No ``id`` and no tags are added (upstream adds neither).

Upstream learns a type's foreign fields from Kong (``GET /schemas/<type>``). The translator is
pure, so the controller asks Kong and hands the answers in as data
(``TranslatorOptions.entity_schemas``, one :class:`EntitySchema` per type). Which schema a
type gets (:func:`schema_for`):

* Kong answered: its answer. A type Kong does not have (404) is left out with a Failure on
  that KongCustomEntity, so Kong never refuses the whole configuration for it.
* Kong has not answered yet (unreachable, or a type that just appeared), and in
  ``kic-trio translate`` (no Kong): the built-in table :data:`BUILTIN_SCHEMAS` (Kong's
  documented schemas) for the types it lists; any other type is left out with a Failure that
  says its schema is not known yet (fail closed: less config, never a refused push). The
  controller translates again once Kong's answer arrives.

Advice: Kong's answer always wins, so the built-in table only matters before it; add a type
there only when its schema is stable across Kong versions.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from ..models import Failure, KongCustomEntity
from ._util import entity_id


@attrs.frozen(slots=True)
class EntitySchema:
    """What translation needs of Kong's schema of one entity type (``GET /schemas/<type>``).

    ``exists=False``: Kong answered 404 (it has no such type: the entity would make Kong refuse
    the whole configuration). ``foreign``: ``(field, referenced entity list)`` of the fields of
    type ``foreign``, sorted; ``required``: those of them with ``required: true``.
    """

    entity_type: str
    exists: bool = True
    foreign: tuple[tuple[str, str], ...] = ()
    required: tuple[str, ...] = ()

    @classmethod
    def from_kong(cls, entity_type: str, answer: object) -> EntitySchema:
        """Read Kong's ``GET /schemas/<type>`` body (``{"fields": [{name: {type, reference,
        required...}}, ...]}``); whatever is not of that shape is skipped, as upstream does."""
        foreign: dict[str, str] = {}
        required: list[str] = []
        fields = answer.get("fields") if isinstance(answer, Mapping) else None
        for item in fields if isinstance(fields, list) else ():
            if not isinstance(item, Mapping):
                continue
            for name, attrs_ in item.items():
                if not (isinstance(name, str) and isinstance(attrs_, Mapping)):
                    continue
                ref = attrs_.get("reference")
                if attrs_.get("type") == "foreign" and isinstance(ref, str) and ref:
                    foreign[name] = ref
                    if attrs_.get("required") is True:
                        required.append(name)
        return cls(entity_type, True, tuple(sorted(foreign.items())), tuple(sorted(required)))

    @classmethod
    def missing(cls, entity_type: str) -> EntitySchema:
        """Kong has no entity type of that name (its ``GET /schemas/<type>`` answered 404)."""
        return cls(entity_type, exists=False)


#: Kong's documented schemas, used until Kong answered (and by ``kic-trio translate``).
BUILTIN_SCHEMAS: Mapping[str, EntitySchema] = {
    "degraphql_routes": EntitySchema(
        "degraphql_routes", True, (("service", "services"),), ("service",)
    ),
}


def schema_for(entity_type: str, learned: Iterable[EntitySchema]) -> EntitySchema | None:
    """The schema translation uses for ``entity_type``: Kong's answer (``learned``), else the
    built-in one, else ``None`` (not known yet)."""
    for schema in learned:
        if schema.entity_type == entity_type:
            return schema
    return BUILTIN_SCHEMAS.get(entity_type)


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
    kce: KongCustomEntity,
    attached: Attached | None,
    fill_ids: bool,
    schemas: Iterable[EntitySchema] = (),
) -> tuple[list[tuple[str, Any, Any]], list[Failure]]:
    """``(entries, failures)`` of one accepted custom entity (``attached``: its parent's
    attachments, ``None`` without a parent; ``schemas``: what Kong answered, see
    :func:`schema_for`).

    A type Kong does not have, or whose schema is not known yet, is left out with a Failure:
    sending it would make Kong refuse the whole configuration (``unknown field``).

    An entity that would lack a foreign field Kong requires (a ``degraphql_routes`` with no
    parent attached to a service and no ``service`` in its fields) is left out with a Failure
    here. Upstream sends it, Kong refuses the whole configuration, and its fallback then
    leaves the entity out: the same outcome, without a refused push.
    """
    etype = kce.entity_type
    schema = schema_for(etype, schemas)
    if schema is None or not schema.exists:
        why = (
            "Kong has no such entity type (GET /schemas answered 404)"
            if schema is not None
            else "the schema is not known yet (kic-trio learns it from Kong's GET /schemas/"
            f"{etype}; it translates again once Kong answers)"
        )
        reason = f"failed to fetch entity schema for entity type {etype}: {why}: left out"
        return [], [Failure(kce.ref, "spec.type", reason)]
    entries, failures = _entries(kce, attached, fill_ids, dict(schema.foreign))
    for _, _, entity in entries:
        missing = [f for f in schema.required if f not in entity]
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
    kce: KongCustomEntity,
    attached: Attached | None,
    fill_ids: bool,
    foreign: Mapping[str, str],
) -> tuple[list[tuple[str, Any, Any]], list[Failure]]:
    etype = kce.entity_type
    fields = dict(kce.fields)
    if attached is None or attached.empty:
        return [(etype, (kce.namespace, kce.name), fields)], []
    if not foreign:
        # Kong's schema has no foreign field: nothing of the parent's goes into the entity
        return [(etype, (kce.namespace, kce.name), fields)], []
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
