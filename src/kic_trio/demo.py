"""The demo: a local control plane + FakeKong + the controller, on this machine, in one command.

``nox -s demo`` (or ``python -m kic_trio.demo``) starts a real kube-apiserver and etcd on
loopback, a FakeKong, and kic-trio; applies the manifests in ``examples/``; prints the routes
Kong now holds and the probe/metrics URLs; and runs until Ctrl-C, then cleans everything up.
``--exit-after SECONDS`` stops it on its own (CI uses that to check the demo works).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from typing import Any

import trio

from . import Config, ConfigApplied, run
from ._logging import configure_logging

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def route_table(config: dict[str, Any]) -> str:
    """The routes of a Kong declarative config as a readable table."""
    def ref(value: Any) -> str:
        return str(value.get("id") or value.get("name")) if isinstance(value, dict) else str(value)

    services = {ref(s): s for s in config.get("services", [])}
    plugins_by: dict[str, list[str]] = {}
    for plugin in config.get("plugins", []):
        for owner in ("route", "service"):
            if plugin.get(owner):
                plugins_by.setdefault(ref(plugin[owner]), []).append(plugin.get("name", "?"))
    pairs = [(route, svc) for svc in config.get("services", []) for route in svc.get("routes", [])]
    pairs += [(route, services.get(ref(route.get("service")), {})) for route in config.get("routes", [])]
    rows: list[tuple[str, str, str, str, str]] = []
    for route, svc in pairs:
        attached = [p.get("name", "?") for p in route.get("plugins", [])]
        for key in {str(route.get("id")), str(route.get("name")), str(svc.get("id")), str(svc.get("name"))}:
            attached += plugins_by.get(key, [])
        rows.append(_route_row(route, svc, sorted(set(attached))))
    header = ("ROUTE", "HOSTS", "PATHS", "SERVICE → UPSTREAM", "PLUGINS")
    rows = sorted(rows)
    full = [header, *[(r[0], r[1], r[2], r[3], r[4]) for r in rows]]
    widths = [max(len(row[i]) for row in full) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in full
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _route_row(route: dict[str, Any], svc: dict[str, Any], plugins: list[str]) -> tuple[str, str, str, str, str]:
    target = f"{svc.get('name', '?')} → {svc.get('host', '?')}:{svc.get('port', '?')}"
    return (
        str(route.get("name", "?")),
        ",".join(route.get("hosts", []) or ["*"]),
        ",".join(route.get("paths", []) or ["/"]),
        target,
        ",".join(plugins) or "-",
    )


async def demo(exit_after: float | None, log_level: str) -> None:
    from .testing import FakeKong, apply, load_manifests
    from .testing.controlplane import ControlPlane

    print("starting a local control plane (etcd + kube-apiserver)...", flush=True)
    async with ControlPlane() as cp, FakeKong() as kong:
        print(f"  kube-apiserver  {cp.url}   KUBECONFIG={cp.kubeconfig}")
        print(f"  FakeKong admin  {kong.url}")
        manifests = load_manifests(EXAMPLES)
        async with cp.admin_client() as client:
            await apply(client, manifests)
        print(f"applied {len(manifests)} objects from {EXAMPLES}")
        cfg = Config(
            kubeconfig=str(cp.kubeconfig),
            kong_admin_url=[kong.url],
            publish_status_address=["127.0.0.1"],
            health_probe_bind_address="127.0.0.1:0",
            metrics_bind_address="127.0.0.1:0",
            proxy_sync_seconds=0.5,
            log_level=log_level,
        )
        async with trio.open_nursery() as nursery:
            controller = await nursery.start(run, cfg)
            with trio.fail_after(60):
                await controller.wait_ready()
                await kong.wait_for(lambda k: bool(k.config.get("services")))
            print()
            print(route_table(kong.config))
            print()
            print(f"metrics   http://127.0.0.1:{controller.metrics_port}/metrics")
            print(f"probes    http://127.0.0.1:{controller.probe_port}/healthz  /readyz")
            print(
                "the controller is running: edit objects with the KUBECONFIG above; Ctrl-C stops everything"
            )

            async def report_pushes() -> None:
                async with controller.subscribe() as events:
                    async for event in events:
                        if isinstance(event, ConfigApplied) and not event.skipped:
                            print(
                                f"  pushed {event.config_hash[:12]} to {event.gateway} in {event.duration * 1000:.0f} ms"
                            )

            nursery.start_soon(report_pushes)
            with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                with trio.move_on_after(exit_after if exit_after is not None else float("inf")):
                    async for _ in signals:
                        break
            print("stopping...")
            nursery.cancel_scope.cancel()
    print("stopped cleanly")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kic_trio.demo", description=__doc__)
    parser.add_argument("--exit-after", type=float, default=None, metavar="SECONDS")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    configure_logging(args.log_level, "text")
    logging.getLogger("kic_trio").setLevel(
        logging.WARNING if args.log_level == "info" else logging.DEBUG
    )
    trio.run(demo, args.exit_after, args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
