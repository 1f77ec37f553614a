"""Shared machinery of the end-to-end benchmarks (e2e, start-up, memory).

Why one harness: loading 10k-20k sets into kube-apiserver takes minutes, so one control plane
is reused across N by adding sets incrementally, and each N runs the controller once for every
family that wants it (start-up is measured as it comes up, memory once it is quiet, then the
latency samples and the burst).

The controller runs in a **separate process** (``python -m kic_trio run ...``) so its CPU and
RSS are its own; FakeKong runs in this process and records each request's arrival time on the
same clock (``trio.current_time()``) that stamps our API writes.
"""

from __future__ import annotations

import base64
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs
import httpx
import psutil
import trio

sys.path.insert(0, str(Path(__file__).resolve().parent))
import trio.lowlevel
from _sets import SETS_PER_NAMESPACE, certificates, make_set, namespace_of

from kic_trio.testing import FakeKong
from kic_trio.testing._apply import collection_path, object_path
from kic_trio.testing.controlplane import ControlPlane
from kic_trio.testing.fakekong import RequestRecord

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
REPO = BENCH.parent
#: Kong's default is 10 MiB; an operator with 10k+ routes raises it (the 10k config is ~30 MB).
MAX_BODY = 512 * 1024 * 1024
PROBE_NS = "bench-probe"
PROBE_SVC = "probe-svc"
#: The controller's default minimum interval between two pushes to one gateway.
PROXY_SYNC_SECONDS = 3.0
#: Room for 20k+ ClusterIP Services (the test default, a /24, holds 254).
APISERVER_ARGS = ("--service-cluster-ip-range=10.96.0.0/16",)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank-free linear interpolation (numpy's default), ``None`` for no values."""
    if not values:
        return None
    xs = sorted(values)
    k = (len(xs) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def parse_sets(text: str) -> list[int]:
    return [int(float(x.replace("k", "e3"))) for x in text.split(",") if x.strip()]


def write_json(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    return path


def merge_by_sets(name: str, fresh: dict[str, Any], key: str = "runs") -> dict[str, Any]:
    """Merge ``fresh[key]`` (a list of per-N dicts) into the saved file: a new N replaces the old.

    Lets the expensive N be measured in separate invocations (``--sets 0,1000`` now,
    ``--sets 10000`` later) while the report still sees one table.
    """
    path = RESULTS / name
    old: dict[str, Any] = {}
    if path.exists() and not fresh.get("quick"):
        try:
            old = json.loads(path.read_text())
        except ValueError:
            old = {}
    if old.get("quick"):
        old = {}
    runs = {r["sets"]: r for r in old.get(key, [])}
    runs.update({r["sets"]: r for r in fresh.get(key, [])})
    out = dict(fresh)
    out[key] = [runs[n] for n in sorted(runs)]
    return out


# -- objects -------------------------------------------------------------------------------------


def _clean(obj: dict[str, Any], allocate_ip: bool = True) -> dict[str, Any]:
    """The object as a user would write it: no uid / resourceVersion / creationTimestamp."""
    out = dict(obj)
    meta = {
        k: v
        for k, v in obj["metadata"].items()
        if k not in ("uid", "resourceVersion", "creationTimestamp")
    }
    out["metadata"] = meta
    if obj["kind"] == "Service" and allocate_ip:
        # let kube-apiserver allocate (from the /16 the benchmark's control plane serves)
        out["spec"] = {k: v for k, v in obj["spec"].items() if k != "clusterIP"}
    return out


def ingress_class() -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IngressClass",
        "metadata": {"name": "kong"},
        "spec": {"controller": "ingress-controllers.konghq.com/kong"},
    }


def probe_backend() -> list[dict[str, Any]]:
    """The Service (+ EndpointSlice) every probe and burst Ingress points at."""
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": PROBE_NS}},
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": PROBE_SVC, "namespace": PROBE_NS},
            "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]},
        },
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": f"{PROBE_SVC}-1",
                "namespace": PROBE_NS,
                "labels": {"kubernetes.io/service-name": PROBE_SVC},
            },
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": [{"addresses": ["10.250.0.1"], "conditions": {"ready": True}}],
        },
    ]


