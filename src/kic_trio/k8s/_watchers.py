"""The watch layer: one reflector per kind (per namespace), filtering, Secret fetching.

``run_watchers(instance_or_cfg, kube, send)`` starts everything and hands back
``(SecretFetcher, expected_kinds)`` through ``task_status`` (``nursery.start``). Deltas go out
on ``send`` as ``Upsert``/``Delete``/``Synced`` (``kic_trio._deltas``).

Filtering (``docs/internals.md``, "Class filtering split" and "Secrets"):

* Ingress, KongClusterPlugin, KongConsumer, KongConsumerGroup that *explicitly* name another
  ingress class are dropped; if one was passed on before (its class changed), a ``Delete`` is
  sent. Class-less objects pass: the translator decides about them.
* Secrets are passed on only when they carry ``konghq.com/ca-cert: "true"``, a
  ``konghq.com/credential`` label or the ``secret_label_selector`` label = ``"true"``, or when
  a watched object references them. The watch layer learns references itself as objects pass
  (``models.secret_refs``) and lists Secrets only after the referencing kinds have listed, so
  the first translation already has every referenced Secret; a reference that appears later
  is fetched at once (:meth:`SecretFetcher.fetch`, also what the store's
  ``take_newly_wanted_secrets`` feeds). Wanted Secrets' later changes and deletion are passed
  on too. Every other Secret in the cluster is seen on the
  watch and forgotten (only its key and resourceVersion are kept, for the relist diff).

A kind whose CRD is not installed is logged once, reported ``Synced`` (there is nothing to
hold), and started when discovery serves it; if the CRD is deleted, its objects are deleted
from the store and the kind waits again. Nothing here raises out of the watch tasks: a
malformed object is parsed into a model with ``failures`` (``kic_trio.models.parse`` never
raises), and an object whose parse still blows up is logged and skipped.
"""

from __future__ import annotations

import functools
import logging
import math
import random
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import trio

from .._deltas import Delete, Delta, Synced, Upsert
from .._errors import KubernetesError
from ..models import (
    KINDS,
    SPECS,
    KindInfo,
    is_classed_kind,
    names_other_class,
    parse,
    secret_has_kong_label,
    secret_refs,
)
from ._paths import InvalidName, namespace_segment, segment, shown, valid_name
from ._reflector import (
    Backoff,
    Key,
    KindNotServed,
    KubeWatcher,
    NullObserver,
    Reflector,
    WatchObserver,
    object_key,
)

log = logging.getLogger("kic_trio.k8s.watch")

#: kind -> the Config switch that turns its watch off (EndpointSlice and Secret: always on).
#: kind -> the Config field that enables it (``None``: always watched), from the registry.
KIND_SWITCHES: Mapping[str, str | None] = {k: spec.switch for k, spec in SPECS.items()}


def enabled_kinds(cfg: Any) -> list[str]:
    """The kinds to watch, in a stable order."""
    return [k for k, spec in SPECS.items() if spec.enabled(cfg)]


class MetricsObserver:
    """Feeds ``kic_trio_watch_events/restarts/relists`` of one instance."""

    def __init__(self, metrics: Any, instance_id: str) -> None:
        self._m = metrics
        self._id = instance_id

    def event(self, kind: str, type_: str) -> None:
        self._m.watch_events.labels(kind, type_, self._id).inc()

    def restart(self, kind: str, reason: str) -> None:
        self._m.watch_restarts.labels(kind, reason, self._id).inc()

    def relist(self, kind: str) -> None:
        self._m.watch_relists.labels(kind, self._id).inc()


def prepare_raw(kind: str, raw: dict[str, Any]) -> dict[str, Any]:
    """Share the strings that repeat across objects before the model keeps them.

    The namespace is interned, and an ``apiVersion`` equal to the kind's known one is dropped
    (``parse`` then takes the group/version constants from ``KINDS`` instead of slicing new
    strings per object; list items carry no ``apiVersion`` anyway). Saves ~150 bytes per
    object in the store. Mutates and returns ``raw`` (the watch layer's own copy).
    """
    meta = raw.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("namespace"), str):
        meta["namespace"] = sys.intern(meta["namespace"])
    info = KINDS.get(kind)
    if info is not None and raw.get("apiVersion") == info.api_version:
        del raw["apiVersion"]
    return raw


