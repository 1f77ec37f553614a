"""What the translator hands to the applier."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from .models import NO_STATUS, Failure, ObjectRef, ObjectStatus
from .store import Snapshot


def body_repr(body: bytes) -> str:
    """A config body's size, never its content: it carries credentials and private keys, and
    reprs end up in logs, tracebacks and debuggers."""
    return f"<{len(body)} bytes>"


@attrs.frozen
class ConfigPayload:
    """One translated configuration, ready to POST.

    ``body`` is the canonical JSON (the same snapshot always gives the same bytes) and
    ``sha`` its SHA-256 in hex: the applier compares hashes, never bodies. The repr shows the
    body's size only: it holds Secret values.
    """

    body: bytes = attrs.field(repr=body_repr)
    sha: str
    #: Translation failures: these objects are *not* in ``body``.
    failures: tuple[Failure, ...] = ()
    #: Objects that made it into ``body`` (Ingresses etc.), for status updates.
    configured: frozenset[ObjectRef] = frozenset()
    #: ``trio.current_time()`` of the earliest watch change this config includes, if any.
    changes_seen_at: float | None = None
    #: True when the translation had nothing to say and the stub entity was used.
    empty: bool = False
    #: Per-object status the translator computed (written by ``k8s/_status.py`` once applied;
    #: only for objects still in ``configured``: a fallback leaves some out).
    status: Mapping[ObjectRef, ObjectStatus] = attrs.field(default=NO_STATUS, repr=False)
    #: The store snapshot ``body`` was translated from (immutable, shared with the store, so
    #: holding it costs next to nothing). Only read when Kong refuses ``body``: the fallback
    #: builds upstream's object dependency graph from its models. ``None``: a payload made by
    #: hand; the fallback then follows the configuration's own references only.
    snapshot: Snapshot | None = attrs.field(default=None, repr=False, eq=False)
    #: ``body`` as its top-level entities (list name -> serialised entities, in body order):
    #: a fallback parses only the entities a refusal concerns. Empty: parse ``body``.
    parts: Mapping[str, tuple[bytes, ...]] = attrs.field(factory=dict, repr=False, eq=False)
