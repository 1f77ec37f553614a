"""The translator: a store snapshot in, Kong's declarative config (canonical JSON) out.

It is incremental. The output is split into *units*, each computed from a few objects:

* one per Ingress (its routes, TLS claims, default backend),
* one per Kong service (service + routes + upstream + targets),
* one per referenced plugin, one per KongConsumer, one per KongConsumerGroup,
* the global plugins, the certificates, the CA certificates.

Each unit records what it read (``("Service", ns, name)``, ``("eps", ns, service)``, ...). A
change marks the units that read the changed object dirty; recomputing a unit marks the units
fed by its output dirty (an Ingress's routes feed Kong services, routes feed plugins...). Every
unit's entities are kept as serialised bytes (:mod:`._fragments`), so after one change only a
handful of entities are rebuilt, re-serialised and re-hashed. A full translation is the same
code with every object "changed" on an empty state, which is how ``incremental == full`` is
tested. Nothing here does I/O or imports trio, httpx or kr8s.

Plugins fail closed (:mod:`._failclosed`): a route, service, consumer or consumer group that
references a plugin making no instance for it is left out, with a Failure on the referencing
object. That is a filter over the fragments, fed by the plugin units only (``_set_blocks``,
``_apply_blocks``): the units themselves, their relations and so the dirty-marking are unchanged,
so blocking cannot feed back into what is blocked.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs
import orjson

from .._payload import ConfigPayload
from ..models import (
    ANNOTATION_CLASSED_KINDS,
    CA_CERT_LABEL,
    CONDITIONED_KINDS,
    INGRESS_PROGRAMMED,
    KONG_INVALID,
    KONG_PROGRAMMED,
    NO_STATUS,
    SPECS,
    Condition,
    Failure,
    IngressClass,
    IngressClassParameters,
    KongClusterPlugin,
    KongCustomEntity,
    KongPlugin,
    KongVault,
    ObjectRef,
    ObjectStatus,
    TCPIngress,
    UDPIngress,
    UnknownKindError,
    class_annotation_of,
    ingress_class_of,
)
from ..models._gateway_api import BackendTLSPolicy, Gateway, GatewayClass, HTTPRoute
from ..store import Snapshot
from ._backendtls import policy_status
from ._certs import KeyPairChecker, build_certificates, ca_certificate
from ._consumers import ConsumerOut, translate_consumer, translate_consumer_group
from ._custom_entities import Attached, translate_custom_entity
from ._failclosed import BlockingFragments, Ent
from ._fragments import dumps
from ._gateways import (
    LISTENERS_DEP,
    GatewayInputs,
    gateway_addresses,
    gateway_status,
    gatewayclass_status,
    kong_listens,
    listener_certificates,
    listener_check,
    listener_readiness,
    listener_statuses,
    our_class,
)
from ._gwattach import RouteAttachment, attach
from ._gwl4grpc_stage import GwRouteState, stage_gw_l4grpc
from ._httproute import ANY, GwRouteOut, Reads, translate_httproute
from ._ingress import FACADE_PORT, IngressOut, RouteOut, translate_ingress
from ._model import Backend, GwService
from ._options import TranslatorOptions
from ._plugins import (
    NO_CONSUMER_PLUGINS,
    PluginConfigError,
    global_plugin,
    instances,
    missing_plugin_failures,
    plugin_config,
)
from ._services import ServiceOut, translate_gw_service, translate_service
from ._stream import StreamOut, translate_stream
from ._units import (
    CA_CERTIFICATES,
    CERTIFICATES,
    GLOBAL_PLUGINS,
    VAULTS,
    BackendTLSPolicyUnit,
    BlockedUnit,
    CertificatesUnit,
    ConsumerGroupUnit,
    ConsumerUnit,
    CustomEntityUnit,
    Dep,
    GatewayAttachUnit,
    GatewayClassUnit,
    GatewayRouteUnit,
    GatewayUnit,
    GlobalPluginsUnit,
    IngressUnit,
    Key,
    PluginUnit,
    RouteNameUnit,
    ServiceUnit,
    StreamUnit,
    Unit,
    UnitOut,
)
from ._util import plugin_names
from ._vaults import translate_vaults

_CLASSED = ANNOTATION_CLASSED_KINDS
#: expressions router: bits 0-11 of a Gateway API route's priority order equal priorities
_RELATIVE_ORDER_MAX = 4095
#: ``(order key, Kong route dict, Kong service name)`` of one expression route
_Prio = tuple[dict[str, Any], str]


@attrs.define(slots=True, eq=False)
class _PrioGroup:
    """Expression routes of one base priority, in upstream's order (oldest first): the
    relative-order bits are ``4095 - rank``. Kept sorted, so one route joining or leaving
    re-serialises only the routes whose rank moved (not the whole group)."""

    #: sort keys ``(*order, route name, route object key)``, sorted
    keys: list[tuple[Any, ...]] = attrs.field(factory=list)
    #: sort key -> (Kong route dict, Kong service name)
    items: dict[tuple[Any, ...], _Prio] = attrs.field(factory=dict)
    #: this translation: lowest touched rank, highest, number of joins/leaves, size before
    lo: int = -1
    hi: int = -1
    ops: int = 0
    size: int = 0

    def touch(self, i: int) -> None:
        if self.lo < 0:
            self.size = len(self.keys)
            self.lo = self.hi = i
        self.lo, self.hi = min(self.lo, i), max(self.hi, i)
        self.ops += 1

    def remove(self, key: tuple[Any, ...]) -> None:
        if self.items.pop(key, None) is None:
            return
        i = bisect.bisect_left(self.keys, key)
        self.touch(i)
        del self.keys[i]

    def add(self, key: tuple[Any, ...], item: _Prio) -> None:
        if key in self.items:
            self.remove(key)
        i = bisect.bisect_left(self.keys, key)
        self.touch(i)
        self.keys.insert(i, key)
        self.items[key] = item

    def settle(self, base: int, dirty_svc: set[str]) -> None:
        """Set the priority of every route whose rank may have moved; dirty their services."""
        if self.lo < 0:
            return
        end = len(self.keys) if len(self.keys) != self.size else self.hi + self.ops + 1
        for i in range(self.lo, min(end, len(self.keys))):
            route, service = self.items[self.keys[i]]
            prio = base + max(_RELATIVE_ORDER_MAX - i, 0)  # floored at 0, as upstream
            if route.get("priority") != prio:
                route["priority"] = prio
                dirty_svc.add(service)
        self.lo = self.hi = -1
        self.ops = 0


#: Plugin-unit namespace prefix of a cross-namespace reference without a grant: no object
#: lives in such a namespace (NUL is not in names), so the unit only blocks its referrers.
_NO_GRANT = "\0no-grant:"


def _crashed(ref: ObjectRef, exc: BaseException, field: str = "") -> Failure:
    """The failure a unit guard records: the exception's type only (its text may hold values).

    Every unit of translation runs under a guard (DESIGN.md rule 7): whatever a hostile object
    makes the code raise, that object fails and the rest of the configuration still goes out.
    """
    return Failure(
        ref, field, f"could not be translated ({type(exc).__name__}): the object is left out"
    )


class _Recorder:
    """A snapshot that records what is read: the dependencies of a unit that crashed.

    A crashed unit must be recomputed when anything it read changes (so that incremental and
    full translations agree); it is re-run once under this recorder, only on the failure path.
    """

    __slots__ = ("_snap", "deps")

    def __init__(self, snap: Any) -> None:
        self._snap = snap
        self.deps: set[Dep] = set()

    def get(self, kind: str, namespace: str, name: str) -> Any:
        self.deps.add((kind, namespace, name))
        return self._snap.get(kind, namespace, name)

    def endpoint_slices(self, namespace: str, service: str) -> Any:
        self.deps.add(("eps", namespace, service))
        return self._snap.endpoint_slices(namespace, service)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._snap, name)


@attrs.frozen(slots=False, eq=False)
class TranslationResult:
    """One translated configuration.

    ``sha`` is SHA-256 over the digests of the body's entities (a hash tree of ``body``): equal
    bodies have equal hashes, and it costs nothing extra to compute after a small change.
    """

    body: bytes = attrs.field(repr=lambda b: f"<{len(b)} bytes>")  # holds Secret values
    sha: str
    failures: tuple[Failure, ...]
    configured: frozenset[ObjectRef]
    empty: bool
    #: Per-object status (pure): what the status edge writes once the config is applied.
    status: Mapping[ObjectRef, ObjectStatus] = attrs.field(default=NO_STATUS, repr=False)
    #: Offline only (``translate_objects``): kind -> how many input objects were left out
    #: because no registered kind matches (Deployments in a manifest folder...): never silent.
    ignored_kinds: Mapping[str, int] = attrs.field(factory=dict)
    #: ``body`` as its top-level entities (list name -> serialised entities, in body order),
    #: for the fallback: it parses only the entities a refusal concerns.
    parts: Mapping[str, tuple[bytes, ...]] = attrs.field(factory=dict, repr=False)

    @functools.cached_property
    def config(self) -> dict[str, Any]:
        """The declarative config as a dict (parsed from ``body`` on first use)."""
        out: dict[str, Any] = orjson.loads(self.body)
        return out

    def to_payload(self, changes_seen_at: float | None = None) -> ConfigPayload:
        return ConfigPayload(
            body=self.body,
            sha=self.sha,
            failures=self.failures,
            configured=self.configured,
            changes_seen_at=changes_seen_at,
            empty=self.empty,
            status=self.status,
            parts=self.parts,
        )


_SCOPES = ("service", "route", "consumer", "consumer group")
_PLUGIN_FIELDS = ("service", "route", "consumer", "consumer_group")


def _unique_keys(scope: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """What Kong wants unique per plugin: (name, scope) and, when set, its instance_name."""
    keys: list[tuple[Any, ...]] = [scope[:5]]
    if len(scope) > 5:
        keys.append(("instance_name", scope[5]))
    return keys


@attrs.frozen(slots=True, eq=False)
class _PluginOut:
    """What one referenced plugin makes, before arbitration between plugins."""

    order: tuple[str, ...]
    ref: ObjectRef | None
    instances: list[tuple[tuple[Any, ...], dict[str, Any]]]
    failures: list[Failure]
    configured: tuple[ObjectRef, ...]
    #: entities this plugin fails for as a whole -> (referrer, why): see :mod:`._failclosed`
    blocks: dict[Ent, tuple[ObjectRef, str]] = attrs.field(factory=dict)
    #: entity -> the object that attached the plugin to it
    referrers: dict[Ent, ObjectRef] = attrs.field(factory=dict)


class _View:
    """Snapshot reads with class filtering of KongConsumer/KongConsumerGroup/KongClusterPlugin."""

    __slots__ = ("_classless_ok", "_ours", "snap")

    def __init__(self, snap: Snapshot, ours: str, classless_ok: bool) -> None:
        self.snap = snap
        self._ours = ours
        self._classless_ok = classless_ok

    def accepted(self, kind: str, obj: Any) -> bool:
        cls = ingress_class_of(obj) if kind == "Ingress" else class_annotation_of(obj)
        return cls == self._ours if cls is not None else self._classless_ok

    def get(self, kind: str, namespace: str, name: str) -> Any:
        obj = self.snap.get(kind, namespace, name)
        if obj is not None and kind in _CLASSED and not self.accepted(kind, obj):
            return None
        return obj

    def endpoint_slices(self, namespace: str, service: str) -> Any:
        return self.snap.endpoint_slices(namespace, service)


class _SnapView:
    """A snapshot as a ``GatewayView`` (``get`` + ``snap``), for reads recorded elsewhere."""

    __slots__ = ("snap",)

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap

    def get(self, kind: str, namespace: str, name: str) -> Any:
        return self.snap.get(kind, namespace, name)


class _Deps:
    """Reverse index: input key -> the units that read it."""

    def __init__(self) -> None:
        self.readers: dict[Dep, set[Unit]] = {}
        self.reads: dict[Unit, frozenset[Dep]] = {}

    def set(self, unit: Unit, deps: frozenset[Dep]) -> None:
        old = self.reads.get(unit)
        if old is None:
            if deps:
                readers = self.readers
                for d in deps:
                    r = readers.get(d)
                    if r is None:
                        readers[d] = {unit}
                    else:
                        r.add(unit)
                self.reads[unit] = deps
            return
        if old == deps:
            return
        for d in old - deps:
            s = self.readers.get(d)
            if s is not None:
                s.discard(unit)
                if not s:
                    del self.readers[d]
        for d in deps - old:
            self.readers.setdefault(d, set()).add(unit)
        if deps:
            self.reads[unit] = deps
        else:
            self.reads.pop(unit, None)

    def units(self, dep: Dep) -> Iterable[Unit]:
        return tuple(self.readers.get(dep, ()))


class _State:
    """Everything the translator remembers between two translations."""

    def __init__(self) -> None:
        self.snap: Snapshot | None = None
        self.ctx: tuple[Any, ...] | None = None
        self.frags = BlockingFragments()
        self.deps = _Deps()
        self.failures: dict[Unit, tuple[Failure, ...]] = {}
        self.configured: dict[Unit, tuple[ObjectRef, ...]] = {}
        self.conf_count: dict[ObjectRef, int] = {}
        # ingresses
        self.ing: dict[Key, IngressOut] = {}
        self.order: list[tuple[str, str, str]] = []  # (created, ns, name)
        self.default: RouteOut | None = None
        # TCPIngress/UDPIngress: (kind, ns, name) -> its stream routes
        self.stream: dict[tuple[str, str, str], StreamOut] = {}
        # GRPCRoute/TCPRoute/UDPRoute/TLSRoute (``_gwl4grpc_stage``)
        self.gw_l4grpc = GwRouteState()
        # BackendTLSPolicies with a status unit
        self.btls_units: set[Key] = set()
        # Gateway API routes: (kind, ns, name) -> what the route made
        self.gw: dict[tuple[str, str, str], GwRouteOut] = {}
        # expressions router: base priority -> {(route key, Kong route name): (order, route
        # dict, Kong service)}: equal priorities get relative-order bits across all routes
        self.gw_prio: dict[int, _PrioGroup] = {}
        # kong services
        self.svc_routes: dict[str, dict[str, RouteOut]] = {}
        # Kong route name -> Ingresses making it (names join parts with "." and can collide)
        self.route_names: dict[str, dict[Key, tuple[tuple[str, str, str], RouteOut]]] = {}
        # Kong route name -> the route that holds it (the one in ``svc_routes``)
        self.route_won: dict[str, RouteOut] = {}
        self.svc_backend: dict[str, tuple[Backend, ...]] = {}
        # kong service -> (client-cert Secret, its Service): all the certificates stage needs
        # (the serialised entities live in ``frags``; the dicts are not kept)
        self.svc: dict[str, tuple[Key | None, ObjectRef | None]] = {}
        # plugins: plugin key -> {(kind, identifier, referrer): True}
        #: plugin -> its relations, each with how many units hold it: two units can hold the
        #: same one (a rule's route and a default backend's route of one name, while the
        #: change that moves the name between Kong services is applied), and one giving it up
        #: must not take it from the other (the plugin would stop blocking a route it guards).
        self.rels: dict[Key, dict[tuple[str, str, ObjectRef], int]] = {}
        self.rels_of: dict[Unit, list[tuple[Key, tuple[str, str, ObjectRef]]]] = {}
        # consumers
        self.cons: dict[Key, ConsumerOut] = {}
        self.unique: dict[tuple[str, str], dict[tuple[Key, ObjectRef], bool]] = {}
        self.groups: dict[Key, str] = {}
        self.group_names: dict[str, dict[Key, tuple[str, str, str]]] = {}
        self.group_won: dict[Key, bool] = {}
        # plugins: what each referenced plugin makes, and who holds each (name, scope)
        self.plugin_out: dict[Key, _PluginOut] = {}
        self.plugin_scopes: dict[tuple[Any, ...], dict[Key, tuple[str, ...]]] = {}
        # fail closed: what each plugin fails for, and who blocks each entity
        self.plugin_blocks: dict[Key, dict[Ent, tuple[ObjectRef, str]]] = {}
        self.blockers: dict[Ent, dict[Key, tuple[ObjectRef, str]]] = {}
        # ("username"|"custom_id", value) -> consumers using it: Kong wants them unique
        self.idents: dict[tuple[str, str], dict[Key, tuple[str, str, str]]] = {}
        self.ca_secrets: set[Key] = set()
        # custom entities: entity -> its parent's plugin key, and the reverse index
        self.kce_parent: dict[Key, Key] = {}
        self.kce_by_plugin: dict[Key, set[Key]] = {}
        self.parse_failures: dict[tuple[str, str, str], tuple[Failure, ...]] = {}
        # outputs, rebuilt only when their inputs changed
        self.failures_changed = True
        self.configured_changed = True
        self.out_failures: tuple[Failure, ...] | None = None
        self.failed: frozenset[ObjectRef] = frozenset()
        self.out_configured: frozenset[ObjectRef] | None = None
        self.out_status: Mapping[ObjectRef, ObjectStatus] = NO_STATUS
        #: status decided by units (``UnitOut.status``), merged over the kind defaults
        self.unit_status: dict[Unit, Mapping[ObjectRef, ObjectStatus]] = {}
        #: per object: the units deciding its status, and the merged result (last unit in
        #: ``repr`` order wins), kept incrementally so one change never re-sorts every unit
        self.status_of: dict[ObjectRef, dict[Unit, ObjectStatus]] = {}
        self.status_merged: dict[ObjectRef, ObjectStatus] = {}
        # Gateway API: route -> {gateway key: attached listener names}; gateway -> listener ->
        # attached route count (attachedRoutes, kept incrementally from dirty routes only)
        self.gw_attached: dict[tuple[str, str, str], dict[Key, tuple[str, ...]]] = {}
        self.gw_counts: dict[Key, dict[str, int]] = {}
        # Gateway listener certificates: gateway -> ((created, ns, name), gateway ref, claims)
        self.gw_tls: dict[Key, tuple[tuple[str, str, str], ObjectRef, tuple[Any, ...]]] = {}
        # unmanaged Gateways' listener readiness (before the route stages): key -> (Gateway, states)
        self.gw_ready: dict[Key, tuple[Any, Mapping[str, Any]]] = {}


@attrs.define(slots=True, eq=False)
class _Dirty:
    """What one translation must recompute: filled by the change handlers and by the stages.

    Every unit records its dependencies the same way (``_Deps.set``); :meth:`mark` turns a
    changed input into the units that read it, by the unit key's type.
    """

    readers: dict[Dep, set[Unit]]
    ing: set[Key] = attrs.field(factory=set)
    svc: set[str] = attrs.field(factory=set)
    plugins: set[Key] = attrs.field(factory=set)
    cons: set[Key] = attrs.field(factory=set)
    groups: set[Key] = attrs.field(factory=set)
    #: TCPIngress/UDPIngress objects: (kind, namespace, name)
    stream: set[tuple[str, str, str]] = attrs.field(factory=set)
    #: GRPCRoute/TCPRoute/UDPRoute/TLSRoute objects: (kind, namespace, name)
    gw_l4grpc: set[tuple[str, str, str]] = attrs.field(factory=set)
    #: some BackendTLSPolicy changed (their status is recomputed)
    btls: bool = False
    #: Gateway API routes: (kind, namespace, name)
    gw: set[tuple[str, str, str]] = attrs.field(factory=set)
    #: Gateway status units (namespace, name) and GatewayClass status units (name)
    gateways: set[Key] = attrs.field(factory=set)
    gclasses: set[str] = attrs.field(factory=set)
    #: Kong route names whose holders changed (arbitrated after the Ingress stage).
    names: set[str] = attrs.field(factory=set)
    global_: bool = False
    certs: bool = False
    ca: bool = False
    custom: set[Key] = attrs.field(factory=set)
    vaults: bool = False
    #: The Ingress order (oldest first) changed / some Ingress's default backend changed.
    order: bool = False
    default: bool = False

    def mark(self, dep: Dep) -> None:
        readers = self.readers.get(dep)
        if not readers:
            return
        for unit in tuple(readers):
            # only these stages record dependencies on objects (``_Deps.set``)
            if isinstance(unit, ServiceUnit):
                self.svc.add(unit.name)
            elif isinstance(unit, PluginUnit):
                self.plugins.add(unit.key)
            elif isinstance(unit, ConsumerUnit):
                self.cons.add(unit.key)
            elif isinstance(unit, GlobalPluginsUnit):
                self.global_ = True
            elif isinstance(unit, CertificatesUnit):
                self.certs = True
            elif isinstance(unit, CustomEntityUnit):
                self.custom.add(unit.key)
            elif isinstance(unit, GatewayRouteUnit | GatewayAttachUnit):
                if unit.key[0] == "HTTPRoute":
                    self.gw.add(unit.key)
                else:
                    self.gw_l4grpc.add(unit.key)
            elif isinstance(unit, GatewayUnit):
                self.gateways.add(unit.key)
            elif isinstance(unit, GatewayClassUnit):
                self.gclasses.add(unit.name)
            else:  # pragma: no cover - a stage recorded dependencies nobody follows
                raise TypeError(f"unit {unit!r} has dependencies but no dirty set")


# --- change handlers: one per registered kind -------------------------------------------------
# ``(state, previous snapshot, dirty, kind, namespace, name, new model or None)``: say what a
# change of one object dirties. A kind without a handler is an error (see TRANSLATED_KINDS).

OnChange = Callable[[_State, Snapshot | None, _Dirty, str, str, str, Any], None]


def _on_ingress(
    st: _State, prev: Snapshot | None, d: _Dirty, kind: str, ns: str, name: str, obj: Any
) -> None:
    d.ing.add((ns, name))


def _on_consumer(
    st: _State, prev: Snapshot | None, d: _Dirty, kind: str, ns: str, name: str, obj: Any
) -> None:
    d.cons.add((ns, name))


def _on_consumer_group(
    st: _State, prev: Snapshot | None, d: _Dirty, kind: str, ns: str, name: str, obj: Any
) -> None:
    d.groups.add((ns, name))
    d.mark((kind, ns, name))


def _on_plugin(
    st: _State, prev: Snapshot | None, d: _Dirty, kind: str, ns: str, name: str, obj: Any
) -> None:
    d.plugins.add((ns, name))
    d.mark((kind, ns, name))


def _on_cluster_plugin(
    st: _State, prev: Snapshot | None, d: _Dirty, kind: str, ns: str, name: str, obj: Any
) -> None:
    d.global_ = True
    d.mark((kind, ns, name))


def _on_secret(
    st: _State, prev: Snapshot | None, d: _Dirty, kind: str, ns: str, name: str, obj: Any
) -> None:
    d.mark((kind, ns, name))
    old = prev.get(kind, ns, name) if prev is not None else None
    labelled = any(o is not None and o.labels.get(CA_CERT_LABEL) == "true" for o in (old, obj))
    if labelled:
        d.ca = True
        if obj is not None and obj.labels.get(CA_CERT_LABEL) == "true":
            st.ca_secrets.add((ns, name))
        else:
            st.ca_secrets.discard((ns, name))


def _on_endpoint_slice(
    st: _State, prev: Snapshot | None, d: _Dirty, kind: str, ns: str, name: str, obj: Any
) -> None:
    old = prev.get(kind, ns, name) if prev is not None else None
    for o in (old, obj):
        service_name = getattr(o, "service_name", None)  # None if unparsed
        if service_name:
            d.mark(("eps", ns, service_name))


def _on_stream(
    st: _State, prev: Snapshot | None, d: _Dirty, kind: str, ns: str, name: str, obj: Any
) -> None:
    d.stream.add((kind, ns, name))


def _on_gw_l4grpc(
    st: _State, prev: Snapshot | None, d: _Dirty, kind: str, ns: str, name: str, obj: Any
) -> None:
    """GRPCRoute/TCPRoute/UDPRoute/TLSRoute: its own unit (and whatever else read it)."""
    d.gw_l4grpc.add((kind, ns, name))
    d.mark((kind, ns, name))


def _on_gw_route(
    st: _State, prev: Snapshot | None, d: _Dirty, kind: str, ns: str, name: str, obj: Any
) -> None:
    """A Gateway API route: its own unit (the route stage dispatches per kind)."""
    d.gw.add((kind, ns, name))
    d.mark((kind, ns, name))


def _on_gateway(
    st: _State, prev: Snapshot | None, d: _Dirty, kind: str, ns: str, name: str, obj: Any
) -> None:
    """A Gateway: its status unit and the routes (and certificates) that read it."""
    d.gateways.add((ns, name))
    d.mark((kind, ns, name))


def _on_gatewayclass(
    st: _State, prev: Snapshot | None, d: _Dirty, kind: str, ns: str, name: str, obj: Any
) -> None:
    """A GatewayClass: its status unit, and the Gateways and routes that read it."""
    d.gclasses.add(name)
    d.mark((kind, ns, name))


def _on_namespaced_read(
    st: _State, prev: Snapshot | None, d: _Dirty, kind: str, ns: str, name: str, obj: Any
) -> None:
    """A kind read by name and as "all of them in a namespace" (ReferenceGrant)."""
    d.mark((kind, ns, name))
    d.mark((kind, ns, ANY))


def _on_backend_tls_policy(
    st: _State, prev: Snapshot | None, d: _Dirty, kind: str, ns: str, name: str, obj: Any
) -> None:
    """A BackendTLSPolicy: the Kong services that asked "any policy in ``ns``?" and the
    policies' status."""
    d.mark((kind, ns, name))
    d.mark((kind, ns, ""))
    d.btls = True


