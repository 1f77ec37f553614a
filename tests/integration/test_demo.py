"""``python -m kic_trio.demo`` as a newcomer runs it: where to look, live re-apply, clean stop."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from kic_trio.testing.controlplane import binaries_present

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

EXTRA_INGRESS = """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: extra, namespace: demo}
spec:
  ingressClassName: kong
  rules:
    - host: extra.example.com
      http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: echo, port: {number: 80}}}}
"""


class Output:
    """Everything a subprocess printed so far, read by a background task."""

    def __init__(self) -> None:
        self.text = ""
        self.changed = trio.Event()

    async def read(self, stream: trio.abc.ReceiveStream) -> None:
        while chunk := await stream.receive_some():
            self.text += chunk.decode(errors="replace")
            self.changed.set()
            self.changed = trio.Event()

    async def wait_for(self, needle: str, after: int = 0) -> int:
        """Wait until ``needle`` appears past offset ``after``; return the offset past it."""
        while (at := self.text.find(needle, after)) < 0:
            await self.changed.wait()
        return at + len(needle)


async def test_demo_prints_where_to_look_reapplies_on_save_and_stops_cleanly(
    tmp_path: Path,
) -> None:
    if not binaries_present():
        pytest.skip("etcd/kube-apiserver not built: python -m kic_trio.testing.controlplane build")
    manifest = tmp_path / "demo.yaml"
    shutil.copy(EXAMPLES / "demo.yaml", manifest)
    with trio.fail_after(300):
        proc = await trio.lowlevel.open_process(
            [sys.executable, "-m", "kic_trio.demo", "--dir", str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert proc.stdout is not None
        out = Output()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(out.read, proc.stdout)
            ready = await out.wait_for("kic-trio demo is running")
            at = await out.wait_for("ROUTE", ready)
            for where in (
                "KUBECONFIG=",
                "/metrics",
                "/healthz",
                "/config",
                "Ctrl-C",
                str(tmp_path),
            ):
                assert where in out.text[:at], where
            await out.wait_for("/invoices", at)

            # Save an edit, as a user with no kubectl would: a new path appears in the table.
            manifest.write_text(manifest.read_text().replace("/invoices", "/receipts"))
            changed = await out.wait_for("changed: re-applying", at)
            pushed = await out.wait_for("Kong now routes:", changed)
            await out.wait_for("/receipts", pushed)

            # A new file adds an object; removing the file deletes it again.
            extra = tmp_path / "extra.yaml"
            extra.write_text(EXTRA_INGRESS)
            added = await out.wait_for("Kong now routes:", pushed)
            added = await out.wait_for("extra.example.com", added)
            extra.unlink()
            gone = await out.wait_for("deleted Ingress demo/extra", added)
            # a table printed for an earlier push may still come after the deletion's log line:
            # wait for the first table that follows the deletion's own push (one without it)
            while True:
                gone = await out.wait_for("Kong now routes:", gone)
                end = await out.wait_for("\n\n", gone)  # the whole table
                if "extra.example.com" not in out.text[gone:end]:
                    break
                gone = end

            proc.send_signal(signal.SIGTERM)
            assert await proc.wait() == 0
            await out.wait_for("stopped cleanly", end)
    assert "Traceback" not in out.text
    assert "initializing" not in out.text  # the start-up 429s are kept out
