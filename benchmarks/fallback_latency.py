"""Fallback benchmark: Kong refuses one object in a big config; how fast does the fallback go out,
and does it leave out exactly that object and its dependants?

    python benchmarks/fallback_latency.py                 # N = 1k
    python benchmarks/fallback_latency.py --sets 10000    # the issue's 10k sets

Per N, in one process (no Kubernetes: the objects are translated offline, as ``kic-trio
translate`` does, and handed to the real applier, which pushes to FakeKong on loopback):

1. the synthetic sets of the other benchmarks; set ``N/2``'s KongPlugin gets a key-auth
   configuration FakeKong's ``reject_entities`` refuses (as Kong refuses an invalid one);
2. the applier pushes the translation; FakeKong answers 400 naming that plugin; the applier
   plans the fallback (``kong/_fallback.py``) and pushes it;
3. reported: refused POST arrival -> fallback POST arrival (wall, includes FakeKong reading,
   validating and answering the 400 for the whole body, in this same process), split into
   Kong's share (arrival -> the 400 back at the controller) and the controller's share (the
   400 back -> fallback POST arrival: parse, plan, hash, send); the planning alone
   (``plan_for_snapshots`` on the same body and store snapshot, as the applier calls it,
   median of 3), and the check: the objects the fallback left out (its ``ConfigApplied``
   event) against upstream's expectation — the refused KongPlugin and the Ingress using it —
   and the fallback config against a translation of the sets without those two objects.

Prints a table; writes ``benchmarks/results/fallback_latency.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
import trio

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _sets  # noqa: E402

from kic_trio import Config  # noqa: E402
from kic_trio._instance import Instance  # noqa: E402
from kic_trio._latest import LatestValue  # noqa: E402
from kic_trio._lifecycle import ConfigApplied, LifecycleEvent  # noqa: E402
from kic_trio._payload import ConfigPayload  # noqa: E402
from kic_trio.kong import GatewaySet, run_applier  # noqa: E402
from kic_trio.kong._client import AdminClient  # noqa: E402
from kic_trio.kong._fallback_parts import plan_for_snapshots  # noqa: E402
from kic_trio.kong._parse import parse_rejection  # noqa: E402
from kic_trio.store import Snapshot  # noqa: E402
from kic_trio.testing import FakeKong  # noqa: E402
from kic_trio.translator import (  # noqa: E402
    Translator,
    TranslatorOptions,
    snapshot_of,
    translate_objects,
)

RESULTS = HERE / "results"
#: As the other 10k benchmarks: an operator with 10k+ routes raises Kong's 10 MiB body limit.
MAX_BODY = 512 * 1024 * 1024
BAD_KEY = "bad key name"
OPTS = TranslatorOptions(ingress_class="kong")


class _Quiet:
    def emit(self, *args: Any) -> None:
        pass


def _entities(cfg: dict[str, Any]) -> set[tuple[str, str]]:
    """(type, identity) of every entity, nested ones included, ids left aside."""
    out: set[tuple[str, str]] = set()

    def walk(etype: str, items: Any) -> None:
        for ent in items if isinstance(items, list) else []:
            if not isinstance(ent, dict):
                continue
            ident = {k: v for k, v in ent.items() if not isinstance(v, list | dict) or k == "tags"}
            out.add((etype, orjson.dumps(ident, option=orjson.OPT_SORT_KEYS).decode()))
            for k, v in ent.items():
                if isinstance(v, list) and v and isinstance(v[0], dict):
                    walk(k, v)

    for k, v in cfg.items():
        if not k.startswith("_"):
            walk(k, v)
    return out


async def _push(
    body: bytes, snapshot: Snapshot, parts: Mapping[str, tuple[bytes, ...]]
) -> dict[str, Any]:
    kong = FakeKong(max_body_size=MAX_BODY, validate_schema=False)
    kong.reject_entities = [("plugins", {"name": "key-auth", "config.key_names": [BAD_KEY]})]
    got: list[LifecycleEvent] = []
    answered: list[tuple[int, float]] = []  # (status, wall time the answer was back)
    post_config = AdminClient.post_config

    async def timed_post(self: AdminClient, body: bytes, **kw: Any) -> Any:
        result = await post_config(self, body, **kw)
        answered.append((result.status, time.time()))
        return result

    AdminClient.post_config = timed_post  # type: ignore[method-assign]
    async with kong:
        inst = Instance.create(Config(kong_admin_url=[kong.url], kong_admin_init_retries=1000))
        inst.recorder = _Quiet()  # type: ignore[assignment]
        latest: LatestValue[ConfigPayload] = LatestValue()
        with trio.fail_after(600):
            async with inst.bus.subscribe() as rx, trio.open_nursery() as nursery:

                async def collect() -> None:
                    async for e in rx:
                        got.append(e)

                nursery.start_soon(collect)
                await nursery.start(run_applier, inst, latest, GatewaySet.from_config(inst.cfg))
                sha = hashlib.sha256(body).hexdigest()
                latest.put(ConfigPayload(body=body, sha=sha, snapshot=snapshot, parts=parts))
                while not any(isinstance(e, ConfigApplied) for e in got):
                    await trio.sleep(0.01)
                nursery.cancel_scope.cancel()
        posts = [r for r in kong.requests if r.method == "POST" and r.path == "/config"]
        refused = next(r for r in posts if r.status == 400)
        fallback = next(r for r in posts if r.status in (200, 201) and r.at > refused.at)
        applied = next(e for e in got if isinstance(e, ConfigApplied))
        config = kong.config
    AdminClient.post_config = post_config  # type: ignore[method-assign]
    back = next(at for status, at in answered if status == 400)
    return {
        "refused_post_to_fallback_post_ms": (fallback.wall - refused.wall) * 1000,
        "kong_share_ms": (back - refused.wall) * 1000,
        "controller_share_ms": (fallback.wall - back) * 1000,
        "left_out": sorted(str(r) for r in applied.left_out),
        "fallback_config": config,
        "posts": [r.status for r in posts],
    }


def run_n(n: int) -> dict[str, Any]:
    objects = _sets.make_sets(n)
    k = n // 2
    for obj in objects:
        if obj["kind"] == "KongPlugin" and obj["metadata"]["name"] == f"key-auth-{k}":
            obj["config"] = {"key_names": [BAD_KEY]}
    t = time.perf_counter()
    snapshot, _ = snapshot_of(objects)
    result = Translator(OPTS).translate(snapshot)
    translate_s = time.perf_counter() - t
    ns = _sets.namespace_of(k)
    expected_out = sorted([f"Ingress {ns}/ing-{k}", f"KongPlugin {ns}/key-auth-{k}"])

    # planning alone, on the same body and the same 400 FakeKong gives
    refusal = orjson.dumps(
        {
            "flattened_errors": [
                {
                    "entity_type": "plugin",
                    "entity_tags": next(
                        p["tags"]
                        for p in orjson.loads(result.body).get("plugins", [])
                        if p.get("config", {}).get("key_names") == [BAD_KEY]
                    ),
                    "errors": [{"type": "field", "field": "config.key_names", "message": "bad"}],
                }
            ]
        }
    )
    plan_ms = []
    for _ in range(3):
        t = time.perf_counter()
        plan_for_snapshots(result.body, (parse_rejection(refusal),), snapshot, parts=result.parts)
        plan_ms.append((time.perf_counter() - t) * 1000)

    pushed = trio.run(_push, result.body, snapshot, result.parts)
    without = [
        o
        for o in objects
        if not (
            o["metadata"].get("namespace") == ns
            and (o["metadata"]["name"], o["kind"])
            in ((f"ing-{k}", "Ingress"), (f"key-auth-{k}", "KongPlugin"))
        )
    ]
    upstream = _entities(orjson.loads(translate_objects(without, OPTS).body))
    ours = _entities(pushed["fallback_config"])
    extra = sorted(t for t, _ in ours - upstream)
    missing = sorted(t for t, _ in upstream - ours)
    return {
        "sets": n,
        "body_mb": round(len(result.body) / 1e6, 1),
        "translate_s": round(translate_s, 2),
        "refused_post_to_fallback_post_ms": round(pushed["refused_post_to_fallback_post_ms"], 1),
        "kong_share_ms": round(pushed["kong_share_ms"], 1),
        "controller_share_ms": round(pushed["controller_share_ms"], 1),
        "plan_fallback_ms_median": round(statistics.median(plan_ms), 1),
        "posts": pushed["posts"],
        "left_out": pushed["left_out"],
        "left_out_expected": expected_out,
        "left_out_exact": pushed["left_out"] == expected_out,
        "config_vs_translation_without_them": {"extra": extra, "missing": missing},
    }


def table(runs: list[dict[str, Any]]) -> str:
    head = (
        f"{'sets':>6} {'body MB':>8} {'400->fallback ms':>17} {'kong ms':>8} "
        f"{'controller ms':>14} {'plan ms':>8} "
        f"{'left out exact':>15} {'extra':>6} {'missing':>8}"
    )
    lines = [head, "-" * len(head)]
    for r in runs:
        d = r["config_vs_translation_without_them"]
        lines.append(
            f"{r['sets']:>6} {r['body_mb']:>8} {r['refused_post_to_fallback_post_ms']:>17} "
            f"{r['kong_share_ms']:>8} {r['controller_share_ms']:>14} "
            f"{r['plan_fallback_ms_median']:>8} {r['left_out_exact']!s:>15} "
            f"{len(d['extra']):>6} {len(d['missing']):>8}"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", default="1000", help="comma-separated set counts (default 1000)")
    args = ap.parse_args()
    runs = [run_n(int(float(s.replace("k", "e3")))) for s in args.sets.split(",") if s]
    print(table(runs))
    for r in runs:
        d = r["config_vs_translation_without_them"]
        if d["extra"] or d["missing"]:
            print(f"{r['sets']}: extra entities {d['extra']}, missing {d['missing']}")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "fallback_latency.json"
    info = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "host": platform.node(),
        # the machine is shared: the load says how much of it this run had
        "loadavg_1_5_15": [round(x, 2) for x in os.getloadavg()],
    }
    path.write_text(json.dumps({"machine": info, "runs": runs}, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