def _on_read(
    st: _State, prev: Snapshot | None, d: _Dirty, kind: str, ns: str, name: str, obj: Any
) -> None:
    """A kind only read by units (Service, KongUpstreamPolicy): dirty its readers."""
    d.mark((kind, ns, name))


def _on_context(
    st: _State, prev: Snapshot | None, d: _Dirty, kind: str, ns: str, name: str, obj: Any
) -> None:
    """Read only through ``Translator._context``: a change that alters the class-wide context
    makes a new one, hence a full translation; any other change is a no-op."""


def _on_custom_entity(
    st: _State, prev: Snapshot | None, d: _Dirty, kind: str, ns: str, name: str, obj: Any
) -> None:
    d.custom.add((ns, name))


def _on_vault(
    st: _State, prev: Snapshot | None, d: _Dirty, kind: str, ns: str, name: str, obj: Any
) -> None:
    d.vaults = True


_ON_CHANGE: Mapping[str, OnChange] = {
    "Ingress": _on_ingress,
    "IngressClass": _on_context,
    "IngressClassParameters": _on_context,
    "Service": _on_read,
    "EndpointSlice": _on_endpoint_slice,
    "Secret": _on_secret,
    "KongPlugin": _on_plugin,
    "KongClusterPlugin": _on_cluster_plugin,
    "KongConsumer": _on_consumer,
    "KongConsumerGroup": _on_consumer_group,
    "KongUpstreamPolicy": _on_read,
    "KongCustomEntity": _on_custom_entity,
    "KongVault": _on_vault,
    "KongServiceFacade": _on_read,  # read by the Kong services of the Ingresses using it
    "KongIngress": _on_read,  # read by the Kong services of Services naming it
    "TCPIngress": _on_stream,
    "UDPIngress": _on_stream,
    # Gateway API: read by the units that consumed them (route, gateway-status and certificate
    # units record ``(kind, ns, name)`` dependencies); the route stages add their own sets.
    "GatewayClass": _on_gatewayclass,
    "Gateway": _on_gateway,
    "HTTPRoute": _on_gw_route,
    "GRPCRoute": _on_gw_l4grpc,
    "TCPRoute": _on_gw_l4grpc,
    "UDPRoute": _on_gw_l4grpc,
    "TLSRoute": _on_gw_l4grpc,
    "ReferenceGrant": _on_namespaced_read,
    "Namespace": _on_read,  # read by route units whose listeners select namespaces
    "BackendTLSPolicy": _on_backend_tls_policy,
}
#: Suffix of UDPIngress Kong service names (``translator/_stream.py``).
_UDP = ".udp"
#: The kinds the translator handles. Every registered kind must be here (checked at import and
#: by tests/unit/translator/test_kind_registry.py): a kind the translator does not handle is
#: an error at start-up, never silently dropped.
TRANSLATED_KINDS = frozenset(_ON_CHANGE)
if set(SPECS) != TRANSLATED_KINDS:  # pragma: no cover - a registry/translator mismatch
    raise RuntimeError(
        "kinds registered but not translated: "
        f"{sorted(set(SPECS) - TRANSLATED_KINDS)}; translated but not registered: "
        f"{sorted(TRANSLATED_KINDS - set(SPECS))}"
    )


