"""Reading Kong's 400 answer to ``POST /config`` back into per-object failures.

Kong refuses a DB-less config as a whole and, with ``flatten_errors=1``, lists what is wrong
per entity (``flattened_errors``), each entity with the tags the translator gave it. The
``k8s-*`` tags say which Kubernetes object the entity came from, so each problem becomes a
:class:`~kic_trio.models.Failure` on that object, worded ``invalid <field>: <message>`` as
upstream's Warning Events are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import orjson

from .._errors import KongAdminError
from ..models import CLUSTER_SCOPED_KINDS, Failure, ObjectRef

#: Kinds that live at cluster scope: their entities carry no ``k8s-namespace`` tag.
#: Kinds whose refs have no namespace: the registry's cluster-scoped kinds, plus the cluster-scoped
#: Kong kinds whose entities Kong may echo but that are not watched yet (KongLicense, KongVault:
#: issue 16 registers them, and then they come from the registry alone).
CLUSTER_SCOPED = CLUSTER_SCOPED_KINDS | {"KongLicense", "KongVault"}


class ResponseParsingError(KongAdminError):
    """Kong's 400 body could not be read (not JSON, or not Kong's error shape)."""


@attrs.frozen
class EntityError:
    """One entity Kong refused, and why: ``problems`` are ``(key, message)`` pairs."""

    entity_type: str
    entity_name: str
    entity_id: str
    tags: tuple[str, ...]
    problems: tuple[tuple[str, str], ...]
    #: The entity as Kong echoed it (children left out), to find it in the configuration.
    #: It may hold credentials: never shown, never compared.
    entity: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.frozen
class ConfigRejection:
    """A parsed 400: Kong's message, the entity errors, and the refusal's leftovers."""

    message: str
    entities: tuple[EntityError, ...]
    #: What ``fields`` held that no entity took (top-level problems such as ``_format_version``).
    fields: Mapping[str, Any] = attrs.field(factory=dict)


def parse_rejection(body: bytes) -> ConfigRejection:
    """Parse Kong's 400 body (flattened or not). Raises :class:`ResponseParsingError`."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ResponseParsingError("Kong's 400 answer is not JSON") from None
    if not isinstance(data, Mapping):
        raise ResponseParsingError("Kong's 400 answer is not a JSON object")
    message = data.get("message")
    message = message if isinstance(message, str) else ""
    raw = data.get("flattened_errors")
    # 3.9.x encodes an empty list as {}
    if raw is None or (isinstance(raw, Mapping) and not raw):
        raw = []
    if not isinstance(raw, Sequence):
        raise ResponseParsingError("flattened_errors in Kong's 400 answer is not a list")
    entities = tuple(_entity(e) for e in raw if isinstance(e, Mapping))
    fields = data.get("fields")
    return ConfigRejection(message, entities, fields if isinstance(fields, Mapping) else {})


def _entity(e: Mapping[str, Any]) -> EntityError:
    etype = str(e.get("entity_type") or "")
    name = str(e.get("entity_name") or "")
    tags = e.get("entity_tags")
    tag_tuple = tuple(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else ()
    problems: list[tuple[str, str]] = []
    errors = e.get("errors")
    for err in errors if isinstance(errors, list) else []:
        if not isinstance(err, Mapping):
            continue
        kind = err.get("type")
        field = str(err.get("field") or "")
        msgs = err.get("messages")
        if kind == "entity" or (not field and kind != "field"):
            problems.append((f"{etype}:{name}", str(err.get("message", ""))))
        elif isinstance(msgs, list) and msgs:
            for i, m in enumerate(msgs):
                if m is not None:
                    problems.append((f"{field}[{i}]", str(m)))
        else:
            problems.append((field, str(err.get("message", ""))))
    shown = e.get("entity")
    return EntityError(
        etype,
        name,
        str(e.get("entity_id") or ""),
        tag_tuple,
        tuple(problems),
        shown if isinstance(shown, Mapping) else {},
    )


def ref_from_tags(tags: Sequence[str]) -> ObjectRef | None:
    """The Kubernetes object named by ``k8s-*`` tags, or ``None`` if they are incomplete."""
    values: dict[str, str] = {}
    for t in tags:
        if t.startswith("k8s-"):
            key, sep, value = t[4:].partition(":")
            if sep and key not in values:
                values[key] = value
    kind, name, uid = values.get("kind"), values.get("name"), values.get("uid")
    if not kind or not name or not uid:
        return None
    namespace = values.get("namespace", "")
    if not namespace and kind not in CLUSTER_SCOPED:
        return None
    return ObjectRef(
        kind=kind,
        namespace=namespace if kind not in CLUSTER_SCOPED else "",
        name=name,
        uid=uid,
        group=values.get("group", ""),
        version=values.get("version", "") or "v1",
    )


def failures_from(
    rejection: ConfigRejection,
) -> tuple[tuple[Failure, ...], tuple[EntityError, ...]]:
    """Map each entity problem to a Failure on its object; also return entities with no object."""
    failures: list[Failure] = []
    unmapped: list[EntityError] = []
    for ent in rejection.entities:
        ref = ref_from_tags(ent.tags)
        if ref is None:
            unmapped.append(ent)
            continue
        for key, message in ent.problems:
            failures.append(Failure(ref, "", f"invalid {key}: {message}"))
    return tuple(failures), tuple(unmapped)
