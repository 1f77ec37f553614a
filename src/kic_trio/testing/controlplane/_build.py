"""Build etcd and kube-apiserver from the Go module proxy, once, into the cache folder.

The heavy lifting is the bundled ``build-bins.sh`` (wrapper Go modules, staging-module
replaces); this module only decides whether it needs to run and passes the pinned versions.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TextIO

from ._versions import ETCD_VERSION, K8S_VERSION, bin_dir, work_dir

BINARIES = ("etcd", "kube-apiserver")
SCRIPT = Path(__file__).with_name("build-bins.sh")


class BuildError(RuntimeError):
    """The Go build failed or Go is missing; the message says what to look at."""


def binaries_present(where: Path | None = None) -> bool:
    """True when both binaries exist and are executable in ``where`` (default: :func:`bin_dir`)."""
    where = where or bin_dir()
    return all(os.access(where / name, os.X_OK) for name in BINARIES)


def ensure_binaries(*, force: bool = False, log: TextIO | None = None) -> Path:
    """Return the folder with both binaries, building them first when absent.

    A cold build compiles kube-apiserver (several minutes on two cores); afterwards this is a
    stat call. ``force`` rebuilds even when present. Build output goes to ``log`` (stderr by
    default).
    """
    out = bin_dir()
    if binaries_present(out) and not force:
        return out
    if shutil.which("go") is None:
        raise BuildError("the Go toolchain (`go`) is needed to build kube-apiserver and etcd")
    if force:
        for name in BINARIES:
            (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    env = dict(
        os.environ,
        K8S_VERSION=K8S_VERSION,
        ETCD_VERSION=ETCD_VERSION,
        OUT=str(out),
        WORK=str(work_dir()),
    )
    stream = log if log is not None else sys.stderr
    proc = subprocess.run(
        ["bash", str(SCRIPT)], env=env, stdout=stream, stderr=subprocess.STDOUT, check=False
    )
    if proc.returncode != 0 or not binaries_present(out):
        raise BuildError(f"build-bins.sh failed (exit {proc.returncode}); see its output above")
    return out
