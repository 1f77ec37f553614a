"""Every way the control plane's owner ends stops etcd and kube-apiserver and removes their folder.

They run in their own session (so a terminal's Ctrl-C does not kill etcd before
kube-apiserver), which means nothing else stops them: these tests run the real ``up`` command
as a subprocess, end it, and look at the processes and the folder it had.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from _eventually import eventually
from kic_trio.testing.controlplane import binaries_present


def pids_using(folder: Path) -> dict[int, str]:
    """PID -> program name of every process whose command line mentions ``folder``."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(str(folder).encode() in arg for arg in argv[1:]):
            found[int(entry.name)] = Path(argv[0].decode(errors="replace")).name
    return found


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


async def start_up_command() -> tuple[trio.Process, Path, dict[int, str]]:
    """``python -m kic_trio.testing.controlplane up``; wait for its KUBECONFIG line."""
    if not binaries_present():
        pytest.skip("etcd/kube-apiserver not built: python -m kic_trio.testing.controlplane build")
    proc = await trio.lowlevel.open_process(
        [sys.executable, "-m", "kic_trio.testing.controlplane", "up"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    buf = b""
    while b"KUBECONFIG=" not in buf or not buf.split(b"KUBECONFIG=", 1)[1].count(b"\n"):
        chunk = await proc.stdout.receive_some()
        assert chunk, f"`up` exited before it was ready: {buf!r}"
        buf += chunk
    line = buf.split(b"KUBECONFIG=", 1)[1].split(b"\n", 1)[0]
    folder = Path(line.decode()).parent
    children = pids_using(folder)
    assert sorted(children.values()) == ["etcd", "kube-apiserver"], children
    return proc, folder, children


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
async def test_a_stop_signal_stops_both_and_removes_the_folder(sig: signal.Signals) -> None:
    with trio.fail_after(120):
        proc, folder, children = await start_up_command()
        assert folder.is_dir()
        proc.send_signal(sig)
        assert await proc.wait() == 0
        # The command only exits after its own clean-up: nothing left at that moment.
        assert [pid for pid in children if alive(pid)] == []
        assert not folder.exists()


async def test_sigkill_of_the_owner_still_stops_both_and_removes_the_folder() -> None:
    # What nox does to its child half a second after Ctrl-C: no clean-up code runs in it, so
    # the guard process does the work.
    with trio.fail_after(120):
        proc, folder, children = await start_up_command()
        os.kill(proc.pid, signal.SIGKILL)
        await proc.wait()
        await eventually(lambda: not any(alive(pid) for pid in children))
        await eventually(lambda: not folder.exists())
        assert pids_using(folder) == {}


def guard_of(owner: int) -> int:
    """The PID of the guard process ``owner`` started (a child running ``python -I -c``)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == owner and b"-I" in argv and b"-c" in argv:
            return int(entry.name)
    raise AssertionError(f"no guard process under {owner}")


async def test_killing_the_owner_and_terminating_the_guard_still_cleans_up() -> None:
    # What `pkill -f <venv path>` does: SIGTERM reaches the guard too, while the owner dies.
    with trio.fail_after(120):
        proc, folder, children = await start_up_command()
        guard = guard_of(proc.pid)
        os.kill(guard, signal.SIGTERM)
        os.kill(proc.pid, signal.SIGKILL)
        await proc.wait()
        await eventually(lambda: not any(alive(pid) for pid in children))
        await eventually(lambda: not folder.exists())
        assert pids_using(folder) == {}
