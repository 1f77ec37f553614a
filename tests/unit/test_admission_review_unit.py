"""The admission webhook without network: AdmissionReview in and out, the decision (one code
path with the translator), the ASGI app's bounds, TLS material and the flags."""

from __future__ import annotations

import base64
import threading
from collections.abc import MutableMapping
from typing import Any

import orjson
import pytest
import trio
import trio.testing

import kic_trio
from kic_trio._deltas import Delete, Upsert
from kic_trio.admission import (
    MAX_BODY,
    AdmissionChecker,
    AdmissionHandler,
    ReviewError,
    admission_app,
    parse_review,
    review_answer,
    tls_context,
)
from kic_trio.models import parse
from kic_trio.store import Store
from kic_trio.testing.fakekong import TestCA
from kic_trio.translator import TranslatorOptions

NS = "team-a"
SECRET_VALUE = "s3cr3t-api-key-value"


def plugin(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "configuration.konghq.com/v1",
        "kind": "KongPlugin",
        "metadata": {"name": name, "namespace": NS},
        **spec,
    }


def consumer(name: str, username: str, *credentials: str) -> dict[str, Any]:
    return {
        "apiVersion": "configuration.konghq.com/v1",
        "kind": "KongConsumer",
        "metadata": {
            "name": name,
            "namespace": NS,
            "annotations": {"kubernetes.io/ingress.class": "kong"},
        },
        "username": username,
        "credentials": list(credentials),
    }


def key_secret(name: str, key: str | None = SECRET_VALUE) -> dict[str, Any]:
    data = {"key": base64.b64encode(key.encode()).decode()} if key is not None else {}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": NS,
            "labels": {"konghq.com/credential": "key-auth"},
        },
        "data": data,
    }


def ingress(name: str, annotations: dict[str, str], ingress_class: str = "kong") -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "namespace": NS, "annotations": annotations},
        "spec": {
            "ingressClassName": ingress_class,
            "rules": [
                {
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "svc", "port": {"number": 80}}},
                            }
                        ]
                    }
                }
            ],
        },
    }


def review(obj: dict[str, Any] | None, *, operation: str = "CREATE", uid: str = "u-1") -> bytes:
    group, _, version = (obj or {}).get("apiVersion", "v1").rpartition("/")
    return orjson.dumps(
        {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {
                "uid": uid,
                "kind": {
                    "group": group,
                    "version": version,
                    "kind": (obj or {}).get("kind", "KongPlugin"),
                },
                "operation": operation,
                "namespace": NS,
                "name": (obj or {}).get("metadata", {}).get("name", ""),
                "object": obj,
            },
        }
    )


def store_with(*raws: dict[str, Any]) -> Store:
    store = Store()
    for raw in raws:
        store.apply(Upsert(raw["kind"], parse(raw["kind"], raw)))
    return store


@pytest.fixture
def checker() -> AdmissionChecker:
    return AdmissionChecker(TranslatorOptions())


# --- AdmissionReview ---------------------------------------------------------------------------


def test_review_request_is_parsed_and_the_namespace_filled_in_from_the_request() -> None:
    raw = plugin("p", plugin="key-auth")
    del raw["metadata"]["namespace"]  # kubectl create -n sends it in the URL only
    req = parse_review(review(raw))
    assert (req.uid, req.group, req.kind, req.operation) == (
        "u-1",
        "configuration.konghq.com",
        "KongPlugin",
        "CREATE",
    )
    assert req.obj is not None and req.obj["metadata"]["namespace"] == NS


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"{not json", "not JSON"),
        (b"[]", "not a JSON object"),
        (orjson.dumps({"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview"}), "v1"),
        (
            orjson.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}),
            "no request",
        ),
        (
            orjson.dumps(
                {
                    "apiVersion": "admission.k8s.io/v1",
                    "kind": "AdmissionReview",
                    "request": {"uid": ""},
                }
            ),
            "uid",
        ),
    ],
)
def test_a_body_that_is_no_review_is_refused_with_the_reason(body: bytes, why: str) -> None:
    with pytest.raises(ReviewError, match=why):
        parse_review(body)


