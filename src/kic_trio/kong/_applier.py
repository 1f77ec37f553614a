"""The applier: every gateway gets the newest configuration, on its own schedule.

Each gateway (an Admin API URL) is a :class:`Gateway` with its own task, so a slow, sick or
rate-limiting gateway never holds the others back, and discovery can add and remove gateways
while the rest keep running. A gateway's task:

* starts up (``GET /status``, ``GET /``: a DB-less Kong >= 3.4.1), retried;
* pushes when the desired config's SHA differs from the one it last accepted, at most once
  per ``proxy_sync_seconds`` — an isolated change after a quiet spell goes out at once;
* on 400 maps Kong's entity errors back to Kubernetes objects (Warning Events), keeps the
  last good config running (Kong refuses a DB-less config as a whole) and does not re-POST
  the same refused SHA in a loop: only a new config, or a long backoff, retries it;
* honours ``Retry-After`` on 429, backs off exponentially with jitter on 5xx, network
  errors and timeouts;
* checks ``/status`` every ``kong_status_check_interval`` and re-pushes promptly to a gateway
  whose hash went back to zeros (it restarted empty).

Only the leader pushes.
"""

from __future__ import annotations

import hashlib
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping

import attrs
import trio

from .._backoff import BackoffPolicy
from .._errors import ControllerError, KongAdminError, UnsupportedKongError
from .._instance import Instance
from .._latest import LatestValue
from .._lifecycle import ConfigApplied, PushFailed
from .._payload import ConfigPayload
from ..config import Config
from ..models import Failure, ObjectRef
from ..store import Snapshot
from ._client import EMPTY_HASH, AdminAPIOptions, AdminClient, KongInfo, PushResult, redact_url
from ._fallback import FallbackPlan, fallback_payload
from ._fallback_parts import plan_for_snapshots
from ._parse import ConfigRejection, ResponseParsingError, parse_rejection

PROTOCOL = "db-less"
#: Backoff after 5xx / network errors / timeouts: base * 2^n, capped, with jitter.
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
PUSH_BACKOFF = BackoffPolicy(BACKOFF_BASE, BACKOFF_CAP, jitter=(0.5, 1.0))
#: Before re-POSTing a config Kong refused (400/413): doubles per refusal, capped.
REFUSED_RETRY_BASE = 60.0
REFUSED_RETRY_CAP = 600.0
REFUSED_BACKOFF = BackoffPolicy(REFUSED_RETRY_BASE, REFUSED_RETRY_CAP)
#: Rounds of "leave out what Kong refused" before giving up on a fallback.
MAX_FALLBACK_ROUNDS = 3
#: Without ``Retry-After``, a 429 is retried after this long.
DEFAULT_RETRY_AFTER = 1.0


