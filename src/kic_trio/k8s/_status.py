"""Ingress status: tell users (and external-dns, cert-manager...) where their Ingress is served.

After a successful push the applier hands over the set of objects that made it into Kong
(``ConfigPayload.configured``); every Ingress among them gets ``status.loadBalancer.ingress``
set to the gateways' public addresses:

* ``publish_status_address`` when given (each entry an IP or a hostname), else
* the ``publish_service`` (``namespace/name``): its LoadBalancer ingress IPs and hostnames once
  provisioned, else its ``spec.clusterIPs``. The Service is re-read every ``refresh_period`` so
  a load balancer provisioned later (or an address change) reaches every Ingress.

Writes are what must stay cheap at 10k Ingresses:

* **Only when different.** The updater remembers, per Ingress, the addresses it last wrote
  (or found, by *listing* the namespace once instead of reading objects one by one), and only
  PATCHes an Ingress whose status differs. A steady state costs no writes at all.
* **Newest wins.** ``submit`` never blocks: a set that arrives while a batch is being written
  replaces any set not yet started.
* **Rate-limited, bounded concurrency.** A token bucket (``qps``/``burst``) and ``concurrency``
  workers bound the write rate of the first pass over a large cluster.
* **Only the leader writes**, and a batch is cancelled the moment leadership is lost; a new
  term starts from a fresh view (another leader may have written meanwhile).

The write is a JSON merge-patch of the ``/status`` subresource carrying ``metadata.uid`` as a
precondition, so an Ingress deleted and re-created under the same name is never given the old
one's status.
"""

from __future__ import annotations

import ipaddress
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NoReturn, Protocol

import attrs
import trio

from .._errors import KubernetesError
from .._latest import LatestValue
from .._leadership import LeaderState
from .._lifecycle import ConfigApplied, LifecycleBus
from .._payload import ConfigPayload
from ..models import NO_STATUS, ObjectRef, conditions_to_write, publishing
from ._conditions import ConditionsWriter
from ._events import TokenBucket
from ._leader import KubeRequester, LeaderSink, wait_not_leader
from ._paths import namespace_segment, segment

#: One ``status.loadBalancer.ingress`` entry, normalised: ``(ip, hostname)``, one of them "".
Entry = tuple[str, str]
Entries = tuple[Entry, ...]

_INGRESSES = "/apis/networking.k8s.io/v1"


def _ingress_path(ref: ObjectRef) -> str:
    """An Ingress's URL; :class:`~._paths.InvalidName` (a ``KubernetesError``) for a bad name."""
    return (
        f"{_INGRESSES}/namespaces/{namespace_segment(ref.namespace)}/ingresses/{segment(ref.name)}"
    )


def _service_path(ns: str, name: str) -> str:
    return f"/api/v1/namespaces/{namespace_segment(ns)}/services/{segment(name)}"


_MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


# --------------------------------------------------------------------------------------------
# Addresses (pure)


def entries_from_addresses(addresses: Iterable[str]) -> Entries:
    """Each address becomes ``{ip}`` when it parses as an IP, else ``{hostname}`` (upstream)."""
    out: list[Entry] = []
    for raw in addresses:
        address = raw.strip()
        if not address:
            continue
        try:
            out.append((str(ipaddress.ip_address(address)), ""))
        except ValueError:
            out.append(("", address.rstrip(".").lower()))
    return tuple(dict.fromkeys(out))


def entries_from_service(service: Mapping[str, Any]) -> Entries:
    """A Service's public addresses: LoadBalancer ingress if any, else its cluster IPs."""
    raw_spec, raw_status = service.get("spec"), service.get("status")
    spec: Mapping[str, Any] = raw_spec if isinstance(raw_spec, Mapping) else {}
    status: Mapping[str, Any] = raw_status if isinstance(raw_status, Mapping) else {}
    lb = status.get("loadBalancer")
    lb_ingress = lb.get("ingress") if isinstance(lb, Mapping) else None
    found: list[str] = []
    if spec.get("type") == "LoadBalancer" and isinstance(lb_ingress, list):
        for item in lb_ingress:
            if isinstance(item, Mapping):
                for field in ("ip", "hostname"):
                    value = item.get(field)
                    if isinstance(value, str) and value:
                        found.append(value)
    if not found:
        ips = spec.get("clusterIPs")
        if not isinstance(ips, list) or not ips:
            ips = [spec.get("clusterIP")]
        found = [ip for ip in ips if isinstance(ip, str) and ip and ip != "None"]
    return entries_from_addresses(found)


