"""The ``kic-trio`` command: ``run``, ``translate``, ``version``, ``flags``.

Every ``run`` flag and ``CONTROLLER_*`` variable is generated from ``Config``; how they become
a ``Config`` (and in which precedence) is ``kic_trio.config._sources``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from ._errors import ConfigError
from .config import config_fields, env_of, flag_of
from .config._sources import add_run_flags, config_from_args, default_of, show_default

# ---------------------------------------------------------------------------------------------
# the argument parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kic-trio",
        description="A Kubernetes ingress controller for Kong Gateway, on Trio.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser(
        "run",
        help="run the controller until SIGINT/SIGTERM",
        description="Run the controller. Every flag can also be set as CONTROLLER_<FLAG> in the environment.",
    )
    add_run_flags(run)
    sub.add_parser(
        "translate",
        help="print the Kong configuration a set of manifests produces (offline)",
        add_help=False,
    )
    sub.add_parser("version", help="print the version as JSON")
    flags = sub.add_parser("flags", help="print the flag table (markdown)")
    flags.add_argument("--markdown", action="store_true", default=True)
    return parser


def flags_markdown() -> str:
    """The README's flag table, generated from ``Config`` (a test keeps the README in step)."""
    rows = ["| flag | env | default | description |", "|---|---|---|---|"]
    for f in config_fields():
        default = default_of(f)
        note = " *(kic-trio)*" if f.metadata["ours"] else ""
        shown = show_default(f.name, default).replace("|", "\\|")
        help_text = str(f.metadata["help"]).replace("|", "\\|")
        rows.append(f"| `{flag_of(f.name)}` | `{env_of(f.name)}` | `{shown}` | {help_text}{note} |")
    return "\n".join(rows) + "\n"


# ---------------------------------------------------------------------------------------------
# entry point


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "translate":
        from . import _translate_cli

        return _translate_cli.main(argv[1:])
    parser = build_parser()
    if not argv:
        parser.print_help()
        return 2
    if argv[0] == "run":
        if any(a in ("-h", "--help") for a in argv[1:]):
            parser.parse_args(argv)  # prints help, exits 0
        try:
            cfg = config_from_args(argv[1:]).validate()
        except ConfigError as exc:
            print(f"kic-trio: {exc}", file=sys.stderr)
            return 2
        from ._standalone import run_standalone

        return run_standalone(cfg)
    args = parser.parse_args(argv)
    if args.command == "version":
        from . import __version__

        print(json.dumps({"release": __version__, "repo": "kic-trio", "commit": "unknown"}))
        return 0
    if args.command == "flags":
        sys.stdout.write(flags_markdown())
        return 0
    parser.print_help()
    return 2
