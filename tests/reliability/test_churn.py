"""Convergence under churn: whatever happens in between, every gateway ends up holding exactly
the translation of the final cluster state.

A seeded random sequence of creates, updates and deletes over Ingresses, Services,
EndpointSlices, Secrets, KongPlugins and KongConsumers in three namespaces runs while faults
are injected, one after the other, at fixed points of the sequence:

* ``apiserver_restart`` — the controllers' kube-apiserver stops and starts again;
* ``expired_resource_version`` — etcd is compacted and kube-apiserver restarted (its watch
  cache goes with it), so every watcher's resourceVersion answers 410 Gone: a relist;
* ``kong_500`` / ``kong_timeout`` / ``kong_hang`` / ``kong_restart_empty`` — every FakeKong
  fails, answers too late, never answers, or forgets its configuration;
* ``leader_change`` — two controllers compete on one Lease; the leader is stopped (it releases
  the Lease, the follower takes over) and a fresh controller joins as the new follower.

The driver writes through a second kube-apiserver on the same etcd (as a client of another
replica of an HA control plane would), so the churn goes on while the controllers' API server
is down. When the churn and the faults are over, a fresh list is translated offline
(``translate_objects``) and every FakeKong must hold exactly that within 10 s: nothing lost,
nothing phantom.

``KIC_TRIO_RELIABILITY_SEED=<n>`` replays a sequence; the seed is printed, and named in every
failure message.
"""

from __future__ import annotations

import collections
import os
import random
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import trio
from _reliability import (
    LONG,
    Summary,
    client_for_kubeconfig,
    config_of,
    controller_config,
    create_namespace,
    describe_difference,
    entity_keys,
    entity_objects,
    expected_translation,
    list_objects,
    metric_total,
    seed_from_env,
)

import kic_trio
from kic_trio.testing import FakeKong, apply, delete
from kic_trio.testing.controlplane import ControlPlane

OPERATIONS = 4000 if LONG else 1000
#: Seconds between two operations (each takes a few ms more): the churn must outlast the faults.
PACE = 0.005
NAMES = 6  # per kind and namespace
KINDS = ("Ingress", "Service", "EndpointSlice", "Secret", "KongPlugin", "KongConsumer")
PLUGINS = (
    ("key-auth", lambda rng: {"key_names": [f"apikey{rng.randrange(3)}"]}),
    ("rate-limiting", lambda rng: {"minute": rng.randrange(1, 500), "policy": "local"}),
    ("response-transformer", lambda rng: {"add": {"headers": [f"x-churn:{rng.randrange(99)}"]}}),
)
ALL_FAULTS = (
    "kong_500",
    "apiserver_restart",
    "kong_timeout",
    "leader_change",
    "expired_resource_version",
    "kong_restart_empty",
    "kong_hang",
)
#: ``KIC_TRIO_RELIABILITY_FAULTS=a,b`` narrows the plan (to bisect a failure).
FAULTS = tuple(
    f
    for f in (os.environ.get("KIC_TRIO_RELIABILITY_FAULTS") or ",".join(ALL_FAULTS)).split(",")
    if f in ALL_FAULTS
)
ROUNDS = 3 if LONG else 1
PROXY_TIMEOUT = 2.0
CONVERGENCE_LIMIT = 10.0


