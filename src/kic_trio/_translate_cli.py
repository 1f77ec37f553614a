"""``kic-trio translate``: manifests in, Kong declarative config out — an offline dry run.

Beside plain translation it speaks upstream's golden protocol, so a user can see what the
controller would do without a cluster or a Kong:

* ``--router-flavor`` stands for what the controller learns from Kong's ``GET /``;
* ``--feature-gates`` takes every upstream gate the controller knows (the same table as
  ``kic-trio run --feature-gates``); an unknown one is an error naming the flag;
* ``--assume-refused KIND/NAMESPACE/NAME`` (``KIND/NAME`` for cluster-scoped kinds; repeat
  it) prints the *fallback* configuration the controller would push if Kong refused those
  objects. It goes through the controller's own fallback code: a Kong 400 naming the objects
  (as upstream's golden test fakes it) is parsed by the applier's parser and planned by
  :func:`kic_trio.kong._fallback_parts.plan_for_snapshots`, with upstream's dependency graph built
  from the same models the controller's store would hold (:mod:`kic_trio.kong._dependencies`).
  What is left out, and why, goes to stderr.

This module does the I/O (files, stdin, stdout) so the translator package stays pure: it
only parses text it is given (:func:`kic_trio.translator.parse_manifests`).
"""

from __future__ import annotations

import argparse
import os
import sys
import types
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import orjson
import yaml

from .config import FEATURE_GATES, parse_bool
from .kong._dependencies import ref_of
from .kong._fallback_parts import plan_for_snapshots
from .kong._parse import CLUSTER_SCOPED, parse_rejection
from .models import Failure, ObjectRef, ObjectStatus
from .translator import (
    ManifestError,
    ManifestProblem,
    Translator,
    TranslatorOptions,
    parse_manifests,
    snapshot_of,
)

ROUTER_FLAVORS = ("traditional_compatible", "expressions")
#: UIDs given to refused objects that have none (so Kong's error can name them by tags).
_ASSUMED_UID_NS = uuid.UUID("6c1f0c5e-5d0e-4b8a-9a55-7a1c5b0f7e11")


def read_manifests(
    paths: Iterable[str | os.PathLike[str]],
) -> tuple[list[Mapping[str, Any]], list[ManifestProblem]]:
    """Every usable object in the given files or directories, and the problems with the rest.

    Multi-document YAML or JSON; ``-`` is stdin. Directories are read recursively,
    ``*.yaml``, ``*.yml`` and ``*.json`` in name order. Unreadable files raise ``OSError``.
    """
    objects: list[Mapping[str, Any]] = []
    problems: list[ManifestProblem] = []
    for p in paths:
        if str(p) == "-":
            sources = [("<stdin>", sys.stdin.read())]
        else:
            path = Path(p)
            if path.is_dir():
                files = sorted(
                    f
                    for f in path.rglob("*")
                    if f.suffix in (".yaml", ".yml", ".json") and f.is_file()
                )
            else:
                files = [path]
            sources = [(str(f), f.read_text()) for f in files]
        for source, text in sources:
            got, bad = parse_manifests(text, source)
            objects.extend(got)
            problems.extend(bad)
    return objects, problems


def load_manifests(paths: Iterable[str | os.PathLike[str]]) -> list[Mapping[str, Any]]:
    """Like :func:`read_manifests`, but any problem raises :class:`ManifestError` (all listed)."""
    objects, problems = read_manifests(paths)
    if problems:
        raise ManifestError(problems)
    return objects