class Gateway:
    """One Admin API URL: its client, what it last accepted, and its own task."""

    def __init__(
        self,
        url: str,
        gateways: GatewaySet,
        *,
        discovered: bool = False,
        server_name: str | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        #: The URL as shown in logs, events, metrics: credentials left out.
        self.shown = redact_url(self.url)
        self.discovered = discovered
        self.server_name = server_name
        #: SHA of the config this gateway last accepted (201/304) from us.
        self.applied_sha: str | None = None
        self.info: KongInfo | None = None
        #: Started up and answering ``/status``.
        self.ready = False
        self._set = gateways
        self._cancel = trio.CancelScope()
        self._wake = trio.Event()
        self._rng = random.Random()
        self._last_push_at = -math.inf
        self._not_before = -math.inf
        self._errors_in_row = 0
        self._refused_sha: str | None = None
        self._refused_until = -math.inf
        self._refusals = 0
        self._latency_reported_for: str | None = None
        #: Why the last push failed (``None`` after a success).
        self.last_error: str | None = None
        #: The Admin API client while the task runs (``kong._schemas`` asks through it).
        self.client: AdminClient | None = None

    def __repr__(self) -> str:
        return f"<Gateway {self.shown} applied={self.applied_sha and self.applied_sha[:12]} ready={self.ready}>"

    @property
    def router_flavor(self) -> str | None:
        return self.info.router_flavor if self.info else None

    def wake(self) -> None:
        self._wake.set()
        self._wake = trio.Event()

    def cancel(self) -> None:
        self._cancel.cancel()

    async def _sleep_until(self, deadline: float) -> None:
        """Sleep until ``deadline`` or a wake-up (a new config, leadership, a restart seen)."""
        wake = self._wake
        with trio.move_on_at(deadline):
            await wake.wait()

    # -- the task --------------------------------------------------------------------------

    async def run(self, instance: Instance) -> None:
        with self._cancel:
            client = AdminClient(
                self.url, self._set.options(instance.cfg), server_name=self.server_name
            )
            self.client = client
            try:
                await self._start_up(instance, client)
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._status_loop, instance, client)
                    await self._push_loop(instance, client)
            finally:
                self.client = None
                with trio.CancelScope(shield=True), trio.move_on_after(2):
                    await client.aclose()

    async def _start_up(self, instance: Instance, client: AdminClient) -> None:
        cfg = instance.cfg
        attempts = max(1, cfg.kong_admin_init_retries)
        last: KongAdminError | None = None
        attempt = 0
        while True:
            attempt += 1
            try:
                timeout = cfg.gateway_discovery_readiness_check_timeout if self.discovered else None
                await client.status(timeout=timeout)
                self.info = await client.info(timeout=timeout)
                self.ready = True
                self._set.notify()  # wait_router_flavor() may be waiting for this
                in_use = self._set.router_flavor_in_use
                if in_use is not None and _expressions(in_use) != _expressions(
                    self.info.router_flavor
                ):
                    # the flavor is fixed for the process (as upstream): this gateway will
                    # refuse the routes; say why once, loudly
                    instance.log.error(
                        "gateway %s runs router flavor %s but this controller translates for %s "
                        "(fixed at start-up): restart the controller with gateways of one flavor",
                        self.shown,
                        self.info.router_flavor,
                        in_use,
                    )
                instance.log.info(
                    "gateway %s ready: Kong %s, router flavor %s",
                    self.shown,
                    self.info.version,
                    self.info.router_flavor,
                )
                return
            except UnsupportedKongError as e:
                if not self.discovered:
                    raise
                # one odd Pod behind the admin Service must not stop the controller
                instance.log.error("gateway %s cannot be driven: %s", self.shown, e)
                last = e
            except KongAdminError as e:
                last = e
            if self.discovered:
                # a discovered gateway stays pending while it is listed
                instance.log.debug("gateway %s not ready yet: %s", self.shown, last)
                await trio.sleep(cfg.gateway_discovery_readiness_check_interval)
                continue
            if attempt >= attempts:
                raise KongAdminError(
                    f"Kong Admin API {self.shown} not reachable after {attempts} attempts: {last}",
                    url=self.shown,
                )
            instance.log.info(
                "waiting for Kong Admin API %s (attempt %d/%d): %s",
                self.shown,
                attempt,
                attempts,
                last,
            )
            await trio.sleep(cfg.kong_admin_init_retry_delay)

    async def _status_loop(self, instance: Instance, client: AdminClient) -> None:
        cfg = instance.cfg
        interval = _status_interval(cfg)
        while True:
            await trio.sleep(interval)
            try:
                h = await client.configuration_hash(
                    timeout=cfg.gateway_discovery_readiness_check_timeout
                )
            except KongAdminError as e:
                if self.ready:
                    instance.log.warning("gateway %s: status check failed: %s", self.shown, e)
                self.ready = False
                continue
            self.ready = True
            if h == EMPTY_HASH and self.applied_sha is not None:
                instance.log.warning(
                    "gateway %s runs no configuration (restarted?): pushing again", self.shown
                )
                self.applied_sha = None
                self._not_before = -math.inf
                self._refused_until = -math.inf
                self._set.notify()
                self.wake()

    async def _push_loop(self, instance: Instance, client: AdminClient) -> None:
        cfg = instance.cfg
        while True:
            payload = self._set.desired
            if payload is None or not instance.leader.is_leader:
                await self._sleep_until(math.inf)
                continue
            now = trio.current_time()
            same = payload.sha == self.applied_sha
            if same and not cfg.enable_reverse_sync:
                await self._sleep_until(math.inf)
                continue
            due = max(self._not_before, self._last_push_at + cfg.proxy_sync_seconds)
            if payload.sha == self._refused_sha:
                due = max(due, self._refused_until)
            if due > now:
                await self._sleep_until(due)
                continue
            await self._push(instance, client, payload)

    # -- one push --------------------------------------------------------------------------

    async def _post(
        self, instance: Instance, client: AdminClient, body: bytes
    ) -> tuple[PushResult | None, str | None, float]:
        cfg = instance.cfg
        start = trio.current_time()
        result: PushResult | None = None
        error: str | None = None
        with trio.move_on_after(cfg.proxy_timeout_seconds) as scope:
            try:
                result = await client.post_config(body)
            except KongAdminError as e:
                error = str(e)
        if scope.cancelled_caught:
            error = f"POST {self.shown}/config: timed out after {cfg.proxy_timeout_seconds:g}s"
        return result, error, trio.current_time() - start

    async def _push(self, instance: Instance, client: AdminClient, payload: ConfigPayload) -> None:
        result, error, duration = await self._post(instance, client, payload.body)
        if result is None:
            self._backoff(instance, payload, error or "push failed", duration, network=True)
            return
        if result.ok:
            self._succeeded(instance, payload, result, duration)
        elif result.status == 400:
            await self._on_refused(instance, client, payload, result, duration)
        elif result.status == 413:
            msg = (
                f"Kong at {self.shown} refused a configuration of {len(payload.body)} bytes as too large "
                "(HTTP 413): raise Kong's nginx_admin_client_max_body_size (or lmdb_map_size)"
            )
            self._refused(instance, payload, result, duration, message=msg)
        elif result.status == 429:
            wait = result.retry_after if result.retry_after is not None else DEFAULT_RETRY_AFTER
            self._not_before = trio.current_time() + wait
            msg = f"Kong at {self.shown} is busy loading a configuration (HTTP 429); retrying in {wait:g}s"
            instance.log.info("%s", msg)
            self._record_failure(instance, payload, msg, 429, duration, "other")
        else:
            self._backoff(
                instance,
                payload,
                f"HTTP {result.status}: {_short(result.body)}",
                duration,
                status=result.status,
            )

    async def _on_refused(
        self,
        instance: Instance,
        client: AdminClient,
        payload: ConfigPayload,
        result: PushResult,
        duration: float,
    ) -> None:
        """A 400: blame the objects, then (FallbackConfiguration) push what can safely go out."""
        try:
            rejection = parse_rejection(result.body)
        except ResponseParsingError as e:
            msg = f"Kong at {self.shown} refused the configuration (HTTP 400) and {e}"
            self._refused(instance, payload, result, duration, message=msg)
            return
        fallback_on = bool(instance.cfg.feature_gates.get("FallbackConfiguration", True))
        plan = await self._set.plan_for(payload, (rejection,), (result.body,))
        self._refused(
            instance,
            payload,
            result,
            duration,
            rejection=rejection,
            plan=plan,
            fallback=fallback_on,
        )
        if fallback_on and (plan.failures or plan.unmapped):
            await self._push_fallback(instance, client, payload, rejection, result.body, plan)

    async def _push_fallback(
        self,
        instance: Instance,
        client: AdminClient,
        payload: ConfigPayload,
        rejection: ConfigRejection,
        answer: bytes,
        plan: FallbackPlan,
    ) -> None:
        """Push ``payload`` without the objects Kong refused and everything depending on them."""
        rejections = [rejection]
        answers = [answer]
        for _ in range(MAX_FALLBACK_ROUNDS):
            fallback = fallback_payload(payload, plan)
            if fallback is None:
                instance.log.warning(
                    "gateway %s: no fallback configuration: %s", self.shown, plan.blocked
                )
                return
            result, error, duration = await self._post(instance, client, fallback.body)
            if result is None or not (result.ok or result.status == 400):
                # not Kong's verdict on the content: retry the whole thing on the backoff
                self._refused_sha = None
                reason = error or (f"HTTP {result.status}" if result is not None else "push failed")
                self._backoff(instance, fallback, reason, duration, network=result is None)
                return
            if result.ok:
                self._succeeded(instance, fallback, result, duration, plan=plan)
                return
            try:
                more = parse_rejection(result.body)
            except ResponseParsingError:
                return
            rejections.append(more)
            answers.append(result.body)
            new_plan = await self._set.plan_for(payload, tuple(rejections), tuple(answers))
            if set(new_plan.left_out) == set(plan.left_out) and new_plan.removed <= plan.removed:
                instance.log.warning(
                    "gateway %s refused the fallback configuration too", self.shown
                )
                return
            if self._set.first_report(fallback.sha):
                known = set(plan.failures)
                for f in new_plan.failures:
                    if f not in known:
                        instance.recorder.emit(
                            f.obj, "Warning", "KongConfigurationApplyFailed", f.reason
                        )
            plan = new_plan

    def _labels(self, instance: Instance) -> dict[str, str]:
        return {"dataplane": self.shown, "instance_id": instance.id}

    def _succeeded(
        self,
        instance: Instance,
        payload: ConfigPayload,
        result: PushResult,
        duration: float,
        *,
        plan: FallbackPlan | None = None,
    ) -> None:
        dropped = plan.removed if plan is not None else 0
        if self._set.backfill:
            # upstream records the last valid state after every accepted push, fallback or not
            self._set.last_valid = (payload.body, payload.snapshot)
        m = instance.metrics
        lab = self._labels(instance)
        self.applied_sha = payload.sha
        self.last_error = None
        # the minimum interval runs from the start of the last accepted push; failures are
        # paced by their own backoff instead
        self._last_push_at = trio.current_time() - duration
        self._errors_in_row = 0
        if not dropped:
            # a fallback leaves the refused config's gate in place: it is retried only when
            # the config changes or after the long backoff
            self._refused_sha = None
            self._refusals = 0
            m.push_broken_resources.labels(**lab).set(0)
        self._not_before = -math.inf
        m.push_count.labels(success="true", protocol=PROTOCOL, failure_reason="", **lab).inc()
        m.push_size.labels(protocol=PROTOCOL, success="true", **lab).set(len(payload.body))
        m.push_duration.labels(success="true", protocol=PROTOCOL, **lab).observe(duration * 1000)
        m.push_last_successful.labels(**lab).set(time.time())
        if payload.changes_seen_at is not None and self._latency_reported_for != payload.sha:
            self._latency_reported_for = payload.sha
            m.sync_latency.labels(**lab).observe(
                max(0.0, trio.current_time() - payload.changes_seen_at)
            )
        instance.health.mark_pushed()
        instance.diagnostics.applied(self.shown, payload, result.status, fallback=plan)
        self._set.notify()
        instance.bus.emit(
            ConfigApplied(
                self.shown,
                payload.sha,
                duration,
                len(payload.body),
                skipped=result.status == 304,
                left_out=tuple(plan.left_out) if plan is not None else (),
                plugins_removed=plan.plugins_removed if plan is not None else (),
            )
        )
        if plan is not None and dropped:
            if self._set.first_left_out_report(payload.sha):
                for ref, why in plan.left_out.items():
                    instance.recorder.emit(
                        ref,
                        "Warning",
                        "FallbackKongConfigurationExcluded",
                        f"left out of the configuration applied to Kong, not served until fixed: {why}",
                    )
            plugins = (
                f"; plugins removed with what they protect: {'; '.join(plan.plugins_removed)}"
                if plan.plugins_removed
                else ""
            )
            instance.log.warning(
                "gateway %s: fallback configuration %s applied without %d refused entities (HTTP %d)",
                self.shown,
                payload.sha[:12],
                dropped,
                result.status,
            )
            self._pod_event(
                instance,
                "Normal",
                "FallbackKongConfigurationSucceeded",
                f"successfully applied Kong configuration to {self.shown} without {dropped} entities "
                f"of {len(plan.left_out)} objects Kong refused or that depend on them{plugins}",
            )
            return
        instance.log.info(
            "gateway %s: configuration %s applied (HTTP %d, %d bytes, %.0f ms)",
            self.shown,
            payload.sha[:12],
            result.status,
            len(payload.body),
            duration * 1000,
        )
        self._pod_event(
            instance,
            "Normal",
            "KongConfigurationSucceeded",
            f"successfully applied Kong configuration to {self.shown}",
        )

    def _refused(
        self,
        instance: Instance,
        payload: ConfigPayload,
        result: PushResult,
        duration: float,
        *,
        message: str | None = None,
        rejection: ConfigRejection | None = None,
        plan: FallbackPlan | None = None,
        fallback: bool = False,
    ) -> None:
        now = trio.current_time()
        if self._refused_sha == payload.sha:
            self._refusals += 1
        else:
            self._refusals = 1
        self._refused_sha = payload.sha
        self._refused_until = now + REFUSED_BACKOFF.delay(self._refusals)
        failures: tuple[Failure, ...] = ()
        left_out: tuple[ObjectRef, ...] = ()
        plugins: tuple[str, ...] = ()
        if message is None and rejection is not None and plan is not None:
            failures = plan.failures
            for ent in plan.unmapped:
                instance.log.warning(
                    "gateway %s refused %s %r, which carries no Kubernetes object tags: %s",
                    self.shown,
                    ent.entity_type,
                    ent.entity_name,
                    "; ".join(f"{k}: {v}" for k, v in ent.problems),
                )
            n = len(rejection.entities)
            message = (
                f"Kong at {self.shown} refused the configuration: {n} invalid entit{'y' if n == 1 else 'ies'}"
                if n
                else f"Kong at {self.shown} refused the configuration: {_short(rejection.message.encode())}"
            )
            if fallback and plan.body is not None:
                left_out = tuple(plan.left_out)
                plugins = plan.plugins_removed
                message += f"; the fallback configuration leaves out {len(left_out)} object(s)"
                if plugins:
                    message += f" and removes plugins with what they protect: {'; '.join(plugins)}"
            elif fallback and plan.blocked and n:
                message += f"; no fallback configuration: {plan.blocked}"
        message = (
            message or f"Kong at {self.shown} refused the configuration (HTTP {result.status})"
        )
        instance.log.warning("%s", message)
        if failures and self._set.first_report(payload.sha):
            for f in failures:
                instance.recorder.emit(f.obj, "Warning", "KongConfigurationApplyFailed", f.reason)
        instance.metrics.push_broken_resources.labels(**self._labels(instance)).set(len(failures))
        self._record_failure(
            instance,
            payload,
            message,
            result.status,
            duration,
            "other",
            failures,
            left_out,
            plugins,
            answer=result.body,
        )

    def _backoff(
        self,
        instance: Instance,
        payload: ConfigPayload,
        message: str,
        duration: float,
        *,
        network: bool = False,
        status: int | None = None,
    ) -> None:
        self._errors_in_row += 1
        delay = PUSH_BACKOFF.delay(self._errors_in_row, self._rng)
        self._not_before = trio.current_time() + delay
        instance.log.warning(
            "gateway %s: push failed (%s); retrying in %.1fs", self.shown, message, delay
        )
        self._record_failure(
            instance, payload, message, status, duration, "network" if network else "other"
        )

    def _record_failure(
        self,
        instance: Instance,
        payload: ConfigPayload,
        message: str,
        status: int | None,
        duration: float,
        reason: str,
        failures: tuple[Failure, ...] = (),
        left_out: tuple[ObjectRef, ...] = (),
        plugins_removed: tuple[str, ...] = (),
        *,
        answer: bytes = b"",
    ) -> None:
        self.last_error = message
        instance.diagnostics.failed(
            self.shown,
            payload,
            message,
            status,
            answer=answer,
            failures=failures,
            left_out=left_out,
        )
        m = instance.metrics
        lab = self._labels(instance)
        m.push_count.labels(success="false", protocol=PROTOCOL, failure_reason=reason, **lab).inc()
        m.push_size.labels(protocol=PROTOCOL, success="false", **lab).set(len(payload.body))
        m.push_duration.labels(success="false", protocol=PROTOCOL, **lab).observe(duration * 1000)
        instance.bus.emit(
            PushFailed(self.shown, message, status, failures, left_out, plugins_removed)
        )
        self._pod_event(
            instance,
            "Warning",
            "KongConfigurationApplyFailed",
            f"failed to apply Kong configuration to {self.shown}: {message}",
        )

    def _pod_event(self, instance: Instance, type_: str, reason: str, message: str) -> None:
        cfg = instance.cfg
        if cfg.pod_name and cfg.pod_namespace:
            instance.recorder.emit(
                ObjectRef("Pod", cfg.pod_namespace, cfg.pod_name), type_, reason, message
            )