class ChurnModel:
    """The seeded sequence: which object to touch next, and what it looks like."""

    def __init__(self, rng: random.Random, namespaces: list[str], ingress_class: str) -> None:
        self.rng = rng
        self.namespaces = namespaces
        self.cls = ingress_class
        self.versions: dict[tuple[str, str, int], int] = {}
        self.ops: collections.Counter[str] = collections.Counter()
        #: (index, monotonic time, kind, namespace, name, op) of every operation
        self.history: list[tuple[Any, ...]] = []

    def next(self) -> tuple[str, str, str, str, dict[str, Any] | None]:
        """``(op, kind, namespace, name, body)``; body is ``None`` for a delete."""
        rng = self.rng
        kind = rng.choice(KINDS)
        ns_i = rng.randrange(len(self.namespaces))
        ns = self.namespaces[ns_i]
        i = rng.randrange(NAMES)
        key = (kind, ns, i)
        name = self._name(kind, i)
        if key in self.versions and rng.random() < 0.25:
            del self.versions[key]
            self.ops["delete"] += 1
            self.history.append(
                (len(self.history), round(time.monotonic(), 2), kind, ns, name, "delete")
            )
            return "delete", kind, ns, name, None
        op = "update" if key in self.versions else "create"
        v = self.versions[key] = self.versions.get(key, 0) + 1
        self.ops[op] += 1
        self.history.append((len(self.history), round(time.monotonic(), 2), kind, ns, name, op))
        return op, kind, ns, name, self._body(kind, ns_i, ns, i, name, v)

    @staticmethod
    def _name(kind: str, i: int) -> str:
        prefix = {
            "Ingress": "ing",
            "Service": "svc",
            "EndpointSlice": "es",
            "Secret": "cred",
            "KongPlugin": "plugin",
            "KongConsumer": "consumer",
        }[kind]
        return f"{prefix}-{i}"

    def _maybe_plugins(self, p: float) -> dict[str, str]:
        if self.rng.random() < p:
            return {"konghq.com/plugins": f"plugin-{self.rng.randrange(NAMES)}"}
        return {}

    def _body(self, kind: str, ns_i: int, ns: str, i: int, name: str, v: int) -> dict[str, Any]:
        rng = self.rng
        meta: dict[str, Any] = {"name": name, "namespace": ns}
        if kind == "Ingress":
            meta["annotations"] = self._maybe_plugins(0.3)
            if rng.random() < 0.3:
                meta["annotations"]["konghq.com/strip-path"] = rng.choice(["true", "false"])
            paths = [
                {
                    "path": f"/p{rng.randrange(5)}",
                    "pathType": rng.choice(["Prefix", "Exact"]),
                    "backend": {
                        "service": {
                            "name": f"svc-{rng.randrange(NAMES)}",
                            "port": rng.choice([{"number": 80}, {"name": "http"}]),
                        }
                    },
                }
                for _ in range(rng.randint(1, 2))
            ]
            return {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": meta,
                "spec": {
                    "ingressClassName": self.cls,
                    "rules": [
                        {"host": f"h{rng.randrange(8)}.{ns}.example.com", "http": {"paths": paths}}
                    ],
                },
            }
        if kind == "Service":
            ann = self._maybe_plugins(0.3)
            if rng.random() < 0.5:
                ann["konghq.com/read-timeout"] = str(rng.randrange(1000, 60000))
            meta["annotations"] = ann
            return {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": meta,
                "spec": {
                    "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]
                },
            }
        if kind == "EndpointSlice":
            meta["labels"] = {"kubernetes.io/service-name": f"svc-{rng.randrange(NAMES)}"}
            return {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": meta,
                "addressType": "IPv4",
                "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
                "endpoints": [
                    {
                        "addresses": [f"10.{ns_i}.{i}.{k}"],
                        "conditions": {"ready": rng.random() < 0.8},
                    }
                    for k in rng.sample(range(1, 20), rng.randint(1, 3))
                ],
            }
        if kind == "Secret":
            meta["labels"] = {"konghq.com/credential": "key-auth"}
            # unique per object and version: two consumers can still share one Secret
            return {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": meta,
                "stringData": {"key": f"{ns}.{name}.v{v}"},
            }
        if kind == "KongPlugin":
            plugin, make = PLUGINS[i % len(PLUGINS)]  # a KongPlugin's plugin is immutable
            return {
                "apiVersion": "configuration.konghq.com/v1",
                "kind": "KongPlugin",
                "metadata": meta,
                "plugin": plugin,
                "config": make(rng),
            }
        assert kind == "KongConsumer"
        meta["annotations"] = {"kubernetes.io/ingress.class": self.cls}
        creds = sorted(rng.sample([f"cred-{k}" for k in range(NAMES)], rng.randint(0, 2)))
        return {
            "apiVersion": "configuration.konghq.com/v1",
            "kind": "KongConsumer",
            "metadata": meta,
            "username": f"{ns}-user-{i}",
            # shared across namespaces and versions on purpose: Kong refuses a duplicate
            # custom_id with a 400 that names no entity, so the translator must settle it
            # (the oldest consumer keeps it), incrementally, whatever the order of changes
            "custom_id": f"c{i}v{v % 3}",
            "credentials": creds,
        }


async def _write(
    client: httpx.AsyncClient, op: str, kind: str, ns: str, name: str, body: Any
) -> None:
    for attempt in range(20):
        try:
            if op == "delete":
                await delete(client, kind, name, ns)
            else:
                await apply(client, [body], namespace=ns)
            return
        except (httpx.TransportError, RuntimeError):
            # RuntimeError: a 409/5xx race in apply (a write conflict); try again
            if attempt == 19:
                raise
            await trio.sleep(0.1)


