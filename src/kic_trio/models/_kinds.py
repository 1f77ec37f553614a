"""The records of the kind registry: what the controller must know about one watched kind.

The entries themselves are in :mod:`._registry` (they name the parsers, which need these
records first). Every layer that handles kinds derives its list from :data:`SPECS`: the watch
layer (what to watch, which Config switch turns it off, whether it needs a CRD, how class
filtering applies), the models (which parser, whether entities get Kong tags), the translator
(which stage an object of the kind dirties: a kind with no translator handler fails a test and
the import), the controller's metrics and Kong's error parser (cluster-scoped kinds).

Adding a kind: one model in ``models/`` (its parser next to it), one ``KindSpec`` in
``_registry.py``, one translator handler (docs/internals.md, "Adding a kind").
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from ._models import AnyModel, Model

#: API groups served by kube-apiserver itself; any other group comes from a CRD.
BUILTIN_GROUPS = frozenset({"", "networking.k8s.io", "discovery.k8s.io"})


@attrs.frozen(slots=True)
class KindInfo:
    """Where a kind lives in the Kubernetes API (what the reflector needs to list and watch)."""

    group: str
    version: str
    plural: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def needs_crd(self) -> bool:
        """Whether the kind is served by a CustomResourceDefinition (watched once it exists)."""
        return self.group not in BUILTIN_GROUPS

    @property
    def crd_name(self) -> str | None:
        """The CRD's ``metadata.name`` (``<plural>.<group>``), ``None`` for built-in kinds."""
        return f"{self.plural}.{self.group}" if self.needs_crd else None


class ClassFilter(enum.Enum):
    """How ingress-class filtering applies to a kind (docs/internals.md, class filtering)."""

    #: Not filtered by class at all (Service, Secret, KongPlugin, ...).
    NONE = "none"
    #: ``kubernetes.io/ingress.class`` annotation, else ``spec.ingressClassName`` (Ingress).
    INGRESS = "ingress"
    #: The ``kubernetes.io/ingress.class`` annotation only (KongConsumer, KongClusterPlugin...).
    ANNOTATION = "annotation"


SecretRefs = Callable[["Model"], Iterable[tuple[str, str]]]


def _no_secrets(obj: Model) -> Iterable[tuple[str, str]]:
    return ()


@attrs.frozen(slots=True, kw_only=True)
class KindSpec:
    """One watched kind, declared once.

    ``switch`` is the name of the :class:`kic_trio.config.Config` field that enables the kind
    (``None``: always watched), as a string so that the pure core does not import the
    configuration layer; a unit test checks every name is a real field. ``secret_refs`` gives the
    ``(namespace, name)`` of the Secrets an object needs (the Secret fetcher asks for them).
    ``tagged``: entities made from its objects carry ``k8s-*`` Kong tags (computed at parse time).
    ``gate`` and ``requires`` narrow ``switch`` (:meth:`enabled`).
    """

    kind: str
    api: KindInfo
    parser: Callable[[Mapping[str, Any]], AnyModel]
    switch: str | None = None
    class_filter: ClassFilter = ClassFilter.NONE
    secret_refs: SecretRefs = _no_secrets
    tagged: bool = False
    #: A feature gate that must be on too (``GatewayAlpha`` for TCPRoute/UDPRoute/TLSRoute and
    #: BackendTLSPolicy, as upstream: those kinds have no switch of their own).
    gate: str | None = None
    #: Further Config switches that must all be on (BackendTLSPolicy needs the Gateway and
    #: HTTPRoute controllers, as upstream).
    requires: tuple[str, ...] = ()

    @property
    def namespaced(self) -> bool:
        return self.api.namespaced

    def enabled(self, cfg: object) -> bool:
        """Whether a Config (read by attribute name: the core does not import it) enables the kind."""
        for name in (self.switch, *self.requires):
            if name is not None and not bool(getattr(cfg, name, True)):
                return False
        if self.gate is not None:
            gates = getattr(cfg, "feature_gates", {})
            if not (isinstance(gates, Mapping) and gates.get(self.gate) is True):
                return False
        return True

    @property
    def crd_name(self) -> str | None:
        return self.api.crd_name


class UnknownKindError(KeyError):
    """A kind the registry does not know was asked for (a bug of ours, or a bad CLI argument)."""

    def __str__(self) -> str:
        known = ", ".join(SPECS)
        return f"unknown kind {self.args[0]!r} (known kinds: {known})"


#: kind -> its spec, in a stable order (filled by :mod:`._registry` on import of ``models``).
SPECS: dict[str, KindSpec] = {}
#: kind -> where it lives in the API (the part of :data:`SPECS` the reflector needs).
KINDS: dict[str, KindInfo] = {}


def register(*specs: KindSpec) -> None:
    """Add kinds to the registry (a kind declared twice is a bug: it raises)."""
    for spec in specs:
        if spec.kind in SPECS:
            raise ValueError(f"kind {spec.kind!r} is registered twice")
        SPECS[spec.kind] = spec
        KINDS[spec.kind] = spec.api


def spec_of(kind: str) -> KindSpec:
    """The spec of ``kind``; :class:`UnknownKindError` when the registry does not know it."""
    spec = SPECS.get(kind)
    if spec is None:
        raise UnknownKindError(kind)
    return spec


def kinds_where(test: Callable[[KindSpec], bool]) -> frozenset[str]:
    """The registered kinds whose spec passes ``test`` (for derived tables)."""
    return frozenset(k for k, s in SPECS.items() if test(s))
