"""``python -m kic_trio.testing.fakekong``: run a FakeKong until SIGINT/SIGTERM.

Prints ``URL=<admin url>`` on its own line once listening (and, with ``--tls``, the CA
certificate's path as ``CA_FILE=<path>``), so a script or another process can use it.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
from pathlib import Path

import trio

from ._server import DEFAULT_MAX_BODY_SIZE, FakeKong


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m kic_trio.testing.fakekong", description=__doc__)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    p.add_argument("--tls", action="store_true", help="serve HTTPS with a fresh self-signed CA")
    p.add_argument(
        "--max-body-size", type=int, default=DEFAULT_MAX_BODY_SIZE, help="413 above this many bytes"
    )
    p.add_argument("--version", dest="kong_version", default="3.9.1", help="Kong version to report")
    p.add_argument("--no-schema", action="store_true", help="skip the JSON-schema check")
    return p


async def _main(args: argparse.Namespace) -> None:
    fake = FakeKong(
        host=args.host,
        port=args.port,
        tls=args.tls,
        max_body_size=args.max_body_size,
        version=args.kong_version,
        validate_schema=False if args.no_schema else None,
    )
    with tempfile.TemporaryDirectory(prefix="fakekong-ca-") as tmp:
        async with trio.open_nursery() as nursery:
            url = await nursery.start(fake.serve)
            lines = [f"URL={url}"]
            if args.tls:
                ca = Path(tmp) / "ca.crt"
                ca.write_text(fake.ca_pem)
                lines.append(f"CA_FILE={ca}")
            print("\n".join(lines), flush=True)
            with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for _ in signals:
                    fake.stop()
                    break


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    trio.run(_main, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
