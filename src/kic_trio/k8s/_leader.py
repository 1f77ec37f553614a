"""Leader election on a ``coordination.k8s.io/v1`` Lease, as client-go's leaderelection does it.

Several replicas watch the cluster and keep warm caches; only the leader pushes configuration
and writes status. They coordinate through one Lease (``election_id`` in
``election_namespace``): whoever holds ``spec.holderIdentity`` and keeps renewing it leads.

The rules, with the reasons:

* **Optimistic concurrency.** Every write carries the ``resourceVersion`` that was read; a 409
  means someone else wrote in between, so the attempt is lost and the Lease is re-read. Two
  candidates can never both believe they won the same round.
* **Local clocks only.** Whether the current holder's lease has expired is judged by *when this
  process last saw the record change* (``trio.current_time()``), never by comparing the
  ``renewTime`` written by another machine with our wall clock, so clock skew between nodes
  does not matter (client-go does the same).
* **Step down early.** The leader stops leading ``renew_deadline`` after the start of its last
  successful renewal, while a rival waits ``lease_duration`` after it last *saw* a change: with
  15 s / 10 s there are 5 s in which nobody leads, never a moment with two leaders (absent
  clock-rate skew; the election is not a fencing mechanism, as client-go's documentation warns).
* **Release on clean shutdown.** Cancelling ``run()`` clears ``holderIdentity`` (shielded, with a
  timeout) so a successor takes over on its next retry instead of waiting out the lease.
"""

from __future__ import annotations

import logging
import random
import socket
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from json import loads as json_loads
from typing import Any, NoReturn, Protocol

import attrs
import trio

from .._errors import KubernetesError
from .._leadership import LeaderState as LeaderState  # re-exported: tests and users import it here
from .._lifecycle import LeadershipGained, LeadershipLost, LifecycleBus
from ._api import KubeRequester as KubeRequester  # re-exported
from ._paths import namespace_segment, segment

DEFAULT_ELECTION_ID = "5b374a9e.konghq.com"
DEFAULT_LEASE_DURATION = 15.0
DEFAULT_RENEW_DEADLINE = 10.0
DEFAULT_RETRY_PERIOD = 2.0
#: How long a clean shutdown may spend releasing the Lease.
DEFAULT_RELEASE_TIMEOUT = 5.0
#: Candidates wait ``retry_period * uniform(1, 1 + jitter)`` between attempts so replicas that
#: started together do not hit the API server in lock-step. Smaller than client-go's 1.2 so that a
#: released lease is picked up within ``1.2 * retry_period`` (2.4 s at the defaults).
DEFAULT_JITTER = 0.2

_LEASES = "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases"


# --------------------------------------------------------------------------------------------
# Leadership as seen by the rest of the controller


class LeaderSink(Protocol):
    """What the elector needs of a leadership holder: a :class:`LeaderState` (the one every
    task of a controller shares) or a test's double."""

    @property
    def is_leader(self) -> bool: ...
    def set(self, is_leader: bool, /) -> None: ...
    async def wait_changed(self) -> None: ...
    async def wait_leader(self) -> None: ...


async def wait_not_leader(state: LeaderSink) -> None:
    """Return once ``state`` does not lead (at once when it does not)."""
    while state.is_leader:
        await state.wait_changed()


def _set(state: LeaderSink, value: bool) -> bool:
    """Set ``state``; True when that changed it."""
    if state.is_leader == value:
        return False
    state.set(value)
    return True


# --------------------------------------------------------------------------------------------
# The Lease record (pure)


def format_micro_time(t: datetime) -> str:
    """Kubernetes ``MicroTime``: RFC 3339 in UTC with exactly six fractional digits."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: object) -> datetime | None:
    """Parse a ``Time``/``MicroTime``; ``None`` for anything missing or malformed."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


