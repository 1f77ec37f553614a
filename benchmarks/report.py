"""The benchmark report: one PNG per family, a markdown table, ``results/summary.json``.

Reads whatever is in ``benchmarks/results/`` (``e2e.json``, ``startup.json``, ``memory.json``,
``translate.json``, ``store_memory.json``, ``churn.json``); a missing file or N leaves its cells empty and its
summary key ``null``. The table is printed, written to ``results/report.md`` and put into
``benchmarks/README.md`` between the ``<!-- report -->`` markers.

Usage: ``python benchmarks/report.py``.
"""

from __future__ import annotations

import json
import os
import platform
import re
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
README = HERE / "README.md"

#: Round 2's targets (issue 18); the round-1 ones were 15 s start-up, 1.0 s full translation,
#: 1000 ms p99.
TARGETS = {
    "e2e_p50_ms_10k": ("<=", 250.0),
    "e2e_p99_ms_10k": ("<=", 100.0),
    "startup_s_10k": ("<=", 10.0),
    "rss_mib_10k": ("<=", 200.0),
    "translate_full_s_10k": ("<=", 0.5),
    "translate_incremental_ms_10k": ("<=", 50.0),
    "startup_cpu_s_1k": ("<=", 1.9),
    "probe_p99_ms_10k": ("<=", 100.0),
    "httproute_e2e_p99_ms_10k": ("<=", 100.0),
    "rss_growth_pct_after_churn_10k": ("<=", 5.0),
    "startup_s_50k": ("<=", 60.0),
    "rss_mib_50k": ("<=", 1024.0),
    "e2e_p99_ms_50k": ("<=", 500.0),
}


def load(name: str) -> dict[str, Any]:
    path = RESULTS / name
    if not path.exists():
        return {}
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except ValueError:
        return {}
    return data


