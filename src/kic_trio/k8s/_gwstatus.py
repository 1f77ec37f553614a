"""The status edge for Gateway API objects: write what the translator decided.

The translator computes every GatewayClass, Gateway and route status as data
(``ConfigPayload.status``: :class:`~kic_trio.models.ObjectStatus`); this edge only turns it into
``status`` bodies and writes them:

* **Leader only.** A batch is cancelled when leadership is lost; a new term forgets what it
  wrote (another leader may have written since).
* **Only when different.** What was last written per object is remembered; an unchanged
  status costs nothing. Before a write the object is read and compared ignoring
  ``lastTransitionTime`` (kept when a condition's status did not change), so a status someone
  else already wrote identically is not rewritten either.
* **Optimistic concurrency.** The write is a ``PUT`` of the ``/status`` subresource carrying
  the ``resourceVersion`` just read (the API server refuses it with 409 if the object changed
  meanwhile: it is read again and retried, a few times).
* **Rate-limited.** A token bucket bounds the write rate (a first pass over 10k routes).
* **Other controllers' entries kept.** A route's ``status.parents`` entries whose
  ``controllerName`` is not ours are left as they are; ours that no longer apply are removed.
* ``observedGeneration`` is set on every condition (the generation the translator saw).

Upstream writes Gateway API status even with ``--update-status=false`` (that flag only turns off
Ingress status and route ``Programmed``); so does this edge.
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn

import trio

from .._errors import KubernetesError
from .._latest import LatestValue
from .._lifecycle import ConfigApplied, LifecycleBus, TranslationDone
from .._payload import ConfigPayload
from ..models import KINDS, Condition, ListenerStatus, ObjectRef, ObjectStatus
from ._events import TokenBucket
from ._leader import KubeRequester, LeaderSink, wait_not_leader
from ._paths import segment
from ._reflector import collection_path

#: The kinds whose status this edge writes.
GATEWAY_STATUS_KINDS = frozenset(
    {
        "GatewayClass",
        "Gateway",
        "HTTPRoute",
        "GRPCRoute",
        "TCPRoute",
        "UDPRoute",
        "TLSRoute",
        "BackendTLSPolicy",
    }
)
ROUTE_KINDS = frozenset({"HTTPRoute", "GRPCRoute", "TCPRoute", "UDPRoute", "TLSRoute"})
#: Written from every translation (upstream: not tied to a push); the others (routes and
#: policies, whose Programmed says "in Kong") from the configuration a gateway applied.
TRANSLATION_KINDS = frozenset({"GatewayClass", "Gateway"})
_GW = "gateway.networking.k8s.io"
#: At most this many conditions are kept on an object (upstream prunes to 8).
MAX_CONDITIONS = 8


def object_path(ref: ObjectRef) -> str:
    """The object's URL (``InvalidName``, a ``KubernetesError``, for a name not fit for one)."""
    info = KINDS[ref.kind]
    base = collection_path(info, ref.namespace if info.namespaced else None)
    return f"{base}/{segment(ref.name)}"


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _conditions(
    want: Iterable[Condition],
    generation: int,
    existing: object,
    now: str,
    keep_others: bool = True,
) -> list[dict[str, Any]]:
    """Our conditions as ``metav1.Condition`` dicts; a condition whose status is unchanged
    keeps its ``lastTransitionTime``; other types already there are kept when
    ``keep_others`` (object-level conditions: at most 8 in all). Listener and route parent
    conditions are wholly ours: replaced."""
    old: dict[str, Mapping[str, Any]] = {}
    order: list[str] = []
    for c in existing if isinstance(existing, list) else ():
        if isinstance(c, Mapping) and isinstance(c.get("type"), str):
            old[c["type"]] = c
            order.append(c["type"])
    mine: dict[str, dict[str, Any]] = {}
    for c in want:
        prev = old.get(c.type)
        keep = (
            prev is not None and prev.get("status") == c.status and prev.get("lastTransitionTime")
        )
        mine[c.type] = {
            "type": c.type,
            "status": c.status,
            "reason": c.reason,
            "message": c.message,
            "observedGeneration": generation,
            "lastTransitionTime": prev["lastTransitionTime"] if keep and prev else now,
        }
    out = [dict(old[t]) for t in order if t not in mine] if keep_others else []
    out.extend(mine.values())
    return out[-MAX_CONDITIONS:]


def _listeners(
    want: Iterable[ListenerStatus], generation: int, existing: object, now: str
) -> list[dict[str, Any]]:
    old = {
        item.get("name"): item
        for item in (existing if isinstance(existing, list) else ())
        if isinstance(item, Mapping)
    }
    out = []
    for lst in want:
        prev = old.get(lst.name) or {}
        out.append(
            {
                "name": lst.name,
                "supportedKinds": [{"group": g, "kind": k} for g, k in lst.supported_kinds],
                "attachedRoutes": lst.attached_routes,
                "conditions": _conditions(
                    lst.conditions, generation, prev.get("conditions"), now, keep_others=False
                ),
            }
        )
    return out