@attrs.frozen
class LeaseRecord:
    """The election-relevant part of a Lease's ``spec``."""

    holder: str = ""
    lease_duration_seconds: int = 0
    acquire_time: str | None = None
    renew_time: str | None = None
    transitions: int = 0

    @classmethod
    def from_spec(cls, spec: object) -> LeaseRecord:
        """Read a Lease ``spec``; tolerates missing and wrongly typed fields."""
        if not isinstance(spec, Mapping):
            return cls()

        def _int(v: object) -> int:
            return v if isinstance(v, int) and not isinstance(v, bool) else 0

        holder = spec.get("holderIdentity")
        acq = spec.get("acquireTime")
        ren = spec.get("renewTime")
        return cls(
            holder=holder if isinstance(holder, str) else "",
            lease_duration_seconds=_int(spec.get("leaseDurationSeconds")),
            acquire_time=acq if isinstance(acq, str) else None,
            renew_time=ren if isinstance(ren, str) else None,
            transitions=_int(spec.get("leaseTransitions")),
        )

    def to_spec(self) -> dict[str, object]:
        spec: dict[str, object] = {
            "leaseDurationSeconds": self.lease_duration_seconds,
            "leaseTransitions": self.transitions,
        }
        # An empty holder is written as an absent field, as client-go does (omitempty).
        if self.holder:
            spec["holderIdentity"] = self.holder
        if self.acquire_time is not None:
            spec["acquireTime"] = self.acquire_time
        if self.renew_time is not None:
            spec["renewTime"] = self.renew_time
        return spec


def next_record(
    current: LeaseRecord | None,
    identity: str,
    *,
    held_by_other: bool,
    lease_duration: float,
    now: datetime,
) -> LeaseRecord | None:
    """What to write to take or keep the lease, or ``None`` when we must not try.

    ``current`` is the record read (``None``: the Lease does not exist); ``held_by_other`` is
    the caller's judgement, by its own clock, that another holder's lease is still valid.
    """
    stamp = format_micro_time(now)
    seconds = max(1, int(lease_duration + 0.999))
    if current is None:
        return LeaseRecord(identity, seconds, stamp, stamp, 0)
    if current.holder and current.holder != identity and held_by_other:
        return None
    if current.holder == identity:
        return attrs.evolve(current, lease_duration_seconds=seconds, renew_time=stamp)
    # Taking over (from an expired holder, or a released lease): a new term.
    return LeaseRecord(identity, seconds, stamp, stamp, current.transitions + 1)


def released_record(current: LeaseRecord, now: datetime) -> LeaseRecord:
    """The record a leader writes when it steps down cleanly: no holder, a 1 s lease."""
    stamp = format_micro_time(now)
    return LeaseRecord("", 1, stamp, stamp, current.transitions)


# --------------------------------------------------------------------------------------------
# Configuration


class _ElectionConfig(Protocol):
    @property
    def leader_election(self) -> object: ...
    @property
    def kong_admin_svc(self) -> object: ...


def leader_election_enabled(cfg: _ElectionConfig) -> bool:
    """Upstream's rule: on with gateway discovery (``kong_admin_svc``), off with static URLs.

    ``cfg.leader_election`` forces it either way: ``True``/``False`` (or upstream's
    ``"enabled"``/``"disabled"``); ``None``/``""`` means "decide from the mode".
    """
    forced = cfg.leader_election
    if isinstance(forced, bool):
        return forced
    if isinstance(forced, str) and forced.strip():
        value = forced.strip().lower()
        if value in ("enabled", "true", "on", "1"):
            return True
        if value in ("disabled", "false", "off", "0"):
            return False
    return bool(cfg.kong_admin_svc)


def default_identity(pod_name: str = "") -> str:
    """``<pod or host name>_<uuid4>``: unique per instance even with several in one process."""
    return f"{pod_name or socket.gethostname()}_{uuid.uuid4()}"


# --------------------------------------------------------------------------------------------
# The elector