def runs_by_n(data: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {int(r["sets"]): r for r in data.get("runs", [])}


def _get(d: Any, *path: str) -> Any:
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d


def translate_rows(data: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {int(r["sets"]): r for r in data.get("rows", [])}


def translate_incremental_ms(row: dict[str, Any] | None) -> float | None:
    """The worse of the two one-change cases (EndpointSlice, Ingress), wall-clock."""
    if not row:
        return None
    vals = [row.get(k) for k in ("incr_eps_wall_ms", "incr_ingress_wall_ms")]
    nums = [float(v) for v in vals if isinstance(v, int | float)]
    return round(max(nums), 1) if nums else None


def summary(
    e2e: dict[str, Any], startup: dict[str, Any], memory: dict[str, Any], translate: dict[str, Any]
) -> dict[str, Any]:
    e = runs_by_n(e2e).get(10000)
    s = runs_by_n(startup).get(10000)
    m = runs_by_n(memory).get(10000)
    s1k = runs_by_n(startup).get(1000)
    e50k, s50k = runs_by_n(e2e).get(50000), runs_by_n(startup).get(50000)
    m50k = runs_by_n(memory).get(50000)
    t = translate_rows(translate).get(10000)
    full = t.get("full_wall_s") if t else None
    stamps = [d.get("measured_at") for d in (e2e, startup, memory) if d.get("measured_at")]
    return {
        "e2e_p50_ms_10k": _get(e, "e2e", "all", "p50_ms"),
        "e2e_p99_ms_10k": _get(e, "e2e", "all", "p99_ms"),
        "startup_s_10k": _get(s, "startup", "complete_push_s"),
        "rss_mib_10k": _get(m, "memory", "rss_mib"),
        "translate_full_s_10k": round(float(full), 3) if isinstance(full, int | float) else None,
        "translate_incremental_ms_10k": translate_incremental_ms(t),
        # round 2 (issue 18); a family not run yet leaves its key null
        "startup_cpu_s_1k": _get(s1k, "startup", "controller_cpu_s"),
        "httproute_e2e_p50_ms_10k": _get(e, "e2e_httproute", "all", "p50_ms"),
        "httproute_e2e_p99_ms_10k": _get(e, "e2e_httproute", "all", "p99_ms"),
        "startup_s_50k": _get(s50k, "startup", "complete_push_s"),
        "rss_mib_50k": _get(m50k, "memory", "rss_mib"),
        "e2e_p99_ms_50k": _get(e50k, "e2e", "all", "p99_ms"),
        "rss_growth_pct_after_churn_10k": None,
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "cpu": (e2e.get("machine") or startup.get("machine") or {}).get("cpu"),
        },
        "measured_at": max(stamps)
        if stamps
        else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def verdict(key: str, value: Any) -> str:
    if value is None:
        return "not measured"
    op, target = TARGETS[key]
    ok = value <= target if op == "<=" else value >= target
    return "met" if ok else "**missed**"


def fmt(x: Any, nd: int = 1) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{nd}f}"
    return str(x)


def markdown(
    e2e: dict[str, Any],
    startup: dict[str, Any],
    memory: dict[str, Any],
    translate: dict[str, Any],
    summ: dict[str, Any],
) -> str:
    out: list[str] = []
    out.append(
        f"Measured {summ['measured_at']} on {summ['machine']['cores']} cores "
        f"({summ['machine'].get('cpu') or '?'}), Python {summ['machine']['python']}; "
        "the machine was shared with other work, so wall times are noisy."
    )
    out += [
        "",
        "**Targets (10k sets)**",
        "",
        "| what | target | measured | |",
        "|---|---:|---:|---|",
    ]
    labels = {
        "e2e_p50_ms_10k": ("isolated change, p50", "250 ms", "ms"),
        "e2e_p99_ms_10k": ("isolated change, p99", "100 ms", "ms"),
        "startup_s_10k": ("start-up to the complete first config", "10 s", "s"),
        "rss_mib_10k": ("steady RSS", "200 MiB", "MiB"),
        "translate_full_s_10k": ("full translation", "0.5 s", "s"),
        "translate_incremental_ms_10k": ("incremental translation (worse case)", "50 ms", "ms"),
        "startup_cpu_s_1k": (
            "1k sets: CPU to the complete config (process start on)",
            "1.9 s",
            "s",
        ),
        "probe_p99_ms_10k": ("/healthz p99 during the first translation", "100 ms", "ms"),
        "httproute_e2e_p99_ms_10k": ("isolated HTTPRoute change, p99", "100 ms", "ms"),
        "rss_growth_pct_after_churn_10k": ("RSS after 1,000 churn cycles vs before", "+5 %", "%"),
        "startup_s_50k": ("50k sets: start-up to the complete config", "60 s", "s"),
        "rss_mib_50k": ("50k sets: steady RSS", "1 GiB", "MiB"),
        "e2e_p99_ms_50k": ("50k sets: isolated change, p99", "500 ms", "ms"),
    }
    for key, (label, target, unit) in labels.items():
        v = summ.get(key)
        out.append(
            f"| {label} | {target} | {fmt(v, 2 if unit == 's' else 1)} {unit if v is not None else ''} | {verdict(key, v)} |"
        )

    er = runs_by_n(e2e)
    if er:
        out += [
            "",
            "**End-to-end latency** (ms, from just before the API write to the arrival of "
            "the POST /config reflecting it; isolated samples)",
            "",
            "| sets | op | n | p50 | p95 | p99 | max | p50 from API answer | push MiB |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for n, r in sorted(er.items()):
            for op in ("create", "update", "delete", "all"):
                s = _get(r, "e2e", op) or {}
                out.append(
                    f"| {n} | {op} | {fmt(s.get('n'))} | {fmt(s.get('p50_ms'))} | {fmt(s.get('p95_ms'))} | "
                    f"{fmt(s.get('p99_ms'))} | {fmt(s.get('max_ms'))} | "
                    f"{fmt(_get(s, 'from_api', 'p50_ms'))} | {fmt(_get(r, 'push', 'body_mib'))} |"
                )
        out += [
            "",
            "**Burst** (Ingresses created with 32 writes in flight)",
            "",
            "| sets | Ingresses | writes took s | all live after s | pushes | delete all: gone after s | pushes |",
            "|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for n, r in sorted(er.items()):
            b = r.get("burst")
            if b:
                out.append(
                    f"| {n} | {b['ingresses']} | {b['writes_s']} | {b['all_live_s']} | {b['pushes']} | "
                    f"{b['delete_all_gone_s']} | {b['delete_pushes']} |"
                )
    sr = runs_by_n(startup)
    if sr:
        out += [
            "",
            "**Start-up** (s from process start; arrival at FakeKong)",
            "",
            "| sets | first push | first push answered | complete push | pushes until complete | controller CPU s | push MiB |",
            "|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for n, r in sorted(sr.items()):
            s = r.get("startup") or {}
            out.append(
                f"| {n} | {fmt(s.get('first_push_s'), 2)} | {fmt(s.get('first_push_answered_s'), 2)} | "
                f"{fmt(s.get('complete_push_s'), 2)} | {fmt(s.get('pushes_until_complete'))} | "
                f"{fmt(s.get('controller_cpu_s'), 1)} | {fmt(_get(r, 'push', 'body_mib'))} |"
            )
    mr = runs_by_n(memory)
    if mr:
        out += [
            "",
            "**Memory** (MiB; controller process; split by tracemalloc of the same objects)",
            "",
            "| sets | steady RSS | peak RSS | store | translator | rest (interpreter, libraries, watch layer, allocator slack) |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        for n, r in sorted(mr.items()):
            m = r.get("memory") or {}
            out.append(
                f"| {n} | {fmt(m.get('rss_mib'))} | {fmt(m.get('peak_rss_mib'))} | {fmt(m.get('store_mib'))} | "
                f"{fmt(m.get('translator_mib'))} | {fmt(m.get('rest_mib'))} |"
            )
    tr = translate_rows(translate)
    if tr:
        out += [
            "",
            "**Translation** (from `translate.py`, the translator's benchmark; wall, CPU in brackets)",
            "",
            "| sets | full s | incremental EndpointSlice ms | incremental Ingress ms | JSON MB |",
            "|---:|---:|---:|---:|---:|",
        ]
        for n, r in sorted(tr.items()):
            out.append(
                f"| {n} | {fmt(r.get('full_wall_s'), 3)} ({fmt(r.get('full_cpu_s'), 3)}) | "
                f"{fmt(r.get('incr_eps_wall_ms'))} ({fmt(r.get('incr_eps_cpu_ms'))}) | "
                f"{fmt(r.get('incr_ingress_wall_ms'))} ({fmt(r.get('incr_ingress_cpu_ms'))}) | "
                f"{fmt(r.get('json_mb'))} |"
            )
    return "\n".join(out)


def plots(
    e2e: dict[str, Any], startup: dict[str, Any], memory: dict[str, Any], translate: dict[str, Any]
) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made: list[Path] = []

    def save(fig: Any, name: str) -> None:
        path = RESULTS / name
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        made.append(path)

    er = runs_by_n(e2e)
    if er:
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4))
        ns = sorted(er)
        xs = [str(n) for n in ns]
        for q, style in (("p50_ms", "o-"), ("p95_ms", "s--"), ("p99_ms", "^:")):
            ax.plot(
                xs, [_get(er[n], "e2e", "all", q) for n in ns], style, label=q.replace("_ms", "")
            )
        ax.axhline(250, color="green", lw=0.8, ls="--", label="p50 target")
        ax.axhline(1000, color="red", lw=0.8, ls="--", label="p99 target")
        ax.set_xlabel("background sets")
        ax.set_ylabel("ms, API write -> Kong")
        ax.set_title("isolated change (create/update/delete)")
        ax.legend(fontsize=8)
        for op in ("create", "update", "delete"):
            for n in ns:
                vals = [s["ms"] for s in (_get(er[n], "e2e", "samples", op) or [])]
                ax2.scatter([f"{n}\n{op}"] * len(vals), vals, s=8, alpha=0.5)
        ax2.set_ylabel("ms")
        ax2.set_title("every sample")
        ax2.tick_params(axis="x", labelsize=7)
        save(fig, "e2e.png")
    sr = runs_by_n(startup)
    if sr:
        fig, ax = plt.subplots(figsize=(6, 4))
        ns = sorted(sr)
        xs = [str(n) for n in ns]
        ax.plot(xs, [_get(sr[n], "startup", "first_push_s") for n in ns], "o-", label="first push")
        ax.plot(
            xs, [_get(sr[n], "startup", "complete_push_s") for n in ns], "s-", label="complete push"
        )
        ax.axhline(15, color="red", lw=0.8, ls="--", label="target at 10k")
        ax.set_xlabel("sets in the cluster")
        ax.set_ylabel("s from process start")
        ax.set_title("start-up")
        ax.legend(fontsize=8)
        save(fig, "startup.png")
    mr = runs_by_n(memory)
    if mr:
        fig, ax = plt.subplots(figsize=(6, 4))
        ns = sorted(mr)
        xs = [str(n) for n in ns]
        store = [_get(mr[n], "memory", "store_mib") or 0 for n in ns]
        trans = [_get(mr[n], "memory", "translator_mib") or 0 for n in ns]
        rest = [
            _get(mr[n], "memory", "rest_mib") or _get(mr[n], "memory", "rss_mib") or 0 for n in ns
        ]
        ax.bar(xs, store, label="store")
        ax.bar(xs, trans, bottom=store, label="translator")
        ax.bar(xs, rest, bottom=[a + b for a, b in zip(store, trans, strict=True)], label="rest")
        ax.plot(xs, [_get(mr[n], "memory", "peak_rss_mib") for n in ns], "k^", label="peak RSS")
        ax.axhline(200, color="red", lw=0.8, ls="--", label="target at 10k")
        ax.set_xlabel("sets")
        ax.set_ylabel("MiB")
        ax.set_title("controller RSS")
        ax.legend(fontsize=8)
        save(fig, "memory.png")
    push = {n: _get(r, "push", "body_mib") for n, r in sorted((sr or mr or er).items())}
    if push:
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot([str(n) for n in push], list(push.values()), "o-")
        ax.axhline(10, color="red", lw=0.8, ls="--", label="Kong's default body limit (10 MiB)")
        ax.set_xlabel("sets")
        ax.set_ylabel("MiB per POST /config")
        ax.set_title("push size")
        ax.legend(fontsize=8)
        save(fig, "push_size.png")
    tr = translate_rows(translate)
    if tr:
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4))
        ns = sorted(tr)
        xs = [str(n) for n in ns]
        ax.plot(xs, [tr[n].get("full_wall_s") for n in ns], "o-", label="wall")
        ax.plot(xs, [tr[n].get("full_cpu_s") for n in ns], "s--", label="CPU")
        ax.axhline(1.0, color="red", lw=0.8, ls="--", label="target at 10k")
        ax.set_title("full translation (s)")
        ax.set_xlabel("sets")
        ax.legend(fontsize=8)
        ax2.plot(xs, [tr[n].get("incr_eps_wall_ms") for n in ns], "o-", label="EndpointSlice")
        ax2.plot(xs, [tr[n].get("incr_ingress_wall_ms") for n in ns], "s-", label="Ingress")
        ax2.axhline(50, color="red", lw=0.8, ls="--", label="target at 10k")
        ax2.set_title("incremental translation (ms)")
        ax2.set_xlabel("sets")
        ax2.legend(fontsize=8)
        save(fig, "translate.png")
    return made


def churn_markdown(churn: dict[str, Any]) -> str:
    """The churn benchmark's rows (``churn.py``): RSS before/after N create/update/delete cycles."""
    rows = runs_by_n(churn)
    if not rows:
        return ""
    out = [
        "",
        "",
        "**Churn** (RSS MiB of the controller before and after create/update/delete cycles of "
        "one Ingress; `churn.py`)",
        "",
        "| sets | cycles | before | after | growth | peak | curve (cycles: MiB) |",
        "|---:|---:|---:|---:|---:|---:|---|",
    ]
    for n, r in sorted(rows.items()):
        c = r.get("churn") or {}
        curve = ", ".join(f"{p['cycles']}: {p['rss_mib']}" for p in c.get("curve", []))
        out.append(
            f"| {n} | {fmt(c.get('cycles'))} | {fmt(c.get('rss_before_mib'))} | "
            f"{fmt(c.get('rss_after_mib'))} | {fmt(c.get('growth_pct'))} % | "
            f"{fmt(c.get('peak_rss_mib'))} | {curve} |"
        )
    return "\n".join(out)


def main() -> None:
    e2e, startup, memory = load("e2e.json"), load("startup.json"), load("memory.json")
    translate = load("translate.json")
    summ = summary(e2e, startup, memory, translate)
    # probe latency during start-up (probe_latency.py): kept when the report is rebuilt
    probe = runs_by_n(load("probe_latency.json")).get(10000)
    summ["probe_p99_ms_10k"] = _get(probe, "probe", "translation", "p99_ms")
    # admission webhook (admission_latency.py, largest N) and one hostile case at a time
    # (hostile_latency.py): written by those scripts, kept here when the report is rebuilt
    admission = runs_by_n(load("admission_latency.json"))
    if admission:
        biggest = admission[max(admission)]
        summ["admission_p50_ms"] = _get(biggest, "direct_allowed", "p50_ms")
        summ["admission_p99_ms"] = _get(biggest, "direct_allowed", "p99_ms")
        summ["admission_sets"] = max(admission)
    churn = load("churn.json")
    summ["rss_growth_pct_after_churn_10k"] = churn.get("rss_growth_pct_after_churn_10k")
    for key, value in churn.items():  # shorter 10k runs, kept by their cycle count
        if key.startswith("rss_growth_pct_after_") and key.endswith("_churn_10k"):
            summ[key] = value
    hostile = load("hostile_latency.json")
    summ["hostile_case_p50_ms"] = _get(hostile, "stats", "p50_ms")
    summ["hostile_case_p99_ms"] = _get(hostile, "stats", "p99_ms")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "summary.json").write_text(json.dumps(summ, indent=2) + "\n")
    table = markdown(e2e, startup, memory, translate, summ) + churn_markdown(churn)
    (RESULTS / "report.md").write_text(table + "\n")
    made = plots(e2e, startup, memory, translate)
    if README.exists():
        text = README.read_text()
        new = re.sub(
            r"<!-- report -->.*<!-- /report -->",
            lambda _: f"<!-- report -->\n{table}\n<!-- /report -->",
            text,
            flags=re.S,
        )
        if new != text:
            README.write_text(new)
    print(table)
    print(
        "\nwritten: "
        + ", ".join(
            str(p.relative_to(HERE))
            for p in [RESULTS / "summary.json", RESULTS / "report.md", *made]
        )
    )


if __name__ == "__main__":
    main()