def _parent_key(ref: Mapping[str, Any], route_ns: str) -> tuple[str, str, str]:
    ns = ref.get("namespace") or route_ns
    return (str(ns), str(ref.get("name", "")), str(ref.get("sectionName") or ""))


def desired_status(
    ref: ObjectRef, status: ObjectStatus | None, current: Mapping[str, Any], controller: str
) -> dict[str, Any]:
    """The whole ``status`` to write on ``ref`` given what it has now (pure, except the clock).

    ``status`` None: the translator decided nothing for the object any more (a route attached
    to none of our Gateways): only our route parent entries are removed.
    """
    now = _now()
    cur = current.get("status")
    cur = cur if isinstance(cur, Mapping) else {}
    if ref.kind in ROUTE_KINDS or ref.kind == "BackendTLSPolicy":
        field = "parents" if ref.kind in ROUTE_KINDS else "ancestors"
        ref_field = "parentRef" if ref.kind in ROUTE_KINDS else "ancestorRef"
        entries = [e for e in (cur.get(field) or ()) if isinstance(e, Mapping)]
        old_ours = {
            _parent_key(e.get(ref_field) or {}, ref.namespace): e
            for e in entries
            if e.get("controllerName") == controller
        }
        out = [dict(e) for e in entries if e.get("controllerName") != controller]
        for p in status.parents if status is not None else ():
            parent: dict[str, Any] = {
                "group": p.gateway.group or _GW,
                "kind": p.gateway.kind,
                "namespace": p.gateway.namespace,
                "name": p.gateway.name,
            }
            if p.section_name:
                parent["sectionName"] = p.section_name
            prev = old_ours.get(_parent_key(parent, ref.namespace)) or {}
            out.append(
                {
                    ref_field: parent,
                    "controllerName": p.controller_name or controller,
                    "conditions": _conditions(
                        p.conditions, p.generation, prev.get("conditions"), now, keep_others=False
                    ),
                }
            )
        return {**cur, field: out}
    if status is None:
        return dict(cur)
    body: dict[str, Any] = {
        **cur,
        "conditions": _conditions(status.conditions, status.generation, cur.get("conditions"), now),
    }
    if ref.kind == "Gateway":
        body["listeners"] = _listeners(
            status.listeners, status.generation, cur.get("listeners"), now
        )
        body["addresses"] = [{"type": t, "value": v} for t, v in status.addresses]
    return body


def _strip_times(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _strip_times(v) for k, v in value.items() if k != "lastTransitionTime"}
    if isinstance(value, list):
        return [_strip_times(v) for v in value]
    return value


