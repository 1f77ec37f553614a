"""The hostile corpus (issue 13) live: one controller, the real API server, FakeKong, a fresh
namespace per case, all cases applied at once.

The controller runs as a subprocess: the bugs this corpus is about crash the interpreter (a
YAML alias bomb segfaults) or stall the event loop (ReDoS), and in-process either would take
the test session (and its ``fail_after``) with it. From outside we can see what matters: the
process never exits, ``/healthz`` answers all along (polled every 0.2 s), each case's object
gets a Warning Event naming the problem, and each namespace's baseline is still in FakeKong.

The module fixture runs the whole corpus once; each case is then its own test, so cases that do
not pass yet are listed in ``EXPECTED_FAILURES`` (strict xfail). Time-to-failure
(apply -> Warning Event seen) is measured and recorded (printed, and in the session summary,
``last-summary.json``), never asserted: the issue asks for 1 s, timing belongs in benchmarks.
"""

from __future__ import annotations

import copy
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import _hostile as H
import attrs
import httpx
import pytest
import trio
from _reliability import Summary

from kic_trio.testing import FakeKong, apply
from kic_trio.testing._apply import collection_path
from kic_trio.testing.controlplane import ControlPlane

#: How long one case may take to show its Warning Event before it counts as missing.
CASE_BUDGET_S = 40.0
#: The whole run (start-up, all cases, checks); generous, the run takes well under a minute.
RUN_LIMIT_S = 170.0
LIVE_CASES = [c for c in H.load_cases("x") if "skip" not in (c.get("live") or {})]

#: Case id -> why it does not pass yet (strict: a case that starts passing must leave the list).
EXPECTED_FAILURES: dict[str, str] = {
    "ca-nonutf8-after-pem": "no Warning Event mentioning the expected text on the object within the budget (not fixed yet)",
    "ca-nonutf8-id": "no Warning Event mentioning the expected text on the object within the budget (not fixed yet)",
    "ca-trailing-bytes": "no Warning Event mentioning the expected text on the object within the budget (not fixed yet)",
    "consumer-credential-nonutf8": "no Warning Event mentioning the expected text on the object within the budget (not fixed yet)",
    "upstream-policy-hash-header-crlf": "no Warning Event mentioning the expected text on the object within the budget (not fixed yet)",
}
#: Whole-run checks that do not hold yet (strict).
RUN_EXPECTED_FAILURES: dict[str, str] = {}
#: Outcomes that race (xfail, not strict); none today.
RACY: frozenset[str] = frozenset()


@attrs.define
class Outcome:
    case_id: str
    namespace: str
    time_to_failure_s: float | None = None
    refusal: str | None = None
    problems: list[str] = attrs.field(factory=list)


@attrs.define
class Run:
    outcomes: dict[str, Outcome] = attrs.field(factory=dict)
    controller_exit: int | None = None
    healthz_ok: int = 0
    healthz_failed: list[str] = attrs.field(factory=list)
    healthz_max_s: float = 0.0
    late_change_served: bool = False
    startup_problem: str | None = None
    #: Every Event of the cluster, as last listed (one poller for all cases).
    events: list[dict[str, Any]] = attrs.field(factory=list)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _matching(events: list[dict[str, Any]], exp: dict[str, Any]) -> bool:
    return any(
        e.get("type") == "Warning"
        and (e.get("involvedObject") or {}).get("kind") == exp["kind"]
        and (e.get("involvedObject") or {}).get("name") == exp["name"]
        and exp["message"] in (e.get("message") or "")
        for e in events
    )