class KindHandler:
    """The sink of every reflector of one kind: filters, parses, sends deltas.

    ``held`` is what the store has of this kind as far as the watch layer is concerned
    (key -> resourceVersion): the basis for "send a Delete when an object stops being ours".
    """

    def __init__(
        self,
        kind: str,
        send: trio.MemorySendChannel[Delta],
        *,
        ingress_class: str,
        secret_label_selector: str | None = None,
        wanted_secrets: set[Key] | None = None,
    ) -> None:
        self.kind = kind
        self.send = send
        self.ingress_class = ingress_class
        self.secret_label_selector = secret_label_selector
        self.wanted_secrets: set[Key] = wanted_secrets if wanted_secrets is not None else set()
        #: Only filtered kinds need to remember what they passed on (to send a Delete when an
        #: object stops matching); for the others every object is passed on, and a Delete
        #: for an object the store does not hold is a no-op there.
        self.filtered = kind == "Secret" or is_classed_kind(kind)
        self.held: dict[Key, str] = {}
        self.sources: set[object] = set()
        #: Set once this kind has listed (or was found not served) for the first time.
        self.first_synced = trio.Event()
        #: Called with every model passed on (the Secret fetcher learns references from it).
        self.on_model: Callable[[Any], None] | None = None
        #: Keys a GET is in flight for, and those of them the watch saw deleted meanwhile
        #: (the GET's answer is then stale: passing it on would invent a deleted Secret).
        self.fetching: set[Key] = set()
        self.deleted_while_fetching: set[Key] = set()
        self._synced_sources: set[object] = set()

    def _keep(self, key: Key, raw: Mapping[str, Any]) -> bool:
        if self.kind == "Secret":
            meta = raw.get("metadata")
            labels = meta.get("labels") if isinstance(meta, Mapping) else None
            labels = labels if isinstance(labels, Mapping) else {}
            str_labels = {
                k: v for k, v in labels.items() if isinstance(k, str) and isinstance(v, str)
            }
            return key in self.wanted_secrets or secret_has_kong_label(
                str_labels, self.secret_label_selector
            )
        return not names_other_class(self.kind, raw, self.ingress_class)

    async def upsert(self, raw: dict[str, Any]) -> None:
        meta = raw.get("metadata")
        if not isinstance(meta, Mapping):
            return
        key = object_key(raw)
        if key is None:
            return
        try:
            keep = self._keep(key, raw)
            model = parse(self.kind, prepare_raw(self.kind, raw)) if keep else None
        except Exception:
            # parse() never raises by contract; if it ever does, one object is lost, not the watch.
            log.exception("%s %s/%s: could not parse; skipped", self.kind, key[0], key[1])
            return
        if model is None:
            if key in self.held:
                del self.held[key]
                await self.send.send(Delete(self.kind, key[0], key[1], trio.current_time()))
            return
        if self.filtered:
            self.held[key] = model.resource_version
        if self.on_model is not None:
            try:
                self.on_model(model)
            except Exception:
                log.exception("%s %s/%s: reference tracking failed", self.kind, key[0], key[1])
        await self.send.send(Upsert(self.kind, model, trio.current_time()))

    async def delete(self, namespace: str, name: str) -> None:
        if (namespace, name) in self.fetching:
            self.deleted_while_fetching.add((namespace, name))
        if not self.filtered or self.held.pop((namespace, name), None) is not None:
            await self.send.send(Delete(self.kind, namespace, name, trio.current_time()))

    async def synced(self, source: object) -> None:
        self._synced_sources.add(source)
        if self.sources <= self._synced_sources:
            self.first_synced.set()
            await self.send.send(Synced(self.kind))

    async def report_synced(self) -> None:
        """Nothing to list (the kind is not served): the store's (empty) view is complete."""
        self.first_synced.set()
        await self.send.send(Synced(self.kind))

    async def drop_all(self, keys: Iterable[Key] = ()) -> None:
        """The kind stopped being served (CRD deleted): everything passed on is gone.

        ``keys``: what the reflectors knew (unfiltered kinds do not track ``held``).
        """
        for ns, name in sorted(set(self.held) | set(keys)):
            await self.send.send(Delete(self.kind, ns, name, trio.current_time()))
        self.held.clear()

    def reset_sources(self, sources: Iterable[object]) -> None:
        self.sources = set(sources)
        self._synced_sources.clear()