#: kind -> (status when configured, status when it failed), for kinds that get a status.
#: Gateway API kinds compute richer conditions in their own stage; Ingress only needs these.
_STATUS_OF: Mapping[str, tuple[ObjectStatus, ObjectStatus]] = {
    "Ingress": (
        INGRESS_PROGRAMMED,
        ObjectStatus(conditions=(Condition("Programmed", "False", "TranslationFailed"),)),
    ),
    # Kong's kinds of issue 16: upstream's Programmed condition (models/_status.py)
    **dict.fromkeys(sorted(CONDITIONED_KINDS), (KONG_PROGRAMMED, KONG_INVALID)),
}


def _object_status(
    configured: frozenset[ObjectRef],
    failed: frozenset[ObjectRef],
    by_units: Mapping[ObjectRef, ObjectStatus] | None = None,
) -> Mapping[ObjectRef, ObjectStatus]:
    """The status of every configured or failed object of a kind in :data:`_STATUS_OF`, then
    what units decided themselves (``UnitOut.status`` merged per object: ``_State.status_merged``).

    Rebuilt only when the configured set changes (never on a plain EndpointSlice change).
    """
    out: dict[ObjectRef, ObjectStatus] = {}
    table = _STATUS_OF
    for refs, i in ((configured, 0), (failed, 1)):
        for r in refs:
            pair = table.get(r.kind)
            if pair is not None:
                out[r] = pair[i]
    if by_units:
        out.update(by_units)
    return out


def _failure_order(f: Failure) -> tuple[str, ...]:
    """attrs' order of a Failure, as one plain tuple compared in C.

    Sorting with attrs' generated ``__lt__`` builds tuples per comparison: with ~10k failures
    (start-up at 10k sets, before every Secret has arrived) that sort took ~40% of the
    controller's CPU, re-done on every translation. Same order: (obj fields, field, reason).
    """
    o = f.obj
    return (o.kind, o.namespace, o.name, o.uid, o.group, o.version, f.field, f.reason)


