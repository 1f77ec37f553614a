"""The Gateway API conformance harness's bookkeeping (conformance/gateway-api/harness.py).

What matters most: a traffic test is never counted as passed, whatever the suite said; a
claimed status test that did not run is a failure; the status/traffic tables agree with the
pinned suite's sources (when the Go module cache has them).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

HARNESS = Path(__file__).resolve().parents[2] / "conformance" / "gateway-api" / "harness.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kic_gwconf_harness", HARNESS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


h = _load()
SUPPORTED = list(h.FEATURES["traditional_compatible"])


def _event(test: str, action: str, output: str = "") -> str:
    event: dict[str, Any] = {"Action": action, "Test": f"TestGatewayConformance/{test}"}
    if output:
        event["Output"] = output
    return json.dumps(event)


LISTED = [
    {"shortName": "GatewayObservedGenerationBump", "features": ["Gateway"]},
    {"shortName": "HTTPRouteObservedGenerationBump", "features": ["Gateway", "HTTPRoute"]},
    {"shortName": "HTTPRouteSimpleSameNamespace", "features": ["Gateway", "HTTPRoute"]},
    {"shortName": "GatewayModifyListeners", "features": ["Gateway"]},
    {"shortName": "TLSRouteInvalidNoMatchingListener", "features": ["Gateway", "TLSRoute"]},
    {"shortName": "SomethingNewInTheSuite", "features": ["Gateway"]},
]


def _rows(lines: list[str]) -> dict[str, dict[str, str]]:
    results = h.GoResults.parse(lines)
    return {r["name"]: r for r in h.classify(LISTED, SUPPORTED, results)}


def test_traffic_test_is_never_passed_even_if_the_suite_says_pass() -> None:
    rows = _rows([_event("HTTPRouteSimpleSameNamespace", "pass")])
    row = rows["HTTPRouteSimpleSameNamespace"]
    assert row["kind"] == "traffic"
    assert row["outcome"] == h.NOT_RUNNABLE
    assert "no data plane" in row["reason"]


def test_status_tests_pass_fail_and_not_run() -> None:
    rows = _rows(
        [
            _event("GatewayObservedGenerationBump", "pass"),
            _event("HTTPRouteObservedGenerationBump", "output", "    Error:  expected Accepted\n"),
            _event("HTTPRouteObservedGenerationBump", "fail"),
        ]
    )
    assert rows["GatewayObservedGenerationBump"]["outcome"] == h.PASSED
    failed = rows["HTTPRouteObservedGenerationBump"]
    assert failed["outcome"] == h.FAILED and "expected Accepted" in failed["reason"]
    # Claimed, status-only, no result: the run stopped before it, which is a failure.
    assert rows["GatewayModifyListeners"]["outcome"] == h.FAILED
    assert "did not run" in rows["GatewayModifyListeners"]["reason"]


def test_subtest_results_do_not_count_as_the_test() -> None:
    rows = _rows([_event("GatewayModifyListeners/should_add_a_listener", "pass")])
    assert rows["GatewayModifyListeners"]["outcome"] == h.FAILED


def test_unclaimed_and_unclassified() -> None:
    rows = _rows([_event("SomethingNewInTheSuite", "pass")])
    assert rows["TLSRouteInvalidNoMatchingListener"]["outcome"] == h.NOT_CLAIMED
    assert "TLSRoute" in rows["TLSRouteInvalidNoMatchingListener"]["reason"]
    new = rows["SomethingNewInTheSuite"]
    assert new["kind"] == "unclassified" and new["outcome"] == h.NOT_RUNNABLE
    assert h.unclassified(LISTED) == ["SomethingNewInTheSuite"]
    skip = h.skip_tests(LISTED)
    assert "SomethingNewInTheSuite" in skip and "HTTPRouteSimpleSameNamespace" in skip
    assert "GatewayModifyListeners" not in skip


def test_tables_are_disjoint_and_skip_list_covers_all_traffic() -> None:
    assert not (h.STATUS_ONLY & h.SENDS_TRAFFIC)
    listed = [{"shortName": n, "features": []} for n in sorted(h.STATUS_ONLY | h.SENDS_TRAFFIC)]
    assert set(h.skip_tests(listed)) == set(h.SENDS_TRAFFIC)


def test_options_document_skips_traffic_and_names_profiles(tmp_path: Path) -> None:
    doc = h.options_document(SUPPORTED, ["HTTPRouteSimpleSameNamespace"], tmp_path / "r.yaml", None)
    assert doc["gatewayClassName"] == h.GATEWAY_CLASS
    assert doc["conformanceProfiles"] == ["GATEWAY-HTTP", "GATEWAY-GRPC"]
    assert doc["skipTests"] == ["HTTPRouteSimpleSameNamespace"]
    assert set(doc["implementation"]) == {"organization", "project", "url", "version", "contact"}


def test_setup_failure_is_summarised_once() -> None:
    poll = "    helpers.go:134: 2026-12-02T04:58:08.{}Z: GatewayClass expected Accepted: not accepted yet\n"
    lines = [
        json.dumps({"Action": "output", "Test": "TestGatewayConformance", "Output": poll.format(i)})
        for i in range(50)
    ]
    lines.append(
        json.dumps(
            {
                "Action": "output",
                "Test": "TestGatewayConformance",
                "Output": "        \tMessages:   \terror waiting for GatewayClass\n",
            }
        )
    )
    lines.append(json.dumps({"Action": "fail", "Test": "TestGatewayConformance"}))
    results = h.GoResults.parse(lines)
    summary = results.setup_failure()
    assert summary.count("not accepted yet") == 1
    assert "error waiting for GatewayClass" in summary
    assert results.top_action == "fail"


def test_markdown_lists_outcomes_by_name() -> None:
    rows = h.classify(
        LISTED, SUPPORTED, h.GoResults.parse([_event("GatewayObservedGenerationBump", "pass")])
    )
    report = {
        "label": "unit",
        "suite_version": "v1.6.1",
        "profiles": list(h.PROFILES),
        "router_flavor": "traditional_compatible",
        "kic_trio_commit": "abc",
        "date": "now",
        "durations_s": {"total": 1.0, "control_plane": 0.5, "suite": 0.4},
        "counts": h.counts(rows),
        "supported_features": SUPPORTED,
        "suite_error": "",
        "tests": rows,
    }
    md = h.render_markdown(report)
    assert "**1 passed, 2 failed, 2 not runnable here**" in md
    assert "| GatewayObservedGenerationBump | status |" in md
    assert "| HTTPRouteSimpleSameNamespace | traffic | sends traffic: no data plane here |" in md


def _suite_tests_dir() -> Path | None:
    if shutil.which("go") is None:
        return None
    proc = subprocess.run(
        ["go", "list", "-m", "-json", "sigs.k8s.io/gateway-api/conformance"],
        cwd=HARNESS.parent,
        capture_output=True,
        text=True,
        env={**os.environ, "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"},
        timeout=60,
    )
    if proc.returncode != 0:
        return None
    folder = json.loads(proc.stdout).get("Dir")
    return Path(folder) / "tests" if folder and (Path(folder) / "tests").is_dir() else None


def test_tables_agree_with_the_pinned_suite_sources() -> None:
    tests_dir = _suite_tests_dir()
    if tests_dir is None:
        pytest.skip(
            "the pinned conformance module is not in the Go module cache (run the harness once)"
        )
    kinds = h.scan_suite_sources(tests_dir)
    assert h.table_disagreements(kinds) == []
    assert {n for n, k in kinds.items() if k == "status"} == set(h.STATUS_ONLY)
    assert {n for n, k in kinds.items() if k == "traffic"} == set(h.SENDS_TRAFFIC)
