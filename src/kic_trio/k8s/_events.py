"""Kubernetes Events: how users learn, with ``kubectl describe``, why an object is not in Kong.

Callers (translator task, applier) call :meth:`EventRecorder.emit` from anywhere: it never
blocks and never raises. A background task (:meth:`EventRecorder.run`) writes the queued events
to the API server, with client-go's recorder semantics where they matter to users:

* **One Event object per problem.** The same (object, type, reason, message) emitted again --
  on every sync while an Ingress stays broken -- PATCHes the existing Event's ``count`` and
  ``lastTimestamp`` instead of creating another object (a bounded LRU remembers what was
  written, like client-go's ``EventCorrelator``). Emits of one problem that arrive while the
  first is still queued are coalesced into a single write with the summed count.
* **Spam filter.** A token bucket per involved object (burst 25, one token per 5 minutes, as
  client-go), one per namespace (``namespace_qps``/``namespace_burst``) and a global one
  (``qps``/``burst``, within upstream's API client budget of 100 qps / burst 300) bound the
  write rate whatever happens: 10k broken Ingresses do not turn into a write storm.
* **Fair and prompt.** Users wait for these Events (the issue asks for a failure within 1 s of
  the apply), so a few writers (``concurrency``) write in parallel, and the queue is kept per
  namespace and served round-robin, new problems before repeats (a count update of a problem
  already reported tells nobody anything new). One tenant flooding its namespace spends its
  own namespace's bucket; another namespace's first Event is not queued behind the flood.
  Measured (76 hostile cases landing at once, ``tests/reliability/test_hostile_live.py``):
  one writer at 10 qps delivered the last failures after seconds, see that module's table.
* **Bounded memory.** At most ``max_pending`` distinct problems wait; beyond that new ones are
  dropped and counted in the log.
* **Failure is not fatal.** A write that fails is logged and forgotten.

Events are core ``v1`` Events (``involvedObject``), which ``kubectl describe`` shows with their
count. Messages are the caller's text, truncated to 1024 characters; callers must never put
Secret values in them (Failure reasons never contain any).
"""

from __future__ import annotations

import collections
import logging
import socket
import time
from datetime import UTC, datetime
from typing import Literal, NamedTuple, NoReturn, Protocol

import attrs
import trio

from .._errors import KubernetesError
from .._lifecycle import LeadershipGained, LifecycleBus, TranslationDone
from ..models import Failure, ObjectRef
from ._leader import KubeRequester, LeaderSink
from ._paths import namespace_segment, segment

EventType = Literal["Normal", "Warning"]

COMPONENT = "kic-trio"
#: Upstream's reason for objects that could not be translated (reported by the translator
#: task; re-reported here when leadership changes hands).
TRANSLATION_FAILED = "KongConfigurationTranslationFailed"
MAX_MESSAGE = 1024
#: Namespace used for Events about cluster-scoped objects (as client-go).
DEFAULT_NAMESPACE = "default"
INSTANCE_ANNOTATION = "konghq.com/instance-id"


# --------------------------------------------------------------------------------------------
# Rate limiting (pure; shared with the status updater)