class Translator:
    """Translates store snapshots; keeps caches so that the next translation is incremental.

    ``translate(snapshot)`` translates everything; ``translate(snapshot, changed)`` with the
    ``(kind, namespace, name)`` of every object changed since the previous call reuses all the
    rest (``Store.take_changes()`` gives exactly that set). Same snapshot, same bytes.
    """

    def __init__(self, options: TranslatorOptions | None = None) -> None:
        self.options = options or TranslatorOptions()
        self._checker = KeyPairChecker()
        self._st = _State()
        self._last: TranslationResult | None = None
        #: (snapshot, listener check) of the current translation: listener readiness of a
        #: Gateway is computed once per snapshot, not once per route attached to it
        self._gw_check: tuple[Any, Any] | None = None

    # --- public ---------------------------------------------------------------------------

    def translate(
        self, snapshot: Snapshot, changed: Iterable[tuple[str, str, str]] | None = None
    ) -> TranslationResult:
        # The cyclic GC is process-wide state, and the controller translates in a worker thread:
        # pausing it here would pause it for every thread. The program decides instead
        # (``kic_trio._standalone``, ``kic-trio translate``: paused around the big translation).
        try:
            result = self._translate(snapshot, changed)
        except Exception:
            # the unit guards make this a bug of ours, not of an object: the incremental
            # state may be half-updated, so start again from nothing (a full translation)
            self._st = _State()
            try:
                result = self._translate(snapshot, None)
            except Exception:
                self._st = _State()
                if self._last is None:
                    raise
                # never raise out of the controller's loop: keep serving the last result
                return self._last
        self._last = result
        return result

    def _translate(
        self, snapshot: Snapshot, changed: Iterable[tuple[str, str, str]] | None
    ) -> TranslationResult:
        st = self._st
        ctx = self._context(snapshot)
        if changed is None or st.snap is None or ctx != st.ctx:
            st = self._st = _State()
            st.ctx = ctx
            changes: Iterable[tuple[str, str, str, Any]] = [
                (kind, ns, name, m)
                for kind in snapshot.kinds()
                for (ns, name), m in snapshot.map(kind).items()
            ]
        else:
            changes = [(k, ns, n, snapshot.get(k, ns, n)) for k, ns, n in changed]
        prev = st.snap
        st.snap = snapshot
        view = _View(snapshot, self.options.ingress_class, bool(ctx[0]))
        self._apply(st, view, prev, changes)
        body, sha, empty = st.frags.assemble()
        if st.failures_changed or st.out_failures is None:
            failures = [f for fs in st.failures.values() for f in fs]
            failures.extend(f for fs in st.parse_failures.values() for f in fs)
            st.out_failures = tuple(sorted(set(failures), key=_failure_order))
            st.failed = frozenset(f.obj for f in st.out_failures)
            st.configured_changed = True
        if st.configured_changed or st.out_configured is None:
            st.out_configured = frozenset(st.conf_count) - st.failed
            st.out_status = _object_status(st.out_configured, st.failed, st.status_merged)
        st.failures_changed = st.configured_changed = False
        return TranslationResult(
            body=body,
            sha=sha,
            failures=st.out_failures,
            configured=st.out_configured,
            empty=empty,
            status=st.out_status,
            parts=st.frags.parts(),
        )

    def bookkeeping(self) -> dict[str, int]:
        """Entries in each of the translator's caches and indexes (counts, not bytes).

        Each must be bounded by what the last snapshot holds: after an object is created,
        changed and deleted again, every count is back where it was
        (``tests/unit/test_churn_bookkeeping.py``). When chasing memory growth, compare two
        calls: a count that only rises is the leak.
        """
        st = self._st
        out: dict[str, int] = {}
        for name, value in vars(st).items():
            if isinstance(value, (dict, set, frozenset, list, tuple)):
                out[name] = len(value)
        out["deps.readers"] = len(st.deps.readers)
        out["deps.reads"] = len(st.deps.reads)
        frags = st.frags
        for list_name, lst in frags.lists.items():
            out[f"frags.{list_name}"] = len(lst)
        for name, value in vars(frags).items():
            if isinstance(value, (dict, set, list)) and name != "lists":
                out[f"frags.{name.lstrip('_')}"] = len(value)
        return out

    # --- context --------------------------------------------------------------------------

    def _context(self, snap: Snapshot) -> tuple[Any, ...]:
        """Class-wide settings: default class?, legacy regex, service-upstream (from ICP)."""
        ic: IngressClass | None = snap.get("IngressClass", "", self.options.ingress_class)
        if not isinstance(ic, IngressClass):  # absent, or could not be parsed (its own failure)
            ic = None
        classless_ok = bool(ic is not None and ic.is_default)
        legacy = self.options.default_legacy_regex_detection
        service_upstream = False
        if ic is not None and ic.parameters is not None:
            p = ic.parameters
            if p.kind == "IngressClassParameters" and p.api_group == "configuration.konghq.com":
                icp = snap.get("IngressClassParameters", p.namespace, p.name)
                if isinstance(icp, IngressClassParameters):
                    legacy = icp.enable_legacy_regex_detection
                    service_upstream = icp.service_upstream
        return (classless_ok, legacy, service_upstream)

    # --- bookkeeping ----------------------------------------------------------------------

    @staticmethod
    def _set_failures(st: _State, unit: Unit, failures: Iterable[Failure]) -> None:
        fs = tuple(failures)
        if st.failures.get(unit, ()) == fs:
            return
        st.failures_changed = True
        if fs:
            st.failures[unit] = fs
        else:
            st.failures.pop(unit, None)

    @staticmethod
    def _set_configured(st: _State, unit: Unit, refs: Iterable[ObjectRef]) -> None:
        new = tuple(refs)
        old = st.configured.get(unit, ())
        if new == old:
            return
        counts = st.conf_count
        for r in old:
            n = counts[r] - 1
            if n:
                counts[r] = n
            else:
                del counts[r]
                st.configured_changed = True
        for r in new:
            n = counts.get(r, 0)
            if not n:
                st.configured_changed = True
            counts[r] = n + 1
        if new:
            st.configured[unit] = new
        else:
            st.configured.pop(unit, None)

    @staticmethod
    def _set_rels(
        st: _State,
        unit: Unit,
        rels: list[tuple[Key, tuple[str, str, ObjectRef]]],
        dirty_plugins: set[Key],
    ) -> None:
        old = st.rels_of.get(unit, [])
        if old == rels:
            return
        for pkey, rel in old:
            d = st.rels.get(pkey)
            if d is not None and rel in d:
                d[rel] -= 1
                if d[rel] <= 0:
                    del d[rel]
                if not d:
                    del st.rels[pkey]
            dirty_plugins.add(pkey)
        for pkey, rel in rels:
            d = st.rels.setdefault(pkey, {})
            d[rel] = d.get(rel, 0) + 1
            dirty_plugins.add(pkey)
        if rels:
            st.rels_of[unit] = rels
        else:
            st.rels_of.pop(unit, None)

    @staticmethod
    def _plugin_rels(
        refs: Iterable[tuple[str, str]],
        kind: str,
        identifier: str,
        referrer: ObjectRef,
        failures: list[Failure],
    ) -> list[tuple[Key, tuple[str, str, ObjectRef]]]:
        out = []
        for ns, name in refs:
            if ns != referrer.namespace:
                failures.append(
                    Failure(
                        referrer,
                        "metadata.annotations.konghq.com/plugins",
                        f"no grant found to reference KongPlugin {ns}/{name}: "
                        "cross-namespace plugin references are not supported",
                    )
                )
                # Fail closed: the reference still goes to a plugin unit, one that never
                # resolves, so what asked for the plugin is left out instead of being served
                # without it (upstream serves it without the plugin).
                out.append(((_NO_GRANT + ns, name), (kind, identifier, referrer)))
                continue
            out.append(((ns, name), (kind, identifier, referrer)))
        return out

    # --- the pipeline ---------------------------------------------------------------------

    def _route_names(self, st: _State, names: Iterable[str], dirty_svc: set[str]) -> None:
        """One Kong route per route name: the oldest Ingress keeps it, the others fail.

        Route names (and the IDs derived from them) join namespace, Ingress, Service, host
        and port with ``.``, and Ingress names and hosts contain dots: Ingress ``a.x`` ->
        Service ``s`` on host ``h`` and Ingress ``a`` -> Service ``x`` on host ``s.h`` both
        make ``ns.a.x.s.h.80``. Kong refuses a duplicate name (the whole configuration), so
        the oldest Ingress (creationTimestamp, then namespace/name, as the other duplicate
        rules) keeps the route and the others get a failure (hence a Warning Event).
        """
        for name in names:
            if st.default is not None and st.default.name == name:
                dirty_svc.add(st.default.service)  # it may clash, or stop clashing
            holders = st.route_names.get(name)
            if not holders:
                st.route_names.pop(name, None)
                holders = {}
            owner = min(holders.values(), key=lambda h: h[0]) if holders else None
            prev = st.route_won.pop(name, None)
            if prev is not None and (owner is None or owner[1] is not prev):
                routes = st.svc_routes.get(prev.service)
                if routes is not None and routes.get(name) is prev:
                    del routes[name]
                    if not routes:
                        del st.svc_routes[prev.service]
                dirty_svc.add(prev.service)
            failures = []
            if owner is not None:
                r = owner[1]
                st.route_won[name] = r
                st.svc_routes.setdefault(r.service, {})[name] = r
                st.svc_backend[r.service] = r.backends
                dirty_svc.add(r.service)
                _, ons, oname = owner[0]
                for _order, loser in holders.values():
                    if loser is not r:
                        failures.append(
                            Failure(
                                loser.ingress,
                                "metadata.name",
                                f"Kong route name {name!r} is already made by the older "
                                f"{r.ingress.kind} {ons}/{oname} (names are joined with '.'); "
                                "route left out",
                            )
                        )
            self._set_failures(st, RouteNameUnit(name), sorted(failures, key=_failure_order))

    def _apply(
        self,
        st: _State,
        view: _View,
        prev: Snapshot | None,
        changes: Iterable[tuple[str, str, str, Any]],
    ) -> None:
        """Mark what the changes dirty (per kind: ``_ON_CHANGE``), then run every stage in order.

        Stages are declared once (``_STAGES``); each recomputes only its dirty units and marks
        the units its output feeds (an Ingress's routes feed Kong services, services feed
        plugins...), so a later stage sees everything an earlier one dirtied.
        """
        d = _Dirty(st.deps.readers)
        parse_failures = st.parse_failures
        for kind, ns, name, obj in changes:
            fk = (kind, ns, name)
            if obj is not None and obj.failures:
                parse_failures[fk] = obj.failures
                st.failures_changed = True
            elif parse_failures.pop(fk, None) is not None:
                st.failures_changed = True
            on_change = _ON_CHANGE.get(kind)
            if on_change is None:
                raise UnknownKindError(kind)  # a bug of ours: see TRANSLATED_KINDS
            on_change(st, prev, d, kind, ns, name, obj)
        for stage in _STAGES:
            stage(self, st, view, d)

    def _stage_ingresses(self, st: _State, view: _View, d: _Dirty) -> None:
        """1. Ingresses -> routes per Kong service, TLS claims, default backends."""
        opts = self.options
        snap = view.snap
        bulk = not st.ing  # first translation: sort the order once at the end
        for key in d.ing:
            ing = snap.get("Ingress", *key)
            old = st.ing.pop(key, None)
            new = None
            if ing is not None and view.accepted("Ingress", ing):
                try:
                    new = translate_ingress(
                        ing,
                        legacy_regex=bool(st.ctx[1]) if st.ctx else False,
                        regex_prefix=opts.regex_path_prefix,
                        fill_ids=opts.fill_ids,
                        rewrite_uris=opts.rewrite_uris,
                        expressions=opts.router_flavor == "expressions",
                        facades=opts.kong_service_facade,
                    )
                except Exception as exc:  # unit guard: this Ingress only
                    new = IngressOut(
                        ref=ing.ref, created=str(ing.created), failures=(_crashed(ing.ref, exc),)
                    )
                st.ing[key] = new
            unit: Unit = IngressUnit(key)
            if old is not None:
                for r in old.routes:
                    st.route_names.get(r.name, {}).pop(key, None)
                    d.names.add(r.name)
            if new is not None:
                for r in new.routes:
                    st.route_names.setdefault(r.name, {})[key] = ((new.created, *key), r)
                    d.names.add(r.name)
            old_order = (old.created, *key) if old is not None else None
            new_order = (new.created, *key) if new is not None else None
            if old_order != new_order:
                d.order = True
                if old_order is not None:
                    i = bisect.bisect_left(st.order, old_order)
                    if i < len(st.order) and st.order[i] == old_order:
                        del st.order[i]
                if new_order is not None:
                    if bulk:
                        st.order.append(new_order)
                    else:
                        bisect.insort(st.order, new_order)
            has_tls = (old is not None and bool(old.tls)) or (new is not None and bool(new.tls))
            if has_tls and (
                old is None or new is None or old.tls != new.tls or old_order != new_order
            ):
                d.certs = True
            if (old is not None and old.default) or (new is not None and new.default):
                d.default = True
            self._set_failures(st, unit, new.failures if new is not None else ())
            self._set_configured(st, unit, (new.ref,) if new is not None else ())

        if bulk:
            st.order.sort()
        self._route_names(st, d.names, d.svc)

    def _stage_default_backend(self, st: _State, view: _View, d: _Dirty) -> None:
        """2. the one default backend (oldest Ingress that has one)."""
        if d.default or (d.order and st.default is not None):
            chosen: RouteOut | None = None
            for _, ns, name in st.order:
                ing_out = st.ing[(ns, name)]
                if ing_out.default is not None:
                    chosen = ing_out.default
                    break
            if chosen is not st.default:
                for dr in (st.default, chosen):
                    if dr is not None:
                        d.svc.add(dr.service)
                        st.svc_backend.setdefault(dr.service, dr.backends)
                st.default = chosen

    def _stage_streams(self, st: _State, view: _View, d: _Dirty) -> None:
        """2b. TCPIngress/UDPIngress -> stream routes (route names arbitrated with Ingresses').

        Route names join parts with ``.`` like Ingress ones, so they share the arbitration
        (the oldest object keeps a name); the service stage builds their Kong services.
        """
        if not d.stream:
            return
        opts = self.options
        names: set[str] = set()
        for fk in d.stream:
            kind, ns, name = fk
            obj = view.snap.get(kind, ns, name)
            old = st.stream.pop(fk, None)
            new = None
            if isinstance(obj, TCPIngress | UDPIngress) and view.accepted(kind, obj):
                try:
                    new = translate_stream(
                        obj,
                        expressions=opts.router_flavor == "expressions",
                        fill_ids=opts.fill_ids,
                    )
                except Exception as exc:  # unit guard: this object only
                    new = StreamOut(obj.ref, str(obj.created), failures=(_crashed(obj.ref, exc),))
                st.stream[fk] = new
            holder: Key = (f"{kind} {ns}", name)  # never an Ingress key
            if old is not None:
                for r in old.routes:
                    st.route_names.get(r.name, {}).pop(holder, None)
                    names.add(r.name)
            if new is not None:
                for r in new.routes:
                    st.route_names.setdefault(r.name, {})[holder] = ((new.created, ns, name), r)
                    names.add(r.name)
            if (old.tls if old is not None else ()) != (new.tls if new is not None else ()):
                d.certs = True
            elif old is not None and new is not None and new.tls and old.created != new.created:
                d.certs = True  # its place among the claimants changed
            unit = StreamUnit(fk)
            self._set_failures(st, unit, new.failures if new is not None else ())
            self._set_configured(st, unit, (new.ref,) if new is not None else ())
        self._route_names(st, names, d.svc)

    def _stage_gw_l4grpc(self, st: _State, view: _View, d: _Dirty) -> None:
        """2c. GRPCRoute, TCPRoute, UDPRoute, TLSRoute: one unit per route (``_gwl4grpc_stage``)."""
        if not d.gw_l4grpc:
            return
        opts = self.options
        stage_gw_l4grpc(
            st.gw_l4grpc,
            view.snap,
            d.gw_l4grpc,
            lambda unit, out, routes: self._record_gw_route(st, d, unit, out, routes),
            _crashed,
            expressions=opts.router_flavor == "expressions",
            fill_ids=opts.fill_ids,
            cluster_domain=opts.cluster_domain,
            drain=opts.enable_drain_support,
            attached=self._gw_attach(view) if opts.gateway_attachment else None,
            controller_name=opts.gateway_controller_name,
        )

    def _gw_attach(self, view: _View) -> Callable[[Any, set[Dep]], RouteAttachment | None]:
        """The controller's attachment of one route (``_gwattach.attach``), deps recorded."""

        def attached(route: Any, deps: set[Dep]) -> RouteAttachment | None:
            att = self.gateway_attachment(route, view)  # listener readiness as gw-core says
            deps.update(att.deps)
            return att

        return attached

    def _stage_backend_tls_policies(self, st: _State, view: _View, d: _Dirty) -> None:
        """BackendTLSPolicy status: one ancestor per Gateway that accepted an HTTPRoute whose
        backends include a target Service (upstream keeps a policy without ancestors out and
        writes nothing). Recomputed when a policy or an HTTPRoute changed, only while policies
        exist (they are few; the scan is over the HTTPRoute outputs kept in ``st.gw``)."""
        snap = view.snap
        if not (d.btls or (d.gw and snap.count("BackendTLSPolicy"))):
            return
        policies = [p for p in snap.list("BackendTLSPolicy") if isinstance(p, BackendTLSPolicy)]
        seen: set[Key] = set()
        for policy in policies:
            key = policy.ref.key
            seen.add(key)
            targets = {
                (key[0], t.name)
                for t in policy.target_refs
                if t.group in ("", "core") and t.kind == "Service"
            }
            ancestors: dict[ObjectRef, None] = {}
            for out in st.gw.values():
                if not any(
                    r.gw is not None
                    and any((b.namespace, b.service) in targets for b in r.gw.backends)
                    for r in out.routes
                ):
                    continue
                for status in out.status.values():
                    for parent in status.parents:
                        if any(
                            c.type == "Accepted" and c.status == "True" for c in parent.conditions
                        ):
                            ancestors[parent.gateway] = None
            try:
                status_map = policy_status(
                    policy, snap, tuple(ancestors), set(), self.options.gateway_controller_name
                )
                failures: tuple[Failure, ...] = ()
            except Exception as exc:  # unit guard: this policy only
                status_map, failures = {}, (_crashed(policy.ref, exc),)
            self._record(
                st,
                BackendTLSPolicyUnit(key),
                UnitOut(failures=failures, configured=tuple(status_map), status=status_map),
            )
        for key in st.btls_units - seen:
            self._record(st, BackendTLSPolicyUnit(key), UnitOut())
        st.btls_units = seen

    def _record_gw_route(
        self, st: _State, d: _Dirty, unit: Unit, out: UnitOut, routes: Sequence[RouteOut]
    ) -> None:
        """Store a Gateway API route unit and bind ``konghq.com/plugins`` to each Kong route."""
        failures = list(out.failures)
        rels: list[tuple[Key, tuple[str, str, ObjectRef]]] = []
        for r in routes:
            rels.extend(self._plugin_rels(r.plugins, "route", r.name, r.ingress, failures))
        if len(failures) != len(out.failures):
            out = attrs.evolve(out, failures=failures)
        self._record(st, unit, out)
        self._set_rels(st, unit, rels if out.entries else [], d.plugins)

    def _stage_gateway_routes(self, st: _State, view: _View, d: _Dirty) -> None:
        """2c. Gateway API routes -> Kong routes, per kind (:data:`_GW_ROUTES`), and status.

        Route names share the arbitration with Ingress and stream routes (the oldest object
        keeps a name); the service stage builds their Kong services from ``RouteOut.gw``.
        Each route unit records what it read (Gateways, Services, ReferenceGrants...).
        """
        if not d.gw:
            return
        names: set[str] = set()
        bases: set[int] = set()
        for fk in d.gw:
            kind, ns, name = fk
            obj = view.snap.get(kind, ns, name)
            old = st.gw.pop(fk, None)
            new: GwRouteOut | None = None
            deps: frozenset[Dep] = frozenset()
            translate = _GW_ROUTES.get(kind)
            if obj is not None and translate is not None:
                reads = Reads(view)
                try:
                    new = translate(self, obj, reads)
                except Exception as exc:  # unit guard: this route only
                    new = GwRouteOut(obj.ref, str(obj.created), failures=(_crashed(obj.ref, exc),))
                deps = frozenset(reads.deps)
            holder: Key = (f"{kind} {ns}", name)  # never an Ingress key
            if old is not None:
                for r in old.routes:
                    st.route_names.get(r.name, {}).pop(holder, None)
                    names.add(r.name)
                for base, order, route in old.priorities:
                    group = st.gw_prio.get(base)
                    if group is not None:
                        group.remove((*order, str(route["name"]), fk))
                        bases.add(base)
            if new is not None:
                st.gw[fk] = new
                for r in new.routes:
                    st.route_names.setdefault(r.name, {})[holder] = ((new.created, ns, name), r)
                    names.add(r.name)
                services = {r.name: r.service for r in new.routes}
                for base, order, route in new.priorities:
                    rname = str(route["name"])
                    if rname in services:
                        group = st.gw_prio.get(base)
                        if group is None:
                            group = st.gw_prio[base] = _PrioGroup()
                        group.add((*order, rname, fk), (route, services[rname]))
                        bases.add(base)
            self._record(
                st,
                GatewayRouteUnit(fk),
                UnitOut(
                    failures=new.failures if new is not None else (),
                    configured=(new.ref,) if new is not None and new.routes else (),
                    deps=deps,
                    status=new.status if new is not None else NO_STATUS,
                ),
            )
        self._route_names(st, names, d.svc)
        for base in bases:
            group = st.gw_prio.get(base)
            if group is None:
                continue
            if not group.keys:
                del st.gw_prio[base]
                continue
            group.settle(base, d.svc)

    def _gw_httproute(self, obj: Any, reads: Reads) -> GwRouteOut:
        if not isinstance(obj, HTTPRoute):
            return GwRouteOut(obj.ref, str(getattr(obj, "created", "")))
        opts = self.options
        att = self.gateway_attachment(obj, reads)
        reads.deps.update(att.deps)
        return translate_httproute(
            obj,
            att,
            reads,
            controller_name=opts.gateway_controller_name,
            expressions=opts.router_flavor == "expressions",
            fill_ids=opts.fill_ids,
        )

    def _stage_services(self, st: _State, view: _View, d: _Dirty) -> None:
        """3. Kong services (+ upstreams, targets)."""
        opts = self.options
        service_upstream = bool(st.ctx[2]) if st.ctx else False
        # A UDP service shares its upstream (same host) with the Kong service named without
        # ".udp", when that one exists: one unit holds the upstream, decided here. Units that
        # give it up run first, so the other never finds it still held.
        for name in [n for n in d.svc if n + _UDP in st.svc_routes]:
            d.svc.add(name + _UDP)
        shared = {n for n in d.svc if n.endswith(_UDP) and self._upstream_held_by_base(st, n)}
        for name in sorted(d.svc, key=lambda n: (n not in shared, n)):
            unit = ServiceUnit(name)
            routes_map = st.svc_routes.get(name)
            sroutes = [routes_map[k] for k in sorted(routes_map)] if routes_map else []
            clash: list[Failure] = []
            if st.default is not None and st.default.service == name:
                if st.default.name in st.route_won:
                    # an Ingress named like ``i.s.h.80`` makes its default route name clash
                    # with a rule's route: the rule's route keeps it
                    clash.append(
                        Failure(
                            st.default.ingress,
                            "spec.defaultBackend",
                            f"Kong route name {st.default.name!r} is already made by a rule "
                            "of an Ingress; default backend left out",
                        )
                    )
                else:
                    sroutes.append(st.default)
                    sroutes.sort(key=lambda x: x.name)
            old_svc = st.svc.pop(name, None)
            if not sroutes:
                st.frags.replace(unit, ())
                st.deps.set(unit, frozenset())
                self._set_failures(st, unit, clash)
                self._set_configured(st, unit, ())
                self._set_rels(st, unit, [], d.plugins)
                st.svc_backend.pop(name, None)
                if old_svc is not None and old_svc[0]:
                    d.certs = True
                continue
            gw = next((r.gw for r in sroutes if r.gw is not None), None)
            backends = st.svc_backend.get(name) or sroutes[0].backends
            service_args: dict[str, Any] = {
                "service_upstream": service_upstream,
                "cluster_domain": opts.cluster_domain,
                "drain": opts.enable_drain_support,
                "fill_ids": opts.fill_ids,
            }
            if gw is not None:  # a Gateway-API-owned Kong service
                sroutes = [r for r in sroutes if r.gw is not None]
                try:
                    sout = translate_gw_service(name, gw, sroutes, view.snap, **service_args)
                except Exception as exc:  # unit guard: this Kong service (and its routes) only
                    sout = _crashed_gw_service(name, gw, sroutes, view, exc)
            else:
                if backends[0].port == FACADE_PORT:  # read class-filtered, recorded by the unit
                    b0 = backends[0]
                    service_args["facade"] = view.get("KongServiceFacade", b0.namespace, b0.service)
                try:
                    sout = translate_service(name, backends, sroutes, view.snap, **service_args)
                except Exception as exc:  # unit guard: this Kong service (and its routes) only
                    sout = self._crashed_service(name, backends, sroutes, view, service_args, exc)
            svc_deps = sout.deps
            st.svc[name] = (sout.client_cert, sout.client_cert_parent)
            # a service dropped for konghq.com/rewrite takes its upstream along (as upstream)
            entries: list[tuple[str, Any, Any]] = (
                [("upstreams", sout.upstream["name"], sout.upstream)]
                if sout.service is not None and name not in shared
                else []
            )
            failures = [*sout.failures, *clash]
            rels: list[tuple[Key, tuple[str, str, ObjectRef]]] = []
            if sout.service is not None:
                entries.append(("services", name, sout.service))
                kept = {id(rt) for rt in sout.service["routes"]}
                for sr in sroutes:
                    if sr.plugins and id(sr.route) in kept:
                        rels.extend(
                            self._plugin_rels(sr.plugins, "route", sr.name, sr.ingress, failures)
                        )
                if sout.plugins:
                    k8s_ref = sout.configured[0]
                    rels.extend(self._plugin_rels(sout.plugins, "service", name, k8s_ref, failures))
            configured_s = sout.configured
            bad = self._emit(st, unit, entries, [*sout.configured, *(r.ingress for r in sroutes)])
            if bad and sout.service is not None:
                # isolate per route where possible: only the routes that cannot be serialised
                # (and their Ingresses) fail, the other Ingresses' routes still go out
                dropped = self._unserialisable_routes(sout.service, sroutes)
                if dropped:
                    drop = {id(sr.route) for sr, _ in dropped}
                    sout.service["routes"] = [
                        rt for rt in sout.service["routes"] if id(rt) not in drop
                    ]
                    rels = [
                        (pkey, rel)
                        for pkey, rel in rels
                        if not (rel[0] == "route" and any(rel[1] == sr.name for sr, _ in dropped))
                    ]
                    bad = self._emit(st, unit, entries, sout.configured)
                    failures.extend(_crashed(sr.ingress, exc) for sr, exc in dropped)
            if bad:
                failures.extend(bad)
                configured_s, rels = (), []
            st.deps.set(unit, svc_deps)
            self._set_failures(st, unit, dict.fromkeys(failures))
            self._set_configured(st, unit, configured_s)
            self._set_rels(st, unit, rels, d.plugins)
            if (old_svc or (None, None)) != st.svc[name]:
                d.certs = True

    @staticmethod
    def _upstream_held_by_base(st: _State, name: str) -> bool:
        """Whether the Kong service ``name`` minus ``.udp`` exists and emits the upstream both
        share (it does unless it has no routes, or ``konghq.com/rewrite`` dropped it)."""
        base = name[: -len(_UDP)]
        routes = st.svc_routes.get(base) or {}
        default = st.default is not None and st.default.service == base
        if any(r.stream for r in routes.values()):
            return True  # stream routes only: never dropped for a rewrite
        rules = [r for r in routes.values() if not r.default_backend]
        if not rules and not default:
            return False
        return default or not any(r.rewrite_error for r in rules)

    def _stage_consumer_groups(self, st: _State, view: _View, d: _Dirty) -> None:
        """4. consumer groups (names are cluster-wide in Kong: the oldest group keeps a name)."""
        opts = self.options
        touched_groups: set[Key] = set()
        for key in d.groups:
            old_name = st.groups.pop(key, None)
            group = view.get("KongConsumerGroup", *key)
            for gname, add in ((old_name, False), (group.ref.name if group else None, True)):
                if gname is None:
                    continue
                holders = st.group_names.setdefault(gname, {})
                if add and group is not None:
                    holders[key] = (group.created, *key)
                    st.groups[key] = gname
                else:
                    holders.pop(key, None)
                touched_groups.update(holders)
                touched_groups.add(key)
                if not holders:
                    del st.group_names[gname]
            touched_groups.add(key)
        for key in touched_groups:
            unit = ConsumerGroupUnit(key)
            held = st.groups.get(key)
            group = view.get("KongConsumerGroup", *key) if held is not None else None
            holders = st.group_names.get(held, {}) if held is not None else {}
            owner = min(holders.values()) if holders else None
            won = group is not None and owner is not None and owner[1:] == key
            entity = None
            crash: list[Failure] = []
            if won and group is not None:
                try:
                    entity = translate_consumer_group(group, opts.fill_ids)
                    dumps(entity)  # what cannot be serialised fails here, before membership
                except Exception as exc:  # unit guard: this group only
                    crash.append(_crashed(group.ref, exc))
                    won = False
            if won != st.group_won.get(key, False):
                # consumers of this group gain or lose their membership
                d.mark(("KongConsumerGroup", *key))
            if won:
                st.group_won[key] = True
            else:
                st.group_won.pop(key, None)
            if group is None or not won:
                st.frags.replace(unit, ())
                self._set_configured(st, unit, ())
                self._set_rels(st, unit, [], d.plugins)
                lost = (
                    [
                        Failure(
                            group.ref,
                            "metadata.name",
                            f"consumer group name {held!r} is already used by the older "
                            f"KongConsumerGroup {owner[1]}/{owner[2]}: Kong needs it unique",
                        )
                    ]
                    if group is not None and owner is not None and not crash
                    else crash
                )
                self._set_failures(st, unit, lost)
                continue
            assert entity is not None
            st.frags.replace(unit, [("consumer_groups", (entity["name"], *key), entity)])
            self._set_configured(st, unit, (group.ref,))
            failures_g: list[Failure] = []
            rels = self._plugin_rels(
                plugin_names(group), "consumer_group", entity["name"], group.ref, failures_g
            )
            self._set_rels(st, unit, rels, d.plugins)
            self._set_failures(st, unit, failures_g)

    def _stage_consumers(self, st: _State, view: _View, d: _Dirty) -> None:
        """5. consumers, with credential conflicts across consumers."""
        touched: set[Key] = set(d.cons)
        for key in d.cons:
            old_c = st.cons.pop(key, None)
            consumer = view.get("KongConsumer", *key)
            new_c = self._consumer(consumer, view) if consumer is not None else None
            if new_c is not None:
                st.cons[key] = new_c
            st.deps.set(ConsumerUnit(key), new_c.deps if new_c is not None else frozenset())
            for c, add in ((old_c, False), (new_c, True)):
                if c is None:
                    continue
                if c.consumer is not None:
                    for field in ("username", "custom_id"):
                        value = c.consumer.get(field)
                        if not value:
                            continue
                        users = st.idents.setdefault((field, value), {})
                        if add:
                            users[key] = (c.created, *key)
                        else:
                            users.pop(key, None)
                        touched.update(users)
                        if not users:
                            del st.idents[(field, value)]
                for index, value, secret_ref in c.unique_keys:
                    entry = st.unique.setdefault((index, value), {})
                    if add:
                        entry[(key, secret_ref)] = True
                    else:
                        entry.pop((key, secret_ref), None)
                    touched.update(k for k, _ in entry)
                    if not entry:
                        del st.unique[(index, value)]
        for key in touched:
            unit = ConsumerUnit(key)
            c = st.cons.get(key)
            if c is None or c.consumer is None:
                st.frags.replace(unit, ())
                self._set_configured(st, unit, ())
                self._set_rels(st, unit, [], d.plugins)
                self._set_failures(st, unit, c.failures if c is not None else ())
                continue
            failures = list(c.failures)
            taken = None
            for field in ("username", "custom_id"):
                value = c.consumer.get(field)
                users = st.idents.get((field, value), {}) if value else {}
                if len(users) > 1:
                    owner = min(users.values())
                    if owner[1:] != key:
                        taken = (field, value, owner)
                        break
            if taken is not None:
                field, value, owner = taken
                failures.append(
                    Failure(
                        c.ref,
                        "username" if field == "username" else "custom_id",
                        f"{field} {value!r} is already used by the older KongConsumer "
                        f"{owner[1]}/{owner[2]}: Kong needs it unique",
                    )
                )
                st.frags.replace(unit, ())
                self._set_configured(st, unit, ())
                self._set_rels(st, unit, [], d.plugins)
                self._set_failures(st, unit, failures)
                continue
            conflicts = []
            for index, value, secret_ref in c.unique_keys:
                entry = st.unique.get((index, value), {})
                if len(entry) > 1:
                    conflicts.append(index)
                    failures.append(
                        Failure(
                            secret_ref,
                            "",
                            f'Secret has conflicting credential: conflict detected in "{index}" index',
                        )
                    )
            if conflicts:
                failures.append(
                    Failure(
                        c.ref,
                        "",
                        f'Consumer has conflicting credentials: conflict detected in "{conflicts[0]}" index',
                    )
                )
                st.frags.replace(unit, ())
                self._set_configured(st, unit, ())
                self._set_rels(st, unit, [], d.plugins)
                self._set_failures(st, unit, failures)
                continue
            sort_key = (c.identifier, *key)
            entries: list[tuple[str, Any, Any]] = [("consumers", sort_key, c.consumer)]
            for g in c.groups:
                if not st.group_won.get((key[0], g)):
                    continue
                entries.append(
                    (
                        "consumer_group_consumers",
                        (g, c.identifier, *key),
                        {"consumer": c.identifier, "consumer_group": g},
                    )
                )
            bad = self._emit(st, unit, entries, [c.ref])
            if bad:
                self._set_configured(st, unit, ())
                self._set_rels(st, unit, [], d.plugins)
                self._set_failures(st, unit, [*failures, *bad])
                continue
            self._set_configured(st, unit, c.configured)
            if c.plugins and not c.consumer.get("username"):
                # Kong resolves a plugin's consumer by id or username, and a custom_id-only
                # consumer has neither (upstream attaches it anyway, and Kong then rejects
                # the whole configuration)
                failures.append(
                    Failure(
                        c.ref,
                        "metadata.annotations.konghq.com/plugins",
                        "plugins cannot be attached to a consumer without a username",
                    )
                )
                rels = []
            else:
                rels = self._plugin_rels(c.plugins, "consumer", c.identifier, c.ref, failures)
            self._set_rels(st, unit, rels, d.plugins)
            self._set_failures(st, unit, failures)

    def _stage_plugins(self, st: _State, view: _View, d: _Dirty) -> None:
        """6. plugins referenced by routes, services, consumers, groups."""
        if d.plugins:
            self._plugins(st, view, d.plugins)

    def _stage_global_plugins(self, st: _State, view: _View, d: _Dirty) -> None:
        """7. global KongClusterPlugins."""
        if d.global_:
            self._global_plugins(st, view)

    def _stage_certificates(self, st: _State, view: _View, d: _Dirty) -> None:
        """8. certificates."""
        if d.certs:
            self._certificates(st, view)

    def _stage_ca_certificates(self, st: _State, view: _View, d: _Dirty) -> None:
        """9. CA certificates."""
        if d.ca:
            self._ca_certificates(st, view)

    def _emit(
        self,
        st: _State,
        unit: Unit,
        entries: list[tuple[str, Any, Any]],
        refs: Iterable[ObjectRef],
    ) -> list[Failure]:
        """Store a unit's entities; if they cannot be serialised, store none (failures on refs)."""
        try:
            st.frags.replace(unit, entries)
        except Exception as exc:  # unit guard at serialisation: nothing of the unit goes out
            st.frags.replace(unit, ())
            return [_crashed(ref, exc) for ref in dict.fromkeys(refs)]
        return []

    @staticmethod
    def _unserialisable_routes(
        service: dict[str, Any], sroutes: list[RouteOut]
    ) -> list[tuple[RouteOut, Exception]]:
        """The routes of ``service`` that cannot be serialised (only on the failure path)."""
        kept = {id(rt) for rt in service["routes"]}
        out = []
        for sr in sroutes:
            if id(sr.route) not in kept:
                continue
            try:
                dumps(sr.route)
            except Exception as exc:
                out.append((sr, exc))
        return out

    def _consumer(self, consumer: Any, view: _View) -> ConsumerOut:
        """One KongConsumer, under a unit guard (a crash fails that consumer only)."""
        try:
            return translate_consumer(consumer, view, self.options.fill_ids)
        except Exception as exc:
            recorder = _Recorder(view)
            with contextlib.suppress(Exception):
                translate_consumer(consumer, recorder, self.options.fill_ids)
            ref = consumer.ref
            return ConsumerOut(
                ref=ref,
                created=str(getattr(consumer, "created", "")),
                consumer=None,
                identifier="",
                groups=(),
                plugins=(),
                unique_keys=(),
                failures=(_crashed(ref, exc),),
                configured=(),
                deps=frozenset(recorder.deps | {("KongConsumer", *ref.key)}),
            )

    def _crashed_service(
        self,
        name: str,
        backends: tuple[Backend, ...],
        sroutes: list[RouteOut],
        view: _View,
        args: dict[str, Any],
        exc: Exception,
    ) -> ServiceOut:
        """A Kong service whose translation raised: left out, with its routes, on a failure.

        The failure goes on the Kubernetes Service and on every Ingress whose routes it held;
        its dependencies are what it read before raising (re-run once under a recorder).
        """
        ns, svc_name = backends[0].namespace, backends[0].service
        recorder = _Recorder(view.snap)
        with contextlib.suppress(Exception):
            translate_service(name, backends, sroutes, recorder, **args)  # type: ignore[arg-type]
        refs: dict[ObjectRef, None] = {}
        svc = view.snap.get("Service", ns, svc_name)
        if svc is not None and isinstance(getattr(svc, "ref", None), ObjectRef):
            refs[svc.ref] = None
        for r in sroutes:
            refs[r.ingress] = None
        deps = recorder.deps | {("Service", ns, svc_name), ("eps", ns, svc_name)}
        if backends[0].port == FACADE_PORT:
            deps.add(("KongServiceFacade", ns, svc_name))
        return ServiceOut(
            name=name,
            service=None,
            upstream={},
            failures=tuple(_crashed(ref, exc) for ref in refs),
            plugins=(),
            client_cert=None,
            client_cert_parent=None,
            configured=(),
            deps=frozenset(deps),
        )

    def _plugin_unit(self, st: _State, view: _View, pkey: Key) -> _PluginOut | None:
        """The instances one referenced plugin makes (not yet checked against the others)."""
        unit: Unit = PluginUnit(pkey)
        rels_map = st.rels.get(pkey)
        if not rels_map:
            st.deps.set(unit, frozenset())
            return None
        ns, name = pkey
        if ns.startswith(_NO_GRANT):  # a cross-namespace reference (see _plugin_rels)
            st.deps.set(unit, frozenset())
            cross = {(k, ident): ref for k, ident, ref in rels_map}
            why = f"it is in namespace {ns[len(_NO_GRANT) :]!r} and no grant allows it"
            return _PluginOut(("", "", *pkey), None, [], [], (), self._block_all(cross, why), cross)
        deps: set[Dep] = {("KongPlugin", ns, name), ("KongClusterPlugin", "", name)}
        rels: dict[str, list[tuple[str, ObjectRef]]] = {}
        for kind, ident, ref in sorted(rels_map, key=lambda r: (r[0], r[1], r[2])):
            rels.setdefault(kind, []).append((ident, ref))
        plugin: KongPlugin | None = view.get("KongPlugin", ns, name)
        if not isinstance(plugin, KongPlugin):  # absent, or a model that could not be parsed
            plugin = view.get("KongClusterPlugin", "", name)
            if not isinstance(plugin, KongClusterPlugin):
                plugin = None
        failures: list[Failure] = []
        made: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        configured: tuple[ObjectRef, ...] = ()
        referrers = {(k, ident): ref for k, items in rels.items() for ident, ref in items}
        blocks: dict[Ent, tuple[ObjectRef, str]] = {}
        if plugin is None:
            failures.extend(missing_plugin_failures(name, rels))
            blocks = self._block_all(referrers, "it does not exist")
        elif not plugin.plugin:
            blocks = self._block_all(referrers, "it names no plugin")
        else:
            try:
                made, configured = self._plugin_instances(
                    plugin, view, deps, rels, failures, referrers, blocks
                )
            except Exception as exc:  # unit guard: this plugin only
                made, configured = [], ()
                failures.append(_crashed(plugin.ref, exc))
                blocks = self._block_all(referrers, f"translating it failed ({type(exc).__name__})")
        st.deps.set(unit, frozenset(deps))
        order = (plugin.created, plugin.ref.kind, *pkey) if plugin is not None else ("", "", *pkey)
        return _PluginOut(
            order, plugin.ref if plugin else None, made, failures, configured, blocks, referrers
        )

    @staticmethod
    def _block_unattached(
        referrers: dict[Ent, ObjectRef],
        made: list[tuple[tuple[Any, ...], dict[str, Any]]],
        blocks: dict[Ent, tuple[ObjectRef, str]],
    ) -> None:
        """Block what the plugin's instances leave out (as upstream's combinations do: a
        plugin attached to consumers is not attached to the consumer groups also naming it)."""
        attached = {
            (f, v)
            for scope, _ in made
            for f, v in zip(_PLUGIN_FIELDS, scope[1:5], strict=True)
            if v
        }
        for ent, ref in referrers.items():
            if ent not in attached and ent not in blocks:
                blocks[ent] = (ref, f"it is not attached to the {ent[0].replace('_', ' ')}")

    @staticmethod
    def _block_all(
        referrers: dict[Ent, ObjectRef], reason: str
    ) -> dict[Ent, tuple[ObjectRef, str]]:
        return {ent: (ref, reason) for ent, ref in referrers.items()}

    @staticmethod
    def _set_blocks(
        st: _State, pkey: Key, blocks: dict[Ent, tuple[ObjectRef, str]], changed: set[Ent]
    ) -> None:
        """Record what plugin ``pkey`` fails for; ``changed`` gets the entities it affects."""
        old = st.plugin_blocks.get(pkey, {})
        if old == blocks:
            return
        for ent, why in old.items():
            if blocks.get(ent) == why:
                continue
            d = st.blockers.get(ent)
            if d is not None:
                d.pop(pkey, None)
                if not d:
                    del st.blockers[ent]
            changed.add(ent)
        for ent, why in blocks.items():
            if old.get(ent) != why:
                st.blockers.setdefault(ent, {})[pkey] = why
                changed.add(ent)
        if blocks:
            st.plugin_blocks[pkey] = blocks
        else:
            st.plugin_blocks.pop(pkey, None)

    def _apply_blocks(self, st: _State, changed: set[Ent]) -> None:
        """Fail closed (:mod:`._failclosed`): leave out the entities whose plugin failed.

        Each blocked entity gets a Failure on the object that attached the plugin (naming the
        plugin and why), then the units mentioning a changed entity are filtered again.
        """
        blocked = st.frags.blocked
        for ent in changed:
            by = st.blockers.get(ent)
            unit: Unit = BlockedUnit(ent)
            if not by:
                blocked.pop(ent, None)
                self._set_failures(st, unit, ())
                continue
            blocked[ent] = True
            kind, ident = ent
            what = kind.replace("_", " ")
            failures = [
                Failure(
                    ref,
                    "metadata.annotations.konghq.com/plugins",
                    f"plugin {pkey[1]!r} could not be configured: {why}; the {what} "
                    f"{ident!r} is not served until it is fixed",
                )
                for pkey, (ref, why) in sorted(by.items())
            ]
            self._set_failures(st, unit, sorted(dict.fromkeys(failures), key=_failure_order))
        st.frags.refilter(changed)

    def _plugin_instances(
        self,
        plugin: KongPlugin,
        view: _View,
        deps: set[Dep],
        rels: dict[str, list[tuple[str, ObjectRef]]],
        failures: list[Failure],
        referrers: dict[Ent, ObjectRef],
        blocks: dict[Ent, tuple[ObjectRef, str]],
    ) -> tuple[list[tuple[tuple[Any, ...], dict[str, Any]]], tuple[ObjectRef, ...]]:
        """The instances of one plugin (``deps`` gets what was read, even when this raises).

        ``blocks`` gets the entities it fails for (fail closed: :mod:`._failclosed`)."""
        name = plugin.ref.name
        made: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        configured: tuple[ObjectRef, ...] = ()
        try:
            config = plugin_config(plugin, view, deps)
        except PluginConfigError as exc:
            failures.append(
                Failure(plugin.ref, "", f"could not build the plugin configuration: {exc}")
            )
            blocks.update(self._block_all(referrers, f"its configuration cannot be built: {exc}"))
        else:
            if plugin.plugin in NO_CONSUMER_PLUGINS and "consumer" in rels:
                for ident, ref in rels["consumer"]:
                    blocks[("consumer", ident)] = (
                        ref,
                        f"{plugin.plugin!r} cannot be attached to a consumer",
                    )
                # upstream attaches it anyway and Kong rejects the whole configuration
                for _, ref in rels.pop("consumer"):
                    failures.append(
                        Failure(
                            ref,
                            "metadata.annotations.konghq.com/plugins",
                            f"plugin {plugin.plugin!r} ({name}) cannot be attached to a "
                            "consumer: Kong does not allow consumer-scoped authentication plugins",
                        )
                    )
            for inst in instances(plugin, config, rels, self.options.fill_ids):
                scope: tuple[Any, ...] = (
                    inst["name"],
                    inst.get("service"),
                    inst.get("route"),
                    inst.get("consumer"),
                    inst.get("consumer_group"),
                )
                if "instance_name" in inst:
                    scope = (*scope, inst["instance_name"])
                made.append((scope, inst))
            configured = (plugin.ref,)
            self._block_unattached(referrers, made, blocks)
        return made, configured

    def _plugins(self, st: _State, view: _View, dirty: set[Key]) -> None:
        """Plugin units, then arbitration: Kong allows one plugin per (name, scope)."""
        touched: set[Key] = set(dirty)
        for pkey in dirty:
            old = st.plugin_out.pop(pkey, None)
            new = self._plugin_unit(st, view, pkey)
            if new is not None:
                st.plugin_out[pkey] = new
            for out, add in ((old, False), (new, True)):
                if out is None:
                    continue
                for scope, _ in out.instances:
                    for unique in _unique_keys(scope):
                        holders = st.plugin_scopes.setdefault(unique, {})
                        if add:
                            holders[pkey] = out.order
                        else:
                            holders.pop(pkey, None)
                        touched.update(holders)
                        if not holders:
                            del st.plugin_scopes[unique]
        changed: set[Ent] = set()
        for pkey in touched:
            unit: Unit = PluginUnit(pkey)
            out = st.plugin_out.get(pkey)
            if out is None:
                st.frags.replace(unit, ())
                self._set_failures(st, unit, ())
                self._set_configured(st, unit, ())
                self._set_blocks(st, pkey, {}, changed)
                continue
            failures = list(out.failures)
            blocks = dict(out.blocks)
            entries: list[tuple[str, Any, Any]] = []
            for i, (scope, inst) in enumerate(out.instances):
                lost = None
                for unique in _unique_keys(scope):
                    holders = st.plugin_scopes.get(unique, {})
                    owner = min(holders.values()) if holders else out.order
                    if owner != out.order:
                        lost = (unique, owner)
                        break
                if lost is not None:
                    unique, owner = lost
                    by = f"{owner[1]} {owner[2] + '/' if owner[2] else ''}{owner[3]}"
                    if unique[0] == "instance_name":
                        what = f"instance_name {unique[1]!r} is already used by {by}"
                    else:
                        where = ", ".join(
                            f"{k} {v}" for k, v in zip(_SCOPES, scope[1:5], strict=True) if v
                        )
                        what = f"a {scope[0]!r} plugin is already configured for {where} by {by}"
                    if out.ref is not None:
                        failures.append(Failure(out.ref, "", f"{what}: Kong allows only one"))
                    self._block_lost(out, inst, what, blocks)
                    continue
                entries.append(("plugins", (*pkey, i), inst))
            bad = self._emit(st, unit, entries, [out.ref] if out.ref is not None else [])
            if bad:
                entries = []
                failures.extend(bad)
            self._set_failures(st, unit, failures)
            self._set_configured(st, unit, out.configured if entries else ())
            self._set_blocks(st, pkey, blocks, changed)
        if changed:
            self._apply_blocks(st, changed)

    @staticmethod
    def _block_lost(
        out: _PluginOut,
        inst: dict[str, Any],
        what: str,
        blocks: dict[Ent, tuple[ObjectRef, str]],
    ) -> None:
        """An instance that lost arbitration blocks every entity it was attached to."""
        for field in ("service", "route", "consumer", "consumer_group"):
            value = inst.get(field)
            if value is None:
                continue
            ent = (field, value)
            ref = out.referrers.get(ent)
            if ref is not None:
                blocks.setdefault(ent, (ref, f"{what}: Kong allows only one"))

    def _global_plugins(self, st: _State, view: _View) -> None:
        unit: Unit = GLOBAL_PLUGINS
        deps: set[Dep] = set()
        by_name: dict[str, list[KongClusterPlugin]] = {}
        for kcp in view.snap.list("KongClusterPlugin"):
            if not isinstance(kcp, KongClusterPlugin):  # could not be parsed: its own failure
                continue
            if kcp.is_global and kcp.plugin and view.accepted("KongClusterPlugin", kcp):
                by_name.setdefault(kcp.plugin, []).append(kcp)
            if kcp.labels.get("global") == "true":
                deps.add(("KongClusterPlugin", "", kcp.ref.name))
        entries: list[tuple[str, Any, Any]] = []
        failures: list[Failure] = []
        configured: list[ObjectRef] = []
        instance_names: dict[str, str] = {}
        for pname, items in sorted(by_name.items()):
            if len(items) > 1:
                for kcp in items:
                    failures.append(
                        Failure(
                            kcp.ref,
                            "",
                            f"multiple global KongClusterPlugins for plugin {pname!r}: none applied",
                        )
                    )
                continue
            kcp = items[0]
            try:
                config = plugin_config(kcp, view, deps)
                entity = global_plugin(kcp, config, self.options.fill_ids)
                dumps(entity)  # one global plugin that cannot be serialised fails alone
            except PluginConfigError as exc:
                failures.append(
                    Failure(kcp.ref, "", f"could not build the plugin configuration: {exc}")
                )
                continue
            except Exception as exc:  # unit guard: this global plugin only
                failures.append(_crashed(kcp.ref, exc))
                continue
            iname = entity.get("instance_name")
            if iname is not None and iname in instance_names:
                failures.append(
                    Failure(
                        kcp.ref,
                        "instance_name",
                        f"instance_name {iname!r} is already used by the global KongClusterPlugin "
                        f"{instance_names[iname]}: Kong allows only one",
                    )
                )
                continue
            if iname is not None:
                instance_names[iname] = kcp.ref.name
            entries.append(("plugins", ("", "", pname), entity))
            configured.append(kcp.ref)
        # any (non-global) KongClusterPlugin change may make one global: depend on all of them
        st.frags.replace(unit, entries)
        st.deps.set(unit, frozenset(deps))
        self._set_failures(st, unit, failures)
        self._set_configured(st, unit, configured)

    def _certificates(self, st: _State, view: _View) -> None:
        unit: Unit = CERTIFICATES
        seen_hosts: set[str] = set()
        claims: dict[Key, tuple[list[str], dict[ObjectRef, bool]]] = {}
        for _, ns, name in st.order:
            out = st.ing[(ns, name)]
            for secret_key, hosts in out.tls:
                entry = claims.setdefault(secret_key, ([], {}))
                for h in hosts:
                    if h not in seen_hosts:
                        seen_hosts.add(h)
                        entry[0].append(h)
                entry[1][out.ref] = True
        # TCPIngress TLS after every Ingress's (upstream's getCerts), oldest first
        streams = sorted(
            (s for s in st.stream.values() if s.tls),
            key=lambda s: (s.created, s.ref.namespace, s.ref.name),
        )
        for sout in streams:
            for secret_key, hosts in sout.tls:
                entry = claims.setdefault(secret_key, ([], {}))
                for h in hosts:
                    if h not in seen_hosts:
                        seen_hosts.add(h)
                        entry[0].append(h)
                entry[1][sout.ref] = True
        # Gateway listener certificates after Ingress and TCPIngress ones (upstream's
        # mergeCerts: an SNI an Ingress claimed stays the Ingress's), oldest Gateway first
        for _, gw_ref, gw_claims in sorted(st.gw_tls.values(), key=lambda t: t[0]):
            for secret_key, host in gw_claims:
                entry = claims.setdefault(secret_key, ([], {}))
                if host not in seen_hosts:
                    seen_hosts.add(host)
                    entry[0].append(host)
                entry[1][gw_ref] = True
        for svc_name in sorted(st.svc):
            cert_key, parent = st.svc[svc_name]
            if cert_key is not None and parent is not None:
                entry = claims.setdefault(cert_key, ([], {}))
                entry[1][parent] = True
        try:
            certs, failures, used = build_certificates(
                ((k, hosts, list(parents)) for k, (hosts, parents) in claims.items()),
                view,
                self._checker,
                {k for k, _ in st.svc.values() if k is not None},
            )
        except Exception as exc:  # unit guard (build_certificates guards each Secret too)
            certs, used = [], []
            failures = [_crashed(p, exc) for _, parents in claims.values() for p in parents]
        try:
            st.frags.replace(unit, [("certificates", c["id"], c) for c in certs])
        except Exception:
            # only on this failure path: find the certificates that cannot be serialised
            kept = []
            by_uid = {ref.uid: ref for ref in used}
            for c in certs:
                try:
                    dumps(c)
                except Exception as exc:
                    owner = by_uid.get(c["id"])
                    failures.extend(
                        _crashed(p, exc)
                        for p in ([owner] if owner is not None else [*used, *by_uid.values()][:1])
                    )
                    continue
                kept.append(c)
            st.frags.replace(unit, [("certificates", c["id"], c) for c in kept])
        st.deps.set(unit, frozenset(("Secret", ns, name) for ns, name in claims))
        self._set_failures(st, unit, failures)
        self._set_configured(st, unit, used)

    def _ca_certificates(self, st: _State, view: _View) -> None:
        unit: Unit = CA_CERTIFICATES
        secrets = [view.snap.get("Secret", ns, name) for ns, name in st.ca_secrets]
        secrets = [s for s in secrets if s is not None]
        secrets.sort(key=lambda s: (s.created, s.ref.namespace, s.ref.name))
        entries: list[tuple[str, Any, Any]] = []
        failures: list[Failure] = []
        seen: dict[str, Any] = {}
        configured = []
        for s in secrets:
            try:
                entity, reason = ca_certificate(s, seen)
                if entity is not None:
                    dumps(entity)
            except Exception as exc:  # unit guard: this Secret only
                failures.append(_crashed(s.ref, exc, "data"))
                continue
            if entity is None:
                failures.append(Failure(s.ref, "data", reason))
                continue
            if entity["id"] in seen:
                failures.append(
                    Failure(
                        s.ref,
                        "data.id",
                        f"CA certificate id {entity['id']!r} is already used by an older Secret",
                    )
                )
                continue
            seen[entity["id"]] = s
            entries.append(("ca_certificates", entity["id"], entity))
            configured.append(s.ref)
        self._record(st, unit, UnitOut(entries, failures, configured))

    def _stage_custom_entities(self, st: _State, view: _View, d: _Dirty) -> None:
        """KongCustomEntities: after the plugins, whose attachments fill their foreign fields."""
        dirty = set(d.custom)
        for pkey in d.plugins:  # a plugin's attachments (or the plugin) changed
            dirty.update(st.kce_by_plugin.get(pkey, ()))
        ours = self.options.ingress_class
        for key in dirty:
            unit = CustomEntityUnit(key)
            old = st.kce_parent.pop(key, None)
            if old is not None:
                held = st.kce_by_plugin.get(old)
                if held is not None:
                    held.discard(key)
                    if not held:
                        del st.kce_by_plugin[old]
            kce = view.snap.get("KongCustomEntity", *key)
            # class: spec.controllerName (or the class annotation); class-less never (upstream)
            if (
                not isinstance(kce, KongCustomEntity)
                or not self.options.custom_entities  # the feature gate
                or not kce.entity_type
                or ours not in (kce.controller_name, class_annotation_of(kce))
            ):
                self._record(st, unit, UnitOut(deps=frozenset()))
                continue
            parent = kce.parent
            if parent is not None and parent.namespace in ("", kce.namespace):
                pkey = (kce.namespace, parent.name)
                st.kce_parent[key] = pkey
                st.kce_by_plugin.setdefault(pkey, set()).add(key)
            try:
                out = self._custom_entity(st, view, kce)
            except Exception as exc:  # unit guard: this custom entity only
                out = UnitOut(failures=[_crashed(kce.ref, exc)], deps=frozenset())
            self._record(st, unit, out)

    def _custom_entity(self, st: _State, view: _View, kce: KongCustomEntity) -> UnitOut:
        parent = kce.parent
        if parent is None:
            entries, failures = translate_custom_entity(
                kce, None, self.options.fill_ids, self.options.entity_schemas
            )
            return UnitOut(entries, failures, [kce.ref] if entries else [], frozenset())
        where = f"{parent.kind} {parent.namespace or kce.namespace}/{parent.name}"
        if parent.namespace not in ("", kce.namespace):
            reason = (
                f"no grant found to reference {where}: cross-namespace parents are not supported"
            )
            return UnitOut(failures=[Failure(kce.ref, "spec.parentRef", reason)], deps=frozenset())
        pns = kce.namespace if parent.kind == "KongPlugin" else ""
        dep: Dep = (parent.kind, pns, parent.name)
        if view.get(*dep) is None:
            reason = (
                f"failed to find attached foreign entities for custom entity: {where} not found"
            )
            return UnitOut(
                failures=[Failure(kce.ref, "spec.parentRef", reason)], deps=frozenset({dep})
            )
        services: dict[str, None] = {}
        routes: dict[str, None] = {}
        consumers: dict[str, None] = {}
        by_kind = {"service": services, "route": routes, "consumer": consumers}
        for kind, ident, _ in st.rels.get((kce.namespace, parent.name), {}):
            target = by_kind.get(kind)
            if target is not None:
                target[ident] = None
        route_services = {st.route_won[r].service: None for r in routes if r in st.route_won}
        attached = Attached(
            tuple(sorted(services)),
            tuple(sorted(routes)),
            tuple(sorted(route_services)),
            tuple(sorted(consumers)),
        )
        entries, failures = translate_custom_entity(
            kce, attached, self.options.fill_ids, self.options.entity_schemas
        )
        return UnitOut(entries, failures, [kce.ref] if entries else [], frozenset({dep}))

    def _stage_vaults(self, st: _State, view: _View, d: _Dirty) -> None:
        """KongVaults (a few objects: any change recomputes them all, prefixes are unique)."""
        if not d.vaults:
            return
        vaults = [
            v
            for v in view.snap.list("KongVault")
            if isinstance(v, KongVault)
            and v.backend
            and v.prefix
            and not v.failures
            and view.accepted("KongVault", v)
        ]
        try:
            entries, failures, configured = translate_vaults(vaults, self.options.fill_ids)
        except Exception as exc:  # unit guard: the vaults only
            entries, configured = [], []
            failures = [_crashed(v.ref, exc) for v in vaults]
        self._record(st, VAULTS, UnitOut(entries, failures, configured))

    # --- Gateway API: attachment and Gateway / GatewayClass status (gw-core) ---------------

    def gateway_inputs(self) -> GatewayInputs:
        """What Gateway status and listener readiness need from the options."""
        o = self.options
        return GatewayInputs(
            controller_name=o.gateway_controller_name,
            publish_services=o.publish_services,
            publish_addresses=o.publish_addresses,
            proxy_listeners=o.kong_proxy_listeners,
            stream_listeners=o.kong_stream_listeners,
            gateway_to_reconcile=o.gateway_to_reconcile,
        )

    def gateway_attachment(self, route: Any, view: Any) -> RouteAttachment:
        """The attachment of one Gateway API route, as the options say (controller: real
        attachment with listener readiness computed here; golden/offline with
        ``gateway_attachment=False``: assumed). ``view``: the translator's view or a
        recording wrapper of it (``get`` + ``snap``): what it reads are the route's deps."""
        o = self.options
        snap = view.snap
        memo = self._gw_check
        if memo is None or memo[0] is not snap:
            # reads through the bare snapshot: ListenerState.deps carries what they read
            memo = self._gw_check = (
                snap,
                listener_check(_SnapView(snap), self.gateway_inputs(), self._st.gw_ready),
            )
        return attach(
            route,
            view,
            o.gateway_controller_name,
            attachment=o.gateway_attachment,
            listener_state=memo[1],
            gateway_to_reconcile=o.gateway_to_reconcile,
        )

    def _stage_gateway_listeners(self, st: _State, view: _View, d: _Dirty) -> None:
        """2c'. Listener readiness of the dirty unmanaged Gateways, before the route stages.

        Routes record ``("GatewayListeners", ns, name)`` instead of the Secrets, Services and
        grants readiness reads: a certificate rotation recomputes the Gateway, and its routes
        only when a listener's readiness (Programmed, supportedKinds) actually changed.
        """
        inputs = self.gateway_inputs()
        for key in d.gateways:
            gw_obj = view.snap.get("Gateway", *key)
            old = st.gw_ready.pop(key, None)
            new: Mapping[str, Any] | None = None
            if isinstance(gw_obj, Gateway):
                gclass = view.snap.get("GatewayClass", "", gw_obj.class_name)
                if isinstance(gclass, GatewayClass) and gclass.unmanaged:
                    with contextlib.suppress(Exception):  # the Gateway unit reports it
                        new = listener_readiness(view, gw_obj, inputs, set())
            if new is not None and isinstance(gw_obj, Gateway):
                st.gw_ready[key] = (gw_obj, new)
            before = {
                n: (s.supported_kinds, s.programmed) for n, s in (old[1] if old else {}).items()
            }
            after = {n: (s.supported_kinds, s.programmed) for n, s in (new or {}).items()}
            if before != after:
                d.mark((LISTENERS_DEP, *key))

    def _stage_gateways(self, st: _State, view: _View, d: _Dirty) -> None:
        """2d. GatewayClass and Gateway status (``_gateways.py``), after the route stages.

        attachedRoutes is kept incrementally: each recomputed route's accepting listeners are
        re-derived here and only the Gateways whose counts changed are recomputed.
        """
        inputs = self.gateway_inputs()
        for fk in d.gw:
            obj = view.snap.get(*fk)
            new: dict[Key, tuple[str, ...]] = {}
            att = RouteAttachment()
            if obj is not None and hasattr(obj, "parent_refs") and self.options.gateway_attachment:
                with contextlib.suppress(Exception):  # the route unit already failed it
                    att = self.gateway_attachment(obj, view)
            self._record(st, GatewayAttachUnit(fk), UnitOut(deps=att.deps))
            if att.parents:
                for p in att.parents:
                    # attachedRoutes: accepting listeners and those not Programmed yet
                    names = tuple(lst.name for lst in (*p.listeners, *p.unready_listeners))
                    if names:
                        key = p.gateway.key
                        new[key] = tuple(dict.fromkeys((*new.get(key, ()), *names)))
            old = st.gw_attached.pop(fk, {})
            if new:
                st.gw_attached[fk] = new
            if old == new:
                continue
            for key, names in old.items():
                counts = st.gw_counts.get(key, {})
                for n in names:
                    counts[n] = counts.get(n, 1) - 1
                    if counts[n] <= 0:
                        counts.pop(n, None)
                if not counts:
                    st.gw_counts.pop(key, None)
                d.gateways.add(key)
            for key, names in new.items():
                counts = st.gw_counts.setdefault(key, {})
                for n in names:
                    counts[n] = counts.get(n, 0) + 1
                d.gateways.add(key)
        for cname in d.gclasses:
            gclass = view.snap.get("GatewayClass", "", cname)
            status = None
            if isinstance(gclass, GatewayClass):
                status = gatewayclass_status(gclass, inputs.controller_name)
            self._record(
                st,
                GatewayClassUnit(cname),
                UnitOut(status={gclass.ref: status} if status is not None else NO_STATUS),
            )
        for key in d.gateways:
            gw_obj = view.snap.get("Gateway", *key)
            deps: set[Dep] = {("Gateway", *key)}
            out_status: Mapping[ObjectRef, ObjectStatus] = NO_STATUS
            failures: list[Failure] = []
            tls: tuple[Any, ...] = ()
            if isinstance(gw_obj, Gateway):
                try:
                    out_status, tls, problems = self._gateway_status(view, gw_obj, inputs, st, deps)
                    failures = [Failure(gw_obj.ref, "", why) for why in problems]
                except Exception as exc:  # unit guard: this Gateway only
                    failures = [_crashed(gw_obj.ref, exc)]
                    out_status, tls = NO_STATUS, ()
            old_tls = st.gw_tls.pop(key, None)
            if tls and isinstance(gw_obj, Gateway):
                st.gw_tls[key] = ((gw_obj.created, *key), gw_obj.ref, tls)
            if st.gw_tls.get(key) != old_tls:
                d.certs = True
            self._record(
                st,
                GatewayUnit(key),
                UnitOut(failures=failures, deps=frozenset(deps), status=out_status),
            )

    def _gateway_status(
        self, view: _View, gateway: Gateway, inputs: GatewayInputs, st: _State, deps: set[Dep]
    ) -> tuple[Mapping[ObjectRef, ObjectStatus], tuple[Any, ...], list[str]]:
        """(status, listener certificate claims, failure reasons) of one Gateway."""
        key = gateway.ref.key
        if inputs.gateway_to_reconcile and f"{key[0]}/{key[1]}" != inputs.gateway_to_reconcile:
            return NO_STATUS, (), []
        gclass = our_class(view, gateway, inputs.controller_name, deps)
        if gclass is None:
            return NO_STATUS, (), []
        if not gclass.unmanaged:
            # a managed class: another component writes status; listeners in its status count
            if not gateway.accepted_by_status():
                return NO_STATUS, (), []
            ready = dict.fromkeys(gateway.status_listener_names, True)
            claims, problems = listener_certificates(view, gateway, gclass, ready, deps)
            return NO_STATUS, tuple(claims), problems
        listens, services = kong_listens(view, inputs, deps)
        listeners = listener_statuses(view, gateway, listens, deps, st.gw_counts.get(key, {}))
        ready = {lst.name: lst.programmed for lst in listeners}
        claims, problems = listener_certificates(view, gateway, gclass, ready, deps)
        status = gateway_status(
            gateway, listeners, gateway_addresses(services, inputs), bool(services)
        )
        return {gateway.ref: status}, tuple(claims), problems

    def _record(self, st: _State, unit: Unit, out: UnitOut) -> None:
        """Store one unit's output (:class:`UnitOut`), the same way for every stage.

        Entities that cannot be serialised store nothing of the unit and fail on the objects
        it configured; dependencies are recorded when given; status replaces the unit's last.
        """
        bad = self._emit(st, unit, list(out.entries), out.configured)
        if out.deps is not None:
            st.deps.set(unit, out.deps)
        self._set_failures(st, unit, [*out.failures, *bad])
        self._set_configured(st, unit, () if bad else out.configured)
        old = st.unit_status.get(unit)
        new = out.status if out.status and not bad else None
        if (old or new) and old != new:
            touched: set[ObjectRef] = set()
            if old:
                for ref in old:
                    by = st.status_of.get(ref)
                    if by is not None:
                        by.pop(unit, None)
                        touched.add(ref)
            if new:
                st.unit_status[unit] = new
                for ref, status in new.items():
                    st.status_of.setdefault(ref, {})[unit] = status
                    touched.add(ref)
            else:
                st.unit_status.pop(unit, None)
            for ref in touched:
                by = st.status_of.get(ref)
                if by:
                    st.status_merged[ref] = by[max(by, key=repr)]
                else:
                    st.status_of.pop(ref, None)
                    st.status_merged.pop(ref, None)
            st.configured_changed = True  # status is rebuilt with the configured set


