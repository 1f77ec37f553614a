"""``examples/embed.py``, the program users copy, stops on a signal with exit 0 and no traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from kic_trio.testing import FakeKong

EMBED = Path(__file__).resolve().parents[2] / "examples" / "embed.py"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_embed_example_stops_cleanly_on_a_signal(
    kubeconfig: Path, sig: signal.Signals
) -> None:
    with trio.fail_after(90):
        async with FakeKong() as kong:
            proc = await trio.lowlevel.open_process(
                [
                    sys.executable,
                    str(EMBED),
                    "--kubeconfig",
                    str(kubeconfig),
                    "--kong-admin-url",
                    kong.url,
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
            assert proc.stdout is not None
            out = b""
            async with proc.stdout:
                while b"now runs" not in out:  # started, synced, pushed: fully running
                    chunk = await proc.stdout.receive_some()
                    assert chunk, out.decode(errors="replace")
                    out += chunk
                proc.send_signal(sig)
                while chunk := await proc.stdout.receive_some():
                    out += chunk
            assert await proc.wait() == 0, out.decode(errors="replace")
    text = out.decode(errors="replace")
    assert f"{sig.name}: stopping" in text
    assert "Traceback" not in text and "ExceptionGroup" not in text


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
async def test_the_kic_trio_command_stops_cleanly_on_a_signal(
    kubeconfig: Path, sig: signal.Signals
) -> None:
    with trio.fail_after(90):
        async with FakeKong() as kong:
            argv = [
                sys.executable, "-m", "kic_trio", "run",
                "--kubeconfig", str(kubeconfig),
                "--kong-admin-url", kong.url,
                "--health-probe-bind-address", "127.0.0.1:0",
                "--metrics-bind-address", "127.0.0.1:0",
            ]  # fmt: skip
            proc = await trio.lowlevel.open_process(
                argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            assert proc.stderr is not None
            err = b""
            async with proc.stderr, trio.open_nursery() as nursery:

                async def read() -> None:
                    nonlocal err
                    assert proc.stderr is not None
                    while chunk := await proc.stderr.receive_some():
                        err += chunk

                nursery.start_soon(read)
                await kong.wait_for(lambda k: bool(k.config_posts()))  # running and pushing
                proc.send_signal(sig)
                assert await proc.wait() == 0, err.decode(errors="replace")
    text = err.decode(errors="replace")
    assert f"received {sig.name}, shutting down" in text
    assert "Traceback" not in text and "KeyboardInterrupt" not in text
