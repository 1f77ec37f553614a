"""The fallback planned from the translator's fragments (only the refusal's neighbourhood
parsed) is exactly the plan over the whole configuration.

Every object of every case of ours (``tests/conformance/cases``) and, when the shelf is there,
of upstream's golden cases is refused in turn, as ``kic-trio translate --assume-refused`` fakes
Kong's 400; the two plans must agree on the body byte for byte, the failures, what is left out
and why, the plugins removed and whether a fallback can be made at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from kic_trio._translate_cli import _refusal, read_manifests
from kic_trio.kong._dependencies import snapshot_graph
from kic_trio.kong._fallback import FallbackPlan, plan_fallback
from kic_trio.kong._fallback_parts import _plan_from_parts, plan_for_snapshots
from kic_trio.kong._parse import parse_rejection
from kic_trio.translator import Translator, TranslatorOptions, snapshot_of

ROOT = Path(__file__).resolve().parents[3]
OURS = ROOT / "tests" / "conformance" / "cases"
SHELF = (ROOT / ".." / "shared" / "conformance").resolve()
NS = uuid.UUID("1b4e28ba-2fa1-11d2-883f-0016d3cca427")


def with_uids(objects: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Every object with a UID, as in the controller's store (the cases mostly have none)."""
    out = []
    for raw in objects:
        meta = dict(raw.get("metadata") or {})
        if not meta.get("uid"):
            ident = f"{raw.get('kind')}/{meta.get('namespace')}/{meta.get('name')}"
            meta["uid"] = str(uuid.uuid5(NS, ident))
        out.append({**raw, "metadata": meta})
    return out


def cases() -> Iterator[Path]:
    yield from sorted(p for p in OURS.glob("*/in.yaml"))
    if SHELF.is_dir():
        yield from sorted(SHELF.glob("kic-golden*/*/in.yaml"))


def same(a: FallbackPlan, b: FallbackPlan) -> None:
    assert a.body == b.body
    assert (a.removed, a.blocked) == (b.removed, b.blocked)
    assert a.failures == b.failures
    assert dict(a.left_out) == dict(b.left_out)
    assert a.plugins_removed == b.plugins_removed
    assert a.unmapped == b.unmapped


@pytest.mark.parametrize("uids", [True, False], ids=["with-uids", "as-written"])
def test_every_refused_object_of_every_case_plans_the_same_both_ways(uids: bool) -> None:
    shortcuts = 0
    checked = 0
    for path in cases():
        objects, _ = read_manifests([path])
        if uids:
            objects = with_uids(objects)
        snapshot, _ = snapshot_of(objects)
        result = Translator(TranslatorOptions()).translate(snapshot)
        graph = snapshot_graph(snapshot)
        for _, model in snapshot.all():
            rejection = parse_rejection(_refusal([model.ref]))
            whole = plan_fallback(result.body, (rejection,), graph)
            fast = _plan_from_parts(result.body, result.parts, (rejection,), graph)
            if fast is not None:
                shortcuts += 1
                same(fast, whole)
            same(plan_for_snapshots(result.body, (rejection,), snapshot, parts=result.parts), whole)
            checked += 1
    # the shortcut is the path taken, not a rarity (ours alone: hundreds of objects)
    assert checked > 200 and shortcuts > checked // 2, (checked, shortcuts)


def test_parts_that_are_not_the_body_are_not_used() -> None:
    objects, _ = read_manifests([OURS / "plugin-failure-fails-closed" / "in.yaml"])
    snapshot, _ = snapshot_of(with_uids(objects))
    result = Translator(TranslatorOptions()).translate(snapshot)
    model = next(m for _, m in snapshot.all() if m.ref.kind == "KongPlugin")
    rejection = parse_rejection(_refusal([model.ref]))
    other = {k: v[:-1] for k, v in result.parts.items() if len(v) > 1} or {"x": (b"{}",)}
    assert _plan_from_parts(result.body, other, (rejection,), None) is None
