"""Shared pieces of the reliability suite: the mode, the summary, cluster access, the
independent "what Kong should hold" computation, and log capture.

Nothing here asserts: the tests do. Everything that talks to a server is plain async code the
tests wrap in their own ``trio.fail_after``.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import secrets
import ssl
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import httpx
import orjson
import trio
import yaml

import kic_trio
from kic_trio.testing._apply import collection_path
from kic_trio.translator import TranslatorOptions, translate_objects

#: ``short`` (CI, a few minutes) or ``long`` (``nox -s soak``).
MODE = os.environ.get("KIC_TRIO_RELIABILITY", "short").strip().lower() or "short"
if MODE not in ("short", "long"):
    MODE = "short"
LONG = MODE == "long"

#: Kinds the churn and the corpus write, per namespace.
NAMESPACED_KINDS = (
    "Ingress",
    "Service",
    "EndpointSlice",
    "Secret",
    "KongPlugin",
    "KongConsumer",
    "KongConsumerGroup",
    "KongUpstreamPolicy",
    "IngressClassParameters",
)
#: Cluster-scoped kinds the controller watches whatever its namespaces.
CLUSTER_KINDS = ("IngressClass", "KongClusterPlugin")


def seed_from_env(default: int | None = None) -> int:
    """``KIC_TRIO_RELIABILITY_SEED`` when set, else a fresh random seed (printed on failure)."""
    raw = os.environ.get("KIC_TRIO_RELIABILITY_SEED", "").strip()
    if raw:
        return int(raw, 0)
    return default if default is not None else secrets.randbits(32)


# --------------------------------------------------------------------------------------------
# the summary table


@attrs.define
class Section:
    """What one reliability test reports."""

    name: str
    operations: int = 0
    objects: int = 0
    faults: collections.Counter[str] = attrs.field(factory=collections.Counter)
    longest_convergence_s: float | None = None
    objects_lost: int = 0
    objects_phantom: int = 0
    notes: dict[str, Any] = attrs.field(factory=dict)

    def converged_in(self, seconds: float) -> None:
        if self.longest_convergence_s is None or seconds > self.longest_convergence_s:
            self.longest_convergence_s = seconds


@attrs.define
class Summary:
    mode: str
    sections: dict[str, Section] = attrs.field(factory=dict)

    def section(self, name: str) -> Section:
        return self.sections.setdefault(name, Section(name))

    def as_dict(self) -> dict[str, Any]:
        faults: collections.Counter[str] = collections.Counter()
        for s in self.sections.values():
            faults.update(s.faults)
        conv = [
            s.longest_convergence_s
            for s in self.sections.values()
            if s.longest_convergence_s is not None
        ]
        return {
            "mode": self.mode,
            "totals": {
                "operations": sum(s.operations for s in self.sections.values()),
                "objects": sum(s.objects for s in self.sections.values()),
                "faults": dict(sorted(faults.items())),
                "longest_convergence_s": max(conv) if conv else None,
                "objects_lost": sum(s.objects_lost for s in self.sections.values()),
                "objects_phantom": sum(s.objects_phantom for s in self.sections.values()),
            },
            "sections": {
                name: {
                    "operations": s.operations,
                    "objects": s.objects,
                    "faults": dict(sorted(s.faults.items())),
                    "longest_convergence_s": s.longest_convergence_s,
                    "objects_lost": s.objects_lost,
                    "objects_phantom": s.objects_phantom,
                    "notes": s.notes,
                }
                for name, s in sorted(self.sections.items())
            },
        }

    def table(self) -> str:
        data = self.as_dict()
        head = ("test", "ops", "objects", "faults", "longest conv.", "lost", "phantom")
        rows: list[tuple[str, ...]] = [head]

        def fmt_conv(v: float | None) -> str:
            return "-" if v is None else f"{v:.2f} s"

        for name, s in data["sections"].items():
            faults = ", ".join(f"{k}={v}" for k, v in s["faults"].items()) or "-"
            rows.append(
                (
                    name,
                    str(s["operations"]),
                    str(s["objects"]),
                    faults,
                    fmt_conv(s["longest_convergence_s"]),
                    str(s["objects_lost"]),
                    str(s["objects_phantom"]),
                )
            )
        t = data["totals"]
        rows.append(
            (
                f"TOTAL ({self.mode})",
                str(t["operations"]),
                str(t["objects"]),
                ", ".join(f"{k}={v}" for k, v in t["faults"].items()) or "-",
                fmt_conv(t["longest_convergence_s"]),
                str(t["objects_lost"]),
                str(t["objects_phantom"]),
            )
        )
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        lines = []
        for i, r in enumerate(rows):
            lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
            if i == 0 or i == len(rows) - 2:
                lines.append("  ".join("-" * w for w in widths))
        for name, s in data["sections"].items():
            if s["notes"]:
                lines.append(f"{name}: " + ", ".join(f"{k}={v}" for k, v in s["notes"].items()))
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# cluster access


def client_for_kubeconfig(path: Path, **kwargs: Any) -> httpx.AsyncClient:
    """An httpx client for a client-certificate kubeconfig (``ControlPlane.extra_apiserver``)."""
    doc = yaml.safe_load(path.read_text())
    cluster = doc["clusters"][0]["cluster"]
    user = doc["users"][0]["user"]
    ctx = ssl.create_default_context(cafile=cluster["certificate-authority"])
    ctx.load_cert_chain(user["client-certificate"], user["client-key"])
    kwargs.setdefault("timeout", 10.0)
    return httpx.AsyncClient(base_url=cluster["server"], verify=ctx, **kwargs)


async def create_namespace(client: httpx.AsyncClient, prefix: str = "r") -> str:
    name = f"{prefix}-{secrets.token_hex(4)}"
    r = await client.post("/api/v1/namespaces", json={"metadata": {"name": name}})
    r.raise_for_status()
    return name


async def get_retrying(client: httpx.AsyncClient, path: str, attempts: int = 100) -> httpx.Response:
    """GET, retried while the API server is (re)starting: connection errors, 429, 5xx."""
    for attempt in range(attempts):
        try:
            r = await client.get(path)
        except httpx.TransportError:
            if attempt == attempts - 1:
                raise
        else:
            if r.status_code != 429 and r.status_code < 500:
                return r
            if attempt == attempts - 1:
                return r
        await trio.sleep(0.2)
    raise AssertionError("unreachable")


async def list_objects(
    client: httpx.AsyncClient, namespaces: Iterable[str]
) -> list[dict[str, Any]]:
    """A fresh list of every object the controller could see in ``namespaces`` (plus the
    cluster-scoped kinds), as raw dicts with ``kind``/``apiVersion`` filled in."""
    from kic_trio.models import KINDS

    out: list[dict[str, Any]] = []

    async def one(kind: str, ns: str | None) -> None:
        r = await get_retrying(client, collection_path(kind, ns))
        if r.status_code == 404:  # a CRD that is not installed
            return
        r.raise_for_status()
        info = KINDS[kind]
        api_version = f"{info.group}/{info.version}" if info.group else info.version
        for item in r.json().get("items", []):
            item["kind"] = kind
            item["apiVersion"] = api_version
            out.append(item)

    for kind in CLUSTER_KINDS:
        await one(kind, None)
    for ns in namespaces:
        for kind in NAMESPACED_KINDS:
            await one(kind, ns)
    return out


def expected_translation(cfg: kic_trio.Config, objects: Iterable[Mapping[str, Any]]) -> Any:
    """The offline translator's answer for ``objects``: what every gateway must hold."""
    return translate_objects(list(objects), TranslatorOptions.from_config(cfg))


