"""Chores as nox sessions: ``nox -s tests lint typecheck``, ``nox -s demo``, ``nox -s bench``.

Sessions use uv for fast environment creation when it is installed, else virtualenv.
The control-plane binaries (kube-apiserver, etcd) are built once into
``~/.cache/kic-trio/controlplane`` by ``python -m kic_trio.testing.controlplane build``.
"""

from __future__ import annotations

import os

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

PY = "3.11"


def _install(session: nox.Session, extras: str) -> None:
    session.install("-e", f".[{extras}]")


@nox.session(python=PY)
def tests(session: nox.Session) -> None:
    """Unit, conformance, integration (real kube-apiserver + etcd) and short reliability tests.

    Builds the workload extras too (kube-controller-manager, kube-scheduler, KWOK: ~2 min more
    on 2 cores), so that the tests of ``ControlPlane(workloads=True)`` run rather than skip.
    """
    _install(session, "test")
    session.run("python", "-m", "kic_trio.testing.controlplane", "build", "--workloads")
    args = session.posargs or ["tests"]
    session.run("pytest", *args, env={"KIC_TRIO_RELIABILITY": os.environ.get("KIC_TRIO_RELIABILITY", "short")})


@nox.session(python=PY)
def unit(session: nox.Session) -> None:
    """Only the tests that need no control plane (fast inner loop)."""
    _install(session, "test")
    session.run("pytest", "-m", "not integration", *(session.posargs or ["tests"]))


@nox.session(python=PY)
def lint(session: nox.Session) -> None:
    """ruff over everything."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", "src", "tests", "benchmarks", "conformance", "noxfile.py")


@nox.session(python=PY)
def typecheck(session: nox.Session) -> None:
    """mypy --strict over src/."""
    _install(session, "dev")
    session.run("mypy", "--strict", "src/kic_trio")
    session.run("mypy", "--strict", "conformance/gateway-api/harness.py", env={"MYPYPATH": "src"})


@nox.session(python=PY)
def bench(session: nox.Session) -> None:
    """Benchmarks: print tables, write benchmarks/results/*.json and plots."""
    _install(session, "test,bench")
    session.run("python", "-m", "kic_trio.testing.controlplane", "build")
    scripts = session.posargs or ["benchmarks/run_all.py"]
    for script in scripts:
        session.run("python", script)


@nox.session(python=PY)
def demo(session: nox.Session) -> None:
    """A local control plane + FakeKong + the controller; applies and watches examples/ (or ``-- --dir X``).

    Ctrl-C is safe here even though nox kills its child half a second after it: a guard process
    stops etcd and kube-apiserver and removes their files when the demo dies.
    """
    _install(session, "test")
    session.run("python", "-m", "kic_trio.testing.controlplane", "build")
    session.run("python", "-m", "kic_trio.demo", *session.posargs)


@nox.session(python=PY)
def soak(session: nox.Session) -> None:
    """The long reliability suite."""
    _install(session, "test")
    session.run("python", "-m", "kic_trio.testing.controlplane", "build")
    session.run("pytest", "tests/reliability", *session.posargs, env={"KIC_TRIO_RELIABILITY": "long"})


@nox.session(python=PY)
def gateway_conformance(session: nox.Session) -> None:
    """The official Gateway API conformance suite against kic-trio (.ci/run runs it, both flavors).

    Builds the workload extras once (kube-controller-manager, kube-scheduler, KWOK: minutes
    more on 2 cores after kube-apiserver), checks them, then runs
    ``conformance/gateway-api/harness.py`` (a control plane with a fake Node, FakeKong as Kong,
    kic-trio, the Go suite) and writes ``benchmarks/results/gateway-conformance.{json,md}``:
    passed / failed / not runnable here (traffic tests: no data plane) by test name. Arguments
    go to the harness, e.g. ``-- --router-flavor expressions`` or ``-- --run-test NAME``.
    Timings: docs/gateway-conformance.md.
    """
    _install(session, "test")
    session.run("python", "-m", "kic_trio.testing.controlplane", "build", "--workloads")
    session.run(
        "pytest",
        "-q",
        "tests/integration/test_controlplane_workloads.py",
        "tests/unit/test_gwconf_harness.py",
    )
    session.run("python", "conformance/gateway-api/harness.py", *session.posargs)