#: Distinct warnings about unwatched namespaces / invalid names the fetcher logs (bounded memory).
_MAX_WARNED = 1000


class SecretFetcher:
    """GETs the Secrets the store asks for, and keeps passing on their changes afterwards.

    ``fetch(keys)`` never blocks (the translator task calls it): keys are queued and a
    background task (:meth:`run`) GETs them with a few requests in flight. A Secret that does
    not exist yet is logged; as it is now "wanted", the Secret watcher passes it on when it is
    created. Keys in namespaces the controller does not watch are ignored (with a warning).
    The wanted set only grows: a Secret once referenced is followed for the instance's life.
    """

    def __init__(
        self,
        kube: KubeWatcher,
        handler: KindHandler,
        *,
        namespaces: Sequence[str] = (),
        concurrency: int = 8,
        rng: random.Random | None = None,
    ) -> None:
        self.kube = kube
        self.handler = handler
        self.namespaces = frozenset(namespaces)
        self._limiter = trio.CapacityLimiter(concurrency)
        self._send, self._receive = trio.open_memory_channel[Key](math.inf)
        self._rng = rng or random.Random()
        self._warned: set[str] = set()
        self._requested: set[Key] = set()

    @property
    def wanted(self) -> set[Key]:
        return self.handler.wanted_secrets

    def _watched(self, ns: str, name: str | None = None) -> bool:
        """Whether ``(ns, name)`` may be read: valid names in a watched namespace only.

        An invalid name (``../../team-b/secrets/x``, ``a%2Fb``, too long) is never requested:
        the referencing object's translation reports the Secret as missing (a Failure and a
        Warning Event on that object).
        """
        if not valid_name(ns, label=True) or (name is not None and not valid_name(name)):
            key = f"{ns}/{name}"
            if key not in self._warned and len(self._warned) < _MAX_WARNED:
                self._warned.add(key)
                log.warning(
                    "a watched object references a Secret by an invalid name (%s/%s); not fetched",
                    shown(ns),
                    shown(name),
                )
            return False
        if self.namespaces and ns not in self.namespaces:
            if ns not in self._warned:
                self._warned.add(ns)
                log.warning(
                    "a watched object references Secrets in namespace %r, which is not watched",
                    ns,
                )
            return False
        return True

    def fetch(self, keys: Iterable[tuple[str, str]]) -> None:
        """Follow these Secrets from now on; GET those not held yet (in the background)."""
        for ns, name in keys:
            key = (ns, name)
            if not self._watched(ns, name):
                continue
            self.wanted.add(key)
            if key in self.handler.held or key in self._requested:
                continue
            self._requested.add(key)
            self._send.send_nowait(key)

    def want_refs_of(self, model: Any) -> None:
        """Learn the Secrets a watched object references (``KindHandler.on_model``).

        Before the Secret watcher's first list this only marks them wanted, so that list
        keeps them: the first translation then has every referenced Secret, with no GET per
        Secret and no "Secret missing" warnings at start. Afterwards new references are
        fetched at once.
        """
        refs = [k for k in secret_refs(model) if k not in self.wanted]
        if not refs:
            return
        if self.handler.first_synced.is_set():
            self.fetch(refs)
        else:
            self.wanted.update(k for k in refs if self._watched(*k))

    async def fetch_now(self, keys: Iterable[tuple[str, str]]) -> None:
        """Like :meth:`fetch`, but returns once these Secrets were fetched (or found missing)."""
        todo = [(ns, n) for ns, n in keys if self._watched(ns, n)]
        self.wanted.update(todo)
        async with trio.open_nursery() as nursery:
            for key in todo:
                nursery.start_soon(self._get, key)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        async with trio.open_nursery() as nursery:
            async for key in self._receive:
                nursery.start_soon(self._get, key)

    async def _get(self, key: Key) -> None:
        self.handler.fetching.add(key)
        try:
            await self._get_once(key)
        finally:
            self.handler.fetching.discard(key)
            self.handler.deleted_while_fetching.discard(key)

    async def _get_once(self, key: Key) -> None:
        ns, name = key
        backoff = Backoff(rng=self._rng)
        while True:
            try:
                async with self._limiter:
                    resp = await self.kube.request(
                        "GET", f"/api/v1/namespaces/{namespace_segment(ns)}/secrets/{segment(name)}"
                    )
            except InvalidName as exc:  # _watched let it through: a bug, but never a request
                log.warning("not fetching Secret: %s", exc)
                return
            except KubernetesError as exc:
                if exc.status == 404:
                    log.info("referenced Secret %s/%s does not exist (yet); following it", ns, name)
                    return
                if exc.status == 403:
                    log.warning("not allowed to read referenced Secret %s/%s: %s", ns, name, exc)
                    return
                delay = backoff.next(trio.current_time())
                log.warning(
                    "fetching Secret %s/%s failed (%s); retrying in %.1fs", ns, name, exc, delay
                )
                await trio.sleep(delay)
                continue
            # The watch may have delivered it (newer) or seen it deleted meanwhile.
            if key not in self.handler.held and key not in self.handler.deleted_while_fetching:
                try:
                    raw = resp.json()
                except ValueError:
                    log.warning("Secret %s/%s: the response is not JSON", ns, name)
                    return
                if isinstance(raw, dict):
                    await self.handler.upsert(raw)
            return