class Faults:
    """Injects the faults of the plan; counts them."""

    def __init__(
        self,
        cp: ControlPlane,
        kongs: list[FakeKong],
        controllers: list[kic_trio.Controller],
        start_controller: Callable[[], Any],
    ) -> None:
        self.cp = cp
        self.kongs = kongs
        self.controllers = controllers
        self.start_controller = start_controller
        self.count: collections.Counter[str] = collections.Counter()
        self.log: list[tuple[str, float, float]] = []

    async def inject(self, fault: str) -> None:
        started = time.monotonic()
        await getattr(self, fault)()
        self.count[fault] += 1
        self.log.append((fault, started, time.monotonic()))

    async def apiserver_restart(self) -> None:
        await self.cp.restart_apiserver()

    async def expired_resource_version(self) -> None:
        await self.cp.compact_etcd()
        await self.cp.restart_apiserver()

    async def kong_500(self) -> None:
        for k in self.kongs:
            k.fail_next(3, 500)
        await trio.sleep(1.0)

    async def kong_timeout(self) -> None:
        for k in self.kongs:
            k.delay = PROXY_TIMEOUT + 1.0
        await trio.sleep(PROXY_TIMEOUT * 2)
        for k in self.kongs:
            k.delay = 0.0

    async def kong_hang(self) -> None:
        for k in self.kongs:
            k.hang()
        await trio.sleep(PROXY_TIMEOUT * 1.5)
        for k in self.kongs:
            k.release()

    async def kong_restart_empty(self) -> None:
        for k in self.kongs:
            k.restart_empty()
        await trio.sleep(1.0)

    async def leader_change(self) -> None:
        leaders = [c for c in self.controllers if c.is_leader]
        for c in leaders:
            c.stop()
            self.controllers.remove(c)
        await self.start_controller()

    def heal(self) -> None:
        for k in self.kongs:
            k.delay = 0.0
            k.release()
            k.clear_failures()


def _diagnose(
    controllers: list[kic_trio.Controller],
    names: dict[str, str],
    expected: Any,
    want: dict[str, Any],
    objects: list[dict[str, Any]],
    history: list[tuple[Any, ...]],
    fault_log: list[tuple[str, float, float]],
) -> str:
    """Which controller holds what, to tell a stale watch from a wrong push on failure."""
    lines = []
    for c in controllers:
        latest = c.latest_config
        same = latest is not None and latest.sha == expected.sha
        line = f"controller {names.get(c.instance_id)} leader={c.is_leader} latest==expected={same}"
        if latest is not None and not same:
            line += "\n  " + describe_difference(want, config_of(latest.body)).replace("\n", "\n  ")
        lines.append(line)
    objs_want = entity_objects(want)
    for c in controllers:
        latest = c.latest_config
        if latest is None or latest.sha == expected.sha:
            continue
        got = config_of(latest.body)
        objs_got = entity_objects(got)
        wrong: set[str] = set()
        for key in entity_keys(want) ^ entity_keys(got):
            wrong |= objs_want.get(key, set()) | objs_got.get(key, set())
        lines.append(f"objects behind the difference for {names.get(c.instance_id)}:")
        for obj in sorted(wrong):
            kind, _, ref = obj.partition(" ")
            ns, _, name = ref.partition("/")
            hist = [h for h in history if h[2:5] == (kind, ns, name)][-3:]
            lines.append(f"  {obj}: last ops {hist}")
    lines.append(f"faults (monotonic start, end): {fault_log}")
    secrets = sorted(
        (o["metadata"]["namespace"], o["metadata"]["name"], o["metadata"]["resourceVersion"])
        for o in objects
        if o["kind"] == "Secret"
    )
    lines.append(f"final Secrets: {secrets}")
    return "\n".join(lines)