def probe_ingress(name: str, host: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "namespace": PROBE_NS},
        "spec": {
            "ingressClassName": "kong",
            "rules": [
                {
                    "host": host,
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": PROBE_SVC, "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ],
        },
    }


def route_hosts(config: dict[str, Any]) -> set[str]:
    hosts: set[str] = set()
    for svc in config.get("services", ()):
        for route in svc.get("routes", ()):
            hosts.update(route.get("hosts", ()))
    for route in config.get("routes", ()):
        hosts.update(route.get("hosts", ()))
    return hosts


def route_count(config: dict[str, Any]) -> int:
    n = len(config.get("routes", ()))
    for svc in config.get("services", ()):
        n += len(svc.get("routes", ()))
    return n


def is_complete(config: dict[str, Any], n: int) -> bool:
    """Every one of ``n`` sets is in the config: route, certificate, plugin, consumer + key."""
    if n == 0:
        return True
    counts = entity_counts(config)
    keys = sum(len(c.get("keyauth_credentials", ())) for c in config.get("consumers", ()))
    return (
        route_count(config) >= n
        and keys >= n
        and all(counts.get(k, 0) >= n for k in ("services", "certificates", "plugins", "consumers"))
    )


def entity_counts(config: dict[str, Any]) -> dict[str, int]:
    return {k: len(v) for k, v in config.items() if isinstance(v, list)}


# -- the cluster ---------------------------------------------------------------------------------


