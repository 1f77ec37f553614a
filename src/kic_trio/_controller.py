"""``run()``: the root nursery, in the shape of DESIGN.md, and the ``Controller`` handle.

::

    watch(kind) ─┐ deltas  ┌────────────┐ newest payload ┌─────────┐ POST /config
    watch(kind) ─┼───────▶ │ translator │ ─────────────▶ │ applier │ ────────────▶ gateways
    watch(kind) ─┘         └────────────┘                └─────────┘

plus the leader elector, status updater, event recorder and the probe/metrics servers.
Cancelling the caller's scope tears everything down: nothing outlives ``run()``.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import attrs
import trio

from ._deltas import Delta, SchemasLearned, Synced
from ._errors import ConfigError, ControllerError
from ._instance import Instance
from ._latest import LatestValue
from ._lifecycle import CachesSynced, LifecycleEvent, Started, TranslationDone
from ._payload import ConfigPayload
from .config import Config
from .k8s._events import TRANSLATION_FAILED
from .models import SPECS

if TYPE_CHECKING:
    import ssl

    from ._translate_worker import TranslationWorker
    from .k8s import KubeClient, StatusUpdater
    from .kong._schemas import EntitySchemaCache
    from .store import Store

log = logging.getLogger("kic_trio.controller")


class SecretWants(Protocol):
    """What the translator task needs of the Secret watcher (:class:`kic_trio.k8s.SecretFetcher`).

    A Protocol, not the class, so the task can be driven without Kubernetes (tests pass
    ``None``: no Secret is fetched) and the watch layer stays free to change behind it.
    """

    def fetch(self, keys: Iterable[tuple[str, str]], /) -> None: ...


@attrs.define(eq=False)
class Controller:
    """The handle ``await nursery.start(kic_trio.run, cfg)`` returns.

    It is valid while ``run()`` runs; to stop the controller, cancel the scope you started it
    in (or call :meth:`stop`).
    """

    _instance: Instance
    _cancel_scope: trio.CancelScope
    _gateways: Any = None
    #: ``(host, port)`` the probes server is bound to, or ``None`` when it is off.
    probe_address: tuple[str, int] | None = None
    #: ``(host, port)`` the metrics server is bound to, or ``None`` when it is off.
    metrics_address: tuple[str, int] | None = None
    #: ``(host, port)`` of the diagnostics server (``--dump-config``), or ``None`` when off.
    diagnostics_address: tuple[str, int] | None = None
    #: ``(host, port)`` the admission webhook (HTTPS) is bound to, or ``None`` when it is off.
    admission_address: tuple[str, int] | None = None
    _latest: LatestValue[ConfigPayload] = attrs.field(factory=LatestValue)

    @property
    def config(self) -> Config:
        return self._instance.cfg

    @property
    def instance_id(self) -> str:
        return self._instance.id

    @property
    def probe_port(self) -> int | None:
        return self.probe_address[1] if self.probe_address else None

    @property
    def metrics_port(self) -> int | None:
        return self.metrics_address[1] if self.metrics_address else None

    @property
    def metrics_registry(self) -> Any:
        """This instance's ``prometheus_client.CollectorRegistry``."""
        return self._instance.metrics.registry

    @property
    def is_leader(self) -> bool:
        return self._instance.leader.is_leader

    @property
    def is_ready(self) -> bool:
        return self._instance.health.not_ready_reason(self.is_leader) is None

    async def wait_ready(self) -> None:
        """Wait until caches are synced and a first configuration was applied (DB-less leader)."""
        while not self.is_ready:
            if self._instance.health.caches_synced and self._instance.health.first_push_done:
                # ready as far as data goes, but not the leader: a follower is ready too
                return
            with trio.move_on_after(0.05):
                await self._instance.health.wait_ready()

    def applied_hashes(self) -> Mapping[str, str]:
        """Gateway URL -> SHA-256 of the configuration it last accepted from this instance."""
        if self._gateways is None:
            return {}
        return dict(self._gateways.applied_hashes())

    @property
    def latest_config(self) -> ConfigPayload | None:
        """The newest translated configuration (``None`` before the first translation)."""
        return self._latest.peek()

    def subscribe(
        self, buffer: int = 256
    ) -> contextlib.AbstractAsyncContextManager[trio.MemoryReceiveChannel[LifecycleEvent]]:
        """Lifecycle events as a channel: ``async with controller.subscribe() as events: ...``."""
        return self._instance.bus.subscribe(buffer)

    def stop(self) -> None:
        """Ask ``run()`` to shut down cleanly (it returns normally)."""
        self._cancel_scope.cancel()


