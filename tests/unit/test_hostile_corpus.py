"""The hostile corpus (issue 13) offline: each case, next to the baseline, through the real
``kic-trio translate`` in a subprocess of its own.

A subprocess because the bugs this corpus is about crash the interpreter (a YAML alias bomb
segfaults) or hang it (ReDoS): in-process, one case would take the whole test session with it.
For each case: translate exits normally (0 or 1, never a signal, never past its time limit),
reports a failure on the case's object naming what is wrong, and still routes the baseline.

Cases that do not pass yet are in ``EXPECTED_FAILURES`` (strict xfail): a case
that starts passing fails the run until its id is taken off the list.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

HOSTILE_PY = Path(__file__).parents[1] / "reliability" / "_hostile.py"
NS = "hostile"
#: Far above a normal run (well under a second per case); a ReDoS runs into it.
TIME_LIMIT_S = 20


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_hostile", HOSTILE_PY)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("_hostile", mod)
    spec.loader.exec_module(mod)
    return mod


H = _load()
CASES = {c["id"]: c for c in H.load_cases(NS)}

#: Case id -> why it does not pass yet (strict: a case that starts passing must leave the list).
EXPECTED_FAILURES: dict[str, str] = {}


def test_corpus_is_big_and_covers_every_kind() -> None:
    ids = H.case_ids()
    assert len(ids) == len(set(ids)), "case ids must be unique"
    assert len(ids) >= 60
    kinds = {c["kind"] for c in CASES.values()}
    assert kinds >= {
        "Ingress",
        "Service",
        "EndpointSlice",
        "Secret",
        "KongPlugin",
        "KongClusterPlugin",
        "KongConsumer",
        "KongConsumerGroup",
        "KongUpstreamPolicy",
        "TCPIngress",
        "UDPIngress",
        "IngressClass",
        "IngressClassParameters",
    }
    for c in CASES.values():
        exp = c["expect"]
        assert exp.get("kind") and exp.get("name"), c["id"]
        assert exp.get("message") or exp.get("clean_ca"), c["id"]
        assert c.get("bullet"), c["id"]
    assert set(EXPECTED_FAILURES) <= set(CASES)


def _failure_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.startswith(("failure:", "error:"))]


def _matches(line: str, exp: dict[str, Any]) -> bool:
    if exp["message"] not in line:
        return False
    if exp.get("anywhere"):
        return True
    who = exp["name"] if exp["kind"] in H.CLUSTER_SCOPED else f"{NS}/{exp['name']}"
    return f"{exp['kind']} {who}" in line


def run_case(case: dict[str, Any], tmp_path: Path) -> tuple[list[str], str]:
    """Problems with the case (empty when it passes), and translate's stderr."""
    docs = yaml.safe_dump_all([*H.baseline(NS), *case["objects"]], allow_unicode=False)
    text = docs + ("---\n" + case["raw"] if case.get("raw") else "")
    manifest = tmp_path / "case.yaml"
    manifest.write_text(text)
    argv = [sys.executable, "-m", "kic_trio", "translate", "-f", str(manifest), "-o", "json"]
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=TIME_LIMIT_S, check=False)
    except subprocess.TimeoutExpired:
        return [f"translate did not finish in {TIME_LIMIT_S} s (hang)"], ""
    stderr = proc.stderr.decode(errors="replace")
    problems: list[str] = []
    if proc.returncode not in (0, 1):
        problems.append(f"translate exited {proc.returncode}: {stderr[-800:]}")
        return problems, stderr
    if "Traceback (most recent call last)" in stderr:
        last = stderr.strip().splitlines()[-1] if stderr.strip() else ""
        problems.append(f"translate crashed: {last[:300]}")
        return problems, stderr
    try:
        config = json.loads(proc.stdout)
    except ValueError:
        problems.append(f"stdout is not JSON: {proc.stdout[:300]!r}")
        config = {}
    if H.baseline_host(NS) not in H.hosts_in(config):
        problems.append("the baseline Ingress is not routed")
    lines = _failure_lines(stderr)
    exp = case["expect"]
    if exp.get("clean_ca"):
        problem = H.clean_ca_problem(config, str(exp["clean_ca"]))
        if problem:
            problems.append(problem)
        who = f"{exp['kind']} {NS}/{exp['name']}"
        problems += [f"unexpected failure: {ln[:200]}" for ln in lines if who in ln]
        return problems, stderr
    if exp.get("unserved") and exp["unserved"] in H.hosts_in(config):
        problems.append(f"{exp['unserved']} is served (it must fail closed)")
    if not any(_matches(ln, case["expect"]) for ln in lines):
        exp = case["expect"]
        problems.append(
            f"no failure on {exp['kind']} {exp['name']} mentioning {exp['message']!r}; "
            f"failures: {[ln[:200] for ln in lines]}"
        )
    elif proc.returncode != 1:
        problems.append("failures reported but the exit status is 0")
    return problems, stderr


@pytest.mark.parametrize(
    "case_id",
    [
        pytest.param(
            cid,
            marks=pytest.mark.xfail(reason=EXPECTED_FAILURES[cid], strict=True)
            if cid in EXPECTED_FAILURES
            else (),
        )
        for cid in CASES
    ],
)
def test_hostile_case_offline(case_id: str, tmp_path: Path) -> None:
    problems, _ = run_case(CASES[case_id], tmp_path)
    assert not problems, f"{case_id}: " + "; ".join(problems)