#: The stages of a translation, in order: each reads what the earlier ones produced and marks
#: the units its output feeds. Declared once; ``Translator._apply`` runs them all.
_STAGES: tuple[Callable[[Translator, _State, _View, _Dirty], None], ...] = (
    Translator._stage_ingresses,  # Ingresses -> routes per Kong service, TLS claims
    Translator._stage_default_backend,  # the one default backend
    Translator._stage_streams,  # TCPIngress/UDPIngress -> stream routes
    Translator._stage_gateway_listeners,  # unmanaged Gateways' listener readiness
    Translator._stage_gw_l4grpc,  # GRPCRoute, TCP/UDP/TLSRoute -> their own Kong services
    Translator._stage_gateway_routes,  # HTTPRoute -> routes (services below), status
    Translator._stage_backend_tls_policies,  # their status (after the HTTPRoutes)
    Translator._stage_gateways,  # GatewayClass/Gateway status (attachedRoutes from the routes)
    Translator._stage_services,  # Kong services, upstreams, targets
    Translator._stage_consumer_groups,
    Translator._stage_consumers,
    Translator._stage_plugins,  # plugins referenced by routes, services, consumers, groups
    Translator._stage_global_plugins,
    Translator._stage_certificates,
    Translator._stage_ca_certificates,
    Translator._stage_custom_entities,  # after plugins: their attachments fill foreign fields
    Translator._stage_vaults,
)


def _crashed_gw_service(
    name: str, gw: GwService, sroutes: list[RouteOut], view: _View, exc: Exception
) -> ServiceOut:
    """A Gateway-API-owned Kong service whose translation raised: left out with its routes,
    with the failure on each route object; it depends on its backends (re-run when they
    change)."""
    deps: set[Dep] = set()
    for b in gw.backends:
        deps.add(("Service", b.namespace, b.service))
        deps.add(("eps", b.namespace, b.service))
    owners = dict.fromkeys(r.ingress for r in sroutes)
    return ServiceOut(
        name=name,
        service=None,
        upstream={},
        failures=tuple(_crashed(o, exc) for o in owners),
        plugins=(),
        client_cert=None,
        client_cert_parent=None,
        configured=(),
        deps=frozenset(deps),
    )


#: Gateway API route kinds -> the translator method making one route's :class:`GwRouteOut`
#: (``(translator, object, reads)``). Advice: a new route kind adds one entry here and
#: ``_on_gw_route`` as its change handler; the stage does the rest.
_GW_ROUTES: Mapping[str, Callable[[Translator, Any, Reads], GwRouteOut]] = {
    "HTTPRoute": Translator._gw_httproute,
}
