"""Gateway API conformance harness: the official suite against kic-trio on our control plane.

``nox -s gateway_conformance`` runs this (``python conformance/gateway-api/harness.py``). It

1. starts a control plane with workloads (etcd, kube-apiserver, kube-controller-manager,
   kube-scheduler, KWOK + one fake Node; the Kong and Gateway API CRDs at their pins), so the
   suite's echo Deployments become Ready Pods;
2. makes the Kong proxy Service ``kong/kong-proxy`` (80 → 8000 HTTP, 443 → 8443 HTTPS), starts
   FakeKong as the Kong Admin API (reporting proxy listeners 8000 and 8443 ssl) and kic-trio
   (``python -m kic_trio run``, ``--publish-service kong/kong-proxy``);
3. runs the Go module beside this file (``sigs.k8s.io/gateway-api/conformance`` at the CRDs'
   version) with an unmanaged GatewayClass, the profiles and features kic-trio claims
   (as upstream's KIC: GATEWAY-HTTP and GATEWAY-GRPC), and every traffic test in SkipTests;
4. classifies each test of the suite by name and writes
   ``benchmarks/results/gateway-conformance.json`` and ``.md``.

Why traffic tests are never counted as passed: there is no data plane. Kong cannot run on our
machines and FakeKong only answers the Admin API, so nothing serves the Gateway's address.
:data:`SENDS_TRAFFIC` lists the tests that send requests through the Gateway (HTTP, gRPC,
TLS, TCP, UDP, WebSocket): they are skipped via the suite's SkipTests and reported "not
runnable here" with the reason. A test in neither table (a newer suite) is skipped too and
reported "unclassified". As a second guard the Go side replaces the suite's HTTP round-tripper,
gRPC client and WebSocket dialer with ones that refuse every request, so a misfiled traffic
test fails instead of passing.

The tables were made by reading the pinned suite's sources: a test is status-only when its
file neither calls a request helper nor imports one of the suite's network packages
(``utils/http``, ``grpc``, ``tls``, ``roundtripper``, ``tcp``, ``udp``, ``websocket``,
``weight``, ``net``, ``net/http``). When bumping :data:`GATEWAY_API_VERSION`, re-check them:
the harness fails loudly (exit 2) if the suite has tests the tables do not name.

Advice: ``--run-test NAME`` runs one test (quick iteration on one status condition);
``--kic-arg=--flag=value`` passes flags to kic-trio; the logs of every process are kept in
``--work-dir`` (default: a folder under /tmp printed at the start).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
RESULTS = REPO / "benchmarks" / "results"

#: The GatewayClass the harness creates (unmanaged; kic-trio's controller name).
GATEWAY_CLASS = "kic-trio-conformance"
PUBLISH_NAMESPACE = "kong"
PUBLISH_SERVICE = "kong-proxy"
PROFILES = ("GATEWAY-HTTP", "GATEWAY-GRPC")

#: What kic-trio claims, as upstream's KIC claims it (gateway-api.md §11), per router flavor.
#: ``HTTPRouteBackendTimeout`` is left out as upstream does (its TODO #5868).
FEATURES: Mapping[str, tuple[str, ...]] = {
    "traditional_compatible": (
        "Gateway",
        "HTTPRoute",
        "GRPCRoute",
        "ReferenceGrant",
        "HTTPRouteResponseHeaderModification",
        "HTTPRoutePathRewrite",
        "HTTPRouteHostRewrite",
    ),
    "expressions": (
        "Gateway",
        "HTTPRoute",
        "GRPCRoute",
        "ReferenceGrant",
        "HTTPRouteResponseHeaderModification",
        "HTTPRoutePathRewrite",
        "HTTPRouteHostRewrite",
        "HTTPRouteQueryParamMatching",
        "HTTPRouteMethodMatching",
    ),
}

#: Outcomes, in the order reports show them.
PASSED, FAILED, NOT_RUNNABLE, NOT_CLAIMED = "passed", "failed", "not_runnable", "not_claimed"
NO_DATA_PLANE = (
    "sends traffic through the Gateway: no data plane here (Kong cannot run on this machine; "
    "FakeKong answers only the Admin API), so it is skipped and never counted as passed"
)
UNCLASSIFIED = (
    "not in the harness's status/traffic table (a test this suite version added): skipped "
    "until someone reads it and files it"
)

# The tables: see the module docstring for how they were made and when to re-check them.
STATUS_ONLY: frozenset[str] = frozenset(
    {
        "BackendTLSPolicyObservedGenerationBump",
        "GatewayClassObservedGenerationBump",
        "GatewayInfrastructure",
        "GatewayInvalidFrontendClientCertificateValidation",
        "GatewayInvalidParametersRef",
        "GatewayInvalidRouteKind",
        "GatewayInvalidTLSBackendConfiguration",
        "GatewayInvalidTLSConfiguration",
        "GatewayListenerUnsupportedProtocol",
        "GatewayModifyListeners",
        "GatewayObservedGenerationBump",
        "GatewayOptionalAddressValue",
        "GatewaySecretInvalidReferenceGrant",
        "GatewaySecretMissingReferenceGrant",
        "GatewaySecretReferenceGrantAllInNamespace",
        "GatewaySecretReferenceGrantSpecific",
        "GatewayStaticAddresses",
        "GatewayWithAttachedRoutes",
        "GatewayWithAttachedRoutesWithPort8080",
        "HTTPRouteDisallowedKind",
        "HTTPRouteInvalidCrossNamespaceParentRef",
        "HTTPRouteInvalidParentRefNotMatchingListenerPort",
        "HTTPRouteInvalidParentRefNotMatchingSectionName",
        "HTTPRouteInvalidParentRefSectionNameNotMatchingPort",
        "HTTPRouteObservedGenerationBump",
        "ListenerSetAllowedNamespaceNone",
        "ListenerSetAllowedNamespaceSame",
        "ListenerSetAllowedNamespaceSelector",
        "ListenerSetAllowedRoutesSupportedKinds",
        "ListenerSetDefaultNotAllowed",
        "ListenerSetHostnameConflict",
        "ListenerSetProtocolConflict",
        "ListenerSetReferenceGrant",
        "ListenerSetRouteStatusScopedToParentRef",
        "TCPRouteInvalidBackendRefNonexistent",
        "TCPRouteInvalidCrossNamespaceBackendRef",
        "TCPRouteInvalidNonTCPListener",
        "TLSRouteInvalidNoMatchingListener",
        "TLSRouteInvalidNoMatchingListenerHostname",
        "TLSRouteInvalidReferenceGrant",
        "TLSRouteListenerMixedTerminationNotSupported",
        "TLSRouteListenerPassthroughSupportedKinds",
        "TLSRouteListenerTerminateNotSupported",
        "TLSRouteListenerTerminateSupportedKinds",
        "UDPRouteInvalidBackendRefNonexistent",
        "UDPRouteInvalidCrossNamespaceBackendRef",
        "UDPRouteMultipleRoutesAttachment",
        "UDPRouteNotAllowedByListeners",
    }
)
SENDS_TRAFFIC: frozenset[str] = frozenset(
    {
        "BackendTLSPolicy",
        "BackendTLSPolicyConflictResolution",
        "BackendTLSPolicyInvalidCACertificateRef",
        "BackendTLSPolicyInvalidKind",
        "BackendTLSPolicySANValidation",
        "GRPCExactMethodMatching",
        "GRPCRouteHeaderMatching",
        "GRPCRouteListenerHostnameMatching",
        "GRPCRouteNamedRule",
        "GRPCRouteWeight",
        "GatewayFrontendClientCertificateValidation",
        "GatewayFrontendClientCertificateValidationInsecureFallback",
        "GatewayFrontendInvalidDefaultClientCertificateValidation",
        "GatewayHTTPListenerIsolation",
        "GatewayTLSBackendClientCertificate",
        "HTTPRoute303Redirect",
        "HTTPRoute307Redirect",
        "HTTPRoute308Redirect",
        "HTTPRouteBackendProtocolH2C",
        "HTTPRouteBackendProtocolWebSocket",
        "HTTPRouteBackendRequestHeaderModifier",
        "HTTPRouteCORS",
        "HTTPRouteCrossNamespace",
        "HTTPRouteExactPathMatching",
        "HTTPRouteHTTPSListener",
        "HTTPRouteHTTPSListenerDetectMisdirectedRequests",
        "HTTPRouteHeaderMatching",
        "HTTPRouteHostnameIntersection",
        "HTTPRouteInvalidBackendRefUnknownKind",
        "HTTPRouteInvalidCrossNamespaceBackendRef",
        "HTTPRouteInvalidNonExistentBackendRef",
        "HTTPRouteInvalidReferenceGrant",
        "HTTPRouteListenerHostnameMatching",
        "HTTPRouteListenerPortMatching",
        "HTTPRouteMatching",
        "HTTPRouteMatchingAcrossRoutes",
        "HTTPRouteMethodMatching",
        "HTTPRouteMultipleGateways",
        "HTTPRouteNamedRule",
        "HTTPRouteNoBackendRefs",
        "HTTPRoutePartiallyInvalidViaInvalidReferenceGrant",
        "HTTPRoutePathMatchOrder",
        "HTTPRouteQueryParamMatching",
        "HTTPRouteRedirectHostAndStatus",
        "HTTPRouteRedirectPath",
        "HTTPRouteRedirectPort",
        "HTTPRouteRedirectPortAndScheme",
        "HTTPRouteRedirectScheme",
        "HTTPRouteReferenceGrant",
        "HTTPRouteRequestHeaderModifier",
        "HTTPRouteRequestHeaderModifierBackendWeights",
        "HTTPRouteRequestMirror",
        "HTTPRouteRequestMultipleMirrors",
        "HTTPRouteRequestPercentageMirror",
        "HTTPRouteResponseHeaderModifier",
        "HTTPRouteRetry",
        "HTTPRouteRewriteHost",
        "HTTPRouteRewritePath",
        "HTTPRouteServiceTypes",
        "HTTPRouteSimpleSameNamespace",
        "HTTPRouteTimeoutBackendRequest",
        "HTTPRouteTimeoutRequest",
        "HTTPRouteWeight",
        "ListenerSetAllowedRoutesNamespaces",
        "ListenerSetDualParentRefIndependence",
        "ListenerSetGatewayParentSectionNameNotFound",
        "ListenerSetHTTPRouting",
        "TCPRouteMultipleRoutesAttachment",
        "TCPRouteParentRefAttachAll",
        "TCPRouteParentRefPortAndSectionName",
        "TCPRouteReferenceGrant",
        "TCPRouteWeightedRouting",
        "TLSRouteHostnameIntersection",
        "TLSRouteInvalidBackendRefNonexistent",
        "TLSRouteInvalidBackendRefUnknownKind",
        "TLSRouteMixedTerminationSameNamespace",
        "TLSRouteSimpleSameNamespace",
        "TLSRouteTerminateSimpleSameNamespace",
        "UDPRoute",
        "UDPRouteParentRefAttachAllListeners",
        "UDPRouteParentRefPortAndSectionName",
        "UDPRouteReferenceGrant",
        "UDPRouteWeightedRouting",
        "MeshBasic",
        "MeshConsumerRoute",
        "MeshFrontend",
        "MeshFrontendHostname",
        "MeshGRPCRouteWeight",
        "MeshHTTPRoute303Redirect",
        "MeshHTTPRoute307Redirect",
        "MeshHTTPRoute308Redirect",
        "MeshHTTPRouteBackendRequestHeaderModifier",
        "MeshHTTPRouteMatching",
        "MeshHTTPRouteNamedRule",
        "MeshHTTPRouteQueryParamMatching",
        "MeshHTTPRouteRedirectHostAndStatus",
        "MeshHTTPRouteRedirectPath",
        "MeshHTTPRouteRedirectPort",
        "MeshHTTPRouteRequestHeaderModifier",
        "MeshHTTPRouteRewritePath",
        "MeshHTTPRouteSchemeRedirect",
        "MeshHTTPRouteSimpleSameNamespace",
        "MeshHTTPRouteWeight",
        "MeshPorts",
        "MeshTrafficSplit",
    }
)


# ---------------------------------------------------------------------------- pure logic


def claimed(test_features: Iterable[str], supported: Iterable[str]) -> bool:
    """The suite runs a test only when every feature it needs is supported (as suite.Run)."""
    return set(test_features) <= set(supported)


def skip_tests(listed: Sequence[Mapping[str, Any]]) -> list[str]:
    """What goes into the suite's SkipTests: every traffic test and every unclassified one."""
    names = [str(t["shortName"]) for t in listed]
    return sorted(n for n in names if n in SENDS_TRAFFIC or n not in STATUS_ONLY)


