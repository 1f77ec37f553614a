"""Build etcd and kube-apiserver from the Go module proxy, once, into the cache folder.

The heavy lifting is the bundled ``build-bins.sh`` (wrapper Go modules, staging-module
replaces); this module only decides whether it needs to run and passes the pinned versions.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TextIO

from ._versions import BIN_DIR_ENV, ETCD_VERSION, K8S_VERSION, KWOK_VERSION, bin_dir, work_dir

BINARIES = ("etcd", "kube-apiserver")
#: The opt-in extras that make Deployments become Pods that are Ready (no kubelet runs here):
#: built only when asked (``build --workloads``), so the normal suite never pays for them.
WORKLOAD_BINARIES = ("kube-controller-manager", "kube-scheduler", "kwok")
#: KWOK's "fast" stages (YAML from its pinned module), written beside the binaries.
KWOK_STAGES = "kwok-stages.yaml"
SCRIPT = Path(__file__).with_name("build-bins.sh")


class BuildError(RuntimeError):
    """The Go build failed or Go is missing; the message says what to look at."""


def binaries_present(where: Path | None = None, *, workloads: bool = False) -> bool:
    """True when both binaries exist and are executable in ``where`` (default: :func:`bin_dir`).

    ``workloads``: the :data:`WORKLOAD_BINARIES` must be there too.
    """
    where = where or bin_dir()
    names = BINARIES + (WORKLOAD_BINARIES if workloads else ())
    if workloads and not (where / KWOK_STAGES).is_file():
        return False
    return all(os.access(where / name, os.X_OK) for name in names)


#: Measured cold build on two cores, shown so a first run does not look hung.
USUAL_DURATION = "about 7 min on 2 cores (etcd ~1 min, kube-apiserver ~6 min)"
#: The same for the workload extras, after kube-apiserver (they share its build cache).
WORKLOAD_USUAL_DURATION = (
    "about 5 min more on 2 cores after kube-apiserver (controller-manager, scheduler, kwok)"
)

#: How often a still-running build says it is alive.
PROGRESS_EVERY = 15.0

#: The prefix of build-bins.sh's step lines in the build log.
STEP_PREFIX = "build-bins: step: "


def build_log_path() -> Path:
    """Where the Go build's full output goes (beside the module cache work folders)."""
    return work_dir().parent / "build.log"


def current_step(log_path: Path) -> str:
    """The last step build-bins.sh announced in its log, or ``starting``."""
    step = "starting"
    try:
        with log_path.open(errors="replace") as f:
            for line in f:
                if line.startswith(STEP_PREFIX):
                    step = line[len(STEP_PREFIX) :].strip()
    except OSError:
        pass
    return step


def _elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s"


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def ensure_binaries(
    *, force: bool = False, log: TextIO | None = None, workloads: bool = False
) -> Path:
    """Return the folder with both binaries, building them first when absent.

    ``workloads`` also builds kube-controller-manager, kube-scheduler (the same Kubernetes
    build) and KWOK's controller (:data:`WORKLOAD_BINARIES`, for
    ``ControlPlane(workloads=True)``): minutes more, once, so only ask when you need Pods.

    A cold build compiles kube-apiserver (minutes on two cores); afterwards this is a stat
    call. ``force`` rebuilds even when present. The Go build's output goes to
    :func:`build_log_path`; ``log`` (stderr by default) gets progress instead: the step, the
    elapsed time, where the log is and how long it usually takes, every
    :data:`PROGRESS_EVERY` seconds and at each new step; on failure the log's tail and what
    to try is in the :class:`BuildError`.
    """
    out = bin_dir()
    if binaries_present(out, workloads=workloads) and not force:
        return out
    if shutil.which("go") is None:
        raise BuildError(
            "the Go toolchain (`go`, >= 1.24) is needed to build kube-apiserver and etcd: install it "
            f"(e.g. `apt-get install golang-go`, or from go.dev), or point {BIN_DIR_ENV} at a folder "
            "that already holds both binaries"
        )
    if force:
        for name in BINARIES + ((*WORKLOAD_BINARIES, KWOK_STAGES) if workloads else ()):
            (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    work_dir().mkdir(parents=True, exist_ok=True)
    env = dict(
        os.environ,
        K8S_VERSION=K8S_VERSION,
        ETCD_VERSION=ETCD_VERSION,
        OUT=str(out),
        WORK=str(work_dir()),
    )
    if workloads:
        env["KWOK_VERSION"] = KWOK_VERSION
    else:
        env.pop("KWOK_VERSION", None)
    stream = log if log is not None else sys.stderr
    log_path = build_log_path()

    def say(message: str) -> None:
        print(f"controlplane build: {message}", file=stream, flush=True)

    extra = (
        f" + kube-controller-manager, kube-scheduler, kwok {KWOK_VERSION} "
        f"({WORKLOAD_USUAL_DURATION})"
        if workloads
        else ""
    )
    say(
        f"building etcd {ETCD_VERSION} and kube-apiserver {K8S_VERSION}{extra} into {out} "
        f"(once; {USUAL_DURATION})"
    )
    say(f"full output: {log_path}")
    started = time.monotonic()
    with log_path.open("wb") as build_log:
        proc = subprocess.Popen(
            ["bash", str(SCRIPT)], env=env, stdout=build_log, stderr=subprocess.STDOUT
        )
        shown, last = "", 0.0
        while True:
            try:
                returncode = proc.wait(timeout=1.0)
                break
            except subprocess.TimeoutExpired:
                pass
            except BaseException:
                proc.terminate()  # Ctrl-C: do not leave `go build` running behind us
                proc.wait()
                raise
            now = time.monotonic()
            step = current_step(log_path)
            if step != shown or now - last >= PROGRESS_EVERY:
                say(f"[{_elapsed(now - started)}] {step}")
                shown, last = step, now
    if returncode != 0 or not binaries_present(out, workloads=workloads):
        raise BuildError(
            f"build-bins.sh failed (exit {returncode}) after {_elapsed(time.monotonic() - started)} "
            f"at step {current_step(log_path)!r}; last lines of {log_path}:\n{_tail(log_path)}\n"
            "what to try: check `go version` (>= 1.24) and that the Go module proxy is reachable "
            "(GOPROXY, a proxy or firewall); check free disk space in "
            f"{work_dir()} (the module cache needs ~2 GB); then run "
            "`python -m kic_trio.testing.controlplane build --force`. Or set "
            f"{BIN_DIR_ENV} to a folder with prebuilt etcd and kube-apiserver."
        )
    say(f"done in {_elapsed(time.monotonic() - started)}: {out}")
    return out