@attrs.define
class Cluster:
    """One control plane for the whole run; sets are added, never removed."""

    cp: ControlPlane
    client: httpx.AsyncClient
    loaded: int = 0
    namespaces: set[str] = attrs.field(factory=set)
    load_log: list[dict[str, Any]] = attrs.field(factory=list)
    #: "etcd" (fast, see :meth:`_put_etcd`) or "api" (every object through kube-apiserver).
    method: str = "etcd"

    async def create(self, obj: dict[str, Any]) -> httpx.Response:
        """POST one object (PUT over it when it exists); raises on any other error."""
        kind = obj["kind"]
        meta = obj["metadata"]
        ns = meta.get("namespace")
        for attempt in range(5):
            try:
                r = await self.client.post(collection_path(kind, ns), json=obj)
                if r.status_code == 409:
                    cur = await self.client.get(object_path(kind, meta["name"], ns))
                    cur.raise_for_status()
                    body = dict(obj)
                    body["metadata"] = dict(meta)
                    body["metadata"]["resourceVersion"] = cur.json()["metadata"]["resourceVersion"]
                    r = await self.client.put(object_path(kind, meta["name"], ns), json=body)
                if r.status_code in (429, 500, 503, 504):
                    await trio.sleep(0.2 * (attempt + 1))
                    continue
                if r.status_code >= 400:
                    raise RuntimeError(
                        f"create {kind} {ns}/{meta['name']}: {r.status_code} {r.text[:300]}"
                    )
                return r
            except httpx.TransportError:
                if attempt == 4:
                    raise
                await trio.sleep(0.2 * (attempt + 1))
        raise RuntimeError(f"create {kind} {ns}/{meta['name']}: gave up")

    async def create_many(self, objs: Iterable[dict[str, Any]], concurrency: int = 32) -> int:
        """Create objects with ``concurrency`` writes in flight."""
        send, recv = trio.open_memory_channel[dict[str, Any]](concurrency)
        count = 0

        async def worker(r: trio.MemoryReceiveChannel[dict[str, Any]]) -> None:
            nonlocal count
            async with r:
                async for obj in r:
                    await self.create(obj)
                    count += 1

        async with trio.open_nursery() as nursery:
            for _ in range(concurrency):
                nursery.start_soon(worker, recv.clone())
            recv.close()
            async with send:
                for obj in objs:
                    await send.send(obj)
        return count

    async def setup(self) -> None:
        await self.create(ingress_class())
        await self.create_many(probe_backend()[:1], 1)
        await self.create_many(probe_backend()[1:], 2)

    async def load_to(self, n: int, concurrency: int = 32) -> None:
        """Add sets ``loaded..n-1`` (7 objects each) to the cluster (see :attr:`method`)."""
        if n <= self.loaded:
            return
        start = self.loaded
        t0 = time.perf_counter()
        certs = certificates(n)
        new_ns = sorted({namespace_of(i) for i in range(start, n)} - self.namespaces)
        namespaces = [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}} for ns in new_ns
        ]

        def objects() -> Iterable[dict[str, Any]]:
            for i in range(start, n):
                for obj in make_set(i, certs[i]):
                    yield _clean(obj, allocate_ip=self.method == "api")
                if (i + 1) % 2000 == 0:
                    log(f"  loaded {i + 1} sets ({time.perf_counter() - t0:.0f}s)")

        if self.method == "api":
            await self.create_many(namespaces, concurrency)
            count = await self.create_many(objects(), concurrency)
        else:
            count = await self._put_etcd(namespaces)
            count = await self._put_etcd(objects())
            await self._wait_listed(n)
        self.namespaces.update(new_ns)
        secs = time.perf_counter() - t0
        self.loaded = n
        self.load_log.append(
            {
                "from": start,
                "to": n,
                "objects": count,
                "seconds": round(secs, 1),
                "method": self.method,
                "objects_per_s": round(count / secs, 1) if secs else None,
            }
        )
        log(
            f"cluster holds {n} sets: {count} objects written ({self.method}) in {secs:.1f}s "
            f"({count / max(secs, 1e-9):.0f}/s)"
        )

    async def _put_etcd(self, objs: Iterable[dict[str, Any]], batch: int = 100) -> int:
        """Write objects straight into etcd, as kube-apiserver would store them (JSON).

        Why: through the API, kube-apiserver spends ~4.5 ms of CPU per object (validation,
        admission, protobuf encoding) and our shared 2-core machine cannot create 140k objects
        in the time the benchmark has. kube-apiserver reads JSON from etcd as well as protobuf
        and learns these keys through its etcd watch, so the controller lists and watches them
        exactly as if they had been created through the API (a ``managedFields`` entry is added
        as an API create would). The probe and burst Ingresses still go through the API.
        """
        sem = trio.Semaphore(4)
        count = 0
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        http = httpx.AsyncClient(base_url=self.cp.etcd_url, timeout=60.0)

        async def put(ops: list[dict[str, Any]]) -> None:
            async with sem:
                r = await http.post("/v3/kv/txn", json={"success": ops})
                r.raise_for_status()

        async with http, trio.open_nursery() as nursery:
            ops: list[dict[str, Any]] = []
            for obj in objs:
                key, value = _etcd_entry(obj, now)
                ops.append({"requestPut": {"key": _b64(key), "value": _b64(value)}})
                count += 1
                if len(ops) >= batch:
                    await sem.acquire()
                    sem.release()
                    nursery.start_soon(put, ops)
                    ops = []
                    await trio.lowlevel.checkpoint()
            if ops:
                nursery.start_soon(put, ops)
        return count

    async def _wait_listed(self, n: int) -> None:
        """Wait until kube-apiserver serves every set (its watch cache caught up with etcd)."""
        want = 2 * n  # Secrets: TLS + credential per set
        with trio.fail_after(600):
            while True:
                r = await self.client.get(
                    "/api/v1/secrets", params={"limit": 1, "labelSelector": ""}
                )
                r.raise_for_status()
                meta = r.json()["metadata"]
                have = len(r.json()["items"]) + int(meta.get("remainingItemCount") or 0)
                if have >= want:
                    return
                await trio.sleep(0.5)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


#: Where kube-apiserver keeps each kind in etcd (``--etcd-prefix=/registry``).
_ETCD_PREFIX = {
    "Namespace": "/registry/namespaces",
    "Secret": "/registry/secrets",
    "Service": "/registry/services/specs",
    "EndpointSlice": "/registry/endpointslices",
    "Ingress": "/registry/ingress",
    "KongPlugin": "/registry/configuration.konghq.com/kongplugins",
    "KongConsumer": "/registry/configuration.konghq.com/kongconsumers",
    "HTTPRoute": "/registry/gateway.networking.k8s.io/httproutes",
}


