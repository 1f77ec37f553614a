"""``Reflector``: list+watch of one kind (in one namespace or all), with client-go's semantics.

kr8s's ``watch()`` cannot drive a controller (no relist on 410 Gone, no bookmarks, no read
timeout), so this loop is ours, on ``KubeClient.stream``. What it guarantees, and how
(``reference/practice.md`` §A4, client-go ``tools/cache/reflector.go``):

* **Complete view.** A paged list (``limit``/``continue``), then a watch from the list's
  ``resourceVersion``. Every object the list returns is passed on; after a *re*-list, keys
  this reflector passed on before and the list no longer has are passed on as deletions, so
  objects deleted while it was disconnected do not linger (no phantoms), and objects whose
  resourceVersion did not change are not passed on again (no storm after a relist).
* **Resume, don't relist.** When a watch ends (the server's ``timeoutSeconds``, a random 5-10
  minutes so many clients do not reconnect in lockstep; an error; a dead stream), the next
  watch starts from the last resourceVersion seen. Bookmarks (``allowWatchBookmarks``) move
  that resourceVersion forward on quiet kinds, so a resume rarely finds it expired.
* **410 Gone** (the resourceVersion is older than the server's history): relist at once.
* **Errors** back off exponentially from 0.8 s to 30 s with full jitter; the backoff resets
  after 2 minutes without errors. A 401 re-reads the credentials (the client does that).
* **Dead streams.** A read timeout ends a watch that stays silent past the server's own
  ``timeoutSeconds`` (+30 s; ``read_timeout`` overrides it): the stream is resumed at once
  from the last resourceVersion, and if the server is really gone the reconnect fails and
  backs off. (kube-apiserver 1.37 sends its bookmark ~2 s before it ends a watch, not
  periodically, so a shorter default would cut healthy quiet watches.)
* **404 on list**: the kind is not served (its CRD is missing or was deleted):
  :class:`KindNotServed` is raised for the caller to wait for it.

A reflector never interprets objects: it hands raw dicts to a :class:`WatchSink`. It never
raises out of ``run()`` except :class:`KindNotServed` and cancellation.
"""

from __future__ import annotations

import logging
import random
import sys
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import attrs
import httpx
import orjson
import trio

from .._backoff import BackoffPolicy
from .._errors import KubernetesError
from ..models import KindInfo
from ._api import KubeWatcher as KubeWatcher  # re-exported
from ._paths import namespace_segment

log = logging.getLogger("kic_trio.k8s.watch")

Key = tuple[str, str]


class KindNotServed(Exception):
    """The API server does not serve this kind (404 on list): its CRD is not installed."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"{kind} is not served by the API server (CRD not installed?)")
        self.kind = kind


class _Gone(Exception):
    """The watch's resourceVersion has expired (410 Gone): a relist is needed."""


class WatchSink(Protocol):
    """Where a reflector delivers what it sees (raw objects; interpretation is the sink's)."""

    async def upsert(self, raw: dict[str, Any]) -> None: ...
    async def delete(self, namespace: str, name: str) -> None: ...
    async def synced(self, source: object) -> None: ...


class WatchObserver(Protocol):
    """Metrics hooks (``kic_trio_watch_*``); :class:`NullObserver` when there is no instance."""

    def event(self, kind: str, type_: str) -> None: ...
    def restart(self, kind: str, reason: str) -> None: ...
    def relist(self, kind: str) -> None: ...


class NullObserver:
    def event(self, kind: str, type_: str) -> None:
        return None

    def restart(self, kind: str, reason: str) -> None:
        return None

    def relist(self, kind: str) -> None:
        return None


@attrs.define
class Backoff:
    """Exponential backoff with full jitter; resets after a stable period (client-go's values).

    ``next()`` returns the delay to sleep: ``d * (1 + jitter * U[0,1))`` for the current base
    ``d`` (0.8 s doubling to 30 s). If the previous backoff is more than ``reset_after``
    seconds ago, the base starts over at ``initial``.
    """

    rng: random.Random = attrs.field(factory=random.Random)
    initial: float = 0.8
    maximum: float = 30.0
    factor: float = 2.0
    jitter: float = 1.0
    reset_after: float = 120.0
    _attempt: int = 0
    _last: float | None = None

    def next(self, now: float) -> float:
        if self._last is None or now - self._last >= self.reset_after or self._attempt == 0:
            self._attempt = 1
        else:
            self._attempt += 1
        policy = BackoffPolicy(self.initial, self.maximum, self.factor, (1.0, 1.0 + self.jitter))
        delay = policy.delay(self._attempt, self.rng)
        self._last = now + delay
        return delay