def test_answers_are_admission_reviews_with_the_uid_and_a_message_on_refusal() -> None:
    ok = orjson.loads(review_answer("abc", True))
    assert ok == {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "response": {"uid": "abc", "allowed": True},
    }
    no = orjson.loads(review_answer("abc", False, "because"))["response"]
    assert no["allowed"] is False and no["status"] == {
        "code": 400,
        "message": "because",
        "reason": "BadRequest",
    }


# --- the decision ------------------------------------------------------------------------------


def test_a_plugin_whose_config_cannot_be_built_is_refused_even_unreferenced(
    checker: AdmissionChecker,
) -> None:
    snap = Store().snapshot()
    bad = plugin(
        "rl", plugin="rate-limiting", configFrom={"secretKeyRef": {"name": "gone", "key": "k"}}
    )
    verdict = checker.check(snap, "KongPlugin", bad)
    assert not verdict.allowed
    assert verdict.message.startswith(f"KongPlugin {NS}/rl would not be configured in Kong: ")
    assert (
        "could not build the plugin configuration" in verdict.message and "gone" in verdict.message
    )
    good = plugin("ka", plugin="key-auth", config={"key_names": ["apikey"]})
    assert checker.check(snap, "KongPlugin", good).allowed


def test_plugin_parse_failures_are_refused_with_their_field(checker: AdmissionChecker) -> None:
    verdict = checker.check(
        Store().snapshot(), "KongPlugin", plugin("x", plugin="acl", config="text")
    )
    assert not verdict.allowed and "(field config)" in verdict.message
    verdict = checker.check(Store().snapshot(), "KongPlugin", plugin("y", config={}))
    assert not verdict.allowed and "(field plugin)" in verdict.message


def test_consumer_credentials_missing_invalid_or_duplicate_are_refused(
    checker: AdmissionChecker,
) -> None:
    snap = store_with(key_secret("cred-a"), consumer("alice", "alice", "cred-a")).snapshot()
    # the Secret does not exist
    verdict = checker.check(snap, "KongConsumer", consumer("bob", "bob", "nope"))
    assert not verdict.allowed and "nope" in verdict.message
    # the Secret (fetched by the caller) holds no key
    broken = parse("Secret", key_secret("cred-b", key=None))
    verdict = checker.check(snap, "KongConsumer", consumer("bob", "bob", "cred-b"), [broken])
    assert not verdict.allowed and "key-auth is invalid" in verdict.message
    # a second consumer with alice's key
    same = parse("Secret", key_secret("cred-b"))
    verdict = checker.check(snap, "KongConsumer", consumer("bob", "bob", "cred-b"), [same])
    assert not verdict.allowed and "conflicting credential" in verdict.message
    # and a fine one passes
    other = parse("Secret", key_secret("cred-b", key="another-key"))
    assert checker.check(snap, "KongConsumer", consumer("bob", "bob", "cred-b"), [other]).allowed
    for message in (verdict.message, repr(verdict)):
        assert SECRET_VALUE not in message


def test_a_secret_that_breaks_a_consumer_is_refused_naming_the_consumer(
    checker: AdmissionChecker,
) -> None:
    snap = store_with(key_secret("cred-a"), consumer("alice", "alice", "cred-a")).snapshot()
    verdict = checker.check(snap, "Secret", key_secret("cred-a", key=None))
    assert not verdict.allowed
    assert f"it would break KongConsumer {NS}/alice" in verdict.message
    assert checker.check(snap, "Secret", key_secret("cred-a", key="rotated")).allowed


def test_unrelated_broken_objects_do_not_block_other_writes(checker: AdmissionChecker) -> None:
    already_bad = plugin(
        "old",
        plugin="rate-limiting",
        config={},
        configFrom={"secretKeyRef": {"name": "s", "key": "k"}},
    )
    snap = store_with(already_bad, consumer("alice", "alice", "missing-secret")).snapshot()
    assert checker.check(snap, "KongPlugin", plugin("new", plugin="key-auth")).allowed
    assert checker.check(snap, "Ingress", ingress("i", {"konghq.com/strip-path": "true"})).allowed


