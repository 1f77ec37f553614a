"""The demo: a local control plane + FakeKong + the controller, on this machine, in one command.

``nox -s demo`` (or ``python -m kic_trio.demo``) starts a real kube-apiserver and etcd on
loopback, a FakeKong, and kic-trio; applies the manifests in ``examples/`` (or ``--dir``);
prints where to look (URLs, the routes Kong now holds); then watches that folder and re-applies
it whenever a file is saved, reprinting the route table, so no ``kubectl`` is needed to play.
It runs until Ctrl-C, SIGTERM or a closed terminal, then stops etcd and kube-apiserver and
removes their files (a guard process does it even if this one is killed).
``--exit-after SECONDS`` stops it on its own (CI uses that to check the demo works).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import trio
import yaml

from . import Config, ConfigApplied, TranslationDone, run
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
    pairs += [
        (route, services.get(ref(route.get("service")), {})) for route in config.get("routes", [])
    ]
    rows: list[tuple[str, str, str, str, str]] = []
    for route, svc in pairs:
        attached = [p.get("name", "?") for p in route.get("plugins", [])]
        for key in {
            str(route.get("id")),
            str(route.get("name")),
            str(svc.get("id")),
            str(svc.get("name")),
        }:
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


def _route_row(
    route: dict[str, Any], svc: dict[str, Any], plugins: list[str]
) -> tuple[str, str, str, str, str]:
    target = f"{svc.get('name', '?')} → {svc.get('host', '?')}:{svc.get('port', '?')}"
    return (
        str(route.get("name", "?")),
        ",".join(route.get("hosts", []) or ["*"]),
        ",".join(route.get("paths", []) or ["/"]),
        target,
        ",".join(plugins) or "-",
    )


#: Every way a user stops the demo: Ctrl-C, ``kill``/nox's terminate, a closed terminal.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

#: How often the watched folder is checked for saved files.
POLL_SECONDS = 0.5

Snapshot = dict[Path, tuple[int, int]]
ObjectKey = tuple[str, str, str]


def snapshot(folder: Path) -> Snapshot:
    """Modification time (ns) and size of every ``*.yaml``/``*.yml`` in ``folder``.

    A change means re-apply. The size catches a save within the filesystem's timestamp
    granularity.
    """
    out: Snapshot = {}
    for pattern in ("*.yaml", "*.yml"):
        for f in folder.glob(pattern):
            with contextlib.suppress(OSError):  # removed between glob and stat
                st = f.stat()
                out[f] = (st.st_mtime_ns, st.st_size)
    return out


def object_key(obj: dict[str, Any]) -> ObjectKey:
    """``(kind, namespace, name)`` of a manifest, to notice objects removed from the files."""
    meta = obj.get("metadata") or {}
    return (str(obj.get("kind")), str(meta.get("namespace") or ""), str(meta.get("name")))


class _QuietStartup(logging.Filter):
    """Drop the API server's start-up 429s (``storage is (re)initializing``): retried, harmless."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Only this message: any other warning (a refused object, Kong down) must show.
        return "(re)initializing" not in record.getMessage()


async def apply_folder(
    client: httpx.AsyncClient, folder: Path, previous: set[ObjectKey]
) -> set[ObjectKey]:
    """Apply every object of the folder's files, delete those no longer there; say what failed.

    Objects are applied one by one so one bad object (or a YAML typo) does not stop the rest;
    returns the objects the folder now owns in the cluster.
    """
    from .testing import apply, delete, load_manifests

    try:
        manifests = load_manifests(folder)
    except (OSError, yaml.YAMLError) as exc:
        print(f"  cannot read {folder}: {exc}; fix the file and save again", flush=True)
        return previous
    applied: set[ObjectKey] = set()
    problems = 0
    for obj in manifests:
        try:
            await apply(client, [obj])
            applied.add(object_key(obj))
        except (KeyError, RuntimeError, httpx.HTTPError) as exc:
            problems += 1
            print(f"  not applied: {object_key(obj)}: {exc}", flush=True)
    # Delete only what left the files: an object refused this time keeps its last version.
    present = {object_key(obj) for obj in manifests}
    for kind, namespace, name in sorted(previous - present):
        try:
            await delete(client, kind, name, namespace or None)
            print(f"  deleted {kind} {namespace}/{name} (no longer in {folder})", flush=True)
        except (KeyError, RuntimeError, httpx.HTTPError) as exc:
            print(f"  could not delete {kind} {namespace}/{name}: {exc}", flush=True)
    print(
        f"applied {len(applied)} objects from {folder}"
        + (f" ({problems} refused)" if problems else ""),
        flush=True,
    )
    return applied | (previous & present)


