"""Embedding kic-trio in a Trio application and reacting to its lifecycle events.

Run it against any cluster and Kong (or the demo's: see ``python -m kic_trio.demo``)::

    python examples/embed.py --kubeconfig ~/.kube/config --kong-admin-url http://localhost:8001

The controller runs as one task of the application's nursery; the application watches what
it does (config applied, push failed, objects that could not be translated, leadership) and
could page someone, update a dashboard or gate a deployment on it.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import AsyncIterator

import trio

import kic_trio


async def stop_on_signal(signals: AsyncIterator[int], scope: trio.CancelScope) -> None:
    """Ctrl-C / SIGTERM / a closed terminal: cancel the application, which then exits 0.

    Without this, Ctrl-C raises KeyboardInterrupt inside whatever task happens to run, and it
    comes out of the nursery as a BaseExceptionGroup traceback. Receiving the signal as a
    message and cancelling a scope is the Trio idiom: every task unwinds through its
    ``finally`` blocks (the controller closes its watches and servers) and ``main`` returns.
    """
    async for signum in signals:
        print(f"{signal.Signals(signum).name}: stopping", flush=True)
        scope.cancel()
        return


async def main(cfg: kic_trio.Config) -> None:
    # The receiver first, so a Ctrl-C during start-up is caught too.
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM, signal.SIGHUP) as signals:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(stop_on_signal, signals, nursery.cancel_scope)
            await run_application(nursery, cfg)


async def run_application(nursery: trio.Nursery, cfg: kic_trio.Config) -> None:
    """Start the controller in ``nursery`` and act on what it reports."""
    controller = await nursery.start(kic_trio.run, cfg)
    print(
        f"controller {controller.instance_id} started; metrics on :{controller.metrics_port}",
        flush=True,
    )

    async with controller.subscribe() as events:
        async for event in events:
            match event:
                case kic_trio.CachesSynced(kinds=kinds, late=late):
                    print(
                        f"caches synced for {len(kinds)} kinds"
                        + (f" (late: {late})" if late else "")
                    )
                case kic_trio.ConfigApplied(gateway=gw, config_hash=sha, duration=d, skipped=False):
                    print(f"{gw} now runs {sha[:12]} ({d * 1000:.0f} ms)")
                case kic_trio.PushFailed(gateway=gw, reason=reason, failures=failures):
                    print(f"push to {gw} failed: {reason}")
                    for failure in failures:
                        print(f"  Kong rejected {failure}")
                case kic_trio.TranslationDone(failures=failures) if failures:
                    for failure in failures:
                        print(f"  could not translate {failure}")
                case kic_trio.LeadershipGained():
                    print("this replica now leads")
                case kic_trio.LeadershipLost():
                    print("this replica no longer leads")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--kubeconfig")
    parser.add_argument("--kong-admin-url", action="append", default=[])
    args = parser.parse_args()
    config = kic_trio.Config(
        kubeconfig=args.kubeconfig,
        kong_admin_url=args.kong_admin_url or ["http://localhost:8001"],
        update_status=False,
        health_probe_bind_address="127.0.0.1:0",
        metrics_bind_address="127.0.0.1:0",
    )
    trio.run(main, config)
    sys.exit(0)