def _etcd_entry(obj: dict[str, Any], now: str) -> tuple[bytes, bytes]:
    kind = obj["kind"]
    meta = dict(obj["metadata"])
    ns = meta.get("namespace")
    key = (
        f"{_ETCD_PREFIX[kind]}/{ns}/{meta['name']}"
        if ns
        else f"{_ETCD_PREFIX[kind]}/{meta['name']}"
    )
    meta["uid"] = str(uuid.uuid4())
    meta["creationTimestamp"] = now
    meta["managedFields"] = [
        {
            "manager": "kic-trio-bench",
            "operation": "Update",
            "apiVersion": obj["apiVersion"],
            "time": now,
            "fieldsType": "FieldsV1",
            "fieldsV1": _fields_v1(
                {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
            ),
        }
    ]
    body = dict(obj)
    body["metadata"] = meta
    if kind == "Namespace":
        body["spec"] = {"finalizers": ["kubernetes"]}
        body["status"] = {"phase": "Active"}
    if kind == "Service":
        ip = body["spec"]["clusterIP"]  # _sets picks one in 10.96.0.0/16 (APISERVER_ARGS)
        body["spec"] = dict(
            body["spec"],
            clusterIPs=[ip],
            sessionAffinity="None",
            ipFamilies=["IPv4"],
            ipFamilyPolicy="SingleStack",
            internalTrafficPolicy="Cluster",
        )
        body["status"] = {"loadBalancer": {}}
    return key.encode(), json.dumps(body, separators=(",", ":")).encode()


def _fields_v1(value: Any) -> Any:
    """A FieldsV1-like tree (``f:<key>`` per field), as kube-apiserver records for a create."""
    if isinstance(value, dict):
        return {f"f:{k}": _fields_v1(v) for k, v in value.items()}
    if isinstance(value, list):
        return {"f:item": _fields_v1(value[0])} if value else {}
    return {}


# -- the controller process ----------------------------------------------------------------------


@attrs.define
class ControllerProcess:
    """``python -m kic_trio run`` in its own process, optionally under pyinstrument."""

    proc: trio.Process
    ps: psutil.Process
    started_at: float
    log_path: Path
    profile_path: Path | None = None

    def rss(self) -> int:
        return int(self.ps.memory_info().rss)

    def hwm(self) -> int | None:
        """Peak RSS so far (``VmHWM``), bytes."""
        try:
            for line in Path(f"/proc/{self.ps.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return None

    def cpu_seconds(self) -> float:
        t = self.ps.cpu_times()
        return float(t.user + t.system)

    async def stop(self, timeout: float = 60.0) -> int | None:
        """SIGTERM (a clean stop: pyinstrument writes its profile), SIGKILL after ``timeout``."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            with trio.move_on_after(timeout):
                await self.proc.wait()
            if self.proc.returncode is None:
                self.proc.kill()
                await self.proc.wait()
        return self.proc.returncode

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


async def start_controller(
    kubeconfig: Path,
    kong_url: str,
    log_path: Path,
    *,
    extra: Sequence[str] = (),
    profile: Path | None = None,
    env: dict[str, str] | None = None,
    controller_cmd: Sequence[str] = (),
) -> ControllerProcess:
    """Spawn the controller with the benchmark's flags.

    ``controller_cmd`` replaces ``python -m kic_trio run`` (``--controller-cmd`` of the scripts):
    another build or another controller that takes the same flags (upstream's
    ``manager`` binary does: ``--kubeconfig``, ``--kong-admin-url``, ...) runs the very same
    scenario, so the numbers compare side by side. pyinstrument applies only to ours.
    """
    args = [
        f"--kubeconfig={kubeconfig}",
        f"--kong-admin-url={kong_url}",
        "--update-status=false",
        "--health-probe-bind-address=127.0.0.1:0",
        "--metrics-bind-address=127.0.0.1:0",
        "--log-level=info",
        *extra,
    ]
    if controller_cmd:
        cmd = [*controller_cmd, *args]
    elif profile is not None:
        cmd = [sys.executable, "-m", "pyinstrument", "-r", "text", "--show-all", "-o"]
        cmd += [str(profile), "-m", "kic_trio", "run", *args]
    else:
        cmd = [sys.executable, "-m", "kic_trio", "run", *args]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    logf = open(log_path, "wb")  # noqa: SIM115, ASYNC230 - the child keeps it; a local file
    started_at = trio.current_time()
    proc = await trio.lowlevel.open_process(
        cmd, stdout=logf, stderr=subprocess.STDOUT, cwd=REPO, env=env
    )
    logf.close()
    return ControllerProcess(proc, psutil.Process(proc.pid), started_at, log_path, profile)


# -- watching FakeKong ---------------------------------------------------------------------------


def config_posts(kong: FakeKong, since: float = -math.inf) -> list[RequestRecord]:
    return [
        r for r in kong.requests if r.method == "POST" and r.path == "/config" and r.at >= since
    ]


def post_of_current_config(kong: FakeKong) -> RequestRecord:
    """The POST /config whose body is the config FakeKong holds now."""
    for rec in reversed(kong.requests):
        if (
            rec.method == "POST"
            and rec.path == "/config"
            and rec.body_md5 == kong.configuration_hash
        ):
            return rec
    raise LookupError("no POST /config produced the current config")


async def wait_config(kong: FakeKong, predicate: Callable[[dict[str, Any]], bool]) -> RequestRecord:
    """Wait until FakeKong holds a config satisfying ``predicate``; the POST that brought it."""
    seen = {"hash": None, "ok": False}

    def check(k: FakeKong) -> bool:
        # the config only changes with its hash: evaluate the predicate once per config
        if k.configuration_hash != seen["hash"]:
            seen["hash"] = k.configuration_hash  # type: ignore[assignment]
            seen["ok"] = predicate(k.config)
        return bool(seen["ok"])

    await kong.wait_for(check)
    return post_of_current_config(kong)


async def wait_answered(kong: FakeKong, rec: RequestRecord) -> float:
    """Wait until ``rec`` has been answered; the time it was seen answered."""
    await kong.wait_for(lambda _: rec.status is not None)
    return trio.current_time()


async def wait_quiet(kong: FakeKong, quiet: float, limit: float) -> None:
    """Wait until no POST /config arrived for ``quiet`` seconds (at most ``limit`` seconds)."""
    with trio.move_on_after(limit):
        while True:
            posts = config_posts(kong)
            last = max((p.at for p in posts), default=-math.inf)
            if posts and posts[-1].status is None:
                await trio.sleep(0.1)
                continue
            remaining = last + quiet - trio.current_time()
            if remaining <= 0:
                return
            await trio.sleep(remaining)


def summary_stats(values_ms: Sequence[float]) -> dict[str, Any]:
    return {
        "n": len(values_ms),
        "min_ms": round(min(values_ms), 1) if values_ms else None,
        "p50_ms": _r(percentile(values_ms, 50)),
        "p95_ms": _r(percentile(values_ms, 95)),
        "p99_ms": _r(percentile(values_ms, 99)),
        "max_ms": round(max(values_ms), 1) if values_ms else None,
        "mean_ms": round(statistics.fmean(values_ms), 1) if values_ms else None,
    }


def _r(x: float | None, nd: int = 1) -> float | None:
    return None if x is None else round(x, nd)


def mib(x: float | None) -> float | None:
    return None if x is None else round(x / (1024 * 1024), 1)


def new_fakekong(n_sets: int, validate: str) -> FakeKong:
    check = validate == "on" or (validate == "auto" and n_sets < 5000)
    return FakeKong(max_body_size=MAX_BODY, validate_schema=check)


__all__ = [
    "PROBE_NS",
    "SETS_PER_NAMESPACE",
    "Cluster",
    "ControlPlane",
    "ControllerProcess",
    "FakeKong",
]
