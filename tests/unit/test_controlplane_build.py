"""The control-plane build says what it is doing and, when it fails, why and what to try.

The real build-bins.sh takes minutes (it is exercised by every integration run); here a stand-in
script plays its part so the progress and failure reporting are checked in milliseconds.
"""

from __future__ import annotations

import io
import os
import stat
import sys
from pathlib import Path

import pytest
import trio

from kic_trio.testing.controlplane import BIN_DIR_ENV, BuildError, _build


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private cache folder and a `go` on PATH (never run: the stand-in script replaces it)."""
    fake_bin = tmp_path / "path"
    fake_bin.mkdir()
    go = fake_bin / "go"
    go.write_text("#!/bin/sh\nexit 1\n")
    go.chmod(go.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{fake_bin}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv(BIN_DIR_ENV, str(tmp_path / "bin"))
    return tmp_path


def stand_in(sandbox: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    script = sandbox / "build-bins.sh"
    script.write_text("set -eu\n" + body)
    monkeypatch.setattr(_build, "SCRIPT", script)


def test_a_build_announces_itself_the_log_and_the_usual_duration(
    sandbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stand_in(
        sandbox,
        monkeypatch,
        'echo "build-bins: step: etcd: compiling"\n'
        'for b in etcd kube-apiserver; do printf "#!/bin/sh\\n" > "$OUT/$b"; chmod +x "$OUT/$b"; done\n',
    )
    progress = io.StringIO()
    assert _build.ensure_binaries(log=progress) == sandbox / "bin"
    text = progress.getvalue()
    assert "building etcd" in text and "kube-apiserver" in text
    assert _build.USUAL_DURATION in text
    assert f"full output: {_build.build_log_path()}" in text
    assert "done in" in text
    assert "build-bins: step: etcd: compiling" in _build.build_log_path().read_text()
    assert _build.current_step(_build.build_log_path()) == "etcd: compiling"


def test_a_failed_build_shows_the_step_the_log_tail_and_what_to_try(
    sandbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stand_in(
        sandbox,
        monkeypatch,
        'echo "build-bins: step: kube-apiserver: resolving modules"\n'
        'echo "go: k8s.io/kubernetes@v1: dial tcp: connection refused" >&2\nexit 3\n',
    )
    with pytest.raises(BuildError) as caught:
        _build.ensure_binaries(log=io.StringIO())
    message = str(caught.value)
    assert "exit 3" in message
    assert "'kube-apiserver: resolving modules'" in message
    assert "dial tcp: connection refused" in message  # the log's tail, stderr included
    assert "what to try" in message and "build --force" in message and BIN_DIR_ENV in message


def test_without_go_the_error_says_how_to_get_it_or_skip_the_build(
    sandbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(sandbox / "empty"))
    with pytest.raises(BuildError, match=BIN_DIR_ENV) as caught:
        _build.ensure_binaries(log=io.StringIO())
    assert "go.dev" in str(caught.value)


async def test_ctrl_c_during_the_build_stops_it_and_exits_without_a_traceback(
    sandbox: Path,
) -> None:
    # The stand-in build interrupts its parent (as a terminal's Ctrl-C would) and then hangs;
    # the command must stop it, say so and exit 130 rather than print a KeyboardInterrupt.
    script = sandbox / "build-bins.sh"
    script.write_text("kill -INT $PPID\nexec sleep 60\n")
    program = (
        "import sys\n"
        "from pathlib import Path\n"
        "from kic_trio.testing.controlplane import _build, __main__ as cli\n"
        f"_build.SCRIPT = Path({str(script)!r})\n"
        "sys.exit(cli.main(['build', '--force']))\n"
    )
    with trio.fail_after(30):
        proc = await trio.run_process(
            [sys.executable, "-c", program], capture_stderr=True, check=False
        )
    err = proc.stderr.decode()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