def entries_from_status(obj: Mapping[str, Any]) -> Entries:
    """The ``(ip, hostname)`` entries an object's ``status.loadBalancer.ingress`` holds now."""
    status = obj.get("status")
    lb = status.get("loadBalancer") if isinstance(status, Mapping) else None
    items = lb.get("ingress") if isinstance(lb, Mapping) else None
    out: list[Entry] = []
    for item in items if isinstance(items, list) else ():
        if isinstance(item, Mapping):
            ip, host = item.get("ip"), item.get("hostname")
            out.append((ip if isinstance(ip, str) else "", host if isinstance(host, str) else ""))
    return tuple(out)


def status_patch(entries: Entries, uid: str = "") -> dict[str, Any]:
    """The merge-patch that sets ``status.loadBalancer.ingress`` (lists are replaced whole)."""
    items: list[dict[str, str]] = []
    for ip, host in entries:
        items.append({"ip": ip} if ip else {"hostname": host})
    patch: dict[str, Any] = {"status": {"loadBalancer": {"ingress": items}}}
    if uid:
        patch["metadata"] = {"uid": uid}
    return patch


def parse_publish_service(value: str) -> tuple[str, str] | None:
    ns, sep, name = value.strip().partition("/")
    if not sep or not ns or not name or "/" in name:
        return None
    return ns, name


# --------------------------------------------------------------------------------------------
# The updater


class _StatusConfig(Protocol):
    @property
    def publish_status_address(self) -> Sequence[str]: ...
    @property
    def publish_service(self) -> object: ...


@attrs.define
class _Seen:
    uid: str
    entries: Entries