def _gates(text: str) -> dict[str, bool]:
    out: dict[str, bool] = {}
    for item in filter(None, (i.strip() for i in text.split(","))):
        name, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            out[name.strip()] = parse_bool(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{item!r}: expected Name=true|false") from None
    return out


@attrs.frozen
class RefusedRef:
    """One ``--assume-refused`` value: ``KIND/NAMESPACE/NAME`` or ``KIND/NAME``."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return "/".join(p for p in (self.kind, self.namespace, self.name) if p)


def _refused(text: str) -> RefusedRef:
    parts = text.split("/")
    if len(parts) == 2 and all(parts):
        return RefusedRef(parts[0], "", parts[1])
    if len(parts) == 3 and all(parts):
        return RefusedRef(*parts)
    raise argparse.ArgumentTypeError(
        f"{text!r}: expected KIND/NAMESPACE/NAME (KIND/NAME for cluster-scoped kinds)"
    )


def build_parser(prog: str = "kic-trio translate") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Print the Kong declarative configuration a set of Kubernetes manifests "
        "produces. Failures go to stderr; the exit status is 1 when there are any. A document "
        "that cannot be used (duplicate keys, a kind or metadata of the wrong type) is an error "
        "naming its file and position; the other documents are still translated. With "
        "--assume-refused, print the fallback configuration the controller would push if Kong "
        "refused those objects.",
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
        "--router-flavor",
        choices=ROUTER_FLAVORS,
        default=ROUTER_FLAVORS[0],
        help="Kong's router flavor (the controller learns it from Kong's GET /)",
    )
    p.add_argument(
        "--feature-gates",
        type=_gates,
        action="append",
        default=[],
        metavar="NAME=BOOL,...",
        help=f"upstream's feature gates (repeatable; known: {', '.join(FEATURE_GATES)})",
    )
    p.add_argument(
        "--assume-refused",
        type=_refused,
        action="append",
        default=[],
        metavar="KIND/NAMESPACE/NAME",
        help="print the fallback configuration for a Kong that refused this object "
        "(repeatable; KIND/NAME for cluster-scoped kinds)",
    )
    p.add_argument(
        "--assume-attached",
        action="store_true",
        help="take every Gateway API route as accepted by the Gateways its parentRefs name, "
        "hostnames as written: what upstream's translator does with routes already in its "
        "cache (its golden cases have no GatewayClass, often no Gateway). Without it, routes "
        "attach as in the controller (GatewayClass controllerName, listeners, allowedRoutes)",
    )
    p.add_argument("--no-fail", action="store_true", help="exit 0 even when there are failures")
    return p


@attrs.frozen
class Outcome:
    """What one ``kic-trio translate`` run gives: the configuration (``None``: none would be
    pushed), the lines for stderr, and the exit status."""

    config: Mapping[str, Any] | None
    body: bytes | None
    messages: tuple[str, ...]
    status: int
    failures: tuple[Failure, ...] = ()
    left_out: Mapping[ObjectRef, str] = attrs.field(factory=dict)
    output: str = "yaml"


def options_from_args(args: argparse.Namespace) -> tuple[TranslatorOptions, dict[str, bool]]:
    """The translator options the flags give (gates through the controller's own mapping)."""
    given: dict[str, bool] = {}
    for part in args.feature_gates:
        given.update(part)
    gates = {**FEATURE_GATES, **given}
    cfg = types.SimpleNamespace(
        ingress_class=args.ingress_class, cluster_domain=args.cluster_domain, feature_gates=gates
    )
    opts = attrs.evolve(
        TranslatorOptions.from_config(cfg),
        router_flavor=args.router_flavor,
        gateway_attachment=not args.assume_attached,
    )
    return opts, gates


def _find(objects: Sequence[Mapping[str, Any]], want: RefusedRef) -> int | None:
    found = None
    for i, raw in enumerate(objects):
        ref = ref_of(raw)
        if ref is None or ref.kind != want.kind or ref.name != want.name:
            continue
        ns = "" if want.kind in CLUSTER_SCOPED else (want.namespace or "default")
        if ref.namespace == ns:
            found = i  # the last one wins, as in translation
    return found


def _with_uid(raw: Mapping[str, Any], ref: RefusedRef) -> Mapping[str, Any]:
    meta = raw.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    if isinstance(meta.get("uid"), str) and meta.get("uid"):
        return raw
    uid = str(uuid.uuid5(_ASSUMED_UID_NS, str(ref)))
    return {**raw, "metadata": {**meta, "uid": uid}}


def _refusal(refs: Sequence[ObjectRef]) -> bytes:
    """Kong's 400 for these objects, shaped as upstream's golden test fakes it."""
    entries = []
    for ref in refs:
        tags = [f"k8s-name:{ref.name}"]
        if ref.namespace:
            tags.append(f"k8s-namespace:{ref.namespace}")
        tags += [f"k8s-kind:{ref.kind}", f"k8s-group:{ref.group}"]
        tags += [f"k8s-version:{ref.version}", f"k8s-uid:{ref.uid}"]
        errors = [{"type": "entity", "message": "refused (--assume-refused)"}]
        entries.append({"errors": errors, "entity_tags": tags})
    return orjson.dumps(
        {"code": 14, "name": "invalid declarative configuration", "flattened_errors": entries}
    )


def status_lines(status: Mapping[ObjectRef, ObjectStatus]) -> list[str]:
    """Gateway API route status as the controller would write it, one line per parent: a
    ``note:`` when every condition holds, else a ``status:`` line naming the ones that do not
    (e.g. ``ResolvedRefs=False RefNotPermitted: ...``). Ingress status is not printed."""
    out = []
    for ref in sorted(r for r, s in status.items() if s.parents):
        for parent in status[ref].parents:
            gw = f"{parent.gateway.namespace}/{parent.gateway.name}"
            if parent.section_name:
                gw += f" ({parent.section_name})"
            bad = [c for c in parent.conditions if c.status != "True"]
            shown = bad or parent.conditions
            text = ", ".join(
                f"{c.type}={c.status} {c.reason}" + (f": {c.message}" if c.message else "")
                for c in shown
            )
            out.append(f"{'status' if bad else 'note'}: {ref} parent Gateway {gw}: {text}")
    return out


def run(argv: Sequence[str]) -> Outcome:
    """Parse ``argv`` (without ``translate``), read the manifests, translate, and (with
    ``--assume-refused``) plan the fallback. No printing: :func:`main` prints the outcome."""
    args = build_parser().parse_args(list(argv))
    opts, gates = options_from_args(args)
    unknown = sorted(set(gates) - set(FEATURE_GATES))
    if unknown:
        return Outcome(
            None,
            None,
            (f"--feature-gates: unknown feature gate(s): {', '.join(unknown)}",),
            2,
        )
    try:
        objects, problems = read_manifests(args.filename)
    except (OSError, UnicodeDecodeError) as exc:
        return Outcome(None, None, (f"cannot read manifests: {exc}",), 2)
    messages = [f"error: {problem}" for problem in problems]
    refused: list[ObjectRef] = []
    for want in dict.fromkeys(args.assume_refused):
        i = _find(objects, want)
        if i is None:
            return Outcome(None, None, (*messages, f"--assume-refused {want}: no such object"), 2)
        objects[i] = _with_uid(objects[i], want)
        ref = ref_of(objects[i])
        assert ref is not None  # _find matched it
        refused.append(ref)
    snapshot, _ = snapshot_of(objects)
    result = Translator(opts).translate(snapshot)
    messages += [f"failure: {failure}" for failure in result.failures]
    messages += status_lines(result.status)
    failed = bool(problems) or bool(result.failures)
    body = result.body
    failures: tuple[Failure, ...] = ()
    left_out: Mapping[ObjectRef, str] = {}
    if refused:
        if not gates.get("FallbackConfiguration", True):
            messages.append(
                "FallbackConfiguration=false: the controller keeps the last configuration Kong "
                "accepted; no fallback is pushed"
            )
            return Outcome(None, None, tuple(messages), 1)
        rejection = parse_rejection(_refusal(refused))
        plan = plan_for_snapshots(result.body, (rejection,), snapshot, parts=result.parts)
        failures, left_out = plan.failures, plan.left_out
        messages += [f"refused: {f}" for f in plan.failures]
        messages += [f"left out: {ref}: {why}" for ref, why in sorted(plan.left_out.items())]
        failed = True
        if plan.body is None:
            messages.append(f"no fallback configuration: {plan.blocked}")
            return Outcome(None, None, tuple(messages), 1, failures, left_out)
        body = plan.body
    status = 1 if problems or (failed and not args.no_fail) else 0
    config = orjson.loads(body)
    return Outcome(config, body, tuple(messages), status, failures, left_out, args.output)


def main(argv: Sequence[str] | None = None) -> int:
    """``kic-trio translate -f FILE_OR_DIR... [-o yaml|json] [--assume-refused K/NS/N] ...``."""
    outcome = run(sys.argv[1:] if argv is None else argv)
    if outcome.body is not None:
        if outcome.output == "json":
            sys.stdout.write(outcome.body.decode() + "\n")
        else:
            sys.stdout.write(yaml.safe_dump(outcome.config, sort_keys=True, allow_unicode=True))
    for line in outcome.messages:
        print(line, file=sys.stderr)
    return outcome.status


__all__ = [
    "Outcome",
    "RefusedRef",
    "build_parser",
    "load_manifests",
    "main",
    "options_from_args",
    "read_manifests",
    "run",
]
