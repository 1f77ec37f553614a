"""A watchdog process that stops etcd/kube-apiserver and removes their folder if we die first.

etcd and kube-apiserver run in their own session (a terminal's Ctrl-C must not kill etcd
before kube-apiserver), so nothing stops them when the Python process that started them
dies without running its clean-up: SIGKILL, an OOM kill, or nox, which gives its child a
fraction of a second after Ctrl-C and then kills it. The guard is a tiny Python process in
its own session too, reading a pipe from us. We write it each child's PID and executable and
the temporary folder; when the pipe reaches end-of-file - we exited, however - it SIGTERMs
the children still alive (SIGKILL after a grace period) and removes the folder. After a
clean stop there is nothing left for it to do, and it exits at once.

A PID is only signalled while ``/proc/<pid>/exe`` is still the binary we started and its
start time is the one seen at registration, so a recycled PID is never hit; a child we stopped
ourselves is forgotten, and a clean stop says ``done`` so the guard exits without acting.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

# Runs with ``python -c``: standard library only, no imports from this package (it must work
# even if the parent's environment is gone by the time it acts).
_GUARD = r"""
import os, shutil, signal, sys, time
def started(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None
class Stop(Exception):
    pass
def stop(signum, frame):
    raise Stop
# A signal to the guard itself (``pkill -f`` of the venv's path, a kill of every process of
# the job) means the end too: clean up as on end-of-file, never die leaving etcd running.
for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
    signal.signal(s, stop)
pids, dirs = {}, []
try:
    for line in sys.stdin:
        kind, _, rest = line.rstrip("\n").partition(" ")
        if kind == "pid":
            pid, _, exe = rest.partition(" ")
            pids[int(pid)] = (exe, started(pid))
        elif kind == "forget":
            pids.pop(int(rest), None)
        elif kind == "dir":
            dirs.append(rest)
        elif kind == "done":
            sys.exit(0)
except Stop:
    pass
for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
    signal.signal(s, signal.SIG_IGN)  # the clean-up itself is not interrupted
def ours(pid, exe, start):
    try:
        return os.readlink(f"/proc/{pid}/exe") == exe and started(pid) == start
    except OSError:
        return False
pids = [(p, e, s) for p, (e, s) in pids.items()]
grace = float(os.environ.get("KIC_TRIO_GUARD_GRACE", "10"))
for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
    alive = [c for c in pids if ours(*c)]
    for p, _, _ in alive:
        try:
            os.kill(p, sig)
            os.kill(p, signal.SIGCONT)
        except OSError:
            pass
    deadline = time.monotonic() + wait
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [c for c in alive if ours(*c)]
    if not alive:
        break
for d in dirs:
    shutil.rmtree(d, ignore_errors=True)
"""


class Guard:
    """The parent's end of the watchdog: tell it what to clean, close it when done."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            [sys.executable, "-I", "-c", _GUARD],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Its own session: the terminal's SIGINT/SIGHUP and a kill of our process group
            # must not reach it; it acts when we are gone.
            start_new_session=True,
        )

    def _send(self, line: str) -> None:
        if self._proc is not None and self._proc.stdin is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.write(line.encode() + b"\n")
                self._proc.stdin.flush()

    def watch_dir(self, path: Path) -> None:
        """Remove ``path`` if we die before removing it ourselves."""
        self._send(f"dir {path}")

    def watch_pid(self, pid: int, exe: Path) -> None:
        """Stop ``pid`` (while it still runs ``exe``) if we die before stopping it ourselves."""
        self._send(f"pid {pid} {Path(exe).resolve()}")

    def forget_pid(self, pid: int) -> None:
        """We stopped and reaped ``pid`` ourselves: not the guard's business any more."""
        self._send(f"forget {pid}")

    def close(self) -> None:
        """Our own clean-up is done: the guard exits without acting; reap it."""
        self._send("done")
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