async def test_convergence_under_churn_and_faults(
    control_plane: ControlPlane, kubeconfig: Path, summary: Summary
) -> None:
    seed = seed_from_env()
    print(f"churn seed={seed} (replay with KIC_TRIO_RELIABILITY_SEED={seed})")
    rng = random.Random(seed)
    section = summary.section("churn")
    section.notes["seed"] = seed
    token = secrets.token_hex(3)
    cls = f"churn-{token}"
    with trio.fail_after(900 if LONG else 420):
        async with control_plane.admin_client() as admin, trio.open_nursery() as outer:
            namespaces = [await create_namespace(admin, "churn") for _ in range(3)]
            model = ChurnModel(rng, namespaces, cls)
            kongs = [FakeKong(), FakeKong()]
            for k in kongs:
                await outer.start(k.serve)
            cfg = controller_config(
                kubeconfig,
                kong_admin_url=[k.url for k in kongs],
                watch_namespace=namespaces,
                ingress_class=cls,
                leader_election=True,
                election_namespace=namespaces[0],
                election_id=f"churn-{token}",
                proxy_timeout_seconds=PROXY_TIMEOUT,
            )
            controllers: list[kic_trio.Controller] = []
            everyone: list[kic_trio.Controller] = []
            names: dict[str, str] = {}

            async with trio.open_nursery() as ctl_nursery:

                async def start_controller() -> None:
                    c = await ctl_nursery.start(kic_trio.run, cfg)
                    names[c.instance_id] = "ABCDEFGHIJ"[len(everyone)]
                    controllers.append(c)
                    everyone.append(c)

                await start_controller()
                await start_controller()
                faults = Faults(control_plane, kongs, controllers, start_controller)
                plan = [
                    (int(OPERATIONS * (r + (j + 1) / (len(FAULTS) + 2)) / ROUNDS), f)
                    for r in range(ROUNDS)
                    for j, f in enumerate(FAULTS)
                ]
                progress = {"op": 0}
                progressed = trio.Event()
                ops_during_faults: collections.Counter[str] = collections.Counter()

                faults_done = trio.Event()

                async def run_faults() -> None:
                    for at, fault in plan:
                        while progress["op"] < at:
                            await progressed.wait()
                        before = progress["op"]
                        await faults.inject(fault)
                        ops_during_faults[fault] += progress["op"] - before
                    faults_done.set()

                async with control_plane.extra_apiserver() as other_kc:
                    async with client_for_kubeconfig(other_kc) as writer, trio.open_nursery() as n:
                        n.start_soon(run_faults)
                        churn_started = time.monotonic()
                        # at least OPERATIONS, and on until the last fault is over (the API
                        # server is back): every fault happens while objects change
                        while progress["op"] < OPERATIONS or not faults_done.is_set():
                            await _write(writer, *model.next())
                            progress["op"] += 1
                            progressed.set()
                            progressed = trio.Event()
                            await trio.sleep(PACE)
                    faults.heal()
                churn_stopped = time.monotonic()
                section.notes["churn_seconds"] = round(churn_stopped - churn_started, 1)
                section.notes["ops_during_faults"] = dict(ops_during_faults)
                section.notes["fault_seconds"] = [
                    (f, round(end - start, 1)) for f, start, end in faults.log
                ]

                # what Kong must hold, computed independently from a fresh list
                objects = await list_objects(admin, namespaces)
                expected = expected_translation(cfg, objects)
                want = config_of(expected.body)

                def converged(k: FakeKong) -> bool:
                    return k.config == want

                with trio.move_on_after(CONVERGENCE_LIMIT):
                    for k in kongs:
                        await k.wait_for(converged)
                took = time.monotonic() - churn_stopped
                on_time = {k.url: converged(k) for k in kongs}
                lost = phantom = 0
                for k in kongs:
                    lost += len(entity_keys(want) - entity_keys(k.config))
                    phantom += len(entity_keys(k.config) - entity_keys(want))
                section.operations += progress["op"]
                section.objects += len(
                    [o for o in objects if o["metadata"].get("namespace") in namespaces]
                )
                section.faults.update(faults.count)
                section.converged_in(took)
                section.objects_lost += lost
                section.objects_phantom += phantom
                section.notes["ops"] = dict(model.ops)
                section.notes["entities_expected"] = len(entity_keys(want))
                section.notes["translation_failures"] = len(expected.failures)
                section.notes["watch_relists"] = int(
                    sum(metric_total(c, "kic_trio_watch_relists_total") for c in everyone)
                )
                section.notes["controllers_started"] = len(everyone)
                diagnosis = ""
                if not all(on_time.values()):
                    diagnosis = (
                        "\n".join(f"{k.url}: " + describe_difference(want, k.config) for k in kongs)
                        + "\n"
                        + _diagnose(
                            controllers, names, expected, want, objects, model.history, faults.log
                        )
                    )
                    # Not within the limit: does it get there later (a slow retry), or never
                    # (a watch that went silent)? Tells the two apart in the failure message.
                    with trio.move_on_after(120) as waited:
                        for k in kongs:
                            await k.wait_for(converged)
                    diagnosis += (
                        "\nnever converged, even 120 s later"
                        if waited.cancelled_caught
                        else f"\nconverged only {time.monotonic() - churn_stopped:.1f} s after the churn"
                    )
                    print(diagnosis)
                assert all(on_time.values()), (
                    f"seed={seed}: not every gateway holds the final state "
                    f"{CONVERGENCE_LIMIT:g}s after the churn stopped:\n{diagnosis}"
                )
                assert lost == 0 and phantom == 0, f"seed={seed}"
                assert sorted(faults.count) == sorted(set(FAULTS)), f"seed={seed}: {faults.count}"
                assert sum(1 for c in controllers if c.is_leader) == 1, f"seed={seed}"
                if "expired_resource_version" in FAULTS:
                    # the expired resourceVersion really made the watchers relist
                    assert section.notes["watch_relists"] >= 1, f"seed={seed}"
                ctl_nursery.cancel_scope.cancel()
            outer.cancel_scope.cancel()