def test_ingress_annotations_the_translator_ignores_are_refused(checker: AdmissionChecker) -> None:
    snap = Store().snapshot()
    verdict = checker.check(snap, "Ingress", ingress("i", {"konghq.com/strip-path": "maybe"}))
    assert not verdict.allowed
    assert "(field metadata.annotations.konghq.com/strip-path)" in verdict.message
    # a Service or plugin that does not exist yet is not refused: objects come in any order
    assert checker.check(snap, "Ingress", ingress("j", {"konghq.com/plugins": "later"})).allowed
    # another controller's Ingress is not ours to judge
    other = ingress("k", {"konghq.com/strip-path": "maybe"}, ingress_class="nginx")
    assert checker.check(snap, "Ingress", other).allowed


def test_the_checker_judges_with_the_router_flavor_kong_reported() -> None:
    """A ``headers.host`` match is refused for the traditional router, skipped for expressions."""
    flavor: list[str | None] = [None]  # Kong has not answered yet
    checker = AdmissionChecker(TranslatorOptions(), lambda: flavor[0])
    snap = Store().snapshot()
    candidate = ingress("i", {"konghq.com/headers.host": "x"})
    refused = checker.check(snap, "Ingress", candidate)
    assert not refused.allowed and "headers.host" in refused.message
    flavor[0] = "expressions"
    assert checker.check(snap, "Ingress", candidate).allowed
    flavor[0] = "traditional"  # any other flavor translates as traditional_compatible
    assert not checker.check(snap, "Ingress", candidate).allowed


def test_the_checker_follows_the_store_between_requests(checker: AdmissionChecker) -> None:
    store = store_with(key_secret("cred-a"))
    assert checker.check(store.snapshot(), "KongConsumer", consumer("bob", "bob", "cred-a")).allowed
    store.apply(Upsert("KongConsumer", parse("KongConsumer", consumer("alice", "alice", "cred-a"))))
    verdict = checker.check(store.snapshot(), "KongConsumer", consumer("bob", "bob", "cred-a"))
    assert not verdict.allowed and "conflicting" in verdict.message
    # the candidate never leaks into the view: the next check of alice herself is clean
    assert checker.check(
        store.snapshot(), "KongConsumer", consumer("alice", "alice", "cred-a")
    ).allowed
    # deletions are followed too (the view moves by difference, not by full translation)
    store.apply(Delete("KongConsumer", NS, "alice"))
    assert checker.check(store.snapshot(), "KongConsumer", consumer("bob", "bob", "cred-a")).allowed
    store.apply(Upsert("Secret", parse("Secret", key_secret("cred-a", key=None))))
    store.apply(Upsert("KongConsumer", parse("KongConsumer", consumer("carol", "carol", "cred-a"))))
    fresh = AdmissionChecker(TranslatorOptions())
    for c in (checker, fresh):
        verdict = c.check(store.snapshot(), "KongPlugin", plugin("fine", plugin="key-auth"))
        assert verdict.allowed  # carol's broken credential is not the plugin's doing
        verdict = c.check(store.snapshot(), "KongConsumer", consumer("carol", "carol", "cred-a"))
        assert not verdict.allowed and "no key" in verdict.message


def test_long_lists_of_failures_make_a_bounded_message(checker: AdmissionChecker) -> None:
    annotations = {
        f"konghq.com/{k}": "bogus"
        for k in (
            "strip-path",
            "preserve-host",
            "https-redirect-status-code",
            "regex-priority",
            "methods",
            "protocols",
            "request-buffering",
        )
    }
    verdict = checker.check(Store().snapshot(), "Ingress", ingress("i", annotations))
    assert not verdict.allowed and "more" in verdict.message and len(verdict.message) <= 2000


# --- the handler and the ASGI app --------------------------------------------------------------


async def test_handler_allows_unchecked_kinds_and_operations_and_refuses_bad_bodies() -> None:
    handler = AdmissionHandler(AdmissionChecker(TranslatorOptions()), Store().snapshot)
    with trio.fail_after(10):
        status, body = await handler.decide(review(plugin("p", config={}), operation="DELETE"))
        assert status == 200 and orjson.loads(body)["response"]["allowed"] is True
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}}
        status, body = await handler.decide(review(pod))
        assert status == 200 and orjson.loads(body)["response"]["allowed"] is True
        status, body = await handler.decide(b"nope")
        assert status == 400 and body.startswith(b"bad request")
        status, body = await handler.decide(review(plugin("p", config={})))
        answer = orjson.loads(body)["response"]
        assert status == 200 and answer["allowed"] is False and answer["uid"] == "u-1"


