"""The fallback plan from the translator's fragments: parse only what a refusal concerns.

Why: planning over the whole configuration parses it whole (at 10k sets ~30 MB, millions of
dicts and lists) and links every entity; the allocations alone make the cyclic GC rescan the
heap again and again, which is where most of the 6 s at 10k went (measured: the same plan
takes a fifth of the time with the GC paused). Yet a refusal only ever concerns a
neighbourhood of the refused entities: what references them, what they reference, what
carries the same object's tags.

How: the translator hands its top-level entities as serialised fragments (``parts``), in body
order. Starting from the strings that identify the refused entities (their ``id``, their
object's ``k8s-uid`` tag and those of the objects depending on it in upstream's object graph),
every fragment mentioning one of those strings is parsed; every identifier it holds (ids,
names, hosts, uid tags) and every reference it makes becomes a string to look for in turn,
until nothing new turns up. A fragment outside that closure neither references nor is
referenced by anything inside, so the planner (:mod:`._fallback`, unchanged) decides on the
closure exactly what it decides on the whole configuration; the planner is re-run on a larger
closure whenever it took down an object whose entities were not all in it. The body is the
untouched fragments plus the closure's survivors, re-serialised canonically: byte for byte
what the whole-configuration plan gives (a unit test compares the two).

When the shortcut cannot be sure (no parts, a refused entity named by neither id nor uid tag,
an object without a UID, a closure over a quarter of the configuration, back-filling from the
last valid configuration), it falls back to :func:`plan_fallback` on the whole body.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs
import orjson

from ..store import Snapshot
from ._dependencies import ObjectGraph, snapshot_graph
from ._fallback import (
    _CHILDREN,
    _KEYS,
    _REFS,
    FallbackPlan,
    _decide,
    _Planner,
    _prune,
    _ref_values,
    _seed,
    plan_fallback,
)
from ._parse import ConfigRejection, ref_from_tags

_OPTS = orjson.OPT_SORT_KEYS
_HEAD = b'{"_format_version":"3.0"'
#: Past this share of the fragments, the closure is no shortcut: plan over the whole body.
_MAX_SHARE = 0.25
#: ... but a small configuration is always planned on its closure (cheap either way).
_MIN_CLOSURE = 256
#: Re-runs of the planner on a grown closure before giving up on the shortcut.
_MAX_ROUNDS = 8
_SEP = b"\x00"  # never inside a serialised fragment (JSON escapes control characters)


def plan_for_snapshots(
    body: bytes,
    rejections: Sequence[ConfigRejection],
    snapshot: Snapshot | None,
    last_valid: tuple[bytes, Snapshot | None] | None = None,
    parts: Mapping[str, tuple[bytes, ...]] | None = None,
) -> FallbackPlan:
    """The one way to plan a fallback, for the controller and for ``kic-trio translate
    --assume-refused`` alike: upstream's object graph is built from the models ``body`` was
    translated from (``snapshot``) and, for back-filling, from those of the last configuration
    Kong accepted (``last_valid``: its body and snapshot).

    With the translator's ``parts`` only the refusal's neighbourhood is parsed (module
    docstring); the result is the same as :func:`plan_fallback` over the whole body. Without a
    snapshot (a payload made by hand, in a test or by an embedder) only the configuration's own
    references are followed. Call it off the event loop: at 10k sets it is still ~0.1-1 s.
    """
    objects = snapshot_graph(snapshot) if snapshot is not None else None
    if last_valid is None and parts:
        plan = _plan_from_parts(body, parts, rejections, objects)
        if plan is not None:
            return plan
    old_body, old_objects = None, None
    if last_valid is not None:
        old_body = last_valid[0]
        old_objects = snapshot_graph(last_valid[1]) if last_valid[1] is not None else None
    return plan_fallback(body, rejections, objects, old_body, old_objects)


@attrs.define
class _Index:
    """Every fragment in one buffer, so a string is looked for in all of them at C speed."""

    names: list[str]
    frags: list[bytes]
    where: list[tuple[int, int]]  # fragment -> (list index, position in its list)
    starts: list[int]
    buffer: bytes

    @classmethod
    def of(cls, parts: Mapping[str, tuple[bytes, ...]]) -> _Index:
        names = sorted(parts)
        frags = [f for n in names for f in parts[n]]
        where = [(i, j) for i, n in enumerate(names) for j in range(len(parts[n]))]
        starts = list(itertools.accumulate((len(f) + 1 for f in frags), initial=0))[:-1]
        return cls(names, frags, where, starts, _SEP.join(frags))

    def find(self, needle: bytes) -> Iterator[int]:
        """The fragments containing ``needle``."""
        buf, starts = self.buffer, self.starts
        at = buf.find(needle)
        while at >= 0:
            k = bisect.bisect_right(starts, at) - 1
            yield k
            # the next fragment: one mention is enough
            nxt = starts[k + 1] if k + 1 < len(starts) else len(buf)
            at = buf.find(needle, nxt)


def _quoted(value: str) -> bytes:
    return orjson.dumps(value)


def _uid_needle(uid: str) -> bytes:
    return _quoted(f"k8s-uid:{uid}")


def _key_needle(key: str) -> bytes:
    """What every entity of the object ``key`` carries: its uid tag, else its name tag (more
    fragments than needed, never fewer)."""
    name, uid = key.split("\0")[2:4]
    return _uid_needle(uid) if uid else _quoted(f"k8s-name:{name}")


def _strings_of(etype: str, ent: Mapping[str, Any]) -> Iterator[str]:
    """What identifies ``ent`` or what it refers to: the strings its neighbours mention."""
    if isinstance(ent.get("id"), str):
        yield ent["id"]
    for f in _KEYS.get(etype, ()):
        if isinstance(ent.get(f), str):
            yield ent[f]
    if etype in ("services", "upstreams") and isinstance(ent.get("host"), str):
        yield ent["host"]
    for field in _REFS.get(etype, {}):
        if field in ent:
            yield from _ref_values(ent[field])
    tags = ent.get("tags")
    if isinstance(tags, list):
        for t in tags:
            if isinstance(t, str) and t.startswith("k8s-uid:"):
                yield t


def _walk(etype: str, ent: Any) -> Iterator[tuple[str, Mapping[str, Any]]]:
    if not isinstance(ent, dict):
        return
    yield etype, ent
    for child in _CHILDREN.get(etype, ()):
        sub = ent.get(child)
        if isinstance(sub, list):
            for c in sub:
                yield from _walk(child, c)


def _plan_from_parts(
    body: bytes,
    parts: Mapping[str, tuple[bytes, ...]],
    rejections: Sequence[ConfigRejection],
    objects: ObjectGraph | None,
) -> FallbackPlan | None:
    """The plan over the closure of the refusal (module docstring), or ``None``: no shortcut."""
    if not _reproduces(body, parts):
        return None
    index = _Index.of(parts)
    needles: set[bytes] = set()
    for rejection in rejections:
        for err in rejection.entities:
            ref = ref_from_tags(err.tags)
            if err.entity_id:
                needles.add(_quoted(err.entity_id))
            if ref is not None:
                needles.add(_uid_needle(ref.uid) if ref.uid else _quoted(f"k8s-name:{ref.name}"))
            elif not err.entity_id:
                return None  # matched by content only: the whole body
    parsed: dict[int, Any] = {}
    searched: set[bytes] = set()
    limit = max(_MIN_CLOSURE, int(len(index.frags) * _MAX_SHARE))
    for _ in range(_MAX_ROUNDS):
        if not _grow(index, needles, searched, parsed, limit):
            return None
        plan = _plan_on(index, parsed, rejections, objects)
        if plan is None:
            return None
        result, planner = plan
        # an object taken down whose entities may lie outside the closure: grow and re-plan
        more = {_key_needle(key) for key in planner.gone}
        if more <= searched:
            return result
        needles = more - searched
    return None


def _grow(
    index: _Index,
    needles: set[bytes],
    searched: set[bytes],
    parsed: dict[int, Any],
    limit: int,
) -> bool:
    """Parse every fragment the needles (and, transitively, what those fragments hold)
    reach. False when the closure grows past ``limit`` fragments."""
    todo = set(needles) - searched
    while todo:
        needle = todo.pop()
        searched.add(needle)
        for k in index.find(needle):
            if k in parsed:
                continue
            ent = orjson.loads(index.frags[k])
            parsed[k] = ent
            if len(parsed) > limit:
                return False
            etype = index.names[index.where[k][0]]
            for t, e in _walk(etype, ent):
                for s in _strings_of(t, e):
                    n = _quoted(s)
                    if n not in searched:
                        todo.add(n)
    return True


def _plan_on(
    index: _Index,
    parsed: Mapping[int, Any],
    rejections: Sequence[ConfigRejection],
    objects: ObjectGraph | None,
) -> tuple[FallbackPlan, _Planner] | None:
    # fresh copies: the planner and the pruning change the entities
    chosen = sorted(parsed)
    copies = {k: orjson.loads(index.frags[k]) for k in chosen}
    cfg: dict[str, list[Any]] = {}
    for k in chosen:
        cfg.setdefault(index.names[index.where[k][0]], []).append(copies[k])
    planner = _Planner(cfg, objects)
    failures, unmapped = _seed(planner, rejections)
    plan, removed = _decide(planner, failures, unmapped)
    if plan.blocked:
        return plan, planner
    replaced: dict[int, bytes | None] = {}
    for k in chosen:
        ent = copies[k]
        etype = index.names[index.where[k][0]]
        if id(ent) in removed:
            replaced[k] = None
            continue
        if not _touched(etype, ent, removed):
            continue
        [kept] = _prune(etype, [ent], removed)
        replaced[k] = orjson.dumps(kept, option=_OPTS)
    return attrs.evolve(plan, body=_assemble(index, replaced)), planner


def _touched(etype: str, ent: Mapping[str, Any], removed: Mapping[int, bool]) -> bool:
    """Whether anything nested in ``ent`` is removed (else its fragment is kept as it is)."""
    return any(id(e) in removed for _, e in itertools.islice(_walk(etype, ent), 1, None))


def _assemble(index: _Index, replaced: Mapping[int, bytes | None]) -> bytes:
    out = [_HEAD]
    k = 0
    empty = True
    for name in index.names:
        kept: list[bytes] = []
        while k < len(index.frags) and index.names[index.where[k][0]] == name:
            frag = replaced[k] if k in replaced else index.frags[k]
            if frag is not None:
                kept.append(frag)
            k += 1
        if kept:
            empty = False
            out.append(b',"' + name.encode() + b'":[' + b",".join(kept) + b"]")
    if empty:
        out.append(b',"upstreams":[{"name":"kong"}]')  # upstream's stub, as plan_fallback
    out.append(b"}")
    return b"".join(out)


def _reproduces(body: bytes, parts: Mapping[str, Iterable[bytes]]) -> bool:
    """Whether ``parts`` are ``body``'s entities (by length and ends: cheap, and what a
    mismatch between the two would break first)."""
    size = len(_HEAD) + 1
    for name, frags in parts.items():
        fs = list(frags)
        if not fs:
            return False
        size += len(name) + 6 + sum(len(f) for f in fs) + len(fs) - 1
    return size == len(body) and body.startswith(_HEAD)


__all__ = ["plan_for_snapshots"]