class LeaderElector:
    """Campaign for, hold and release one Lease; publish the outcome on :attr:`state`.

    Run it in the root nursery: ``await nursery.start(elector.run)``; ``start`` returns at
    once (leadership is reported through :attr:`state` and the lifecycle bus, not awaited).
    """

    def __init__(
        self,
        kube: KubeRequester,
        *,
        namespace: str,
        name: str = DEFAULT_ELECTION_ID,
        identity: str | None = None,
        lease_duration: float = DEFAULT_LEASE_DURATION,
        renew_deadline: float = DEFAULT_RENEW_DEADLINE,
        retry_period: float = DEFAULT_RETRY_PERIOD,
        release_timeout: float = DEFAULT_RELEASE_TIMEOUT,
        jitter: float = DEFAULT_JITTER,
        release_on_cancel: bool = True,
        bus: LifecycleBus | None = None,
        log: logging.Logger | None = None,
        state: LeaderSink | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if not namespace:
            raise ValueError("leader election needs a namespace for its Lease")
        if not lease_duration > renew_deadline:
            raise ValueError("lease_duration must be greater than renew_deadline")
        if not renew_deadline > retry_period > 0:
            raise ValueError("renew_deadline must be greater than retry_period, which must be > 0")
        self.kube = kube
        self.namespace = namespace
        self.name = name
        self.identity = identity or default_identity()
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.release_timeout = release_timeout
        self.jitter = jitter
        self.release_on_cancel = release_on_cancel
        self.bus = bus
        self.log = log or logging.getLogger("kic_trio.leader")
        self.state: LeaderSink = state if state is not None else LeaderState()
        self._rng = rng or random.Random()
        # What we last read, and when (by trio's clock) we saw it change.
        self._observed: LeaseRecord | None = None
        self._observed_raw: dict[str, Any] | None = None
        self._observed_at = 0.0

    @property
    def _collection(self) -> str:
        return _LEASES.format(ns=namespace_segment(self.namespace))

    @property
    def _path(self) -> str:
        return f"{self._collection}/{segment(self.name)}"

    # -- one attempt -------------------------------------------------------------------------

    async def _read(self) -> dict[str, Any] | None:
        try:
            resp = await self.kube.request("GET", self._path)
        except KubernetesError as exc:
            if exc.status == 404:
                return None
            raise
        body = resp.json()
        if not isinstance(body, dict):
            raise KubernetesError(f"Lease {self.namespace}/{self.name}: unexpected response body")
        return body

    def _observe(self, raw: dict[str, Any] | None) -> LeaseRecord | None:
        record = LeaseRecord.from_spec(raw.get("spec")) if raw is not None else None
        if record != self._observed or self._observed_raw is None:
            self._observed_at = trio.current_time()
        self._observed = record
        self._observed_raw = raw
        return record

    def _held_by_other(self) -> bool:
        record = self._observed
        if record is None or not record.holder or record.holder == self.identity:
            return False
        # Trust the holder's own leaseDurationSeconds when it says so (a released lease says
        # 1 s), else our configured duration; measured from when *we* saw the record change.
        duration = record.lease_duration_seconds or self.lease_duration
        return trio.current_time() < self._observed_at + duration

    async def try_acquire_or_renew(self) -> bool:
        """One round: read the Lease, write ourselves in if allowed. True when we hold it.

        Raises :class:`KubernetesError` on transport/server errors; a 409 (someone wrote in
        between) is a lost round, not an error.
        """
        raw = await self._read()
        current = self._observe(raw)
        # A record that still names us after we stepped down (renew deadline passed) is simply
        # renewed: the resourceVersion check proves nobody else wrote in the meantime.
        want = next_record(
            current,
            self.identity,
            held_by_other=self._held_by_other(),
            lease_duration=self.lease_duration,
            now=datetime.now(UTC),
        )
        if want is None:
            return False
        try:
            if raw is None:
                body = {
                    "apiVersion": "coordination.k8s.io/v1",
                    "kind": "Lease",
                    "metadata": {"name": self.name, "namespace": self.namespace},
                    "spec": want.to_spec(),
                }
                resp = await self.kube.request("POST", self._collection, json=body)
            else:
                body = dict(raw)
                # PUT replaces the spec wholesale, so an absent holderIdentity really clears it.
                body["spec"] = want.to_spec()
                resp = await self.kube.request("PUT", self._path, json=body)
        except KubernetesError as exc:
            if exc.status == 409:
                # A concurrent update (or create) won this round. Re-read next round.
                self.log.debug(
                    "lease %s/%s: lost a write race (%s)", self.namespace, self.name, exc.status
                )
                return False
            raise
        written = resp.json()
        if isinstance(written, dict):
            self._observe(written)
        return True

    async def release(self) -> bool:
        """Give the lease up if we hold it: clear the holder so a successor need not wait."""
        raw = self._observed_raw
        for _ in range(2):
            if raw is None:
                return False
            current = LeaseRecord.from_spec(raw.get("spec"))
            if current.holder != self.identity:
                return False
            body = dict(raw)
            body["spec"] = released_record(current, datetime.now(UTC)).to_spec()
            try:
                resp = await self.kube.request("PUT", self._path, json=body)
            except KubernetesError as exc:
                if exc.status == 409:
                    raw = await self._read()
                    continue
                raise
            written = resp.json()
            if isinstance(written, dict):
                self._observe(written)
            return True
        return False

    # -- the loops ---------------------------------------------------------------------------

    def _became(self, leader: bool) -> None:
        if not _set(self.state, leader):
            return
        if leader:
            self.log.info(
                "became leader (lease %s/%s, identity %s)", self.namespace, self.name, self.identity
            )
            if self.bus is not None:
                self.bus.emit(LeadershipGained())
        else:
            self.log.warning("stopped leading (lease %s/%s)", self.namespace, self.name)
            if self.bus is not None:
                self.bus.emit(LeadershipLost())

    async def _attempt(self, timeout: float) -> bool:
        """One round bounded by ``timeout``; errors are logged and count as a lost round."""
        with trio.move_on_after(timeout):
            try:
                return await self.try_acquire_or_renew()
            except (KubernetesError, ValueError) as exc:
                self.log.warning("lease %s/%s: %s", self.namespace, self.name, exc)
                return False
        self.log.warning("lease %s/%s: request timed out", self.namespace, self.name)
        return False

    async def _campaign(self) -> float:
        """Until we hold the lease: try, then wait ``retry_period`` (+ jitter).

        Returns when the winning request *started*: the renew deadline counts from there.
        """
        while True:
            started = trio.current_time()
            if await self._attempt(self.retry_period):
                return started
            await self._sleep_or_released(
                self.retry_period * (1 + self.jitter * self._rng.random())
            )

    async def _sleep_or_released(self, seconds: float) -> None:
        """Wait ``seconds`` between attempts, but wake as soon as the Lease is released.

        When the client can stream (``KubeClient.stream``) a follower watches the Lease while
        it waits, so a leader's clean release is picked up in milliseconds rather than on the
        next retry; renewals seen on the watch also count as observations. Without streaming
        (or on any watch error) this is a plain sleep.
        """
        with trio.move_on_after(seconds):
            stream = getattr(self.kube, "stream", None)
            raw = self._observed_raw
            rv = raw.get("metadata", {}).get("resourceVersion") if raw is not None else None
            if stream is not None and isinstance(rv, str) and rv:
                try:
                    await self._watch_for_release(stream, rv, seconds)
                    return
                except (KubernetesError, ValueError, TypeError, AttributeError) as exc:
                    self.log.debug("lease %s/%s: watch failed: %s", self.namespace, self.name, exc)
            await trio.sleep_forever()

    async def _watch_for_release(self, stream: Any, rv: str, seconds: float) -> None:
        params = {
            "watch": "1",
            "fieldSelector": f"metadata.name={self.name}",
            "resourceVersion": rv,
            "timeoutSeconds": str(int(seconds) + 1),
        }
        # Leaving the line loop by ``return``/``break`` would leave httpx's chain of async
        # generators suspended (ResourceWarning when collected); cancelling a scope around it
        # instead unwinds them all through the pending read.
        released = False
        async with stream("GET", self._collection, params=params) as resp:
            with trio.CancelScope() as scope:
                async for line in resp.aiter_lines():
                    if scope.cancel_called or not line.strip():
                        continue
                    try:
                        event = json_loads(line)
                    except ValueError:
                        event = {"type": "ERROR"}
                    kind = event.get("type") if isinstance(event, dict) else "ERROR"
                    obj = event.get("object") if isinstance(event, dict) else None
                    if kind == "DELETED":
                        released = True
                    elif kind in ("ADDED", "MODIFIED") and isinstance(obj, dict):
                        # A renewal keeps us waiting (and refreshes our observation); a release
                        # (no holder) or an expired lease ends the wait.
                        released = self._observe(obj) is None or not self._held_by_other()
                    if released or kind == "ERROR":
                        scope.cancel()
        if released:
            return
        # The watch ended early (timeout, 410 Gone...): sleep out the rest.
        await trio.sleep_forever()

    async def _hold(self, last_ok: float) -> None:
        """Renew every ``retry_period`` until a renewal cannot be had by the deadline."""
        while True:
            await trio.sleep_until(last_ok + self.retry_period)
            deadline = last_ok + self.renew_deadline
            while True:
                started = trio.current_time()
                remaining = deadline - started
                if remaining <= 0:
                    self.log.warning(
                        "lease %s/%s: could not renew within %.1fs",
                        self.namespace,
                        self.name,
                        self.renew_deadline,
                    )
                    return
                if await self._attempt(min(remaining, self.retry_period)):
                    last_ok = started
                    break
                if self._observed is not None and self._observed.holder not in ("", self.identity):
                    self.log.warning(
                        "lease %s/%s taken by %s", self.namespace, self.name, self._observed.holder
                    )
                    return
                await trio.sleep_until(min(deadline, trio.current_time() + self.retry_period))

    async def run(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> NoReturn:
        """Campaign, lead, step down on a missed deadline and campaign again; forever.

        On cancellation the lease is released (if held) before returning.
        """
        task_status.started()
        try:
            while True:
                won_at = await self._campaign()
                self._became(True)
                await self._hold(won_at)
                self._became(False)
                await trio.sleep(self.retry_period * (1 + self.jitter * self._rng.random()))
        finally:
            was_leader = self.state.is_leader
            self._became(False)
            if was_leader and self.release_on_cancel:
                with trio.move_on_after(self.release_timeout) as cs:
                    cs.shield = True
                    try:
                        if await self.release():
                            self.log.info("released lease %s/%s", self.namespace, self.name)
                    except KubernetesError as exc:
                        self.log.warning(
                            "lease %s/%s: release failed: %s", self.namespace, self.name, exc
                        )


class AlwaysLeader:
    """Leadership without election: for one controller per gateway (static admin URLs).

    Same shape as :class:`LeaderElector` so the controller wires either the same way.
    """

    def __init__(self, *, bus: LifecycleBus | None = None, state: LeaderSink | None = None) -> None:
        self.bus = bus
        self.state: LeaderSink = state if state is not None else LeaderState()
        self.identity = ""

    async def run(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> NoReturn:
        _set(self.state, True)
        if self.bus is not None:
            self.bus.emit(LeadershipGained())
        task_status.started()
        try:
            await trio.sleep_forever()
        finally:
            if _set(self.state, False) and self.bus is not None:
                self.bus.emit(LeadershipLost())


class _ElectorConfig(_ElectionConfig, Protocol):
    @property
    def election_id(self) -> str: ...
    @property
    def election_namespace(self) -> str | None: ...
    @property
    def pod_namespace(self) -> str | None: ...
    @property
    def pod_name(self) -> str | None: ...


def _timing(cfg: object, name: str, default: float) -> float:
    """Optional timing fields (``election_lease_duration`` ...): upstream has no flags for them."""
    value = getattr(cfg, name, None)
    if value is None:
        return default
    seconds = value.total_seconds() if hasattr(value, "total_seconds") else value
    return float(seconds)


def make_leader(
    cfg: _ElectorConfig,
    kube: KubeRequester,
    *,
    bus: LifecycleBus | None = None,
    log: logging.Logger | None = None,
    state: LeaderSink | None = None,
    lease_duration: float | None = None,
    renew_deadline: float | None = None,
    retry_period: float | None = None,
) -> LeaderElector | AlwaysLeader:
    """The elector ``cfg`` asks for: a :class:`LeaderElector` or an :class:`AlwaysLeader`.

    Timings default to ``cfg.election_lease_duration`` / ``..._renew_deadline`` /
    ``..._retry_period`` when the Config has them, else upstream's 15 s / 10 s / 2 s.
    """
    if not leader_election_enabled(cfg):
        return AlwaysLeader(bus=bus, state=state)
    # As controller-runtime: the configured namespace, else the Pod's (the client knows it from
    # the service account when in a cluster, else from the kubeconfig context).
    namespace = (
        cfg.election_namespace or cfg.pod_namespace or str(getattr(kube, "namespace", "") or "")
    )
    if not namespace:
        raise ValueError(
            "leader election is on but neither election_namespace nor pod_namespace is set"
        )
    return LeaderElector(
        kube,
        namespace=namespace,
        name=cfg.election_id or DEFAULT_ELECTION_ID,
        identity=default_identity(cfg.pod_name or ""),
        lease_duration=lease_duration
        or _timing(cfg, "election_lease_duration", DEFAULT_LEASE_DURATION),
        renew_deadline=renew_deadline
        or _timing(cfg, "election_renew_deadline", DEFAULT_RENEW_DEADLINE),
        retry_period=retry_period or _timing(cfg, "election_retry_period", DEFAULT_RETRY_PERIOD),
        bus=bus,
        log=log,
        state=state,
    )


class _ClientElectorConfig(_ElectorConfig, Protocol):
    @property
    def kubeconfig(self) -> str | None: ...
    @property
    def apiserver_host(self) -> str | None: ...


class _InstanceLike(Protocol):
    @property
    def cfg(self) -> _ClientElectorConfig: ...
    @property
    def bus(self) -> LifecycleBus: ...
    @property
    def log(self) -> logging.Logger: ...
    @property
    def leader(self) -> LeaderSink: ...


async def run_leader_election(
    instance: _InstanceLike,
    kube: KubeRequester,
    *,
    dedicated_client: bool = True,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> NoReturn:
    """The controller's leadership task: elect on ``instance.leader``, or always lead.

    With election on, ``instance.leader`` is set to *not* leading before ``started`` (the
    applier must not push before the Lease is won).

    The elector talks to the API server through a client of its own (``dedicated_client``;
    controller-runtime does the same), opened from ``instance.cfg``: renewals never queue
    behind watch or status traffic, and when the controller shuts down the Lease can still be
    released while the shared client (``kube``) is being closed by its own task.
    """
    cfg = instance.cfg
    log = instance.log.getChild("leader")
    if not leader_election_enabled(cfg):
        await AlwaysLeader(bus=instance.bus, state=instance.leader).run(task_status=task_status)
    if not dedicated_client:
        instance.leader.set(False)
        await make_leader(cfg, kube, bus=instance.bus, log=log, state=instance.leader).run(
            task_status=task_status
        )
    from ._client import open_kube_client

    async with open_kube_client(cfg) as own:
        instance.leader.set(False)
        elector = make_leader(cfg, own, bus=instance.bus, log=log, state=instance.leader)
        await elector.run(task_status=task_status)
