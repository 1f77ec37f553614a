"""``kic-trio translate``: manifests in, Kong declarative config out (an offline dry-run)."""

from __future__ import annotations

import argparse
import sys

import yaml

from ._manifests import read_manifests
from ._objects import translate_objects
from ._options import DEFAULT_GATES, TranslatorOptions


def _gates(text: str) -> dict[str, bool]:
    out: dict[str, bool] = {}
    for item in filter(None, (i.strip() for i in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep or value.lower() not in ("true", "false"):
            raise argparse.ArgumentTypeError(f"{item!r}: expected Name=true|false")
        out[name.strip()] = value.lower() == "true"
    return out


def build_parser(prog: str = "kic-trio translate") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Print the Kong declarative configuration a set of Kubernetes manifests "
        "produces. Failures go to stderr; the exit status is 1 when there are any. A document "
        "that cannot be used (duplicate keys, a kind or metadata of the wrong type) is an error "
        "naming its file and position; the other documents are still translated.",
    )
    p.add_argument(
        "-f",
        "--filename",
        action="append",
        required=True,
        metavar="FILE_OR_DIR",
        help="manifest file or directory (repeatable; - for stdin)",
    )
    p.add_argument("-o", "--output", choices=("yaml", "json"), default="yaml")
    p.add_argument("--ingress-class", default="kong")
    p.add_argument("--cluster-domain", default="")
    p.add_argument(
        "--feature-gates",
        type=_gates,
        default={},
        help=f"e.g. RewriteURIs=true (known: {', '.join(DEFAULT_GATES)})",
    )
    p.add_argument("--no-fail", action="store_true", help="exit 0 even when there are failures")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    unknown = set(args.feature_gates) - set(DEFAULT_GATES)
    if unknown:
        print(f"unknown feature gate(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    gates = {**DEFAULT_GATES, **args.feature_gates}
    opts = TranslatorOptions(
        ingress_class=args.ingress_class,
        cluster_domain=args.cluster_domain,
        fill_ids=gates["FillIDs"],
        rewrite_uris=gates["RewriteURIs"],
    )
    try:
        objects, problems = read_manifests(args.filename)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"cannot read manifests: {exc}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    result = translate_objects(objects, opts)
    if args.output == "json":
        sys.stdout.write(result.body.decode() + "\n")
    else:
        sys.stdout.write(yaml.safe_dump(result.config, sort_keys=True, allow_unicode=True))
    for failure in result.failures:
        print(f"failure: {failure}", file=sys.stderr)
    if problems:
        return 1  # a manifest that is not what it looks like is never "no failures"
    return 1 if result.failures and not args.no_fail else 0
