"""``python -m kic_trio.testing.controlplane build|up``.

* ``build``: compile etcd and kube-apiserver into the cache folder and fetch the assets
  (no-op when present; ``--force`` rebuilds; ``--workloads`` also builds
  kube-controller-manager, kube-scheduler and KWOK for ``ControlPlane(workloads=True)``).
* ``assets``: fetch only the assets — Kong's CRDs, the Gateway API CRDs, decK's schema — by
  pinned version from the Go module proxy into the cache; prints the folder. This is what a
  library user runs once so FakeKong validates against Kong's schema.
* ``up``: build when absent, start a control plane, print ``KUBECONFIG=<path>`` on its own
  line once ready (and ``ETCD_URL=...``), run until SIGINT/SIGTERM, then clean up.
  ``up --workloads`` adds kube-controller-manager, kube-scheduler and KWOK (Pods get Ready).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

import trio

from ._assets import ensure_assets
from ._build import BuildError, ensure_binaries
from ._plane import ControlPlane, ControlPlaneError

#: Every way a user stops us: Ctrl-C, ``kill``/nox's terminate, a closed terminal.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


async def _up(crd_dir: Path | None, workloads: bool = False) -> None:
    """Run until a stop signal; a signal during start-up cancels the start (still cleaned up)."""
    with trio.open_signal_receiver(*STOP_SIGNALS) as signals:
        with trio.CancelScope() as scope:

            async def stop_on_signal() -> None:
                async for _ in signals:
                    scope.cancel()
                    return

            async with trio.open_nursery() as nursery:
                nursery.start_soon(stop_on_signal)
                async with ControlPlane(crd_dir=crd_dir, workloads=workloads) as cp:
                    print(f"KUBECONFIG={cp.kubeconfig}", flush=True)
                    print(f"ETCD_URL={cp.etcd_url}", flush=True)
                    await trio.sleep_forever()
        print("control plane stopped", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kic_trio.testing.controlplane")
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser(
        "build", help="build etcd and kube-apiserver, fetch the assets (when absent)"
    )
    b.add_argument("--force", action="store_true", help="rebuild even when present")
    b.add_argument(
        "--workloads",
        action="store_true",
        help="also build kube-controller-manager, kube-scheduler and kwok (Gateway API conformance)",
    )
    a = sub.add_parser("assets", help="fetch the CRDs and Kong's schema (when absent)")
    a.add_argument("--force", action="store_true", help="fetch again even when present")
    u = sub.add_parser("up", help="run a control plane until SIGINT/SIGTERM")
    u.add_argument("--crd-dir", type=Path, default=None, help="folder of CRD YAML to install")
    u.add_argument(
        "--workloads",
        action="store_true",
        help="also run kube-controller-manager, kube-scheduler and KWOK with a fake Node",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        if args.cmd == "build":
            print(ensure_binaries(force=args.force, workloads=args.workloads))
            print(ensure_assets(force=args.force))
        elif args.cmd == "assets":
            print(ensure_assets(force=args.force))
        else:
            ensure_binaries(workloads=args.workloads)
            trio.run(_up, args.crd_dir, args.workloads)
    except (BuildError, ControlPlaneError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C during the (blocking) build: it was stopped, say so
        print("interrupted; the build resumes from its caches next time", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
