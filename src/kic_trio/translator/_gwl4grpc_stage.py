"""The translator stage of GRPCRoute, TCPRoute, UDPRoute and TLSRoute: one unit per route object.

Each route object is one unit (:class:`~._units.GatewayRouteUnit`): its Kong services, routes,
upstreams and targets come out together (the service names are the route's own,
``grpcroute.<ns>.<name>.<rule>``..., so no other unit makes them). The unit records what it
read — the route itself, its parent Gateways, the Services and EndpointSlices behind it, the
ReferenceGrants of the namespaces it reaches into — so a change to any of them recomputes only
the routes that read it.

Parent listeners: with ``attached`` (the controller) only routes accepted by one of our
Gateways are served, on the listeners that accepted them; without it ("what upstream's
translator does with routes already in its cache": ``kic-trio translate`` and the golden cases)
every route is taken as accepted by its parentRefs, and the parent Gateways are read when
present for listener protocols and ports (the ``sectionName`` listener, or all).

GRPCRoute priorities under the expressions router carry a relative order among routes of equal
base priority (:func:`~._grpcroute.relative_orders`): the stage keeps every GRPCRoute's split
keys, and a route whose group of equal bases changed is recomputed with the others.

Advice: this module is pure (no I/O); the :class:`~._translator.Translator` calls
:func:`stage_gw_l4grpc` once per translation with the dirty route keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs

from ..models import Failure, ObjectRef, ObjectStatus
from ..models._gateway_api import (
    GW_GROUP,
    Gateway,
    GRPCRoute,
    Listener,
    ParentRef,
    TCPRoute,
    TLSRoute,
    UDPRoute,
)
from ..store import Snapshot
from ._grpcroute import SplitKey, relative_orders, split_keys, translate_grpcroute
from ._gwattach import DEFAULT_CONTROLLER_NAME, RouteAttachment
from ._gwplan import GatewayRouteOut, build_service
from ._httproute import ResolvedRefs, route_parent_status
from ._ingress import RouteOut
from ._l4route import translate_l4route
from ._units import Dep, GatewayRouteUnit, UnitOut

#: The kinds this stage translates.
KINDS = ("GRPCRoute", "TCPRoute", "UDPRoute", "TLSRoute")
RouteKey = tuple[str, str, str]
#: What the controller's attachment (``_gwattach.attach``) says about one route.
Attachment = RouteAttachment


@attrs.define(slots=True, eq=False)
class GwRouteState:
    """What the stage remembers between translations: GRPCRoute split keys (expressions)."""

    #: (ns, name) -> its (base priority, split key) list
    grpc_keys: dict[tuple[str, str], list[tuple[int, SplitKey]]] = attrs.field(factory=dict)
    #: base priority -> the GRPCRoutes with a split of that base
    by_base: dict[int, set[tuple[str, str]]] = attrs.field(factory=dict)
    #: base priority -> {split key: relative order}
    orders: dict[int, dict[SplitKey, int]] = attrs.field(factory=dict)


def parent_listeners(
    route: Any, snap: Snapshot, deps: set[Dep]
) -> tuple[list[Listener], list[tuple[ParentRef, Gateway]]]:
    """The listeners of the parent Gateways ("attachment assumed"): per parentRef naming a
    Gateway that exists, the ``sectionName`` listener or every listener."""
    out: list[Listener] = []
    parents: list[tuple[ParentRef, Gateway]] = []
    for pref in route.parent_refs:
        if (pref.group or GW_GROUP) != GW_GROUP or (pref.kind or "Gateway") != "Gateway":
            continue
        ns = pref.namespace or route.ref.namespace
        deps.add(("Gateway", ns, pref.name))
        gw = snap.get("Gateway", ns, pref.name)
        if not isinstance(gw, Gateway):
            continue
        parents.append((pref, gw))
        for lst in gw.listeners:
            if not pref.section_name or lst.name == pref.section_name:
                out.append(lst)
    return out, parents


def _update_grpc_keys(gs: GwRouteState, key: tuple[str, str], obj: GRPCRoute | None) -> set[int]:
    """Store ``obj``'s split keys; return the bases whose membership changed."""
    old = gs.grpc_keys.pop(key, [])
    new = split_keys(obj) if obj is not None else []
    if new:
        gs.grpc_keys[key] = new
    if old == new:
        return set()
    changed: set[int] = set()
    for base, _ in old:
        changed.add(base)
        held = gs.by_base.get(base)
        if held is not None:
            held.discard(key)
            if not held:
                del gs.by_base[base]
    for base, _ in new:
        changed.add(base)
        gs.by_base.setdefault(base, set()).add(key)
    return changed


def _reorder(gs: GwRouteState, bases: set[int]) -> set[tuple[str, str]]:
    """Recompute the relative orders of ``bases`` (once each, after every membership change of
    the translation); return the GRPCRoutes whose order value moved.

    Past the 256th route of one base every value is 0, so a change in a large group recomputes
    at most ~256 routes, not the group."""
    moved: set[tuple[str, str]] = set()
    for base in bases:
        members = gs.by_base.get(base, ())
        keys = [(b, k) for m in members for b, k in gs.grpc_keys.get(m, ()) if b == base]
        before = gs.orders.get(base, {})
        after = {k: v for (_, k), v in relative_orders(keys).items()}
        if after:
            gs.orders[base] = after
        else:
            gs.orders.pop(base, None)
        for k, v in after.items():
            if before.get(k) != v:
                moved.add((k[1], k[2]))
    return moved