async def watch_folder(
    folder: Path,
    on_change: Callable[[], Awaitable[None]],
    seen: Snapshot,
    interval: float = POLL_SECONDS,
) -> None:
    """Call ``on_change`` whenever a YAML file in ``folder`` differs from ``seen``.

    Polls modification times: no new dependency, works on every filesystem, and half a second
    is quick enough for a person saving a file. ``seen`` is the snapshot taken *before* the
    files were last applied, so a save made while the demo starts up is not missed.
    """
    while True:
        await trio.sleep(interval)
        now = snapshot(folder)
        if now != seen:
            seen = now
            await on_change()


async def demo(exit_after: float | None, log_level: str, folder: Path = EXAMPLES) -> None:
    from .testing import FakeKong
    from .testing.controlplane import ControlPlane

    with trio.open_signal_receiver(*STOP_SIGNALS) as signals, trio.CancelScope() as everything:

        async def stop_on_signal() -> None:
            async for _ in signals:
                print("stopping (etcd and kube-apiserver too)...", flush=True)
                everything.cancel()
                return

        async with trio.open_nursery() as outer:
            outer.start_soon(stop_on_signal)
            print("starting a local control plane (etcd + kube-apiserver)...", flush=True)
            async with ControlPlane() as cp, FakeKong() as kong, cp.admin_client() as client:
                seen = snapshot(folder)  # before reading: a save from now on is re-applied
                applied = await apply_folder(client, folder, set())
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
                    print(
                        "\nkic-trio demo is running\n"
                        f"  kube-apiserver  {cp.url}\n"
                        f"                  KUBECONFIG={cp.kubeconfig}  (for kubectl, if you have it)\n"
                        f"  Kong (FakeKong) {kong.url}/config  (the configuration Kong holds)\n"
                        f"  metrics         http://127.0.0.1:{controller.metrics_port}/metrics\n"
                        f"  probes          http://127.0.0.1:{controller.probe_port}/healthz  /readyz\n"
                        f"  watching        {folder}: edit a *.yaml there and save; it is re-applied\n"
                        "  stop            Ctrl-C (stops etcd and kube-apiserver, removes their files)\n",
                        flush=True,
                    )
                    print(route_table(kong.config) + "\n", flush=True)
                    if exit_after is not None:  # counted from ready: start-up time varies
                        everything.deadline = trio.current_time() + exit_after

                    async def report() -> None:
                        shown: tuple[str, ...] = ()
                        async with controller.subscribe() as events:
                            async for event in events:
                                if isinstance(event, TranslationDone):
                                    now = tuple(sorted(str(f) for f in event.failures))
                                    for failure in now if now != shown else ():
                                        print(f"  could not translate {failure}", flush=True)
                                    shown = now
                                if isinstance(event, ConfigApplied) and not event.skipped:
                                    print(
                                        f"pushed {event.config_hash[:12]} to {event.gateway}"
                                        f" in {event.duration * 1000:.0f} ms; Kong now routes:\n"
                                        + route_table(kong.config)
                                        + "\n",
                                        flush=True,
                                    )

                    async def reapply() -> None:
                        nonlocal applied
                        print(f"{folder} changed: re-applying", flush=True)
                        applied = await apply_folder(client, folder, applied)

                    nursery.start_soon(report)
                    nursery.start_soon(watch_folder, folder, reapply, seen)
                    await trio.sleep_forever()
    print("stopped cleanly", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kic_trio.demo", description=__doc__)
    parser.add_argument("--exit-after", type=float, default=None, metavar="SECONDS")
    parser.add_argument(
        "--dir",
        type=Path,
        default=EXAMPLES,
        help="folder of manifests to apply and watch (default: examples/)",
    )
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    handler = configure_logging(args.log_level, "text")
    handler.addFilter(_QuietStartup())
    logging.getLogger("kic_trio").setLevel(
        logging.WARNING if args.log_level == "info" else logging.DEBUG
    )
    if not args.dir.is_dir():
        parser.error(f"--dir {args.dir}: not a folder")
    trio.run(demo, args.exit_after, args.log_level, args.dir.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