def unclassified(listed: Sequence[Mapping[str, Any]]) -> list[str]:
    """Tests of this suite version that neither table names (re-read the suite's sources)."""
    return sorted(
        str(t["shortName"])
        for t in listed
        if t["shortName"] not in SENDS_TRAFFIC and t["shortName"] not in STATUS_ONLY
    )


_SHORT_NAME = re.compile(r'ShortName:\s*"([A-Za-z0-9]+)"')
_TRAFFIC_CALLS = re.compile(
    r"MakeRequest|RoundTripper|GRPCClient|MakeTLS|MakeTCP|MakeUDP|ExpectMirroredRequest"
    r"|AwaitConvergence|WaitForConsistent|\.Dial|WebSocket"
)
_NETWORK_IMPORTS = re.compile(
    r'"sigs\.k8s\.io/gateway-api/conformance/utils/'
    r'(?:http|grpc|tls|roundtripper|tcp|udp|websocket|weight)"|"net"|"net/http"|miekg/dns'
)


def scan_suite_sources(tests_dir: Path) -> dict[str, str]:
    """``{ShortName: "traffic" | "status"}`` read from the suite's ``tests/`` Go sources.

    The rule the tables were made with, kept here so a test (and a bump) can re-check them:
    a file that calls a request helper or imports a network package makes every test in it
    "traffic". Conservative on purpose: a status test misfiled as traffic is only under-counted;
    the reverse would be a lie.
    """
    kinds: dict[str, str] = {}
    for path in sorted(tests_dir.rglob("*.go")):
        if path.name.endswith("_test.go"):
            continue
        text = path.read_text(errors="replace")
        names = _SHORT_NAME.findall(text)
        if not names:
            continue
        kind = (
            "traffic" if _TRAFFIC_CALLS.search(text) or _NETWORK_IMPORTS.search(text) else "status"
        )
        for name in names:
            kinds[name] = kind
    return kinds