def same_status(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Equal ignoring ``lastTransitionTime`` (upstream compares the same way)."""
    return bool(_strip_times(a) == _strip_times(b))


class GatewayStatusWriter:
    """Writes Gateway API status from translator output; see the module docstring.

    ``await nursery.start(writer.run)`` and ``nursery.start(writer.follow_pushes, bus,
    latest)`` (or call :meth:`submit` with a status mapping).
    """

    def __init__(
        self,
        kube: KubeRequester,
        controller_name: str,
        log: logging.Logger | None = None,
        *,
        leader: LeaderSink | None = None,
        qps: float = 50.0,
        burst: int = 100,
        request_timeout: float = 10.0,
        retries: int = 3,
    ) -> None:
        self.kube = kube
        self.controller_name = controller_name
        self.log = log or logging.getLogger("kic_trio.status.gateway")
        if leader is None:
            from .._leadership import LeaderState

            leader = LeaderState()
            leader.set(True)
        self.leader: LeaderSink = leader
        self.request_timeout = request_timeout
        self.retries = retries
        self._bucket = TokenBucket(qps, burst)
        self._want: dict[ObjectRef, ObjectStatus] = {}
        #: what this term last wrote (or found equal), per object
        self._done: dict[ObjectRef, ObjectStatus | None] = {}
        self._dirty = trio.Event()
        self._idle = trio.Event()
        #: Counters, for logs, metrics and tests.
        self.writes = 0
        self.failures = 0
        self.conflicts = 0

    def submit(
        self,
        status: Mapping[ObjectRef, ObjectStatus],
        kinds: frozenset[str] = GATEWAY_STATUS_KINDS,
    ) -> None:
        """Hand over the newest translator status for ``kinds`` (Gateway API kinds only; the
        others keep what was handed over before). Never blocks; newer replaces older."""
        keep = {r: s for r, s in self._want.items() if r.kind not in kinds}
        keep.update(
            (r, s) for r, s in status.items() if r.kind in kinds and r.kind in GATEWAY_STATUS_KINDS
        )
        self._want = keep
        self._idle = trio.Event() if self._idle.is_set() else self._idle
        self._dirty.set()

    async def follow_pushes(
        self,
        bus: LifecycleBus,
        latest: LatestValue[ConfigPayload],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """GatewayClass/Gateway status from every translation; routes' from the newest payload
        each time a gateway reports it applied.

        A translation whose configuration is the one a gateway already applied is never
        pushed again (nothing reports it applied), yet its route status may be new: a route
        that attaches nowhere (``NotAllowedByListeners``, ``NoMatchingParent``) changes no
        Kong entity. Its route status is written straight from the translation then, since
        what Kong runs is exactly that configuration."""
        applied: str | None = None
        #: the newest translation: its hash and status. A newer translation with the same
        #: hash as the payload being pushed does not replace that payload, so when the push
        #: reports, the newest status for that hash is this one, not the payload's.
        newest: tuple[str, Mapping[ObjectRef, ObjectStatus]] | None = None
        route_kinds = GATEWAY_STATUS_KINDS - TRANSLATION_KINDS
        async with bus.subscribe() as events:
            task_status.started()
            async for event in events:
                if isinstance(event, TranslationDone):
                    newest = (event.config_hash, event.status)
                    self.submit(event.status, TRANSLATION_KINDS)
                    if applied is not None and event.config_hash == applied:
                        self.submit(event.status, route_kinds)
                elif isinstance(event, ConfigApplied):
                    applied = event.config_hash
                    if newest is not None and newest[0] == event.config_hash:
                        self.submit(newest[1], route_kinds)
                        continue
                    payload = latest.peek()
                    if payload is not None and payload.sha == event.config_hash:
                        self.submit(payload.status, route_kinds)

    async def wait_idle(self) -> None:
        """Return once everything submitted so far was written (for tests)."""
        await self._idle.wait()

    async def _write(self, ref: ObjectRef, status: ObjectStatus | None) -> bool:
        """Read, merge, compare, write with the resourceVersion; True when done."""
        try:
            path = object_path(ref)
        except KubernetesError:
            return True  # a name no URL can hold: nothing to write
        for _ in range(self.retries + 1):
            try:
                await self._bucket_take()
                with trio.fail_after(self.request_timeout):
                    current = (await self.kube.request("GET", path)).json()
                if not isinstance(current, Mapping):
                    return False
                meta = current.get("metadata") or {}
                if ref.uid and meta.get("uid") not in (None, ref.uid):
                    return True  # re-created under the same name: a later translation says
                new_status = desired_status(ref, status, current, self.controller_name)
                if same_status(new_status, current.get("status") or {}):
                    return True
                body_meta: dict[str, Any] = {
                    "name": meta.get("name"),
                    "resourceVersion": meta.get("resourceVersion"),
                }
                if meta.get("namespace"):
                    body_meta["namespace"] = meta["namespace"]
                body = {
                    "apiVersion": current.get("apiVersion"),
                    "kind": current.get("kind"),
                    "metadata": body_meta,
                    "status": new_status,
                }
                await self._bucket_take()
                with trio.fail_after(self.request_timeout):
                    await self.kube.request("PUT", path + "/status", json=body)
                self.writes += 1
                return True
            except KubernetesError as exc:
                if exc.status == 404:
                    return True
                if exc.status == 409:
                    self.conflicts += 1
                    continue  # changed meanwhile: read again
                self.failures += 1
                self.log.warning("could not write status of %s: %s", ref, exc)
                return False
            except (trio.TooSlowError, ValueError) as exc:
                self.failures += 1
                self.log.warning("could not write status of %s: %s", ref, type(exc).__name__)
                return False
        return False

    async def _bucket_take(self) -> None:
        await self._bucket.take()

    async def _lead(self) -> None:
        self._dirty.set()
        retry = False
        while True:
            with trio.move_on_after(5.0 if retry else math.inf):
                await self._dirty.wait()
            self._dirty = trio.Event()
            want = self._want
            retry = False
            # our route entries must go from routes that no longer have a status from us
            gone = [
                r for r in self._done if r not in want and r.kind in ROUTE_KINDS and self._done[r]
            ]
            todo: list[tuple[ObjectRef, ObjectStatus | None]] = [
                (r, s) for r, s in want.items() if self._done.get(r, _MISSING) != s
            ]
            todo += [(r, None) for r in gone]
            todo.sort(key=lambda t: (t[0].kind, t[0].namespace, t[0].name))
            for ref, status in todo:
                if await self._write(ref, status):
                    if status is None:
                        self._done.pop(ref, None)
                    else:
                        self._done[ref] = status
                else:
                    retry = True
            if not self._dirty.is_set():
                self._idle.set()

    async def run(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> NoReturn:
        """Follow leadership: write while leading, wait otherwise; forever."""
        task_status.started()
        while True:
            await self.leader.wait_leader()
            async with trio.open_nursery() as nursery:

                async def until_not_leader() -> None:
                    await wait_not_leader(self.leader)
                    nursery.cancel_scope.cancel()

                nursery.start_soon(until_not_leader)
                await self._lead()
            self._done.clear()


_MISSING: Any = object()

__all__ = [
    "GATEWAY_STATUS_KINDS",
    "GatewayStatusWriter",
    "desired_status",
    "same_status",
]
