"""One pass over N: load the sets, run the controller once per N, measure what was asked.

For each N (ascending, sets added to the same control plane):

1. **start-up** — spawn ``python -m kic_trio run`` with N sets already in the cluster; time to
   the arrival of the first successful ``POST /config`` and of the first one carrying all N
   sets (routes, certificates, plugins, consumers and their keys) (the controller's own clock is not used: both ends are stamped in this process);
2. **memory** — once no push arrived for 3 s and 5 more seconds passed: the controller
   process's RSS (median of 5 readings 1 s apart) and its peak (``VmHWM``);
3. **e2e** — ``cycles`` times: create one Ingress, change its host, delete it; each write is
   timed from just before the request is sent to the arrival at FakeKong of the first
   ``POST /config`` whose body reflects it. Each sample is *isolated*: it is sent only after
   the previous push was answered and ``proxy_sync_seconds`` (3 s) passed since it arrived,
   so the applier's rate limit never holds it back;
4. **burst** — ``burst`` Ingresses created with 32 writes in flight: time until every one is
   in Kong's config, and how many pushes that took (then they are deleted again);
5. **push size** — the body size of the full config;
6. **churn** — ``churn`` create/update/delete cycles of one Ingress, back to back (each write
   waits for the API server's answer, not for Kong), the controller's RSS read every
   ``churn_every`` cycles once the last delete reached Kong: the RSS curve of a controller that
   runs for months (``churn.py``).

``idle`` CPU (the controller's CPU seconds while nothing changes, over the memory family's
quiet window) and the request counts FakeKong saw are recorded with every run, so another
controller (``--controller-cmd``) can be compared on the same table.
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import Any

import attrs
import trio
from _harness import (
    APISERVER_ARGS,
    MAX_BODY,
    PROBE_NS,
    PROXY_SYNC_SECONDS,
    RESULTS,
    Cluster,
    ControllerProcess,
    config_posts,
    entity_counts,
    is_complete,
    log,
    machine,
    mib,
    new_fakekong,
    probe_ingress,
    route_count,
    route_hosts,
    start_controller,
    summary_stats,
    wait_answered,
    wait_config,
    wait_quiet,
)

from kic_trio.testing import FakeKong
from kic_trio.testing._apply import object_path
from kic_trio.testing.controlplane import ControlPlane


@attrs.frozen
class Options:
    families: frozenset[str] = frozenset()  # startup, memory, e2e, burst (per N: see bench())
    cycles: int = 50
    burst: int = 500
    validate: str = "auto"  # FakeKong schema validation: on, off, auto (off from 5k sets)
    gap: float = 0.25  # extra seconds past the 3 s interval before an isolated sample
    profile: bool = False  # an extra run of the controller under pyinstrument
    profile_only: bool = False  # only that run (nothing is measured or saved)
    profile_sets: frozenset[int] | None = None  # profile only at these N (None: every N)
    profile_cycles: int = 10
    startup_limit: float = 600.0
    extra_args: tuple[str, ...] = ()
    #: replaces ``python -m kic_trio run`` (another build, or another controller's binary)
    controller_cmd: tuple[str, ...] = ()
    churn: int = 1000
    churn_every: int = 100
    idle_seconds: float = 10.0


async def isolate(kong: FakeKong, gap: float) -> None:
    """Return once a change sent now is isolated: the last push answered, its interval over."""
    posts = config_posts(kong)
    if not posts:
        return
    last = posts[-1]
    with trio.fail_after(120):
        await wait_answered(kong, last)
    await trio.sleep_until(max(last.at + PROXY_SYNC_SECONDS + gap, trio.current_time() + 0.05))


async def e2e_samples(
    cluster: Cluster, kong: FakeKong, n: int, opts: Options, cycles: int
) -> dict[str, Any]:
    client = cluster.client
    samples: dict[str, list[dict[str, Any]]] = {"create": [], "update": [], "delete": []}
    path = object_path("Ingress", "probe", PROBE_NS)

    async def one(op: str, write: Any, predicate: Any) -> None:
        await isolate(kong, opts.gap)
        before = len(config_posts(kong))
        t0 = trio.current_time()
        r = await write()
        t_api = trio.current_time()
        if r.status_code >= 400:
            raise RuntimeError(f"{op}: {r.status_code} {r.text[:300]}")
        with trio.fail_after(60):
            rec = await wait_config(kong, predicate)
        posts = config_posts(kong)[before:]
        samples[op].append(
            {
                "ms": round((rec.at - t0) * 1000, 2),
                "from_api_ms": round((rec.at - t_api) * 1000, 2),
                "api_ms": round((t_api - t0) * 1000, 2),
                "pushes": sum(1 for p in posts if p.at <= rec.at),
                "body_size": rec.body_size,
            }
        )

    for k in range(cycles):
        host = f"probe-{k}.example.com"
        moved = f"probe-{k}-moved.example.com"
        rv: dict[str, str] = {}

        async def create(host: str = host, rv: dict[str, str] = rv) -> Any:
            r = await client.post(
                f"/apis/networking.k8s.io/v1/namespaces/{PROBE_NS}/ingresses",
                json=probe_ingress("probe", host),
            )
            if r.status_code < 400:
                rv["v"] = r.json()["metadata"]["resourceVersion"]
            return r

        async def update(moved: str = moved, rv: dict[str, str] = rv) -> Any:
            body = probe_ingress("probe", moved)
            body["metadata"]["resourceVersion"] = rv["v"]
            return await client.put(path, json=body)

        async def delete() -> Any:
            return await client.delete(path)

        await one("create", create, lambda c, h=host: h in route_hosts(c))
        await one(
            "update",
            update,
            lambda c, h=moved, old=host: h in route_hosts(c) and old not in route_hosts(c),
        )
        await one("delete", delete, lambda c, h=moved: h not in route_hosts(c))
        if (k + 1) % 10 == 0:
            ms = [s["ms"] for op in samples.values() for s in op]
            log(
                f"  e2e N={n}: {k + 1}/{cycles} cycles, p50 so far {sorted(ms)[len(ms) // 2]:.0f} ms"
            )

    out: dict[str, Any] = {}
    all_ms: list[float] = []
    for op, rows in samples.items():
        ms = [s["ms"] for s in rows]
        all_ms += ms
        out[op] = summary_stats(ms) | {
            "from_api": summary_stats([s["from_api_ms"] for s in rows]),
            "api_write": summary_stats([s["api_ms"] for s in rows]),
            "extra_pushes": sum(s["pushes"] - 1 for s in rows),
        }
    out["all"] = summary_stats(all_ms)
    out["samples"] = samples
    return out


async def burst(cluster: Cluster, kong: FakeKong, count: int, opts: Options) -> dict[str, Any]:
    await isolate(kong, opts.gap)
    hosts = {f"burst-{j}.example.com" for j in range(count)}
    before = len(config_posts(kong))
    t0 = trio.current_time()
    await cluster.create_many(
        (probe_ingress(f"burst-{j}", f"burst-{j}.example.com") for j in range(count)), 32
    )
    t_written = trio.current_time()
    with trio.fail_after(300):
        rec = await wait_config(kong, lambda c: hosts <= route_hosts(c))
    posts = [p for p in config_posts(kong)[before:] if p.at <= rec.at]
    live_s = rec.at - t0
    # clean up (timed too: a burst of deletions)
    await isolate(kong, opts.gap)
    before = len(config_posts(kong))
    t1 = trio.current_time()

    async def rm(j: int) -> None:
        await cluster.client.delete(object_path("Ingress", f"burst-{j}", PROBE_NS))

    async with trio.open_nursery() as nursery:
        lim = trio.CapacityLimiter(32)

        async def guarded(j: int) -> None:
            async with lim:
                await rm(j)

        for j in range(count):
            nursery.start_soon(guarded, j)
    with trio.fail_after(300):
        rec2 = await wait_config(kong, lambda c: not (hosts & route_hosts(c)))
    posts2 = [p for p in config_posts(kong)[before:] if p.at <= rec2.at]
    return {
        "ingresses": count,
        "writes_s": round(t_written - t0, 2),
        "all_live_s": round(live_s, 2),
        "pushes": len(posts),
        "push_arrivals_s": [round(p.at - t0, 2) for p in posts],
        "delete_all_gone_s": round(rec2.at - t1, 2),
        "delete_pushes": len(posts2),
    }


async def wait_first_push(kong: FakeKong) -> tuple[Any, float, dict[str, int] | None]:
    """The first POST /config answered 2xx, when its answer was seen, and what it held."""

    def answered_ok(k: FakeKong) -> bool:
        return any(q.status is not None and 200 <= q.status < 300 for q in config_posts(k))

    await kong.wait_for(answered_ok)
    first = next(q for q in config_posts(kong) if q.status is not None and 200 <= q.status < 300)
    held = None
    if kong.configuration_hash == first.body_md5:
        held = entity_counts(kong.config) | {"routes": route_count(kong.config)}
    return first, trio.current_time(), held


async def measure_n(
    cp: ControlPlane, cluster: Cluster, n: int, families: frozenset[str], opts: Options, logs: Path
) -> dict[str, Any]:
    opts = attrs.evolve(opts, families=families)
    await cluster.load_to(n)
    if opts.profile_only:
        return {"sets": n, "profile": await profile_n(cp, cluster, n, opts, logs)}
    run: dict[str, Any] = {"sets": n}
    async with new_fakekong(n, opts.validate) as kong:
        run["fakekong_schema_validation"] = kong._schema is not None
        log(f"N={n}: starting the controller")
        ctl = await start_controller(
            cp.kubeconfig,
            kong.url,
            logs / f"controller-{n}.log",
            extra=opts.extra_args,
            controller_cmd=opts.controller_cmd,
        )
        try:
            await _measure(ctl, cluster, kong, n, opts, run)
            run["requests"] = request_counts(kong)
        finally:
            rc = await ctl.stop()
            run["exit_code"] = rc
            if rc not in (0, None):
                log(f"controller exited {rc}:\n{ctl.tail()}")
    if opts.profile and (opts.profile_sets is None or n in opts.profile_sets):
        run["profile"] = await profile_n(cp, cluster, n, opts, logs)
    return run


async def _measure(
    ctl: ControllerProcess,
    cluster: Cluster,
    kong: FakeKong,
    n: int,
    opts: Options,
    run: dict[str, Any],
) -> None:
    t0 = ctl.started_at
    with trio.move_on_after(opts.startup_limit) as scope:
        first, answered, first_routes = await wait_first_push(kong)
        complete = await wait_config(kong, lambda c: is_complete(c, n))
    if scope.cancelled_caught:
        raise RuntimeError(f"N={n}: no complete push within {opts.startup_limit}s:\n{ctl.tail()}")
    with trio.fail_after(120):
        complete_answered = await wait_answered(kong, complete)
    posts = config_posts(kong)
    run["startup"] = {
        "first_push_s": round(first.at - t0, 2),
        "first_push_answered_s": round(answered - t0, 2),
        "first_push_entities": first_routes,
        "complete_push_s": round(complete.at - t0, 2),
        "complete_push_answered_s": round(complete_answered - t0, 2),
        "pushes_until_complete": sum(1 for p in posts if p.at <= complete.at),
        "controller_cpu_s": round(ctl.cpu_seconds(), 2),
    }
    run["push"] = {
        "body_bytes": complete.body_size,
        "body_mib": mib(complete.body_size),
        "entities": entity_counts(kong.config),
        "routes": route_count(kong.config),
    }
    log(
        f"N={n}: first push {run['startup']['first_push_s']}s, complete {run['startup']['complete_push_s']}s, "
        f"{mib(complete.body_size)} MiB"
    )

    if opts.families & {"memory", "e2e", "churn"}:
        await wait_quiet(kong, 3.0, 60)
        run["memory"] = await steady_rss(ctl, kong, opts.idle_seconds)
        log(
            f"N={n}: steady RSS {run['memory']['rss_mib']} MiB (peak {run['memory']['peak_rss_mib']})"
        )

    if "e2e" in opts.families and opts.cycles > 0:
        cpu0 = ctl.cpu_seconds()
        t = time.perf_counter()
        run["e2e"] = await e2e_samples(cluster, kong, n, opts, opts.cycles)
        run["e2e"]["controller_cpu_s_per_change"] = round(
            (ctl.cpu_seconds() - cpu0) / (3 * opts.cycles), 3
        )
        run["e2e"]["wall_s"] = round(time.perf_counter() - t, 1)
        a = run["e2e"]["all"]
        log(f"N={n}: e2e p50 {a['p50_ms']} p95 {a['p95_ms']} p99 {a['p99_ms']} ms")
        run["memory_after_e2e"] = {"rss_mib": mib(ctl.rss()), "peak_rss_mib": mib(ctl.hwm())}

    if "churn" in opts.families and opts.churn > 0:
        run["churn"] = await churn(cluster, kong, ctl, n, opts, run["memory"])

    if "burst" in opts.families and opts.burst > 0:
        run["burst"] = await burst(cluster, kong, opts.burst, opts)
        b = run["burst"]
        log(
            f"N={n}: burst of {b['ingresses']}: all live after {b['all_live_s']}s in {b['pushes']} pushes"
        )


async def steady_rss(ctl: ControllerProcess, kong: FakeKong, idle: float) -> dict[str, Any]:
    """RSS once quiet: ``idle - 5`` s more, then 5 readings 1 s apart (median); idle CPU meanwhile.

    ``idle_cpu_s`` is the controller's CPU over that whole window with no change in the cluster
    (resyncs, timers, the Lease): scaled to 60 s as the issue's table reports it.
    """
    cpu0, t0, posts0 = ctl.cpu_seconds(), trio.current_time(), len(config_posts(kong))
    await trio.sleep(max(0.0, idle - 5))
    readings = []
    for _ in range(5):
        readings.append(ctl.rss())
        await trio.sleep(1)
    readings.sort()
    window = trio.current_time() - t0
    idle_cpu = ctl.cpu_seconds() - cpu0
    return {
        "rss_bytes": readings[2],
        "rss_mib": mib(readings[2]),
        "peak_rss_mib": mib(ctl.hwm()),
        "readings_mib": [mib(r) for r in readings],
        "idle_window_s": round(window, 1),
        "idle_cpu_s": round(idle_cpu, 3),
        "idle_cpu_s_per_60s": round(idle_cpu * 60 / window, 3),
        "idle_pushes": len(config_posts(kong)) - posts0,
    }


def request_counts(kong: FakeKong) -> dict[str, int]:
    """How many requests of each ``METHOD path`` the controller sent FakeKong (whole run)."""
    out: dict[str, int] = {}
    for r in kong.requests:
        key = f"{r.method} {r.path.split('?')[0]}"
        out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items()))


async def churn(
    cluster: Cluster,
    kong: FakeKong,
    ctl: ControllerProcess,
    n: int,
    opts: Options,
    before: dict[str, Any],
) -> dict[str, Any]:
    """``opts.churn`` create/update/delete cycles of one Ingress; the RSS curve every few cycles.

    Each create is waited for at Kong, then the update and the delete follow at once (the
    controller may batch those two). Run with a short ``--proxy-sync-seconds`` (churn.py does)
    or every cycle waits out the push interval. Every
    ``churn_every`` cycles, once the config without the probe reached Kong and no push came for
    3 s, the RSS is read (median of 3). The last point is read as the steady RSS is (same
    window), so ``growth_pct`` compares like with like.
    """
    client = cluster.client
    path = object_path("Ingress", "churn", PROBE_NS)
    curve = [{"cycles": 0, "rss_mib": before["rss_mib"]}]
    t0, cpu0 = trio.current_time(), ctl.cpu_seconds()
    posts0 = len(config_posts(kong))
    for k in range(opts.churn):
        host, moved = f"churn-{k}.example.com", f"churn-{k}-moved.example.com"
        r = await client.post(
            f"/apis/networking.k8s.io/v1/namespaces/{PROBE_NS}/ingresses",
            json=probe_ingress("churn", host),
        )
        if r.status_code >= 400:
            raise RuntimeError(f"churn create: {r.status_code} {r.text[:300]}")
        # the create reaches Kong before the update and delete follow: every cycle is
        # translated and pushed (back-to-back writes would mostly cancel out in one debounce)
        with trio.fail_after(120):
            await wait_config(kong, lambda c, h=host: h in route_hosts(c))
        body = probe_ingress("churn", moved)
        body["metadata"]["resourceVersion"] = r.json()["metadata"]["resourceVersion"]
        r = await client.put(path, json=body)
        if r.status_code >= 400:
            raise RuntimeError(f"churn update: {r.status_code} {r.text[:300]}")
        r = await client.delete(path)
        if r.status_code >= 400:
            raise RuntimeError(f"churn delete: {r.status_code} {r.text[:300]}")
        done = k + 1
        if done % opts.churn_every == 0 or done == opts.churn:
            with trio.fail_after(120):
                await wait_config(kong, lambda c, h=moved: h not in route_hosts(c))
            await wait_quiet(kong, 3.0, 60)
            if done == opts.churn:
                last = await steady_rss(ctl, kong, opts.idle_seconds)
                rss = last["rss_mib"]
            else:
                rss = mib(sorted(ctl.rss() for _ in range(3))[1])
            curve.append({"cycles": done, "rss_mib": rss, "s": round(trio.current_time() - t0, 1)})
            log(f"  churn N={n}: {done}/{opts.churn} cycles, RSS {rss} MiB")
    growth = (last["rss_bytes"] - before["rss_bytes"]) / before["rss_bytes"] * 100
    return {
        "cycles": opts.churn,
        "writes": 3 * opts.churn,
        "wall_s": round(trio.current_time() - t0, 1),
        "controller_cpu_s": round(ctl.cpu_seconds() - cpu0, 2),
        "pushes": len(config_posts(kong)) - posts0,
        "rss_before_mib": before["rss_mib"],
        "rss_after": last,
        "rss_after_mib": last["rss_mib"],
        "growth_mib": mib(last["rss_bytes"] - before["rss_bytes"]),
        "growth_pct": round(growth, 2),
        "peak_rss_mib": mib(ctl.hwm()),
        "curve": curve,
    }


async def profile_n(
    cp: ControlPlane, cluster: Cluster, n: int, opts: Options, logs: Path
) -> dict[str, Any]:
    """Run the controller once more under pyinstrument: start-up + a few isolated changes."""
    out = RESULTS / f"profile-{n}.txt"
    async with new_fakekong(n, opts.validate) as kong:
        ctl = await start_controller(
            cp.kubeconfig,
            kong.url,
            logs / f"controller-{n}-profiled.log",
            extra=opts.extra_args,
            profile=out,
            controller_cmd=opts.controller_cmd,
        )
        try:
            with trio.fail_after(opts.startup_limit * 2):
                complete = await wait_config(kong, lambda c: is_complete(c, n))
            startup = complete.at - ctl.started_at
            res = await e2e_samples(cluster, kong, n, opts, opts.profile_cycles)
        finally:
            await ctl.stop(120)
    log(f"N={n}: profile written to {out}")
    return {
        "file": str(out.relative_to(RESULTS.parent.parent)),
        "startup_complete_s_profiled": round(startup, 2),
        "e2e_p50_ms_profiled": res["all"]["p50_ms"],
    }


async def bench(plan: dict[int, frozenset[str]], opts: Options) -> dict[str, Any]:
    """Measure ``plan[N]`` (a set of families) for every N, ascending, on one control plane."""
    logs = RESULTS / "logs"
    runs = []
    t0 = time.perf_counter()
    log(f"starting a control plane; plan: { {n: sorted(f) for n, f in sorted(plan.items())} }")
    async with (
        ControlPlane(apiserver_args=APISERVER_ARGS) as cp,
        cp.admin_client(timeout=60.0) as client,
    ):
        cluster = Cluster(cp, client)
        await cluster.setup()
        for n in sorted(plan):
            runs.append(await measure_n(cp, cluster, n, plan[n], opts, logs))
        load_log = cluster.load_log
    return {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "options": {
            "cycles": opts.cycles,
            "burst": opts.burst,
            "validate": opts.validate,
            "gap_s": opts.gap,
            "proxy_sync_seconds": PROXY_SYNC_SECONDS,
            "fakekong_max_body_size": MAX_BODY,
            "controller_args": list(opts.extra_args),
            "controller_cmd": list(opts.controller_cmd) or None,
        },
        "load": load_log,
        "runs": runs,
        "wall_s": round(time.perf_counter() - t0, 1),
    }


def store_split(n: int) -> dict[str, Any]:
    """Run ``_store_size.py N`` in a fresh process (tracemalloc; see its docstring)."""
    import json
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("_store_size.py")), str(n)],
        check=True,
        capture_output=True,
        text=True,
    )
    res: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return res


def add_store_split(runs: list[dict[str, Any]]) -> None:
    """Split each measured RSS into store / translator / rest."""
    for run in runs:
        mem = run.get("memory")
        if not mem or run["sets"] == 0:
            continue
        log(f"N={run['sets']}: measuring the store and translator with tracemalloc")
        split = store_split(run["sets"])
        rest = mem["rss_bytes"] - split["store_bytes"] - split["translator_bytes"]
        mem["split"] = split
        mem["store_mib"] = mib(split["store_bytes"])
        mem["translator_mib"] = mib(split["translator_bytes"])
        mem["rest_mib"] = mib(rest)


def parse_args(doc: str, default_sets: str, families: set[str]) -> Any:
    import argparse

    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--sets", default=default_sets, help="comma-separated N (1k, 10k allowed)")
    ap.add_argument("--quick", action="store_true", help="smoke run: tiny N, few samples")
    ap.add_argument("--cycles", type=int, default=50, help="create/update/delete cycles per N")
    ap.add_argument("--burst", type=int, default=500)
    ap.add_argument(
        "--validate",
        choices=("on", "off", "auto"),
        default="auto",
        help="FakeKong schema validation (auto: off from 5k sets)",
    )
    ap.add_argument(
        "--profile",
        action="store_true",
        help="also run the controller under pyinstrument at each N",
    )
    ap.add_argument(
        "--profile-only",
        action="store_true",
        help="only the pyinstrument run (start-up + 10 changes); saves no results",
    )
    ap.add_argument(
        "--controller-arg",
        action="append",
        default=[],
        help="extra flag for `kic_trio run` (repeatable)",
    )
    ap.add_argument(
        "--controller-cmd",
        default="",
        help="the controller to run instead of `python -m kic_trio run`, one shell-quoted "
        "string (e.g. '/opt/kic/manager' or '/other/venv/bin/python -m kic_trio run'); "
        "it gets the same flags",
    )
    ap.add_argument("--churn", type=int, default=1000, help="churn cycles (churn.py)")
    ap.add_argument("--churn-every", type=int, default=100, help="RSS reading every N cycles")
    ap.add_argument(
        "--idle-seconds", type=float, default=10.0, help="quiet window for RSS and idle CPU"
    )
    args = ap.parse_args()
    if args.quick:
        args.sets = "0,100"
        args.cycles = min(args.cycles, 3)
        args.burst = min(args.burst, 50)
        args.churn = min(args.churn, 20)
        args.churn_every = min(args.churn_every, 10)
    return args


def options(args: Any) -> Options:
    return Options(
        cycles=args.cycles,
        burst=args.burst,
        validate=args.validate,
        profile=args.profile or args.profile_only,
        profile_only=args.profile_only,
        extra_args=tuple(args.controller_arg),
        controller_cmd=tuple(shlex.split(args.controller_cmd)),
        churn=args.churn,
        churn_every=max(1, args.churn_every),
        idle_seconds=max(5.0, args.idle_seconds),
    )


def save_parts(data: dict[str, Any]) -> None:
    """Write each family's runs to its own file (merged by N with what is there)."""
    from _harness import merge_by_sets, write_json

    parts = (
        ("startup.json", "startup"),
        ("memory.json", "memory"),
        ("e2e.json", "e2e"),
        ("churn.json", "churn"),
    )
    for name, key in parts:
        part = dict(data, runs=[r for r in data["runs"] if key in r])
        if not part["runs"]:
            continue
        if data.get("quick"):
            # a smoke run never replaces measured results: it goes to results/quick/
            write_json(f"quick/{name}", part)
        else:
            write_json(name, merge_by_sets(name, part))