def _expressions(flavor: str) -> bool:
    """Only ``expressions`` changes translation; the traditional flavors take the same routes."""
    return flavor == "expressions"


def _status_interval(cfg: Config) -> float:
    return max(0.1, float(cfg.kong_status_check_interval))


def _short(body: bytes, limit: int = 200) -> str:
    text = body.decode("utf-8", "replace").strip()
    return text if len(text) <= limit else text[:limit] + "..."


@attrs.frozen
class GatewayStatus:
    """A snapshot of one gateway, as :meth:`GatewaySet.describe` reports it."""

    url: str
    ready: bool
    applied_sha: str | None
    version: str | None
    router_flavor: str | None
    discovered: bool
    last_error: str | None


class GatewaySet:
    """The gateways the applier pushes to. Static (``from_config``) or fed by discovery.

    ``add``/``remove`` may be called at any time; while :func:`run_applier` runs, an added
    gateway starts at once (and gets the current config as soon as it is up), a removed one
    is stopped and dropped.
    """

    def __init__(self, urls: Iterable[str] = (), *, options: AdminAPIOptions | None = None) -> None:
        self._options = options
        self._gateways: dict[str, Gateway] = {}
        self._nursery: trio.Nursery | None = None
        self._instance: Instance | None = None
        self.desired: ConfigPayload | None = None
        self._reported_sha: str | None = None
        self._changed = trio.Event()
        self._plan: tuple[tuple[str, tuple[bytes, ...]], trio.Event, list[FallbackPlan]] | None = (
            None
        )
        self._left_out_reported: str | None = None
        #: The router flavor translation uses, once :meth:`wait_router_flavor` decided it.
        self.router_flavor_in_use: str | None = None
        #: The last body a gateway accepted, with the snapshot it was translated from
        #: (``--use-last-valid-config-for-fallback`` only).
        self.last_valid: tuple[bytes, Snapshot | None] | None = None
        self.backfill = False
        #: Plan fallbacks in a worker thread (a big configuration takes seconds to plan).
        #: ``False`` plans on the Trio thread: for tests on a virtual clock, which would jump
        #: past a thread's real-time work (as ``TranslationWorker(offload=False)``).
        self.offload = True
        for u in urls:
            self.add(u)

    @classmethod
    def from_config(cls, cfg: Config) -> GatewaySet:
        """The static gateways of ``kong_admin_url``."""
        return cls(cfg.kong_admin_url)

    def options(self, cfg: Config) -> AdminAPIOptions:
        if self._options is None:
            self._options = AdminAPIOptions.from_config(cfg)
        return self._options

    def __len__(self) -> int:
        return len(self._gateways)

    def __iter__(self) -> Iterator[Gateway]:
        return iter(list(self._gateways.values()))

    def urls(self) -> list[str]:
        return sorted(self._gateways)

    def get(self, url: str) -> Gateway | None:
        return self._gateways.get(url.rstrip("/"))

    def add(self, url: str, *, discovered: bool = False, server_name: str | None = None) -> Gateway:
        url = url.rstrip("/")
        gw = self._gateways.get(url)
        if gw is not None:
            return gw
        gw = Gateway(url, self, discovered=discovered, server_name=server_name)
        self._gateways[url] = gw
        if self._nursery is not None and self._instance is not None:
            self._nursery.start_soon(gw.run, self._instance)
        self.notify()
        return gw

    def remove(self, url: str) -> None:
        gw = self._gateways.pop(url.rstrip("/"), None)
        if gw is not None:
            gw.cancel()
            self.notify()

    def notify(self) -> None:
        """Something changed (a gateway added, removed, or its applied config)."""
        self._changed.set()
        self._changed = trio.Event()

    async def wait_changed(self) -> None:
        """Return at the next change (see :meth:`notify`)."""
        await self._changed.wait()

    async def wait_for(self, predicate: Callable[[GatewaySet], bool]) -> None:
        """Return once ``predicate(self)`` holds; re-checked on every change (handy in tests)."""
        while not predicate(self):
            await self._changed.wait()

    def describe(self) -> list[GatewayStatus]:
        """Each gateway's state, for diagnostics and embedders (credentials left out)."""
        return [
            GatewayStatus(
                url=g.shown,
                ready=g.ready,
                applied_sha=g.applied_sha,
                version=g.info.version if g.info else None,
                router_flavor=g.router_flavor,
                discovered=g.discovered,
                last_error=g.last_error,
            )
            for _, g in sorted(self._gateways.items())
        ]

    async def wait_router_flavor(self) -> str:
        """Kong's ``router_flavor`` to translate for, learned from the gateways' ``GET /``.

        Waits until every static gateway answered ``GET /`` (one that never does fails the
        controller after ``kong_admin_init_retries``), or with discovery until the first
        gateway did. Gateways whose flavors translate differently (``expressions`` next to
        a traditional one) are refused with :class:`ControllerError`: run one controller
        per flavor. (Upstream reads the flavor of the first gateway and ignores the others.)
        The flavor is then fixed for the process, as upstream: a gateway discovered later
        with another flavor gets an error in the log, and its pushes are refused by Kong.
        """

        def known(gs: GatewaySet) -> bool:
            gws = list(gs)
            static = [g for g in gws if not g.discovered]
            if static:
                return all(g.info is not None for g in static)
            return any(g.info is not None for g in gws)

        await self.wait_for(known)
        flavors = {g.shown: g.info.router_flavor for g in self if g.info is not None}
        if len({_expressions(f) for f in flavors.values()}) > 1:
            listed = ", ".join(f"{u}: {f}" for u, f in sorted(flavors.items()))
            raise ControllerError(
                "the Kong gateways run different router flavors "
                f"({listed}); one controller translates for one flavor: give each flavor "
                "its own controller (its own ingress class and --kong-admin-url)"
            )
        flavor = sorted(flavors.values())[0]
        self.router_flavor_in_use = flavor
        return flavor

    def kong_listeners(self) -> tuple[tuple[tuple[int, bool], ...], tuple[tuple[int, bool], ...]]:
        """Kong's (proxy, stream) listeners as the first gateway that answered ``GET /`` says
        (call after :meth:`wait_router_flavor`): Gateway listener protocols come from them."""
        for g in self:
            if g.info is not None:
                return g.info.proxy_listeners, g.info.stream_listeners
        return (), ()

    def applied_hashes(self) -> Mapping[str, str]:
        """URL -> SHA of the configuration each gateway last accepted from this instance."""
        return {
            u: g.applied_sha for u, g in sorted(self._gateways.items()) if g.applied_sha is not None
        }

    def set_desired(self, payload: ConfigPayload) -> None:
        self.desired = payload
        self.wake_all()

    def wake_all(self) -> None:
        for gw in self._gateways.values():
            gw.wake()

    def first_report(self, sha: str) -> bool:
        """True once per refused SHA, so several gateways refusing it make one set of Events."""
        if self._reported_sha == sha:
            return False
        self._reported_sha = sha
        return True

    def first_left_out_report(self, sha: str) -> bool:
        """True once per applied fallback SHA: one set of "left out" Events for all gateways."""
        if self._left_out_reported == sha:
            return False
        self._left_out_reported = sha
        return True

    async def plan_for(
        self,
        payload: ConfigPayload,
        rejections: tuple[ConfigRejection, ...],
        answers: tuple[bytes, ...],
    ) -> FallbackPlan:
        """The fallback plan of ``payload`` after Kong's answers, computed once for all gateways
        and off the Trio thread (it reads the whole configuration), with upstream's object graph
        built from the models of ``payload.snapshot``: the same code path as ``kic-trio
        translate --assume-refused`` (:func:`plan_for_snapshots`)."""
        key = (payload.sha, tuple(hashlib.sha256(a).digest() for a in answers))
        while self._plan is not None and self._plan[0] == key:
            _, pending, result = self._plan
            await pending.wait()
            if result:
                return result[0]
            if self._plan is not None and self._plan[1] is pending:
                break  # that computation was cancelled: make our own
        done = trio.Event()
        box: list[FallbackPlan] = []
        self._plan = (key, done, box)
        try:
            last_valid = self.last_valid if self.backfill else None
            args = (payload.body, rejections, payload.snapshot, last_valid, payload.parts)
            if self.offload:
                box.append(await trio.to_thread.run_sync(plan_for_snapshots, *args))
            else:
                box.append(plan_for_snapshots(*args))
        finally:
            done.set()
        return box[0]

    def _attach(self, nursery: trio.Nursery, instance: Instance) -> None:
        self._nursery = nursery
        self._instance = instance
        self.backfill = instance.cfg.use_last_valid_config_for_fallback
        for gw in self._gateways.values():
            nursery.start_soon(gw.run, instance)

    def _detach(self) -> None:
        self._nursery = None
        self._instance = None


async def run_applier(
    instance: Instance,
    latest: LatestValue[ConfigPayload],
    gateways: GatewaySet,
    *,
    task_status: trio.TaskStatus[GatewaySet] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Push the newest config from ``latest`` to every gateway of ``gateways`` until cancelled."""
    async with trio.open_nursery() as nursery:
        gateways.options(instance.cfg)  # configuration problems surface now, not per gateway
        gateways._attach(nursery, instance)
        try:
            nursery.start_soon(_follow_leadership, instance, gateways)
            current = latest.peek()
            if current is not None:
                gateways.set_desired(current)
            task_status.started(gateways)
            while True:
                payload = await latest.get()
                gateways.set_desired(payload)
        finally:
            gateways._detach()


async def _follow_leadership(instance: Instance, gateways: GatewaySet) -> None:
    while True:
        await instance.leader.wait_changed()
        gateways.wake_all()
