"""Hostile objects of every kind the translator reads: it never raises, and stays incremental.

Where ``test_properties`` garbles one field with a value of the wrong type, these worlds are
written by an attacker: several fields of each object (at any depth, ``metadata`` included)
replaced by huge, deep, non-finite, out-of-range or non-UTF-8 values; every annotation the
translator reads set to hostile text; plugin-config Secrets holding alias bombs, deep JSON,
NaN or integers beyond 64 bits. Properties: ``translate_objects`` returns (never raises) a
canonical body, and an incremental translation equals the full one after any batch of changes.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import any_object, key_of, ns_s

from kic_trio._deltas import Delete, Upsert
from kic_trio.models import parse
from kic_trio.store import Store
from kic_trio.translator import Translator, TranslatorOptions, translate_objects

OPTS = TranslatorOptions(rewrite_uris=True, kong_service_facade=True)
SETTINGS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Every annotation the translator reads (models and translator), plus a few it should ignore.
ANNOTATIONS = [
    "ingress.kubernetes.io/force-ssl-redirect",
    "ingress.kubernetes.io/service-upstream",
    "kubernetes.io/ingress.class",
    "konghq.com/ca-certificates-secrets",
    "konghq.com/client-cert",
    "konghq.com/connect-timeout",
    "konghq.com/headers-separator",
    "konghq.com/headers.x-a",
    "konghq.com/headers.",
    "konghq.com/host-aliases",
    "konghq.com/host-header",
    "konghq.com/https-redirect-status-code",
    "konghq.com/methods",
    "konghq.com/path",
    "konghq.com/path-handling",
    "konghq.com/plugins",
    "konghq.com/preserve-host",
    "konghq.com/protocol",
    "konghq.com/protocols",
    "konghq.com/read-timeout",
    "konghq.com/regex-prefix",
    "konghq.com/regex-priority",
    "konghq.com/request-buffering",
    "konghq.com/response-buffering",
    "konghq.com/retries",
    "konghq.com/rewrite",
    "konghq.com/snis",
    "konghq.com/strip-path",
    "konghq.com/tags",
    "konghq.com/tls-verify",
    "konghq.com/tls-verify-depth",
    "konghq.com/upstream-policy",
    "konghq.com/write-timeout",
    "ingressclass.kubernetes.io/is-default-class",
]


def _deep(depth: int, leaf: Any, as_list: bool) -> Any:
    node = leaf
    for _ in range(depth):
        node = [node] if as_list else {"a": node}
    return node


def _alias_bomb(levels: int) -> str:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i in range(levels):
        prev, cur = chr(97 + i), chr(98 + i)
        lines.append(f"{cur}: &{cur} [" + ",".join(f"*{prev}" for _ in range(9)) + "]")
    return "\n".join(lines)


hostile_text = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            ",",
            ",,,",
            "\x00",
            "a\r\nb",
            "\udcff",
            "a" * 70_000,
            "x" * 253 + ".example.com",
            "a" * 34 + "!",
            "*.*.*",
            "../../team-b/secrets/victim",
            "-1",
            "99999999999999999999999",
            "9223372036854775808",
            "2147483648",
            "1e400",
            "NaN",
            "/$99999999999999999999",
            "~/(a+)+$",
            "GET," * 2000,
            "p1," * 3000,
            "a:1," * 1000,
        ]
    ),
    st.text(max_size=40),
)

hostile_scalar = st.one_of(
    st.sampled_from(
        [
            2**63,
            -(2**63) - 1,
            2**64,
            10**30,
            -1,
            0,
            float("nan"),
            float("inf"),
            float("-inf"),
            1e308,
            True,
            None,
        ]
    ),
    st.integers(),
    st.floats(),
    hostile_text,
)


@st.composite
def hostile_value(draw: Any) -> Any:
    """Any value an attacker can write: scalars, wrong shapes, deep nests, wide lists."""
    choice = draw(st.integers(0, 9))
    if choice <= 4:
        return draw(hostile_scalar)
    if choice == 5:
        depth = draw(st.sampled_from([65, 300, 1500, 5000]))
        return _deep(depth, draw(hostile_scalar), draw(st.booleans()))
    if choice == 6:
        return [draw(hostile_scalar)] * draw(st.sampled_from([0, 1, 10_000]))
    if choice == 7:
        return {draw(hostile_text): draw(hostile_scalar) for _ in range(draw(st.integers(0, 3)))}
    if choice == 8:
        return draw(st.lists(st.dictionaries(st.text(max_size=5), hostile_scalar), max_size=3))
    return draw(st.sampled_from([{}, [], "", [{}], [[]], {"": None}]))


hostile_bytes = st.one_of(
    st.binary(max_size=64),
    st.sampled_from(
        [
            b"\xff\xfe",
            b"-----BEGIN CERTIFICATE-----\n\xff\n-----END CERTIFICATE-----\n",
            b'{"a": NaN}',
            b'{"a": Infinity}',
            b'{"a": 18446744073709551616}',
            b"9223372036854775808",
            b'{"a":' * 400 + b"1" + b"}" * 400,
            b"[" * 100_000 + b"]" * 100_000,
            _alias_bomb(9).encode(),
            b"a: &x 1\nb: *x\n",
            b"!!python/object/apply:os.system ['true']",
            b"{" + b'"k": 1,' * 10 + b"}",
            b"a: 2001-01-01\n",
            b"? [a, b]\n: 1\n",
        ]
    ),
)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


#: ``any_object`` draws every registered kind (test_kind_registry.py checks it).
base_object = any_object


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Field paths of an object, down to 8 levels (hostile values already there stay unwalked)."""
    out: list[tuple[Any, ...]] = []
    if len(prefix) >= 8:
        return out
    if isinstance(node, dict):
        for k, v in node.items():
            if prefix == () and k in ("kind",):
                continue
            out.append((*prefix, k))
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node[:5]):
            out.append((*prefix, i))
            out.extend(_paths(v, (*prefix, i)))
    return out