@attrs.define
class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up. Time is passed in (pure)."""

    rate: float
    burst: float
    tokens: float = attrs.field(default=-1.0)
    stamp: float | None = None

    def __attrs_post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = self.burst

    def _refill(self, now: float) -> None:
        if self.stamp is not None and now > self.stamp:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now if self.stamp is None else max(self.stamp, now)

    def try_take(self, now: float) -> bool:
        """Take one token if there is one."""
        self._refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def wait_time(self, now: float) -> float:
        """Seconds until a token will be available (0 when one is)."""
        self._refill(now)
        if self.tokens >= 1.0 or self.rate <= 0:
            return 0.0 if self.tokens >= 1.0 else float("inf")
        return (1.0 - self.tokens) / self.rate

    async def take(self) -> None:
        """Wait (on trio's clock) for a token and take it."""
        # Reserve now, then sleep off the deficit: concurrent callers queue up in order, each
        # owing one more token than the one before.
        self._refill(trio.current_time())
        self.tokens -= 1.0
        if self.tokens < 0:
            await trio.sleep(-self.tokens / self.rate)
        else:
            await trio.lowlevel.checkpoint()


# --------------------------------------------------------------------------------------------
# What gets written (pure)


class EventKey(NamedTuple):
    """Identity of one problem: the same key on a later sync updates the same Event.

    A NamedTuple rather than an attrs class: it is built and hashed for every emit, up to
    10k per sync, and tuple hashing runs in C (2 us -> 0.3 us per emit).
    """

    ref: ObjectRef
    type: str
    reason: str
    message: str


def _api_version(ref: ObjectRef) -> str:
    return f"{ref.group}/{ref.version}" if ref.group else ref.version


def event_namespace(ref: ObjectRef) -> str:
    return ref.namespace or DEFAULT_NAMESPACE


def truncate_message(message: str, limit: int = MAX_MESSAGE) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."


def event_body(
    key: EventKey,
    *,
    name: str,
    count: int,
    first: str,
    last: str,
    component: str = COMPONENT,
    instance: str = "",
    host: str = "",
    annotations: dict[str, str] | None = None,
) -> dict[str, object]:
    """A core ``v1`` Event about ``key.ref``."""
    ref = key.ref
    involved: dict[str, str] = {"kind": ref.kind, "name": ref.name, "apiVersion": _api_version(ref)}
    if ref.namespace:
        involved["namespace"] = ref.namespace
    if ref.uid:
        involved["uid"] = ref.uid
    metadata: dict[str, object] = {"name": name, "namespace": event_namespace(ref)}
    if annotations:
        metadata["annotations"] = dict(annotations)
    source: dict[str, str] = {"component": component}
    if host:
        source["host"] = host
    body: dict[str, object] = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": metadata,
        "involvedObject": involved,
        "type": key.type,
        "reason": key.reason,
        "message": key.message,
        "source": source,
        "firstTimestamp": first,
        "lastTimestamp": last,
        "count": count,
        "reportingComponent": component,
    }
    if instance:
        body["reportingInstance"] = instance[:128]
    return body