async def kind_served(kube: KubeWatcher, info: KindInfo) -> bool:
    """Whether discovery lists ``info.plural`` in its group/version (a 404 means no)."""
    try:
        resp = await kube.request("GET", f"/apis/{info.group}/{info.version}")
    except KubernetesError as exc:
        if exc.status == 404:
            return False
        raise
    resources = resp.json().get("resources") or []
    return any(isinstance(r, Mapping) and r.get("name") == info.plural for r in resources)


async def run_kind(
    kube: KubeWatcher,
    kind: str,
    info: KindInfo,
    handler: KindHandler,
    namespaces: Sequence[str | None],
    *,
    observer: WatchObserver | None = None,
    crd_poll_interval: float = 2.0,
    rng: random.Random | None = None,
    reflector_options: Mapping[str, Any] | None = None,
    start_after: Sequence[trio.Event] = (),
    start_after_timeout: float = 60.0,
) -> None:
    """Watch one kind forever: wait for its CRD when needed, run a reflector per namespace.

    ``start_after``: events to wait for (at most ``start_after_timeout`` s) before listing.
    """
    rng = rng or random.Random()
    opts = dict(reflector_options or {})
    needs_crd = info.needs_crd
    if start_after:
        # Secrets list after the kinds that reference them, so the list keeps the right ones.
        with trio.move_on_after(start_after_timeout) as waited:
            for event in start_after:
                await event.wait()
        if waited.cancelled_caught:
            log.warning(
                "%s: other kinds not synced after %.0fs; listing anyway", kind, start_after_timeout
            )
    while True:
        if needs_crd:
            await _wait_served(kube, kind, info, handler, crd_poll_interval, rng)
        reflectors = [
            Reflector(kube, kind, info, handler, namespace=ns, rng=rng, observer=observer, **opts)
            for ns in namespaces
        ]
        handler.reset_sources(reflectors)
        try:
            async with trio.open_nursery() as nursery:
                for r in reflectors:
                    nursery.start_soon(r.run)
        except* KindNotServed:
            log.warning("%s is no longer served (CRD deleted?); its objects are gone", kind)
            await handler.drop_all(k for r in reflectors for k in r.known)
            needs_crd = True


