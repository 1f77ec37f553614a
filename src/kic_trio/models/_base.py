"""Identity of Kubernetes objects and the failure record every layer reports problems with."""

from __future__ import annotations

from collections.abc import Mapping

import attrs


@attrs.frozen(slots=True, order=True, cache_hash=True)
class ObjectRef:
    """Which Kubernetes object something is about.

    ``namespace`` is ``""`` for cluster-scoped kinds (KongClusterPlugin, IngressClass).
    ``group`` and ``version`` are the API group (``""`` for the core group) and version,
    so an Event or a status write can address the object without guessing.
    """

    kind: str
    namespace: str
    name: str
    uid: str = ""
    group: str = ""
    version: str = "v1"

    @property
    def key(self) -> tuple[str, str]:
        """``(namespace, name)``: the store key inside one kind."""
        return (self.namespace, self.name)

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"


@attrs.frozen(slots=True, order=True)
class Failure:
    """One problem with one object: what, where in the object, and why.

    ``field`` is a dotted path into the object as a user wrote it
    (``metadata.annotations.konghq.com/plugins``, ``spec.rules[0].http.paths[1].path``),
    ``""`` when the problem is with the object as a whole. ``reason`` is a sentence a
    user can act on; it never contains Secret values.
    """

    obj: ObjectRef
    field: str
    reason: str

    def __str__(self) -> str:
        where = f" (field {self.field})" if self.field else ""
        return f"{self.obj}{where}: {self.reason}"

    @property
    def event_message(self) -> str:
        """The Warning Event's message: the field path (when known), then the reason, so the
        object's owner sees *where* in the object the problem is (``kubectl describe``)."""
        return f"{self.field}: {self.reason}" if self.field else self.reason


_EMPTY: Mapping[str, str] = {}


@attrs.frozen(slots=True, kw_only=True, eq=False)
class Model:
    """What every model has: identity, version, parse problems, (filtered) annotations, labels."""

    ref: ObjectRef
    resource_version: str = ""
    failures: tuple[Failure, ...] = ()
    annotations: Mapping[str, str] = _EMPTY
    labels: Mapping[str, str] = _EMPTY
    #: ``metadata.creationTimestamp`` as RFC 3339 text ("" when unknown): "oldest wins" rules.
    created: str = ""
    #: Kong tags for entities made from this object (``k8s-*`` + ``konghq.com/tags``), computed
    #: once at parse time; ``()`` on hand-built models (the translator computes them then).
    tags: tuple[str, ...] = ()

    @property
    def namespace(self) -> str:
        return self.ref.namespace

    @property
    def name(self) -> str:
        return self.ref.name

    @property
    def uid(self) -> str:
        return self.ref.uid