def _timestamp(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@attrs.define
class _Written:
    namespace: str
    name: str
    count: int
    first: str


# --------------------------------------------------------------------------------------------
# The queue (pure: time is passed in)


@attrs.define
class _NamespaceQueue:
    """What waits to be written about one namespace's objects, and that namespace's bucket."""

    bucket: TokenBucket
    #: problems never written yet (someone is waiting to learn about them)
    new: collections.OrderedDict[EventKey, int] = attrs.field(factory=collections.OrderedDict)
    #: count updates of problems already reported
    repeat: collections.OrderedDict[EventKey, int] = attrs.field(factory=collections.OrderedDict)

    def __len__(self) -> int:
        return len(self.new) + len(self.repeat)

    def get(self, key: EventKey) -> int | None:
        n = self.new.get(key)
        return self.repeat.get(key) if n is None else n

    def pop(self) -> tuple[EventKey, int]:
        return (self.new if self.new else self.repeat).popitem(last=False)


@attrs.define
class EventQueue:
    """Pending Events per namespace, served round-robin within each namespace's bucket.

    Pure (the caller passes the time), so the fairness rules are tested without a clock.
    """

    namespace_qps: float
    namespace_burst: float
    #: namespaces with something pending, in round-robin order
    _queues: collections.OrderedDict[str, _NamespaceQueue] = attrs.field(
        factory=collections.OrderedDict, alias="_queues"
    )
    #: buckets of namespaces with nothing pending, kept so an emptied queue keeps its debt
    _idle_buckets: collections.OrderedDict[str, TokenBucket] = attrs.field(
        factory=collections.OrderedDict, alias="_idle_buckets"
    )
    size: int = 0
    max_idle_buckets: int = 4096

    def add(self, key: EventKey, written: bool) -> bool:
        """Queue one emit of ``key``; ``False`` when it was already queued (coalesced)."""
        ns = event_namespace(key.ref)
        q = self._queues.get(ns)
        if q is None:
            bucket = self._idle_buckets.pop(ns, None) or TokenBucket(
                self.namespace_qps, self.namespace_burst
            )
            q = self._queues[ns] = _NamespaceQueue(bucket)
        n = q.get(key)
        if n is not None:
            (q.new if key in q.new else q.repeat)[key] = n + 1
            return False
        (q.repeat if written else q.new)[key] = 1
        self.size += 1
        return True

    def has(self, key: EventKey) -> bool:
        q = self._queues.get(event_namespace(key.ref))
        return q is not None and q.get(key) is not None

    def take(self, now: float) -> tuple[EventKey, int] | float:
        """The next problem to write, or (none has a token) seconds until one will.

        Round-robin over namespaces (the one served goes to the back of the line), first
        among those with a new problem, then among the rest: a count update never delays a
        problem nobody has been told about, in any namespace (each translation re-emits every
        current failure, so with 76 broken namespaces the repeats of the others would
        otherwise be served before a new failure's turn came round).
        """
        wait = float("inf")
        order = [ns for ns, q in self._queues.items() if q.new]
        if len(order) < len(self._queues):
            order += [ns for ns, q in self._queues.items() if not q.new]
        for ns in order:
            q = self._queues[ns]
            if q.bucket.try_take(now):
                item = q.pop()
                self.size -= 1
                del self._queues[ns]
                if q:
                    self._queues[ns] = q
                else:
                    self._idle_buckets[ns] = q.bucket
                    while len(self._idle_buckets) > self.max_idle_buckets:
                        self._idle_buckets.popitem(last=False)
                return item
            wait = min(wait, q.bucket.wait_time(now))
        return wait

    def items(self) -> list[tuple[EventKey, int]]:
        """Everything queued, namespace by namespace, new before repeats (for tests/logs)."""
        return [kv for q in self._queues.values() for kv in (*q.new.items(), *q.repeat.items())]


# --------------------------------------------------------------------------------------------
# The recorder


class EventRecorder:
    """Queue Events without blocking; write them from :meth:`run`. See the module docstring."""

    def __init__(
        self,
        kube: KubeRequester | None,
        *,
        enabled: bool = True,
        component: str = COMPONENT,
        instance: str = "",
        host: str = "",
        instance_id: str = "",
        log: logging.Logger | None = None,
        max_pending: int = 4096,
        cache_size: int = 4096,
        qps: float = 50.0,
        burst: int = 300,
        namespace_qps: float = 10.0,
        namespace_burst: int = 100,
        concurrency: int = 4,
        per_object_burst: int = 25,
        per_object_refill: float = 300.0,
        leader: LeaderSink | None = None,
        bus: LifecycleBus | None = None,
    ) -> None:
        self.kube = kube
        self.enabled = enabled and kube is not None
        #: With leader election every replica translates (warm caches), but only the leader
        #: reports problems, as upstream where only the leader translates: no duplicate Events
        #: from followers. ``None``: always report.
        self.leader = leader
        self.bus = bus
        self.component = component
        self.instance = instance
        self.host = host
        self.annotations = {INSTANCE_ANNOTATION: instance_id} if instance_id else None
        self.log = log or logging.getLogger("kic_trio.events")
        self.max_pending = max_pending
        self.cache_size = cache_size
        self._global = TokenBucket(qps, burst)
        self.concurrency = max(1, concurrency)
        self._per_object_burst = per_object_burst
        self._per_object_rate = 1.0 / per_object_refill if per_object_refill > 0 else float("inf")
        self._per_object: collections.OrderedDict[ObjectRef, TokenBucket] = (
            collections.OrderedDict()
        )
        self._queue = EventQueue(namespace_qps, namespace_burst, max_idle_buckets=cache_size)
        self._in_flight = 0
        #: problems being written now -> set when that write is over
        self._writing: dict[EventKey, trio.Event] = {}
        self._written: collections.OrderedDict[EventKey, _Written] = collections.OrderedDict()
        self._wakeup = trio.Event()
        self._idle = trio.Event()
        self._idle.set()
        self._last_name_ns = 0
        #: Counters, for logs, metrics and tests.
        self.created = 0
        self.patched = 0
        self.dropped = 0
        self.throttled = 0
        self.failed = 0

    @classmethod
    def disabled(cls) -> EventRecorder:
        """A recorder that discards everything (``emit_kubernetes_events=false``)."""
        return cls(None, enabled=False)

    # -- producer side -----------------------------------------------------------------------

    def emit(self, ref: ObjectRef, type: str, reason: str, message: str) -> None:
        """Queue an Event about ``ref``. Never blocks, never raises."""
        if not self.enabled or (self.leader is not None and not self.leader.is_leader):
            return
        if not ref.name or not reason:
            self.log.debug("event %r without an object name or reason dropped", reason)
            return
        key = EventKey(ref, type, reason, truncate_message(message))
        queue = self._queue
        if queue.size >= self.max_pending and not queue.has(key):
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                self.log.warning("event queue full: %d event(s) dropped so far", self.dropped)
            return
        queue.add(key, written=key in self._written)
        if self._idle.is_set():
            self._idle = trio.Event()
        self._wakeup.set()

    @property
    def pending(self) -> int:
        """Distinct problems waiting to be written."""
        return self._queue.size

    def queued(self) -> list[tuple[EventKey, int]]:
        """What waits, with each problem's coalesced count (in the order it will be written
        within its namespace: new problems first)."""
        return self._queue.items()

    async def wait_idle(self) -> None:
        """Return once every queued event has been written, dropped or throttled."""
        await self._idle.wait()

    # -- writer side -------------------------------------------------------------------------

    def _object_bucket(self, ref: ObjectRef) -> TokenBucket:
        bucket = self._per_object.get(ref)
        if bucket is None:
            bucket = TokenBucket(self._per_object_rate, self._per_object_burst)
            self._per_object[ref] = bucket
            while len(self._per_object) > self.cache_size:
                self._per_object.popitem(last=False)
        else:
            self._per_object.move_to_end(ref)
        return bucket

    def _new_name(self, ref: ObjectRef) -> str:
        # client-go names Events <object>.<unix nanos in hex>; keep it strictly increasing.
        ns = max(time.time_ns(), self._last_name_ns + 1)
        self._last_name_ns = ns
        return f"{ref.name[:200]}.{ns:x}"

    async def _create(self, key: EventKey, count: int, first: str, last: str) -> _Written:
        assert self.kube is not None
        namespace = event_namespace(key.ref)
        name = self._new_name(key.ref)
        body = event_body(
            key,
            name=name,
            count=count,
            first=first,
            last=last,
            component=self.component,
            instance=self.instance,
            host=self.host,
            annotations=self.annotations,
        )
        await self.kube.request(
            "POST", f"/api/v1/namespaces/{namespace_segment(namespace)}/events", json=body
        )
        self.created += 1
        return _Written(namespace, name, count, first)

    async def _write(self, key: EventKey, n: int) -> None:
        assert self.kube is not None
        now = _timestamp(datetime.now(UTC))
        prev = self._written.get(key)
        if prev is None:
            written = await self._create(key, n, now, now)
        else:
            count = prev.count + n
            try:
                await self.kube.request(
                    "PATCH",
                    f"/api/v1/namespaces/{namespace_segment(prev.namespace)}"
                    f"/events/{segment(prev.name)}",
                    json={"count": count, "lastTimestamp": now},
                    headers={"Content-Type": "application/merge-patch+json"},
                )
                self.patched += 1
                written = _Written(prev.namespace, prev.name, count, prev.first)
            except KubernetesError as exc:
                if exc.status != 404:
                    raise
                # The Event expired (the API server keeps them for an hour): start it again,
                # keeping the count so far, as client-go does.
                written = await self._create(key, count, prev.first, now)
        self._written[key] = written
        self._written.move_to_end(key)
        while len(self._written) > self.cache_size:
            self._written.popitem(last=False)

    async def run(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> NoReturn:
        """Write queued events, ``concurrency`` at a time, within the rate limits; forever.

        With a ``bus``, also re-reports the last translation's failures when this instance
        becomes the leader (see :meth:`_replay_on_leadership`).
        """
        async with trio.open_nursery() as nursery:
            if self.bus is not None and self.enabled:
                await nursery.start(self._replay_on_leadership, self.bus)
            for _ in range(self.concurrency - 1):
                nursery.start_soon(self._write_forever)
            task_status.started()
            await self._write_forever()

    async def _replay_on_leadership(
        self, bus: LifecycleBus, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """A follower drops what it would report; the new leader reports the current problems.

        Followers translate too but report nothing (see ``leader``). Without this, a replica
        that takes over would stay silent about broken objects until the next change: it
        remembers the failures of the last translation and reports them on gaining leadership.
        """
        last: tuple[Failure, ...] = ()
        async with bus.subscribe() as events:
            task_status.started()
            async for event in events:
                if isinstance(event, TranslationDone):
                    last = event.failures
                elif isinstance(event, LeadershipGained):
                    for f in last:
                        self.emit(f.obj, "Warning", TRANSLATION_FAILED, f.event_message)

    async def _write_forever(self) -> NoReturn:
        """One writer: take the next problem (fairly, see :class:`EventQueue`), write it.

        Several run at once; taking from the queue has no await in it, so two writers never
        take the same queued item. A re-emit of a problem whose write is in flight is queued
        again; the writer that takes it waits for the first write to finish, so it PATCHes
        the Event the first one created instead of creating a second one.
        """
        while True:
            if not self._queue.size:
                if not self._in_flight:
                    self._idle.set()
                wakeup = self._wakeup
                await wakeup.wait()
                if self._wakeup is wakeup:
                    self._wakeup = trio.Event()
                continue
            got = self._queue.take(trio.current_time())
            if isinstance(got, float):  # every namespace with work is out of tokens
                with trio.move_on_after(got):
                    wakeup = self._wakeup
                    await wakeup.wait()
                    if self._wakeup is wakeup:
                        self._wakeup = trio.Event()
                continue
            key, n = got
            if not self._object_bucket(key.ref).try_take(trio.current_time()):
                self.throttled += 1
                self.log.debug("event on %s throttled: %s", key.ref, key.reason)
                continue
            self._in_flight += 1
            try:
                while (busy := self._writing.get(key)) is not None:
                    await busy.wait()
                done = self._writing[key] = trio.Event()
                try:
                    await self._global.take()
                    await self._write(key, n)
                finally:
                    del self._writing[key]
                    done.set()
            except Exception as exc:  # an Event is never worth stopping the controller
                self.failed += 1
                self.log.warning("could not write event %s on %s: %s", key.reason, key.ref, exc)
            finally:
                self._in_flight -= 1
            if not self._queue.size and not self._in_flight:
                self._idle.set()


def pod_ref(namespace: str, name: str, uid: str = "") -> ObjectRef:
    """The controller's own Pod, for Normal/Warning Events about pushes."""
    return ObjectRef("Pod", namespace, name, uid, "", "v1")


class _EventsConfig(Protocol):
    @property
    def emit_kubernetes_events(self) -> bool: ...
    @property
    def pod_name(self) -> str | None: ...


class _InstanceLike(Protocol):
    @property
    def cfg(self) -> _EventsConfig: ...
    @property
    def id(self) -> str: ...
    @property
    def log(self) -> logging.Logger: ...
    @property
    def leader(self) -> LeaderSink: ...
    @property
    def bus(self) -> LifecycleBus: ...


def make_event_recorder(instance: _InstanceLike, kube: KubeRequester | None) -> EventRecorder:
    """The recorder the instance's Config asks for (a discarding one when events are off).

    Events carry the instance id as the ``konghq.com/instance-id`` annotation, as upstream's.
    """
    cfg = instance.cfg
    if not cfg.emit_kubernetes_events or kube is None:
        return EventRecorder.disabled()
    host = cfg.pod_name or socket.gethostname()
    return EventRecorder(
        kube,
        instance=f"{host}_{instance.id}",
        host=host,
        instance_id=instance.id,
        log=instance.log.getChild("events"),
        leader=instance.leader,
        bus=instance.bus,
    )