def entity_keys(config: Mapping[str, Any]) -> set[tuple[str, str]]:
    """``(collection, identity)`` of every entity in a declarative config, nested ones too.

    Identity is the entity's id when it has one, else its name/username/key, else its JSON.
    Used to name what is lost (expected, absent) and phantom (present, not expected).
    """
    keys: set[tuple[str, str]] = set()

    def walk(collection: str, items: Any) -> None:
        if not isinstance(items, list):
            return
        for e in items:
            if not isinstance(e, dict):
                continue
            ident = e.get("id") or e.get("name") or e.get("username") or e.get("key")
            if ident is None:
                shallow = {k: v for k, v in e.items() if not isinstance(v, list | dict)}
                ident = orjson.dumps(shallow, option=orjson.OPT_SORT_KEYS).decode()
            keys.add((collection, str(ident)))
            for k, v in e.items():
                if isinstance(v, list) and v and isinstance(v[0], dict):
                    walk(k, v)

    for k, v in config.items():
        if not k.startswith("_"):
            walk(k, v)
    return keys


def entity_objects(config: Mapping[str, Any]) -> dict[tuple[str, str], set[str]]:
    """``(collection, identity)`` -> the Kubernetes objects (``Kind ns/name`` from the
    entity's ``k8s-*`` tags) behind each entity: names what a lost/phantom entity came from."""
    out: dict[tuple[str, str], set[str]] = {}

    def walk(collection: str, items: Any) -> None:
        if not isinstance(items, list):
            return
        for e in items:
            if not isinstance(e, dict):
                continue
            ident = e.get("id") or e.get("name") or e.get("username") or e.get("key")
            tags = {
                t.split(":", 1)[0]: t.split(":", 1)[1]
                for t in e.get("tags") or []
                if isinstance(t, str) and ":" in t
            }
            if ident is not None and "k8s-name" in tags:
                out.setdefault((collection, str(ident)), set()).add(
                    f"{tags.get('k8s-kind')} {tags.get('k8s-namespace')}/{tags['k8s-name']}"
                )
            for k, v in e.items():
                if isinstance(v, list) and v and isinstance(v[0], dict):
                    walk(k, v)

    for k, v in config.items():
        if not k.startswith("_"):
            walk(k, v)
    return out