def collection_path(info: KindInfo, namespace: str | None) -> str:
    """``/api/v1[/namespaces/ns]/plural`` or ``/apis/group/version[/namespaces/ns]/plural``."""
    base = f"/apis/{info.group}/{info.version}" if info.group else f"/api/{info.version}"
    if namespace and info.namespaced:
        base += f"/namespaces/{namespace_segment(namespace)}"
    return f"{base}/{info.plural}"


def object_key(raw: Mapping[str, Any]) -> Key | None:
    """``(namespace, name)`` of a raw object, ``None`` when it has no usable name."""
    meta = raw.get("metadata")
    if not isinstance(meta, Mapping):
        return None
    name = meta.get("name")
    ns = meta.get("namespace") or ""
    if not isinstance(name, str) or not name or not isinstance(ns, str):
        return None
    # Namespaces repeat across thousands of keys kept for the relist diff: share one string.
    return (sys.intern(ns), name)


def _rv(raw: Mapping[str, Any]) -> str:
    meta = raw.get("metadata")
    rv = meta.get("resourceVersion") if isinstance(meta, Mapping) else None
    return rv if isinstance(rv, str) else ""


class Reflector:
    """List+watch of ``kind`` in ``namespace`` (``None``: all namespaces / cluster-scoped)."""

    def __init__(
        self,
        kube: KubeWatcher,
        kind: str,
        info: KindInfo,
        sink: WatchSink,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        page_size: int = 500,
        min_watch_timeout: float = 300.0,
        read_timeout: float | None = None,
        rng: random.Random | None = None,
        observer: WatchObserver | None = None,
        clock: Callable[[], float] = trio.current_time,
    ) -> None:
        self.kube = kube
        self.kind = kind
        self.info = info
        self.sink = sink
        self.namespace = namespace
        self.label_selector = label_selector
        self.page_size = page_size
        self.min_watch_timeout = min_watch_timeout
        self.read_timeout = read_timeout
        self.rng = rng or random.Random()
        self.backoff = Backoff(rng=self.rng)
        self.observer = observer or NullObserver()
        self._clock = clock
        self.path = collection_path(info, namespace)
        #: How long a kind that was served may answer 404 before it counts as gone (a
        #: restarting kube-apiserver answers 404 on CRD paths until it has loaded them).
        self.gone_grace = 30.0
        self._not_found_since: float | None = None
        #: resourceVersion to resume the watch from (``None``: a list is needed).
        self.resource_version: str | None = None
        #: ``(namespace, name) -> resourceVersion`` of every object passed to the sink.
        self.known: dict[Key, str] = {}
        self.lists = 0
        self.watches = 0

    def __repr__(self) -> str:
        where = f" in {self.namespace}" if self.namespace else ""
        return f"<Reflector {self.kind}{where}>"

    # -------------------------------------------------------------- main loop

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """List and watch until cancelled. Raises only :class:`KindNotServed`."""
        task_status.started()
        while True:
            try:
                if self.resource_version is None:
                    await self._list()
                started = self._clock()
                await self._watch()
                self.observer.restart(self.kind, "timeout")
                if self._clock() - started < 1.0:
                    # The server ended the watch at once: do not spin.
                    await trio.sleep(self.backoff.next(self._clock()))
            except _Gone:
                log.info("%r: resourceVersion expired (410 Gone); relisting", self)
                self.observer.relist(self.kind)
                self.resource_version = None
            except KubernetesError as exc:
                if exc.status == 404 and self.resource_version is None:
                    now = self._clock()
                    if self.lists == 0:
                        raise KindNotServed(self.kind) from exc
                    if self._not_found_since is None:
                        self._not_found_since = now
                    if now - self._not_found_since >= self.gone_grace:
                        raise KindNotServed(self.kind) from exc
                    log.info(
                        "%r: 404 for a kind that was served (API server restarting?); retrying",
                        self,
                    )
                    await self._sleep(self.backoff.next(now), None)
                    continue
                if exc.status == 410:
                    self.observer.relist(self.kind)
                    self.resource_version = None
                    continue
                if (
                    isinstance(exc.__cause__, httpx.ReadTimeout)
                    and self.resource_version is not None
                ):
                    log.info("%r: the watch stream went silent; resuming it", self)
                    self.observer.restart(self.kind, "idle")
                    continue
                delay = self.backoff.next(self._clock())
                reason = "error" if exc.status is None else f"http_{exc.status}"
                self.observer.restart(self.kind, reason)
                log.warning("%r: %s; retrying in %.1fs", self, exc, delay)
                await self._sleep(delay, exc.status)

    async def _sleep(self, delay: float, status: int | None) -> None:
        """Back off; but when the API server was unavailable, retry as soon as it answers."""
        wait_available = getattr(self.kube, "wait_available", None)
        unavailable = status is None or status in (429, 500, 502, 503, 504)
        with trio.move_on_after(delay):
            if unavailable and wait_available is not None:
                # at most one retry a second even if other callers keep succeeding
                await trio.sleep(min(delay, 1.0))
                await wait_available()
                return
            await trio.sleep(delay)

    # -------------------------------------------------------------- list

    async def _list(self) -> None:
        params: dict[str, str] = {"limit": str(self.page_size)}
        if self.label_selector:
            params["labelSelector"] = self.label_selector
        seen: dict[Key, str] = {}
        list_rv = ""
        while True:
            resp = await self.kube.request(
                "GET", self.path, params=params, timeout=httpx.Timeout(10.0, read=60.0)
            )
            try:
                body = orjson.loads(resp.content)
            except orjson.JSONDecodeError as exc:
                raise KubernetesError(f"GET {self.path}: the list is not JSON") from exc
            items = body.get("items") if isinstance(body, dict) else None
            for raw in items if isinstance(items, list) else ():
                if not isinstance(raw, dict):
                    continue
                key = object_key(raw)
                if key is None:
                    continue
                rv = _rv(raw)
                seen[key] = rv
                if self.known.get(key) != rv or not rv:
                    self.known[key] = rv
                    await self.sink.upsert(raw)
            meta = body.get("metadata") if isinstance(body, dict) else None
            meta = meta if isinstance(meta, dict) else {}
            list_rv = meta.get("resourceVersion") or list_rv
            cont = meta.get("continue")
            if not cont:
                break
            params["continue"] = cont
        for key in [k for k in self.known if k not in seen]:
            del self.known[key]
            await self.sink.delete(*key)
        self.lists += 1
        self._not_found_since = None
        self.resource_version = str(list_rv) if list_rv else None
        if self.resource_version is None:
            raise KubernetesError(f"GET {self.path}: the list has no resourceVersion")
        await self.sink.synced(self)

    # -------------------------------------------------------------- watch

    async def _watch(self) -> None:
        assert self.resource_version is not None
        timeout_s = int(self.min_watch_timeout * (1.0 + self.rng.random()))
        params: dict[str, str] = {
            "watch": "true",
            "resourceVersion": self.resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(timeout_s),
        }
        if self.label_selector:
            params["labelSelector"] = self.label_selector
        # kube-apiserver sends a bookmark just before it ends a watch, not periodically: a
        # shorter read timeout would end healthy quiet watches and risk needless relists.
        read = self.read_timeout if self.read_timeout is not None else timeout_s + 30.0
        self.watches += 1
        async with self.kube.stream(
            "GET", self.path, params=params, timeout=httpx.Timeout(10.0, read=read)
        ) as resp:
            # Leaving httpx's nested line/text/byte generators mid-stream (raise or break in
            # the loop body) leaves them to the GC, with a ResourceWarning each. Cancelling
            # instead raises inside the innermost generator, so they all finish properly.
            stop: Exception | None = None
            with trio.CancelScope() as scope:
                async for line in resp.aiter_lines():
                    if stop is None and line.strip():
                        try:
                            await self._handle_line(line)
                        except (_Gone, KubernetesError) as exc:
                            stop = exc
                            scope.cancel()
            if stop is not None:
                raise stop

    async def _handle_line(self, line: str) -> None:
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError:
            log.warning("%r: skipping a watch line that is not JSON", self)
            return
        if not isinstance(event, dict):
            return
        type_ = event.get("type")
        obj = event.get("object")
        if not isinstance(obj, dict) or not isinstance(type_, str):
            return
        self.observer.event(self.kind, type_)
        if type_ == "ERROR":
            code = obj.get("code")
            if code == 410:
                raise _Gone()
            message = obj.get("message") if isinstance(obj.get("message"), str) else "watch error"
            raise KubernetesError(
                f"watch {self.path}: {message}", status=code if isinstance(code, int) else None
            )
        rv = _rv(obj)
        if type_ == "BOOKMARK":
            if rv:
                self.resource_version = rv
            return
        key = object_key(obj)
        if key is not None:
            if type_ in ("ADDED", "MODIFIED"):
                self.known[key] = rv
                await self.sink.upsert(obj)
            elif type_ == "DELETED":
                self.known.pop(key, None)
                await self.sink.delete(*key)
        if rv:
            self.resource_version = rv