async def _run(control_plane: ControlPlane, kubeconfig: Path) -> Run:
    run = Run()
    token = secrets.token_hex(2)
    cases: list[tuple[str, dict[str, Any]]] = []
    for i, generic in enumerate(LIVE_CASES):
        ns = f"hx-{token}-{i}"
        case = next(c for c in H.load_cases(ns) if c["id"] == generic["id"])
        cases.append((ns, case))
        run.outcomes[case["id"]] = Outcome(case["id"], ns)
    probe_port = _free_port()
    async with control_plane.admin_client() as admin, FakeKong() as kong:
        for ns, _ in cases:
            r = await admin.post("/api/v1/namespaces", json={"metadata": {"name": ns}})
            r.raise_for_status()
            await apply(admin, H.baseline(ns), namespace=ns)
        argv = [
            sys.executable, "-m", "kic_trio", "run",
            "--kubeconfig", str(kubeconfig),
            "--kong-admin-url", kong.url,
            "--watch-namespace", ",".join(ns for ns, _ in cases),
            "--health-probe-bind-address", f"127.0.0.1:{probe_port}",
            "--metrics-bind-address", "127.0.0.1:0",
            "--proxy-sync-seconds", "0.2",
        ]  # fmt: skip
        proc = await trio.lowlevel.open_process(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            all_baselines = {H.baseline_host(ns) for ns, _ in cases}
            with trio.move_on_after(60) as cs:
                await kong.wait_for(lambda k: all_baselines <= H.hosts_in(k.config))
            if cs.cancelled_caught:
                run.startup_problem = "the baselines were not all served within 60 s of start"
                return run

            async with trio.open_nursery() as nursery:
                nursery.start_soon(_poll_health, run, proc, probe_port)
                nursery.start_soon(_poll_events, admin, run)
                async with trio.open_nursery() as cases_nursery:
                    limit = trio.CapacityLimiter(8)
                    for ns, case in cases:
                        cases_nursery.start_soon(_one_case, admin, ns, case, run, limit)
                # the controller still takes changes after the whole corpus
                ns0 = cases[0][0]
                late = f"late.{ns0}.hostile.test"
                await apply(admin, [H.ingress("late", host=late)], namespace=ns0)
                with trio.move_on_after(20):
                    await kong.wait_for(lambda k: late in H.hosts_in(k.config))
                    run.late_change_served = True
                nursery.cancel_scope.cancel()

            served = H.hosts_in(kong.config)
            for ns, case in cases:
                if H.baseline_host(ns) not in served:
                    run.outcomes[case["id"]].problems.append("the baseline is no longer served")
        finally:
            run.controller_exit = proc.returncode
            if proc.returncode is None:
                proc.kill()
                with trio.move_on_after(5) as cs:
                    cs.shield = True
                    await proc.wait()
    return run


async def _poll_health(run: Run, proc: trio.Process, port: int) -> None:
    async with httpx.AsyncClient(timeout=2.0) as client:
        while True:
            if proc.returncode is not None:
                run.controller_exit = proc.returncode
                run.healthz_failed.append(f"controller exited with {proc.returncode}")
                return
            started = time.monotonic()
            try:
                r = await client.get(f"http://127.0.0.1:{port}/healthz")
            except httpx.HTTPError as exc:
                run.healthz_failed.append(f"{type(exc).__name__}")
            else:
                if r.status_code == 200:
                    run.healthz_ok += 1
                else:
                    run.healthz_failed.append(f"HTTP {r.status_code}")
            run.healthz_max_s = max(run.healthz_max_s, time.monotonic() - started)
            await trio.sleep(0.2)


async def _poll_events(admin: httpx.AsyncClient, run: Run) -> None:
    """All Events of the cluster, every 0.25 s: one request for every waiting case."""
    while True:
        r = await admin.get("/api/v1/events")
        if r.status_code == 200:
            run.events = r.json().get("items", [])
        await trio.sleep(0.25)


async def _one_case(
    admin: httpx.AsyncClient,
    ns: str,
    case: dict[str, Any],
    run: Run,
    limit: trio.CapacityLimiter,
) -> None:
    out = run.outcomes[case["id"]]
    live = case.get("live") or {}
    started = time.monotonic()
    async with limit:
        for obj in case["objects"]:
            body = copy.deepcopy(obj)
            meta = body.setdefault("metadata", {})
            meta.pop("creationTimestamp", None)  # the API server sets it
            path = collection_path(body["kind"], None if body["kind"] in H.CLUSTER_SCOPED else ns)
            r = await admin.post(path, json=body)
            if r.status_code >= 400:
                out.refusal = f"{r.status_code} {r.text[:400]}"
    if "refused" in live:
        if out.refusal is None:
            out.problems.append("the API server accepted it")
        elif live["refused"] not in out.refusal:
            out.problems.append(f"refused, but not for {live['refused']!r}: {out.refusal}")
        return
    if out.refusal is not None:
        out.problems.append(f"refused by the API server: {out.refusal}")
        return
    exp = case["expect"]
    where = "default" if exp["kind"] in H.CLUSTER_SCOPED else ns
    with trio.move_on_after(CASE_BUDGET_S):
        while True:
            events = [e for e in run.events if e.get("metadata", {}).get("namespace") == where]
            if _matching(events, exp):
                out.time_to_failure_s = round(time.monotonic() - started, 3)
                return
            await trio.sleep(0.1)
    out.problems.append(
        f"no Warning Event on {exp['kind']} {exp['name']} mentioning {exp['message']!r} "
        f"within {CASE_BUDGET_S:.0f} s"
    )


@pytest.fixture(scope="module")
def hostile_run(control_plane: ControlPlane, kubeconfig: Path, summary: Summary) -> Iterator[Run]:
    """The whole corpus, once, against one controller (outside pytest-trio: a sync fixture)."""

    async def main() -> Run:
        with trio.fail_after(RUN_LIMIT_S):
            return await _run(control_plane, kubeconfig)

    started = time.monotonic()
    run = trio.run(main)
    section = summary.section("hostile")
    section.operations += sum(len(c["objects"]) for c in LIVE_CASES)
    section.faults["hostile_cases"] += len(LIVE_CASES)
    times = [o.time_to_failure_s for o in run.outcomes.values() if o.time_to_failure_s is not None]
    if times:
        section.converged_in(max(times))
    section.notes.update(
        cases=len(LIVE_CASES),
        passed=sum(1 for o in run.outcomes.values() if not o.problems),
        within_1s=sum(1 for t in times if t <= 1.0),
        controller_exit=run.controller_exit,
        healthz_failed=len(run.healthz_failed),
        healthz_max_s=round(run.healthz_max_s, 3),
        run_s=round(time.monotonic() - started, 1),
    )
    section.notes["time_to_failure_s"] = {
        o.case_id: o.time_to_failure_s for o in run.outcomes.values()
    }
    print("\nhostile corpus, live: time to failure per case")
    for o in run.outcomes.values():
        shown = "-" if o.time_to_failure_s is None else f"{o.time_to_failure_s:.3f} s"
        print(f"  {o.case_id:45} {shown:>10}  {'; '.join(o.problems)[:160]}")
    print(f"  controller exit: {run.controller_exit}, /healthz failures: {len(run.healthz_failed)}")
    yield run


def _param(cid: str, table: dict[str, str]) -> Any:
    strict = cid not in RACY
    marks = pytest.mark.xfail(reason=table[cid], strict=strict) if cid in table else ()
    return pytest.param(cid, marks=marks)


@pytest.mark.parametrize("case_id", [_param(str(c["id"]), EXPECTED_FAILURES) for c in LIVE_CASES])
def test_hostile_case_live(hostile_run: Run, case_id: str) -> None:
    assert hostile_run.startup_problem is None, hostile_run.startup_problem
    out = hostile_run.outcomes[case_id]
    assert not out.problems, f"{case_id} (namespace {out.namespace}): " + "; ".join(out.problems)


@pytest.mark.parametrize(
    "check", [_param(c, RUN_EXPECTED_FAILURES) for c in ("never-exits", "healthz", "late-change")]
)
def test_controller_survives_the_corpus(hostile_run: Run, check: str) -> None:
    assert hostile_run.startup_problem is None, hostile_run.startup_problem
    if check == "never-exits":
        assert hostile_run.controller_exit is None, f"exited {hostile_run.controller_exit}"
    elif check == "healthz":
        assert hostile_run.healthz_ok > 0
        assert not hostile_run.healthz_failed, hostile_run.healthz_failed[:10]
    else:
        assert hostile_run.late_change_served, "a change after the corpus never reached Kong"