async def run(
    cfg: Config, *, task_status: trio.TaskStatus[Controller] = trio.TASK_STATUS_IGNORED
) -> None:
    """Run the controller until cancelled.

    ``trio.run(kic_trio.run, cfg)`` is a whole program; ``await nursery.start(kic_trio.run,
    cfg)`` returns a :class:`Controller` once every task has started.

    Raises :class:`~kic_trio.ConfigError` (before starting anything) when ``cfg`` is invalid,
    and :class:`~kic_trio.ControllerError` when a task fails; never a bare ExceptionGroup.
    """
    if not isinstance(cfg, Config):
        raise TypeError(f"run() takes a kic_trio.Config, not {type(cfg).__name__}")
    cfg.validate()
    instance = Instance.create(cfg)
    try:
        await _run(instance, task_status)
    except BaseExceptionGroup as group:
        raise _collapse(group) from None
    finally:
        instance.bus.close()


def _collapse(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """Turn the root nursery's ExceptionGroup into one exception, per the exception policy."""
    leaves: list[BaseException] = []

    def walk(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                walk(inner)
        else:
            leaves.append(exc)

    walk(group)
    for leaf in leaves:
        if isinstance(leaf, KeyboardInterrupt | SystemExit):
            return leaf
    real = [e for e in leaves if not isinstance(e, trio.Cancelled)]
    if not real:
        return leaves[0]
    first = real[0]
    if isinstance(first, ControllerError | ConfigError):
        return first
    err = ControllerError(f"controller task failed: {type(first).__name__}: {first}")
    err.__cause__ = first
    return err


async def _run(instance: Instance, task_status: trio.TaskStatus[Controller]) -> None:
    cfg = instance.cfg
    webhook_tls = None
    if cfg.admission_webhook_listen != "off":
        from .admission import context_from_config

        webhook_tls = context_from_config(cfg)  # a bad certificate stops us before anything starts
    async with trio.open_nursery() as nursery:
        controller = Controller(instance, nursery.cancel_scope)
        from ._server import metrics_app, probes_app, serve_app

        controller.probe_address = await nursery.start(
            serve_app, probes_app(instance), cfg.health_probe_bind_address
        )
        controller.metrics_address = await nursery.start(
            serve_app, metrics_app(instance), cfg.metrics_bind_address
        )
        if cfg.dump_config:
            from .diagnostics import Diagnostics, diagnostics_app

            diag = Diagnostics(sensitive=cfg.dump_sensitive_config)
            instance.diagnostics = diag
            controller.diagnostics_address = await nursery.start(
                serve_app, diagnostics_app(diag), cfg.diagnostic_address
            )
            dhost, dport = controller.diagnostics_address
            (log.warning if cfg.dump_sensitive_config else log.info)(
                "diagnostics on http://%s:%d/ (/debug/config/*): %s",
                dhost,
                dport,
                "dumps INCLUDE Secret values (--dump-sensitive-config)"
                if cfg.dump_sensitive_config
                else "Secret values redacted",
            )

        kube = await nursery.start(_hold_kube_client, cfg)
        await _start_pipeline(instance, controller, kube, nursery, webhook_tls)

        instance.health.started = True
        instance.bus.emit(Started())
        log.info(
            "kic-trio started",
            extra={"instance_id": instance.id, "ingress_class": cfg.ingress_class},
        )
        task_status.started(controller)


async def _hold_kube_client(
    cfg: Config, *, task_status: trio.TaskStatus[KubeClient] = trio.TASK_STATUS_IGNORED
) -> None:
    """Open the instance's own Kubernetes client and keep it open until cancelled."""
    from .k8s import open_kube_client

    async with open_kube_client(cfg) as kube:
        task_status.started(kube)
        await trio.sleep_forever()


async def _start_pipeline(
    instance: Instance,
    controller: Controller,
    kube: KubeClient,
    nursery: trio.Nursery,
    webhook_tls: ssl.SSLContext | None = None,
) -> None:
    """watchers -> translator -> applier, plus the cluster tasks."""
    from . import k8s, kong

    cfg = instance.cfg
    send, receive = trio.open_memory_channel[Delta](math.inf)

    # cluster behaviour: leader election, events, status
    recorder = k8s.make_event_recorder(instance, kube)
    instance.recorder = recorder
    if hasattr(recorder, "run"):
        await nursery.start(recorder.run)
    await nursery.start(k8s.run_leader_election, instance, kube)
    status = None
    # Programmed conditions on Kong's kinds need no publish address: only --update-status=false
    # turns the updater off (the Ingress addresses still follow status_updates_enabled)
    if cfg.update_status is not False:
        status = k8s.make_status_updater(instance, kube)
        await nursery.start(status.run)

    # the data path
    fetcher, expected_kinds = await nursery.start(k8s.run_watchers, instance, kube, send)
    enabled = set(k8s.enabled_kinds(cfg))
    gateways = await nursery.start(kong.run_gateways, instance, kube, controller._latest)
    controller._gateways = gateways
    # Kong's schemas of the KongCustomEntity types: asked in their own task, never waited for
    from .kong._schemas import EntitySchemaCache

    learned = send.clone()
    schemas = await nursery.start(
        EntitySchemaCache(gateways).run, lambda: learned.send_nowait(SchemasLearned())
    )
    if status is not None:
        await nursery.start(status.follow_pushes, instance.bus, controller._latest)
    from .store import Store

    store = Store()  # the translator task owns it; the webhook only takes snapshots of it
    await nursery.start(
        functools.partial(
            translator_task,
            instance,
            receive,
            controller._latest,
            expected_kinds,
            fetcher,
            status,
            store=store,
            router_flavor=gateways.wait_router_flavor,
            kong_listeners=gateways.kong_listeners,
            entity_schemas=schemas,
        )
    )
    if any(k in enabled for k in k8s.GATEWAY_STATUS_KINDS):
        # written even with --update-status=false, as upstream (gateway-api.md §10)
        gw_status = k8s.GatewayStatusWriter(
            kube,
            cfg.gateway_api_controller_name,
            instance.log.getChild("status.gateway"),
            leader=instance.leader,
        )
        await nursery.start(gw_status.run)
        await nursery.start(gw_status.follow_pushes, instance.bus, controller._latest)
    if webhook_tls is not None:
        from .admission import run_admission_webhook
        from .translator import TranslatorOptions

        controller.admission_address = await nursery.start(
            functools.partial(
                run_admission_webhook,
                cfg,
                TranslatorOptions.from_config(cfg),
                store.snapshot,
                kube,
                webhook_tls,
                # judge as the translator task translates, once Kong told the flavor
                router_flavor=lambda: gateways.router_flavor_in_use,
            )
        )


async def translator_task(
    instance: Instance,
    receive: trio.MemoryReceiveChannel[Delta],
    latest: LatestValue[ConfigPayload],
    expected_kinds: frozenset[str],
    fetcher: SecretWants | None,
    status: StatusUpdater | None,
    *,
    offload: bool = True,
    router_flavor: Callable[[], Awaitable[str]] | None = None,
    kong_listeners: Callable[[], tuple[tuple[tuple[int, bool], ...], tuple[tuple[int, bool], ...]]]
    | None = None,
    entity_schemas: EntitySchemaCache | None = None,
    store: Store | None = None,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Apply deltas to the store; translate after a quiet period; hand the newest config on.

    Deltas are applied here, on the Trio thread; each translation runs in a worker thread on
    an immutable snapshot (:mod:`._translate_worker` says why and how that is safe), so a
    10k-set translation does not hold probes, the Lease or pushes. ``offload=False`` keeps it
    on this thread (virtual-time tests).

    The first translation waits until every enabled watcher has listed (``Synced``), bounded
    by ``init_cache_sync_duration``, instead of upstream's fixed sleep. After that, a change
    is translated once no further change arrived for ``sync_debounce`` seconds, or at the
    latest ``sync_max_delay`` after it was seen.

    ``router_flavor`` (the controller passes ``GatewaySet.wait_router_flavor``) is awaited
    after the initial sync, before the first translation (the gateways' ``GET /`` runs
    meanwhile): Kong's router flavor decides how routes are written
    (``TranslatorOptions.router_flavor``). Without it: the default flavor.

    ``entity_schemas`` (Kong's schemas of the KongCustomEntity types) is told the types the
    store holds before each translation; only the first translation waits for it, at most
    ``FIRST_SCHEMAS_WAIT`` and only for types the built-in table lacks. A type Kong has not answered
    for yet is translated from the built-in table or left out; when an answer changes what is
    known, a ``SchemasLearned`` arrives on ``receive`` and everything is translated again.
    """
    from ._translate_worker import TranslationWorker
    from .store import Store
    from .translator import ROUTER_FLAVORS, Translator, TranslatorOptions

    cfg = instance.cfg
    store = Store() if store is None else store
    translator = TranslationWorker(Translator(TranslatorOptions.from_config(cfg)), offload=offload)
    task_status.started()

    pending_kinds = set(expected_kinds)
    first_seen: float | None = None
    options = TranslatorOptions.from_config(cfg)
    schemas_changed = False

    def with_schemas(
        changed: set[tuple[str, str, str]] | None,
    ) -> set[tuple[str, str, str]] | None:
        """Tell ``entity_schemas`` the types held; a changed answer means a new translator
        (and a full translation: ``None``)."""
        nonlocal translator, options
        if entity_schemas is None:
            return changed
        from .models import KongCustomEntity

        entity_schemas.want(
            o.entity_type
            for o in store.snapshot().list("KongCustomEntity")
            if isinstance(o, KongCustomEntity) and o.entity_type
        )
        learned = entity_schemas.current()
        if learned == options.entity_schemas:
            return changed
        options = attrs.evolve(options, entity_schemas=learned)
        translator = TranslationWorker(Translator(options), offload=offload)
        log.info("Kong's schemas of custom entity types: %s", _describe_schemas(learned))
        return None

    # The store records what changed; every translation takes that record (take_changes), so
    # it holds at most the objects changed within one debounce window.
    def apply(delta: Delta) -> None:
        nonlocal first_seen, schemas_changed
        if isinstance(delta, SchemasLearned):
            schemas_changed = True
            return
        if isinstance(delta, Synced):
            pending_kinds.discard(delta.kind)
            return
        changed = store.apply(delta)
        if changed and delta.seen_at and (first_seen is None or delta.seen_at < first_seen):
            first_seen = delta.seen_at

    # -- initial sync -------------------------------------------------------------------------
    # A partial first configuration would remove routes Kong already serves (upstream's
    # start-up race): wait for every watcher's initial list, however long a big cluster takes;
    # say which kinds are late after init_cache_sync_duration, give up after cache_sync_timeout.
    started_at = trio.current_time()
    with trio.move_on_at(started_at + cfg.init_cache_sync_duration):
        while pending_kinds:
            apply(await receive.receive())
    if pending_kinds:
        log.warning(
            "still waiting for the initial list of %s after %.1fs (giving up at %.0fs)",
            ", ".join(sorted(pending_kinds)),
            cfg.init_cache_sync_duration,
            cfg.cache_sync_timeout,
        )
        with trio.move_on_at(
            started_at + max(cfg.cache_sync_timeout, cfg.init_cache_sync_duration)
        ):
            while pending_kinds:
                apply(await receive.receive())
    late = tuple(sorted(pending_kinds))
    if late:
        log.error(
            "watchers not synced after %.0fs, translating what is known; late: %s",
            cfg.cache_sync_timeout,
            ", ".join(late),
        )
    else:
        log.info("caches synced in %.2fs", trio.current_time() - started_at)
    instance.health.mark_synced()
    instance.bus.emit(CachesSynced(kinds=tuple(sorted(expected_kinds)), late=late))
    # drain what is already queued so the first translation sees it
    while True:
        try:
            apply(receive.receive_nowait())
        except trio.WouldBlock:
            break
    if router_flavor is not None:
        flavor = await router_flavor()
        # upstream: only "expressions" changes translation; any other value -> traditional
        known = flavor if flavor in ROUTER_FLAVORS else "traditional_compatible"
        proxy, stream = kong_listeners() if kong_listeners is not None else ((), ())
        options = attrs.evolve(
            options,
            router_flavor=known,
            kong_proxy_listeners=proxy,
            kong_stream_listeners=stream,
        )
        translator = TranslationWorker(Translator(options), offload=offload)
        log.info("translating for Kong's %s router", flavor)
    if entity_schemas is not None:
        # the gateways answered GET / by now: give Kong a moment to answer for the custom
        # entity types the built-in table lacks, so the first configuration has them and
        # they get no "not known yet" Warning (bounded: translation never waits on Kong)
        from .models import KongCustomEntity
        from .translator import BUILTIN_SCHEMAS

        unknown = {
            o.entity_type
            for o in store.snapshot().list("KongCustomEntity")
            if isinstance(o, KongCustomEntity) and o.entity_type not in BUILTIN_SCHEMAS
        } - {""}
        if unknown:
            with trio.move_on_after(FIRST_SCHEMAS_WAIT):
                await entity_schemas.wait_known(unknown)
    store.take_changes()  # a full translation covers them
    schemas_changed = False
    with_schemas(None)
    await _translate(instance, store, translator, latest, None, first_seen, fetcher)
    first_seen = None

    # -- steady state: debounce -----------------------------------------------------------------
    async with receive:
        while True:
            apply(await receive.receive())
            hard_deadline = trio.current_time() + cfg.sync_max_delay
            while True:
                quiet_deadline = min(trio.current_time() + cfg.sync_debounce, hard_deadline)
                with trio.move_on_at(quiet_deadline) as scope:
                    apply(await receive.receive())
                if scope.cancelled_caught:
                    break
            changed = store.take_changes()
            if changed or schemas_changed:
                schemas_changed = False
                todo = with_schemas(changed)
                if todo is None or todo:
                    await _translate(instance, store, translator, latest, todo, first_seen, fetcher)
            first_seen = None


async def _translate(
    instance: Instance,
    store: Store,
    translator: TranslationWorker,
    latest: LatestValue[ConfigPayload],
    changed: set[tuple[str, str, str]] | None,
    first_seen: float | None,
    fetcher: SecretWants | None,
) -> None:
    wanted = store.take_newly_wanted_secrets()
    if wanted and fetcher is not None:
        fetcher.fetch(wanted)
    from ._translate_worker import run_with_budget

    snapshot = store.snapshot()
    started = time.perf_counter()
    budget = instance.cfg.translation_budget
    result = await run_with_budget(
        lambda: translator.translate(snapshot, changed),
        budget,
        lambda: _over_budget(instance, budget, full=changed is None, changes=len(changed or ())),
    )
    duration = time.perf_counter() - started
    if budget > 0 and duration > budget:
        log.warning("translation took %.2fs (budget %.2fs)", duration, budget)
    payload: ConfigPayload = result.to_payload()
    # the snapshot goes along: a fallback builds upstream's object graph from its models
    payload = attrs.evolve(payload, changes_seen_at=first_seen, snapshot=snapshot)
    m = instance.metrics
    ok = "true" if not payload.failures else "false"
    m.translation_count.labels(ok, instance.id).inc()
    m.translation_duration.labels(ok, instance.id).observe(duration * 1000)
    m.translation_broken_resources.labels(instance.id).set(len(payload.failures))
    for kind in SPECS:  # every registered kind (a kind not watched reports 0)
        m.store_objects.labels(kind, instance.id).set(store.count(kind))
    for failure in payload.failures:
        instance.recorder.emit(failure.obj, "Warning", TRANSLATION_FAILED, failure.event_message)
    instance.diagnostics.translated(payload, snapshot)
    instance.bus.emit(
        TranslationDone(
            config_hash=payload.sha,
            failures=payload.failures,
            duration=duration,
            status=payload.status,
        )
    )
    previous = latest.peek()
    if previous is None or previous.sha != payload.sha or latest.has_new:
        latest.put(payload)
    elif previous is not None and previous.sha == payload.sha:
        log.debug("translation unchanged (%s), nothing to push", payload.sha[:12])


#: How long the first translation waits for Kong's schemas of custom entity types (seconds).
FIRST_SCHEMAS_WAIT = 2.0


def _describe_schemas(schemas: Iterable[Any]) -> str:
    """``type (fields)`` / ``type (Kong has no such type)`` for the log."""
    parts = []
    for s in schemas:
        if not s.exists:
            parts.append(f"{s.entity_type} (Kong has no such type)")
        else:
            fks = ", ".join(f"{f}->{r}" for f, r in s.foreign) or "no foreign fields"
            parts.append(f"{s.entity_type} ({fks})")
    return "; ".join(parts) or "none"


def _over_budget(instance: Instance, budget: float, *, full: bool, changes: int) -> None:
    """The watchdog's report: a translation still running when its budget ran out.

    Counted, logged, and a Warning Event on the controller's own Pod when it is known
    (``--pod-name``/``--pod-namespace``, as for push failures); without them there is no
    object to put the Event on, so only the metric and the log say it.
    """
    cfg = instance.cfg
    instance.metrics.translation_over_budget.labels(instance.id).inc()
    what = "a full translation" if full else f"a translation of {changes} changed object(s)"
    message = (
        f"{what} is still running after its budget of {budget:g}s (--translation-budget); "
        "probes, the Lease and pushes keep running, but new changes wait for it"
    )
    log.warning("%s", message)
    if cfg.pod_name and cfg.pod_namespace:
        from .models import ObjectRef

        instance.recorder.emit(
            ObjectRef("Pod", cfg.pod_namespace, cfg.pod_name, "", "", "v1"),
            "Warning",
            "KongConfigurationTranslationSlow",
            message,
        )


@contextlib.asynccontextmanager
async def open_controller(cfg: Config) -> AsyncIterator[Controller]:
    """``async with open_controller(cfg) as controller:`` — run the controller for a block."""
    try:
        async with trio.open_nursery() as nursery:
            controller: Controller = await nursery.start(run, cfg)
            try:
                yield controller
            finally:
                nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        raise _collapse(group) from None