def stage_gw_l4grpc(
    gs: GwRouteState,
    snap: Snapshot,
    dirty: set[RouteKey],
    record: Callable[[GatewayRouteUnit, UnitOut, Sequence[RouteOut]], None],
    crashed: Callable[[ObjectRef, BaseException], Failure],
    *,
    expressions: bool,
    fill_ids: bool,
    cluster_domain: str,
    drain: bool,
    attached: Callable[[Any, set[Dep]], Attachment | None] | None = None,
    controller_name: str = DEFAULT_CONTROLLER_NAME,
) -> None:
    """Recompute the dirty route units (and, with expressions, GRPCRoutes whose priority group
    changed). ``attached(route, deps)``: the route's :data:`Attachment` (``None`` when no
    parentRef names a Gateway of ours: not our route); unset = attachment assumed, no status."""
    todo = set(dirty)
    if expressions:
        bases: set[int] = set()
        for kind, ns, name in list(dirty):
            if kind != "GRPCRoute":
                continue
            obj = snap.get(kind, ns, name)
            bases.update(
                _update_grpc_keys(gs, (ns, name), obj if isinstance(obj, GRPCRoute) else None)
            )
        todo.update(("GRPCRoute", m[0], m[1]) for m in _reorder(gs, bases))

    def relative(base: int, key: SplitKey) -> int:
        return gs.orders.get(base, {}).get(key, 255)

    for fk in sorted(todo):
        kind, ns, name = fk
        unit = GatewayRouteUnit(fk)
        obj = snap.get(kind, ns, name)
        deps: set[Dep] = {fk}
        if not isinstance(obj, GRPCRoute | TCPRoute | UDPRoute | TLSRoute):
            record(unit, UnitOut(deps=frozenset(deps)), ())
            continue
        try:
            att: RouteAttachment | None = None
            if attached is not None:
                att = attached(obj, deps)
                if att is None or not att.parents:
                    record(unit, UnitOut(deps=frozenset(deps)), ())
                    continue
                if not att.attached:
                    status = route_status(obj, att, controller_name, None, False)
                    record(unit, UnitOut(deps=frozenset(deps), status=status), ())
                    continue
                listeners = [lst for p in att.parents if p.accepted for lst in p.parent_listeners]
            else:
                listeners, _ = parent_listeners(obj, snap, deps)
            if isinstance(obj, GRPCRoute):
                out = translate_grpcroute(
                    obj,
                    listeners,
                    snap,
                    expressions=expressions,
                    fill_ids=fill_ids,
                    relative=relative,
                )
            else:
                out = translate_l4route(
                    obj, listeners, snap, expressions=expressions, fill_ids=fill_ids
                )
            built = _built(
                out, snap, deps, cluster_domain=cluster_domain, drain=drain, fill_ids=fill_ids
            )
            if att is not None:
                status = route_status(obj, att, controller_name, out.refused, bool(built.entries))
                built = attrs.evolve(built, status=status)
            record(unit, built, [r for p in out.plans for r in p.routes if r.plugins])
        except Exception as exc:  # unit guard: this route only
            record(unit, UnitOut(failures=(crashed(obj.ref, exc),), deps=frozenset(deps)), ())


def _built(
    out: GatewayRouteOut,
    snap: Snapshot,
    deps: set[Dep],
    *,
    cluster_domain: str,
    drain: bool,
    fill_ids: bool,
) -> UnitOut:
    entries: list[tuple[str, Any, Any]] = []
    failures: list[Failure] = list(out.failures)
    configured: list[ObjectRef] = []
    deps.update(out.deps)
    for plan in out.plans:
        built = build_service(
            plan, snap, cluster_domain=cluster_domain, drain=drain, fill_ids=fill_ids
        )
        entries.extend(built.entries)
        failures.extend(built.failures)
        configured.extend(built.configured)
        deps.update(built.deps)
    return UnitOut(
        entries=entries,
        failures=tuple(dict.fromkeys(failures)),
        configured=tuple(dict.fromkeys(configured)),
        deps=frozenset(deps),
    )


def route_status(
    route: Any,
    att: RouteAttachment,
    controller_name: str,
    refused: tuple[str, str] | None,
    served: bool,
) -> dict[ObjectRef, ObjectStatus]:
    """The route's parent conditions through the shared helper (``_httproute.
    route_parent_status``): ``Accepted`` as attached, ``Programmed``, and ``ResolvedRefs`` from
    the first backendRef that did not resolve — upstream writes it for HTTPRoute only; the
    Gateway API asks it of every route kind, so these kinds get it too."""
    resolved = ResolvedRefs() if refused is None else ResolvedRefs(False, *refused)
    return {route.ref: route_parent_status(route, att, controller_name, resolved, served)}


def route_keys(snap: Snapshot) -> Iterable[RouteKey]:
    """Every route object of the stage's kinds in ``snap`` (a full translation's dirty set)."""
    for kind in KINDS:
        for obj in snap.list(kind):
            yield (kind, obj.ref.namespace, obj.ref.name)


__all__ = [
    "KINDS",
    "GwRouteState",
    "parent_listeners",
    "route_keys",
    "route_status",
    "stage_gw_l4grpc",
]