def config_of(body: bytes) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(body)
    return data


def describe_difference(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> str:
    lost = sorted(entity_keys(expected) - entity_keys(actual))
    phantom = sorted(entity_keys(actual) - entity_keys(expected))
    lines = [f"lost {len(lost)}: {lost[:10]}", f"phantom {len(phantom)}: {phantom[:10]}"]
    if not lost and not phantom:
        exp = json.dumps(expected, sort_keys=True, indent=1).splitlines()
        act = json.dumps(actual, sort_keys=True, indent=1).splitlines()
        import difflib

        diff = list(difflib.unified_diff(exp, act, "expected", "kong", n=2, lineterm=""))
        lines.append("same entities, different content:\n" + "\n".join(diff[:60]))
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Events


async def list_events(client: httpx.AsyncClient, namespace: str) -> list[dict[str, Any]]:
    """Core v1 and events.k8s.io Events in ``namespace``, normalised to core v1's fields."""
    out: list[dict[str, Any]] = []
    r = await client.get(f"/api/v1/namespaces/{namespace}/events")
    r.raise_for_status()
    out.extend(r.json().get("items", []))
    r = await client.get(f"/apis/events.k8s.io/v1/namespaces/{namespace}/events")
    if r.status_code == 200:
        for e in r.json().get("items", []):
            regarding = e.get("regarding") or {}
            if any(
                o.get("metadata", {}).get("uid") == e.get("metadata", {}).get("uid") for o in out
            ):
                continue  # the same object seen through both APIs
            out.append(
                {
                    "metadata": e.get("metadata", {}),
                    "involvedObject": regarding,
                    "type": e.get("type"),
                    "reason": e.get("reason"),
                    "message": e.get("note", ""),
                }
            )
    return out


# --------------------------------------------------------------------------------------------
# logs


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=1)
        self.records: list[logging.LogRecord] = []
        self.texts: list[str] = []
        self._fmt = logging.Formatter("%(levelname)s %(name)s %(message)s")

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        try:
            text = self._fmt.format(record)
        except Exception as e:  # a bad format string is itself worth seeing
            text = f"<unformattable record {record.msg!r}: {e}>"
        extras = {
            k: v for k, v in vars(record).items() if k not in _STD_ATTRS and not k.startswith("_")
        }
        if extras:
            text += " " + repr(extras)
        self.texts.append(text)

    def find(self, needle: str) -> list[str]:
        return [t for t in self.texts if needle in t]


_STD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


@contextmanager
def capture_all_logs() -> Iterator[_Capture]:
    """Every log record of every logger, at every level (trace included), formatted with its
    extras and tracebacks, while the block runs."""
    handler = _Capture()
    root = logging.getLogger()
    old_level = root.level
    # loggers with their own level would filter before the root handler sees anything
    touched: list[tuple[logging.Logger, int]] = []
    for name in ("kic_trio", "httpx", "httpcore", "hypercorn", "kr8s", "trio"):
        lg = logging.getLogger(name)
        touched.append((lg, lg.level))
        lg.setLevel(1)
    root.addHandler(handler)
    root.setLevel(1)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        for lg, level in touched:
            lg.setLevel(level)


def controller_config(kubeconfig: Path, **overrides: Any) -> kic_trio.Config:
    """A Config for tests: loopback ports 0, quick start-up retries, fast pushes."""
    values: dict[str, Any] = {
        "kubeconfig": str(kubeconfig),
        "health_probe_bind_address": "127.0.0.1:0",
        "metrics_bind_address": "127.0.0.1:0",
        "proxy_sync_seconds": 0.2,
        "kong_admin_init_retries": 20,
        "kong_admin_init_retry_delay": 0.2,
        "kong_status_check_interval": 0.5,
    }
    values.update(overrides)
    return kic_trio.Config(**values)


def metric_total(controller: kic_trio.Controller, name: str) -> float:
    """Sum of a metric's samples over all label values (0 when absent)."""
    total = 0.0
    for family in controller.metrics_registry.collect():
        for sample in family.samples:
            if sample.name == name:
                total += float(sample.value)
    return total