async def test_handler_fetches_referenced_secrets_the_store_does_not_hold() -> None:
    asked: list[tuple[str, str]] = []

    async def get_secret(namespace: str, name: str) -> dict[str, Any] | None:
        asked.append((namespace, name))
        return key_secret(name) if name == "exists" else None

    handler = AdmissionHandler(AdmissionChecker(TranslatorOptions()), Store().snapshot, get_secret)
    with trio.fail_after(10):
        status, body = await handler.decide(review(consumer("c", "c", "exists")))
        assert status == 200
        assert orjson.loads(body)["response"]["allowed"] is True
        _, body = await handler.decide(review(consumer("d", "d", "absent")))
        assert orjson.loads(body)["response"]["allowed"] is False
    assert asked == [(NS, "exists"), (NS, "absent")]


def test_a_decision_that_takes_too_long_is_answered_504() -> None:
    release = threading.Event()

    class Stuck(AdmissionChecker):
        def check(self, *args: Any, **kwargs: Any) -> Any:
            release.wait(30)
            return super().check(*args, **kwargs)

    clock = trio.testing.MockClock(autojump_threshold=0)

    async def main() -> tuple[int, bytes]:
        handler = AdmissionHandler(Stuck(TranslatorOptions()), Store().snapshot, timeout=8.0)
        return await handler.decide(review(plugin("p", plugin="key-auth")))

    try:
        status, body = trio.run(main, clock=clock)
    finally:
        release.set()
    assert (status, body) == (504, b"the decision timed out")