async def _wait_served(
    kube: KubeWatcher,
    kind: str,
    info: KindInfo,
    handler: KindHandler,
    poll: float,
    rng: random.Random,
) -> None:
    backoff = Backoff(rng=rng)
    reported = False
    while True:
        try:
            if await kind_served(kube, info):
                if reported:
                    log.info("%s is now served; starting to watch it", kind)
                return
        except (KubernetesError, ValueError, AttributeError) as exc:
            delay = backoff.next(trio.current_time())
            log.warning("discovery for %s failed (%s); retrying in %.1fs", kind, exc, delay)
            await trio.sleep(delay)
            continue
        if not reported:
            reported = True
            log.warning(
                "%s (%s/%s) is not served: its CRD is not installed; watching for it",
                kind,
                info.group,
                info.version,
            )
            await handler.report_synced()
        await trio.sleep(poll)


def _unpack(instance_or_cfg: Any) -> tuple[Any, WatchObserver]:
    if hasattr(instance_or_cfg, "cfg") and hasattr(instance_or_cfg, "metrics"):
        inst = instance_or_cfg
        return inst.cfg, MetricsObserver(inst.metrics, inst.id)
    return instance_or_cfg, NullObserver()


async def run_watchers(
    instance_or_cfg: Any,
    kube: KubeWatcher,
    send: trio.MemorySendChannel[Delta],
    *,
    crd_poll_interval: float = 2.0,
    reflector_options: Mapping[str, Any] | None = None,
    task_status: trio.TaskStatus[tuple[SecretFetcher, frozenset[str]]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run every enabled watcher until cancelled.

    ``task_status.started((fetcher, expected_kinds))``: the :class:`SecretFetcher` the
    translator task hands newly referenced Secrets to, and the kinds that will report
    ``Synced``. ``reflector_options`` are passed to every :class:`Reflector` (tests use it
    for short timeouts).
    """
    cfg, observer = _unpack(instance_or_cfg)
    watch_ns = [ns for ns in (getattr(cfg, "watch_namespace", ()) or ()) if ns]
    kinds = enabled_kinds(cfg)
    handlers = {
        kind: KindHandler(
            kind,
            send,
            ingress_class=str(getattr(cfg, "ingress_class", "kong")),
            secret_label_selector=getattr(cfg, "secret_label_selector", None),
        )
        for kind in kinds
    }
    fetcher = SecretFetcher(kube, handlers["Secret"], namespaces=watch_ns)
    referencing = [h for kind, h in handlers.items() if kind != "Secret"]
    for h in referencing:
        h.on_model = fetcher.want_refs_of
    async with trio.open_nursery() as nursery:
        await nursery.start(fetcher.run)
        for kind in kinds:
            info = KINDS[kind]
            namespaces: list[str | None] = (
                list(watch_ns) if (info.namespaced and watch_ns) else [None]
            )
            nursery.start_soon(
                functools.partial(
                    run_kind,
                    observer=observer,
                    crd_poll_interval=crd_poll_interval,
                    reflector_options=reflector_options,
                    start_after=[h.first_synced for h in referencing] if kind == "Secret" else (),
                ),
                kube,
                kind,
                info,
                handlers[kind],
                namespaces,
                name=f"watch {kind}",
            )
        log.info(
            "watching %s in %s",
            ", ".join(kinds),
            ", ".join(watch_ns) if watch_ns else "all namespaces",
        )
        task_status.started((fetcher, frozenset(kinds)))


__all__ = [
    "KIND_SWITCHES",
    "KindHandler",
    "SecretFetcher",
    "enabled_kinds",
    "kind_served",
    "run_kind",
    "run_watchers",
]