@st.composite
def hostile_object(draw: Any) -> dict[str, Any]:
    """A plausible object of some kind with several fields (any depth) made hostile."""
    obj = draw(base_object)
    for _ in range(draw(st.integers(0, 4))):
        paths = _paths(obj)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        node = obj
        for p in path[:-1]:
            node = node[p]
        node[path[-1]] = draw(hostile_value())
    meta = obj.get("metadata")
    if isinstance(meta, dict) and draw(st.booleans()):
        ann = meta.get("annotations")
        if not isinstance(ann, dict):
            ann = meta["annotations"] = {}
        for key in draw(st.lists(st.sampled_from(ANNOTATIONS), max_size=4)):
            ann[key] = draw(hostile_text)
        if obj["kind"] == "Secret" and draw(st.booleans()):
            labels = meta.get("labels")
            if not isinstance(labels, dict):
                labels = meta["labels"] = {}
            labels[draw(st.sampled_from(["konghq.com/ca-cert", "konghq.com/credential"]))] = draw(
                st.sampled_from(["true", "key-auth", "basic-auth", "acl", "jwt", ""])
            )
    if obj["kind"] == "Secret" and draw(st.booleans()):
        data = obj.get("data")
        if not isinstance(data, dict):
            data = obj["data"] = {}
        for key in draw(
            st.lists(st.sampled_from(["conf", "v", "cert", "ca.crt", "id", "key", "tls.crt"]))
        ):
            data[key] = _b64(draw(hostile_bytes))
    if obj["kind"] in ("KongPlugin", "KongClusterPlugin") and draw(st.booleans()):
        ref: dict[str, Any] = {"name": draw(st.sampled_from(["x", "y"])), "key": "v"}
        if obj["kind"] == "KongClusterPlugin":
            ref["namespace"] = draw(ns_s)
        obj["configPatches"] = [
            {"path": draw(hostile_text.map(lambda t: "/" + t)), "valueFrom": {"secretKeyRef": ref}}
        ]
    return obj


def _key(obj: dict[str, Any]) -> tuple[str, str, str]:
    try:
        return key_of(obj)
    except (TypeError, KeyError):
        return (str(obj.get("kind")), "", "")


hostile_world = st.lists(hostile_object(), max_size=12, unique_by=_key)


@SETTINGS
@given(objs=hostile_world)
def test_hostile_objects_never_raise(objs: list[dict[str, Any]]) -> None:
    result = translate_objects(objs, OPTS)
    config = orjson.loads(result.body)
    assert config["_format_version"] == "3.0"
    assert orjson.dumps(config, option=orjson.OPT_SORT_KEYS) == result.body
    for failure in result.failures:
        assert failure.reason
        # the guard names an exception's type, never its text (it may quote a value)
        assert "\udcff" not in failure.reason


def _upsert(store: Store, raw: dict[str, Any]) -> None:
    kind = raw.get("kind")
    if isinstance(kind, str):
        store.apply(Upsert(kind, parse(kind, raw)))


@SETTINGS
@given(
    initial=hostile_world,
    batches=st.lists(
        st.lists(
            st.one_of(
                st.tuples(st.just("upsert"), hostile_object()),
                st.tuples(st.just("upsert"), base_object),
                # what the store holds when a parser crashes: an UnknownObject under the kind
                st.tuples(st.just("unparsed"), base_object),
                st.tuples(st.just("delete"), st.integers(0, 1000)),
            ),
            min_size=1,
            max_size=3,
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_hostile_incremental_equals_full(
    initial: list[dict[str, Any]], batches: list[list[tuple[str, Any]]]
) -> None:
    store = Store()
    for raw in initial:
        _upsert(store, raw)
    incremental = Translator(OPTS)
    incremental.translate(store.snapshot())
    store.take_changes()
    for batch in batches:
        for op, arg in batch:
            if op == "upsert":
                _upsert(store, arg)
            elif op == "unparsed":
                store.apply(Upsert(arg["kind"], parse("NotAKind", arg)))
            else:
                held = sorted(
                    (kind, m.ref.namespace, m.ref.name) for kind, m in store.snapshot().all()
                )
                if held:
                    store.apply(Delete(*held[arg % len(held)]))
        snap = store.snapshot()
        got = incremental.translate(snap, store.take_changes())
        want = Translator(OPTS).translate(snap)
        assert got.body == want.body
        assert got.failures == want.failures
        assert got.configured == want.configured
        assert dict(got.status) == dict(want.status)