async def _call(app: Any, method: str, body: bytes) -> tuple[int, bytes]:
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)] or [b""]
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        chunk = chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await app({"type": "http", "method": method, "path": "/"}, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


async def test_the_app_bounds_the_body_and_serves_only_post() -> None:
    app = admission_app(AdmissionHandler(AdmissionChecker(TranslatorOptions()), Store().snapshot))
    with trio.fail_after(10):
        assert (await _call(app, "GET", b""))[0] == 405
        assert (await _call(app, "POST", b" " * (MAX_BODY + 1)))[0] == 413
        status, body = await _call(app, "POST", review(plugin("p", plugin="key-auth")))
        assert status == 200 and orjson.loads(body)["response"]["allowed"] is True


# --- TLS and flags -----------------------------------------------------------------------------


def test_tls_pair_loads_and_a_bad_pair_names_the_flag_not_the_key() -> None:
    ca = TestCA()
    pair = ca.issue("webhook", ips=("127.0.0.1",))
    assert tls_context(pair.cert_pem, pair.key_pem) is not None
    other = ca.issue("other")
    with pytest.raises(kic_trio.ConfigError, match="--admission-webhook-cert") as info:
        tls_context(pair.cert_pem, other.key_pem)
    assert other.key_pem.splitlines()[1] not in str(info.value)


def test_admission_flags_have_upstreams_defaults_and_a_bad_listen_names_the_flag() -> None:
    cfg = kic_trio.Config()
    assert cfg.admission_webhook_listen == "off"
    assert cfg.admission_webhook_cert_file == "/admission-webhook/tls.crt"
    assert cfg.admission_webhook_key_file == "/admission-webhook/tls.key"
    with pytest.raises(kic_trio.ConfigError, match="--admission-webhook-listen"):
        kic_trio.Config(admission_webhook_listen="nowhere").validate()
    keyed = kic_trio.Config(admission_webhook_key="-----BEGIN PRIVATE KEY-----xyz")
    assert "xyz" not in repr(keyed)


def test_an_update_that_leaves_an_object_broken_is_refused(checker: AdmissionChecker) -> None:
    broken = consumer("alice", "alice", "missing-secret")
    snap = store_with(broken).snapshot()
    relabelled = consumer("alice", "alice", "missing-secret")
    relabelled["metadata"]["labels"] = {"team": "a"}
    verdict = checker.check(snap, "KongConsumer", relabelled)
    assert not verdict.allowed and "missing-secret" in verdict.message


async def test_an_object_being_deleted_is_never_blocked() -> None:
    handler = AdmissionHandler(AdmissionChecker(TranslatorOptions()), Store().snapshot)
    going = plugin("p", config={})  # no plugin name: refused while alive
    going["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    going["metadata"]["finalizers"] = []
    with trio.fail_after(10):
        status, body = await handler.decide(review(going, operation="UPDATE"))
    assert status == 200 and orjson.loads(body)["response"]["allowed"] is True


def test_what_if_snapshots_leave_the_store_view_untouched() -> None:
    store = store_with(plugin("a", plugin="key-auth"))
    snap = store.snapshot()
    extra = parse("KongPlugin", plugin("b", plugin="acl"))
    what_if = snap.with_objects([("KongPlugin", extra)])
    assert what_if.get("KongPlugin", NS, "b") is extra
    assert snap.get("KongPlugin", NS, "b") is None and store.get("KongPlugin", NS, "b") is None
    assert what_if.map("Secret") is snap.map("Secret")


def test_cluster_plugins_are_judged_only_when_ours(checker: AdmissionChecker) -> None:
    def cluster_plugin(cls: str) -> dict[str, Any]:
        return {
            "apiVersion": "configuration.konghq.com/v1",
            "kind": "KongClusterPlugin",
            "metadata": {"name": f"cp-{cls}", "annotations": {"kubernetes.io/ingress.class": cls}},
            "plugin": "rate-limiting",
            "configFrom": {"secretKeyRef": {"name": "gone", "namespace": NS, "key": "k"}},
        }

    snap = Store().snapshot()
    assert checker.check(snap, "KongClusterPlugin", cluster_plugin("nginx")).allowed
    verdict = checker.check(snap, "KongClusterPlugin", cluster_plugin("kong"))
    assert not verdict.allowed and verdict.message.startswith("KongClusterPlugin cp-kong ")


async def test_run_refuses_to_start_with_an_unreadable_webhook_certificate(tmp_path: Any) -> None:
    cfg = kic_trio.Config(
        admission_webhook_listen="127.0.0.1:0",
        admission_webhook_cert_file=str(tmp_path / "missing.crt"),
        admission_webhook_key_file=str(tmp_path / "missing.key"),
        health_probe_bind_address="127.0.0.1:0",
        metrics_bind_address="127.0.0.1:0",
    )
    with (
        trio.fail_after(10),
        pytest.raises(kic_trio.ConfigError, match="--admission-webhook-cert-file"),
    ):
        await kic_trio.run(cfg)


def test_hostile_candidates_become_refusals_never_exceptions(checker: AdmissionChecker) -> None:
    deep: Any = {}
    node = deep
    for _ in range(500):
        node["a"] = {}
        node = node["a"]
    snap = Store().snapshot()
    hostile = [
        plugin("deep", plugin="key-auth", config=deep),
        plugin("list", plugin="key-auth", config=[1, 2, 3]),
        plugin("patch", plugin="key-auth", configPatches=[{"path": "/../../x", "valueFrom": 7}]),
        {"kind": "KongPlugin", "metadata": {"name": "m", "namespace": NS, "annotations": ["x"]}},
        ingress(
            "weird", {"konghq.com/methods": "GET," * 5000, "konghq.com/regex-priority": "9" * 400}
        ),
    ]
    for raw in hostile:
        kind = raw["kind"]
        verdict = checker.check(snap, kind, raw)
        assert isinstance(verdict.allowed, bool)
        assert len(verdict.message) <= 2000
    assert not checker.check(snap, "KongPlugin", hostile[0]).allowed


def test_a_credential_secret_no_consumer_uses_yet_is_checked_too(checker: AdmissionChecker) -> None:
    snap = Store().snapshot()
    verdict = checker.check(snap, "Secret", key_secret("lonely", key=None))
    assert not verdict.allowed
    assert verdict.message.startswith(f"Secret {NS}/lonely would not be configured in Kong: ")
    assert "key-auth is invalid: no key" in verdict.message
    assert checker.check(snap, "Secret", key_secret("lonely")).allowed
    plain = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x", "namespace": NS}}
    assert checker.check(snap, "Secret", plain).allowed