def table_disagreements(kinds: Mapping[str, str]) -> list[str]:
    """Tests the scan calls traffic but :data:`STATUS_ONLY` calls status (must be none)."""
    return sorted(n for n, k in kinds.items() if k == "traffic" and n in STATUS_ONLY)


def suite_source_dir() -> Path | None:
    """The pinned suite module's folder in the Go module cache (``go list -m``), if there."""
    proc = subprocess.run(
        ["go", "list", "-m", "-json", "sigs.k8s.io/gateway-api/conformance"],
        cwd=HERE,
        env=_go_env(),
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        return None
    folder = json.loads(proc.stdout).get("Dir")
    return Path(folder) if folder else None


class GoResults:
    """Per-test outcomes (``pass``/``fail``/``skip``) and output from ``go test -json`` lines."""

    def __init__(self, top: str = "TestGatewayConformance") -> None:
        self.top = top
        self.actions: dict[str, str] = {}
        self.output: dict[str, list[str]] = {}
        self.top_action: str | None = None
        self.top_output: list[str] = []

    def feed(self, line: str) -> None:
        """One line of ``go test -json`` (anything that is not a JSON event is ignored)."""
        try:
            event = json.loads(line)
        except ValueError:
            return
        if not isinstance(event, dict):
            return
        test = event.get("Test")
        action = event.get("Action")
        if not isinstance(test, str) or not isinstance(action, str):
            return
        parts = test.split("/")
        if parts[0] != self.top:
            return
        if len(parts) == 1:
            if action == "output":
                self.top_output.append(str(event.get("Output", "")))
            elif action in ("pass", "fail", "skip"):
                self.top_action = action
            return
        name = parts[1]
        if action == "output":
            self.output.setdefault(name, []).append(str(event.get("Output", "")))
        elif action in ("pass", "fail", "skip") and len(parts) == 2:
            self.actions[name] = action

    @classmethod
    def parse(cls, lines: Iterable[str]) -> GoResults:
        results = cls()
        for line in lines:
            results.feed(line)
        return results

    def why(self, name: str, lines: int = 12) -> str:
        """The last lines of a test's output that say something (errors first)."""
        return _telling(self.output.get(name, []), lines)

    def setup_failure(self, lines: int = 15) -> str:
        """What stopped the suite itself (setup), from the top-level test's output."""
        return _telling(self.top_output, lines)


_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z?: ?")


def _telling(output: Sequence[str], lines: int) -> str:
    """Error lines of testify/tlog output: no stack-trace paths, polls said once (the last)."""
    seen: dict[str, None] = {}
    for raw in output:
        line = _STAMP.sub("", raw.rstrip())
        if not line.strip() or line.strip().startswith("/") or "Error Trace:" in line:
            continue
        seen.pop(line, None)  # a poll repeats its message: keep its last place only
        seen[line] = None
    out = list(seen)
    errors = [
        s
        for s in out
        if any(k in s for k in ("Error:", "Messages:", "expected", "error", "deadline", "FAIL"))
    ]
    return "\n".join((errors or out)[-lines:])[-2000:]


def classify(
    listed: Sequence[Mapping[str, Any]],
    supported: Sequence[str],
    results: GoResults,
    *,
    run_test: str | None = None,
) -> list[dict[str, str]]:
    """One row per test of the suite: name, kind (status/traffic/unclassified), outcome, reason.

    Only a status-only test that the suite ran and passed is ``passed``. A claimed status
    test with no result (the suite stopped before it) or skipped by the suite is ``failed``:
    kic-trio claims it, so not running it is a failure of the run, not an excuse.
    """
    rows: list[dict[str, str]] = []
    for test in listed:
        name = str(test["shortName"])
        if run_test is not None and name != run_test:
            continue
        feats = [str(f) for f in test.get("features") or []]
        is_claimed = claimed(feats, supported)
        missing = sorted(set(feats) - set(supported))
        if name in SENDS_TRAFFIC:
            kind = "traffic"
        elif name in STATUS_ONLY:
            kind = "status"
        else:
            kind = "unclassified"
        if not is_claimed:
            outcome, reason = (
                NOT_CLAIMED,
                "needs features kic-trio does not claim: " + ", ".join(missing),
            )
        elif kind == "traffic":
            outcome, reason = NOT_RUNNABLE, NO_DATA_PLANE
        elif kind == "unclassified":
            outcome, reason = NOT_RUNNABLE, UNCLASSIFIED
        else:
            action = results.actions.get(name)
            if action == "pass":
                outcome, reason = PASSED, ""
            elif action == "fail":
                outcome, reason = FAILED, results.why(name) or "failed (no output)"
            elif action == "skip":
                outcome, reason = FAILED, "claimed but skipped by the suite: " + results.why(name)
            else:
                outcome = FAILED
                reason = "did not run: the suite stopped before it (see its error above)"
        rows.append(
            {
                "name": name,
                "kind": kind,
                "outcome": outcome,
                "features": ",".join(feats),
                "provisional": "yes" if test.get("provisional") else "no",
                "reason": reason,
            }
        )
    return rows


def counts(rows: Sequence[Mapping[str, str]]) -> dict[str, int]:
    out = {PASSED: 0, FAILED: 0, NOT_RUNNABLE: 0, NOT_CLAIMED: 0}
    for row in rows:
        out[row["outcome"]] += 1
    return out


def render_markdown(report: Mapping[str, Any]) -> str:
    """The human summary: counts, then passed/failed/not runnable by name (not-claimed counted)."""
    rows: list[dict[str, str]] = report["tests"]
    c = report["counts"]
    lines = [
        f"# Gateway API conformance: kic-trio ({report['label']})",
        "",
        f"Suite `sigs.k8s.io/gateway-api/conformance` {report['suite_version']}, profiles "
        f"{', '.join(report['profiles'])}, router flavor `{report['router_flavor']}`, "
        f"kic-trio at `{report['kic_trio_commit']}`, {report['date']}. Session took "
        f"{report['durations_s']['total']:.0f} s (control plane {report['durations_s']['control_plane']:.0f} s, "
        f"suite {report['durations_s']['suite']:.0f} s).",
        "",
        f"**{c[PASSED]} passed, {c[FAILED]} failed, {c[NOT_RUNNABLE]} not runnable here** "
        f"(traffic tests: no data plane without Kong), {c[NOT_CLAIMED]} not claimed "
        "(features kic-trio does not claim).",
        "",
        f"Claimed features: {', '.join(report['supported_features'])}.",
        "",
    ]
    if report.get("suite_error"):
        lines += ["Suite stopped early:", "", "```", report["suite_error"], "```", ""]
    for outcome, title in (
        (PASSED, "Passed"),
        (FAILED, "Failed"),
        (NOT_RUNNABLE, "Not runnable here"),
    ):
        chosen = [r for r in rows if r["outcome"] == outcome]
        lines += [f"## {title} ({len(chosen)})", ""]
        if not chosen:
            lines += ["(none)", ""]
            continue
        lines += ["| test | kind | reason |", "|---|---|---|"]
        for r in chosen:
            reason = r["reason"].splitlines()[0] if r["reason"] else ""
            if outcome == NOT_RUNNABLE and r["reason"] == NO_DATA_PLANE:
                reason = "sends traffic: no data plane here"
            lines.append(f"| {r['name']} | {r['kind']} | {reason.replace('|', '/')[:200]} |")
        lines.append("")
    claimed_not = [r["name"] for r in rows if r["outcome"] == NOT_CLAIMED]
    lines += [f"## Not claimed ({len(claimed_not)})", "", ", ".join(claimed_not) or "(none)", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------------------- the run


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return out + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("GOTOOLCHAIN", "local")  # fail loudly rather than fetch a toolchain
    env.setdefault("GOFLAGS", "-mod=readonly")
    env.pop("KUBECONFIG", None)
    return env


def list_suite_tests(work: Path) -> list[dict[str, Any]]:
    """The pinned suite's own test table (runs the Go module's TestListConformanceTests)."""
    out = work / "suite-tests.json"
    env = _go_env()
    env["GWCONF_LIST_OUT"] = str(out)
    proc = subprocess.run(
        ["go", "test", "-count=1", "-run", "^TestListConformanceTests$", "."],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0 or not out.is_file():
        raise SystemExit(f"listing the suite's tests failed:\n{proc.stdout}\n{proc.stderr}")
    listed: list[dict[str, Any]] = json.loads(out.read_text())
    return listed


def suite_version() -> str:
    for line in (HERE / "go.mod").read_text().splitlines():
        parts = line.split()
        if (
            len(parts) >= 2
            and parts[0] in ("sigs.k8s.io/gateway-api/conformance", "require")
            and ("sigs.k8s.io/gateway-api/conformance" in parts)
        ):
            return parts[-1]
    return "unknown"


def options_document(
    supported: Sequence[str], skip: Sequence[str], report_path: Path, run_test: str | None
) -> dict[str, Any]:
    """The suite's ConformanceOptions (its YAML options file; JSON is YAML).

    Two timeouts are shorter than the suite's defaults so a controller that never accepts the
    GatewayClass fails in a minute, not three: GatewayClass accepted 60 s (default 180 s),
    base namespaces ready 180 s (default 300 s). Both are far above what a working controller
    needs here (seconds); the other timeouts are the suite's.
    """
    second = 1_000_000_000
    return {
        "gatewayClassName": GATEWAY_CLASS,
        "supportedFeatures": list(supported),
        "conformanceProfiles": list(PROFILES),
        "skipTests": list(skip),
        "reportOutputPath": str(report_path),
        "cleanupBaseResources": True,
        "cleanupTestResources": True,
        "runTest": run_test or "",
        "mode": "default",
        "implementation": {
            "organization": "kic-trio",
            "project": "kic-trio",
            "url": "https://kic-trio.invalid/",
            "version": _git_commit(),
            "contact": ["kic-trio maintainers"],
        },
        "timeoutConfig": {"gwcMustBeAccepted": 60 * second, "namespacesMustBeReady": 180 * second},
    }


def proxy_service() -> dict[str, Any]:
    """The Kong proxy Service the Gateways are matched to (``--publish-service``)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": PUBLISH_SERVICE, "namespace": PUBLISH_NAMESPACE},
        "spec": {
            "selector": {"app": "kong-proxy"},
            "ports": [
                {"name": "proxy", "port": 80, "targetPort": 8000, "protocol": "TCP"},
                {"name": "proxy-ssl", "port": 443, "targetPort": 8443, "protocol": "TCP"},
            ],
        },
    }


async def run(args: argparse.Namespace) -> int:
    import trio

    from kic_trio.testing import FakeKong
    from kic_trio.testing.controlplane import ControlPlane, ensure_binaries

    started = time.monotonic()
    durations: dict[str, float] = {}
    work = Path(args.work_dir)
    await trio.Path(work).mkdir(parents=True, exist_ok=True)
    print(f"gateway-conformance: logs in {work}", flush=True)

    t = time.monotonic()
    await trio.to_thread.run_sync(lambda: ensure_binaries(workloads=True))
    listed = await trio.to_thread.run_sync(list_suite_tests, work)
    durations["builds"] = time.monotonic() - t
    source = await trio.to_thread.run_sync(suite_source_dir)
    if source is not None:
        wrong = table_disagreements(scan_suite_sources(source / "tests"))
        if wrong:
            print(
                "gateway-conformance: STATUS_ONLY names tests that send traffic in this suite "
                f"version (move them to SENDS_TRAFFIC): {', '.join(wrong)}",
                file=sys.stderr,
            )
            return 2
    missing = unclassified(listed)
    if missing and not args.allow_unclassified:
        print(
            "gateway-conformance: the suite has tests neither table names (read their sources, "
            f"file them in STATUS_ONLY or SENDS_TRAFFIC): {', '.join(missing)}",
            file=sys.stderr,
        )
        return 2
    supported = FEATURES[args.router_flavor]
    skip = skip_tests(listed)
    report_yaml = work / "suite-report.yaml"
    opts = work / "conformance-options.yaml"
    await trio.Path(opts).write_text(
        json.dumps(options_document(supported, skip, report_yaml, args.run_test), indent=2)
    )

    results = GoResults()
    kic_rc: int | None = None
    t = time.monotonic()
    with trio.fail_after(args.timeout):
        async with ControlPlane(workloads=True) as cp:
            durations["control_plane"] = time.monotonic() - t
            async with cp.admin_client() as client:
                r = await client.post(
                    "/api/v1/namespaces", json={"metadata": {"name": PUBLISH_NAMESPACE}}
                )
                r.raise_for_status()
                r = await client.post(
                    f"/api/v1/namespaces/{PUBLISH_NAMESPACE}/services", json=proxy_service()
                )
                r.raise_for_status()
            # Kong's proxy_listen = 0.0.0.0:8000, 0.0.0.0:8443 ssl (as upstream's conformance run).
            fake = FakeKong(
                router_flavor=args.router_flavor, proxy_listeners=((8000, False), (8443, True))
            )
            async with trio.open_nursery() as nursery:
                admin_url: str = await nursery.start(fake.serve)
                kic_cmd = [
                    sys.executable,
                    "-m",
                    "kic_trio",
                    "run",
                    f"--kubeconfig={cp.kubeconfig}",
                    f"--kong-admin-url={admin_url}",
                    f"--publish-service={PUBLISH_NAMESPACE}/{PUBLISH_SERVICE}",
                    # Gateway addresses on loopback: even a misfiled traffic test (already
                    # refused by the Go side) could only reach this machine.
                    "--publish-status-address=127.0.0.1",
                    "--health-probe-bind-address=127.0.0.1:0",
                    "--metrics-bind-address=127.0.0.1:0",
                    "--pod-name=kic-conformance-0",
                    f"--pod-namespace={PUBLISH_NAMESPACE}",
                    "--feature-gates=GatewayAlpha=true",
                    *args.kic_arg,
                ]
                kic_log = (work / "kic-trio.log").open("wb")
                kic = await trio.lowlevel.open_process(
                    kic_cmd, stdout=kic_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
                )
                try:
                    go_cmd = [
                        "go",
                        "test",
                        "-json",
                        "-count=1",
                        f"-timeout={int(args.timeout)}s",
                        "-run",
                        "^TestGatewayConformance$",
                        ".",
                        "-args",
                        f"-conformance-options-file={opts}",
                    ]
                    env = _go_env()
                    env["KUBECONFIG"] = str(cp.kubeconfig)
                    t = time.monotonic()
                    print(
                        f"gateway-conformance: running the suite ({len(listed)} tests)", flush=True
                    )
                    with (work / "go-test.json").open("w") as raw:
                        proc = await trio.lowlevel.open_process(
                            go_cmd,
                            cwd=HERE,
                            env=env,
                            stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL,
                        )
                        assert proc.stdout is not None
                        buf = b""
                        async for chunk in proc.stdout:
                            buf += chunk
                            *done, buf = buf.split(b"\n")
                            for line in done:
                                text = line.decode(errors="replace")
                                raw.write(text + "\n")
                                results.feed(text)
                                _progress(text)
                        await proc.wait()
                        if buf:
                            results.feed(buf.decode(errors="replace"))
                    durations["suite"] = time.monotonic() - t
                finally:
                    kic_rc = kic.poll()
                    with trio.CancelScope(shield=True):
                        if kic.poll() is None:
                            kic.terminate()
                            with trio.move_on_after(20):
                                await kic.wait()
                            if kic.poll() is None:
                                kic.kill()
                                await kic.wait()
                        kic_log.close()
                    nursery.cancel_scope.cancel()
            for name, path in cp.workload_logs().items():
                shutil.copy(path, work / f"{name}.log")
    durations["total"] = time.monotonic() - started

    rows = classify(listed, supported, results, run_test=args.run_test)
    report: dict[str, Any] = {
        "label": args.label,
        "date": _now(),
        "kic_trio_commit": _git_commit(),
        "suite_version": suite_version(),
        "profiles": list(PROFILES),
        "router_flavor": args.router_flavor,
        "supported_features": list(supported),
        "counts": counts(rows),
        "durations_s": {k: round(v, 1) for k, v in durations.items()},
        "kic_trio_exited_early": kic_rc is not None,
        "suite_error": results.setup_failure()
        if results.top_action == "fail" and not results.actions
        else "",
        "skip_tests": skip,
        "tests": rows,
        "work_dir": str(work),
    }
    if await trio.Path(report_yaml).is_file():
        report["suite_report_yaml"] = await trio.Path(report_yaml).read_text()
    out = trio.Path(args.output)
    await out.parent.mkdir(parents=True, exist_ok=True)
    await out.write_text(json.dumps(report, indent=2) + "\n")
    await out.with_suffix(".md").write_text(render_markdown(report))
    c = report["counts"]
    print(
        f"gateway-conformance: {c[PASSED]} passed, {c[FAILED]} failed, "
        f"{c[NOT_RUNNABLE]} not runnable here, {c[NOT_CLAIMED]} not claimed "
        f"in {durations['total']:.0f} s -> {out}",
        flush=True,
    )
    if args.strict and c[FAILED]:
        return 1
    return 0


def _progress(line: str) -> None:
    """One line per finished top-level test, so a long run does not look hung."""
    try:
        event = json.loads(line)
    except ValueError:
        return
    test = event.get("Test") if isinstance(event, dict) else None
    if isinstance(test, str) and test.count("/") == 1 and event.get("Action") in ("pass", "fail"):
        print(f"  {event['Action']}: {test.split('/', 1)[1]}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="harness.py", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument(
        "--router-flavor", choices=sorted(FEATURES), default="traditional_compatible"
    )
    parser.add_argument("--run-test", default=None, help="run only this test (ShortName)")
    parser.add_argument(
        "--kic-arg", action="append", default=[], help="extra kic-trio flag (repeatable)"
    )
    parser.add_argument(
        "--label", default="current checkout", help="what is measured (report title)"
    )
    parser.add_argument(
        "--output",
        default=str(RESULTS / "gateway-conformance.json"),
        help="report JSON (a .md summary is written beside it)",
    )
    parser.add_argument(
        "--work-dir", default=None, help="where logs go (default: a new /tmp folder)"
    )
    parser.add_argument(
        "--timeout", type=float, default=3600.0, help="bound on the whole session, seconds"
    )
    parser.add_argument(
        "--allow-unclassified",
        action="store_true",
        help="run even if the suite has tests the tables do not name (they are skipped)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when a claimed status test failed (for CI; the report is written first)",
    )
    args = parser.parse_args(argv)
    args.work_dir = str(Path(args.work_dir or tempfile.mkdtemp(prefix="kic-gwconf-")).absolute())
    import trio

    return trio.run(run, args)


if __name__ == "__main__":
    sys.exit(main())