class StatusUpdater:
    """Write ``status.loadBalancer.ingress`` on configured Ingresses; see the module docstring.

    ``await nursery.start(updater.run)``, then ``updater.submit_payload(payload)`` after each
    successful push.
    """

    def __init__(
        self,
        cfg: _StatusConfig,
        kube: KubeRequester,
        log: logging.Logger | None = None,
        *,
        leader: LeaderSink | None = None,
        qps: float = 50.0,
        burst: int = 100,
        concurrency: int = 8,
        refresh_period: float = 10.0,
        request_timeout: float = 10.0,
        seed_threshold: int = 50,
        seed_cluster_wide_above: int = 20,
    ) -> None:
        self.kube = kube
        self.log = log or logging.getLogger("kic_trio.status")
        if leader is None:
            leader = LeaderState()
            leader.set(True)
        self.leader: LeaderSink = leader
        self.static = entries_from_addresses(cfg.publish_status_address or ())
        svc = str(cfg.publish_service or "")
        self.service = parse_publish_service(svc) if svc and not self.static else None
        if svc and not self.static and self.service is None:
            self.log.warning("publish_service %r is not namespace/name; no status updates", svc)
        self.concurrency = max(1, concurrency)
        self.refresh_period = refresh_period
        self.request_timeout = request_timeout
        self.seed_threshold = seed_threshold
        self.seed_cluster_wide_above = seed_cluster_wide_above
        self._bucket = TokenBucket(qps, burst)
        #: ``Programmed`` on Kong's own kinds (``_conditions.py``): written whether or not
        #: addresses are published.
        self.conditions = ConditionsWriter(
            kube, self.log, self._bucket, request_timeout=request_timeout
        )
        self._configured: frozenset[ObjectRef] = frozenset()
        self._dirty = trio.Event()
        self._seen: dict[tuple[str, str], _Seen] = {}
        self._service_entries: Entries | None = None
        self._retry = False
        self._idle = trio.Event()
        #: Counters, for logs, metrics and tests.
        self.patches = 0
        self.failures = 0
        self.lists = 0

    @property
    def enabled(self) -> bool:
        return bool(self.static) or self.service is not None

    def submit_payload(self, payload: ConfigPayload) -> None:
        """Hand over the latest applied payload: its translator-computed status says which
        objects carry the addresses (those still configured). Never blocks.

        A payload built without a status (by hand: tools, tests) publishes on every configured
        Ingress, as the translator's status would say.
        """
        if payload.status is NO_STATUS:
            self.submit(payload.configured)
        else:
            self.submit(publishing(payload.status, payload.configured))
            self.conditions.submit(conditions_to_write(payload.status, payload.configured))

    def submit(self, configured: Iterable[ObjectRef]) -> None:
        """Hand over the Ingresses to publish addresses on (of the latest push). Never blocks."""
        if not self.enabled:
            return
        self._configured = frozenset(r for r in configured if r.kind == "Ingress")
        self._idle = trio.Event() if self._idle.is_set() else self._idle
        self._dirty.set()

    async def follow_pushes(
        self,
        bus: LifecycleBus,
        latest: LatestValue[ConfigPayload],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Submit ``configured`` of the newest payload each time a gateway reports it applied.

        A ready-made wiring for the controller (``nursery.start(updater.follow_pushes,
        instance.bus, latest)``) so the applier need not know about status. Returns when the
        bus is closed.
        """
        async with bus.subscribe() as events:
            task_status.started()
            async for event in events:
                if isinstance(event, ConfigApplied):
                    payload = latest.peek()
                    if payload is not None and payload.sha == event.config_hash:
                        self.submit_payload(payload)
                    elif payload is not None and event.left_out:
                        # a fallback of it went out: what it left out is not served
                        gone = frozenset(event.left_out)
                        self.submit_payload(
                            attrs.evolve(payload, configured=payload.configured - gone)
                        )

    async def wait_idle(self) -> None:
        """Return once everything submitted so far has been written (for tests)."""
        await self._idle.wait()

    # -- addresses ---------------------------------------------------------------------------

    async def _addresses(self) -> Entries | None:
        if self.static:
            return self.static
        if self.service is None:
            return None
        ns, name = self.service
        try:
            with trio.fail_after(self.request_timeout):
                resp = await self.kube.request("GET", _service_path(ns, name))
            body = resp.json()
        except (KubernetesError, ValueError, trio.TooSlowError) as exc:
            self.log.warning("could not read publish service %s/%s: %s", ns, name, exc)
            return self._service_entries
        entries = entries_from_service(body) if isinstance(body, Mapping) else ()
        if not entries:
            self.log.info(
                "waiting for addresses to be provisioned for publish service %s/%s", ns, name
            )
            return None
        self._service_entries = entries
        return entries

    # -- what is there now -------------------------------------------------------------------

    async def _list(self, path: str) -> None:
        params: dict[str, str] = {"limit": "500"}
        while True:
            await self._bucket.take()
            with trio.fail_after(self.request_timeout):
                resp = await self.kube.request("GET", path, params=params)
            self.lists += 1
            body = resp.json()
            if not isinstance(body, Mapping):
                return
            for item in body.get("items") or ():
                meta = item.get("metadata") if isinstance(item, Mapping) else None
                if not isinstance(meta, Mapping):
                    continue
                key = (str(meta.get("namespace", "")), str(meta.get("name", "")))
                self._seen[key] = _Seen(str(meta.get("uid", "")), entries_from_status(item))
            cont = (body.get("metadata") or {}).get("continue")
            if not cont:
                return
            params = {"limit": "500", "continue": str(cont)}

    async def _seed(self, refs: Iterable[ObjectRef]) -> None:
        """Learn the current status of Ingresses we know nothing about, by listing."""
        namespaces = sorted({r.namespace for r in refs})
        try:
            if len(namespaces) > self.seed_cluster_wide_above:
                await self._list(f"{_INGRESSES}/ingresses")
            else:
                for ns in namespaces:
                    await self._list(f"{_INGRESSES}/namespaces/{namespace_segment(ns)}/ingresses")
        except (KubernetesError, ValueError, trio.TooSlowError) as exc:
            # Not fatal: without the current state we just write (a few more PATCHes).
            self.log.info("could not list Ingresses to compare status: %s", exc)

    # -- writing -----------------------------------------------------------------------------

    def _differs(self, ref: ObjectRef, entries: Entries) -> bool:
        seen = self._seen.get(ref.key)
        if seen is None:
            return True
        if ref.uid and seen.uid and ref.uid != seen.uid:
            return True
        return seen.entries != entries

    async def _replaced(self, ref: ObjectRef) -> bool:
        """Whether the Ingress named by ``ref`` is gone or now has another uid."""
        try:
            path = _ingress_path(ref)
            with trio.fail_after(self.request_timeout):
                resp = await self.kube.request("GET", path)
            return str(resp.json()["metadata"]["uid"]) != ref.uid
        except KubernetesError as exc:
            return exc.status == 404
        except (ValueError, KeyError, TypeError, trio.TooSlowError):
            return False

    async def _patch(self, ref: ObjectRef, entries: Entries) -> None:
        await self._bucket.take()
        try:
            path = _ingress_path(ref) + "/status"
            with trio.fail_after(self.request_timeout):
                resp = await self.kube.request(
                    "PATCH", path, json=status_patch(entries, ref.uid), headers=_MERGE_PATCH
                )
            self.patches += 1
        except (KubernetesError, trio.TooSlowError) as exc:
            status = getattr(exc, "status", None)
            self._seen.pop(ref.key, None)
            if status == 404 or (status in (409, 422) and ref.uid and await self._replaced(ref)):
                # Gone, or re-created under the same name (the uid in the patch does not match:
                # the API server answers 422 "field is immutable"): a later push brings the
                # new object.
                self.log.debug("status of %s not written: the object is gone or was replaced", ref)
                return
            self.failures += 1
            self.log.warning("could not write status of %s: %s", ref, exc)
            return
        uid = ref.uid
        try:
            body = resp.json()
            uid = str(body["metadata"]["uid"])
        except (ValueError, KeyError, TypeError):
            pass
        self._seen[ref.key] = _Seen(uid, entries)

    async def _write_all(self, configured: frozenset[ObjectRef], entries: Entries) -> None:
        # (Not ``sorted(configured)``: comparing attrs objects costs ~75 ms per 1000.)
        todo = [r for r in configured if self._differs(r, entries)]
        todo.sort(key=lambda r: r.key)
        unknown = [r for r in todo if r.key not in self._seen]
        if len(unknown) > self.seed_threshold:
            # Many Ingresses we know nothing about (start of a term): one paginated list per
            # namespace is far cheaper than writing them all. A handful (new Ingresses, whose
            # status is empty anyway) are simply written.
            await self._seed(unknown)
            todo = [r for r in todo if self._differs(r, entries)]
        # Forget Ingresses that are no longer configured, so memory follows the cluster.
        if len(self._seen) > len(configured) + 1000:
            keep = {r.key for r in configured}
            self._seen = {k: v for k, v in self._seen.items() if k in keep}
        if not todo:
            return
        self.log.debug("writing status of %d Ingress(es)", len(todo))
        send, receive = trio.open_memory_channel[ObjectRef](0)

        async def worker(rx: trio.MemoryReceiveChannel[ObjectRef]) -> None:
            async with rx:
                async for ref in rx:
                    await self._patch(ref, entries)

        async with trio.open_nursery() as nursery:
            for _ in range(min(self.concurrency, len(todo))):
                nursery.start_soon(worker, receive.clone())
            await receive.aclose()
            async with send:
                for ref in todo:
                    await send.send(ref)

    async def _lead(self) -> None:
        """While leading: write whenever a new set arrives or the addresses change."""
        last: Entries | None = None
        self._dirty.set()  # a new term re-checks the latest set
        while True:
            # Re-check periodically when following a Service (its addresses may change) or
            # when writes failed (they are retried; nothing else would bring them back).
            failed_before = self.failures
            wait = self.refresh_period if self.service is not None or self._retry else math.inf
            with trio.move_on_after(wait):
                await self._dirty.wait()
            self._dirty = trio.Event()
            entries = await self._addresses()
            configured = self._configured
            if entries is None or not configured:
                self._idle.set()
                continue
            if entries != last:
                if last is not None:
                    self.log.info("publish addresses changed: updating every Ingress")
                last = entries
            await self._write_all(configured, entries)
            self._retry = self.failures != failed_before
            if not self._dirty.is_set():
                self._idle.set()

    async def _until_not_leader(self, scope: trio.CancelScope) -> None:
        await wait_not_leader(self.leader)
        scope.cancel()

    async def run(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> NoReturn:
        """Follow leadership: write while leading, wait otherwise; forever."""
        task_status.started()
        if not self.enabled:
            self._idle.set()
        while True:
            await self.leader.wait_leader()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._until_not_leader, nursery.cancel_scope)
                nursery.start_soon(self.conditions.lead)
                if self.enabled:
                    await self._lead()
                else:
                    await trio.sleep_forever()
            # Leadership lost: whoever leads next may write; start the next term afresh.
            self._seen.clear()
            self.conditions.reset()


class _StatusInstance(Protocol):
    @property
    def cfg(self) -> _StatusConfig: ...
    @property
    def log(self) -> logging.Logger: ...
    @property
    def leader(self) -> LeaderSink: ...


def make_status_updater(instance: _StatusInstance, kube: KubeRequester) -> StatusUpdater:
    """The controller's status updater, writing only while ``instance.leader`` leads."""
    return StatusUpdater(
        instance.cfg, kube, instance.log.getChild("status"), leader=instance.leader
    )
