"""KongIngress (deprecated): its ``upstream`` overrides through a Service's ``konghq.com/override``.

upstream-surface.md §6: only ``upstream`` applies, before ``konghq.com/host-header`` and a
KongUpstreamPolicy (which win); every section present gives upstream's deprecation warning
(a Warning Event on the KongIngress); a missing one fails on the Service.
"""

from __future__ import annotations

from typing import Any

import pytest

from kic_trio._deltas import Upsert
from kic_trio.models import parse
from kic_trio.store import Store
from kic_trio.translator import Translator, TranslatorOptions, translate_objects
from kic_trio.translator import _translator as translator_module


def _service(name: str, **ann: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "n", "uid": f"u-{name}", "annotations": ann},
        "spec": {"ports": [{"port": 80}]},
    }


def _ingress(*services: str) -> dict[str, Any]:
    paths = [
        {
            "path": f"/{s}",
            "pathType": "Prefix",
            "backend": {"service": {"name": s, "port": {"number": 80}}},
        }
        for s in services
    ]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "i", "namespace": "n", "uid": "u-i"},
        "spec": {"ingressClassName": "kong", "rules": [{"http": {"paths": paths}}]},
    }


def _kong_ingress(name: str = "ki", **sections: Any) -> dict[str, Any]:
    return {
        "apiVersion": "configuration.konghq.com/v1",
        "kind": "KongIngress",
        "metadata": {"name": name, "namespace": "n", "uid": f"u-{name}"},
        **sections,
    }


def _upstream(config: dict[str, Any], service: str) -> dict[str, Any]:
    return {u["name"]: u for u in config["upstreams"]}[f"{service}.n.80.svc"]


def test_upstream_fields_apply_and_each_section_warns_as_upstream() -> None:
    ki = _kong_ingress(
        upstream={
            "algorithm": "consistent-hashing",
            "hash_on": "header",
            "hash_on_header": "x-user",
            "slots": 100,
        },
        proxy={"connect_timeout": 5},
        route={"strip_path": True},
    )
    result = translate_objects([_ingress("s"), _service("s", **{"konghq.com/override": "ki"}), ki])
    up = _upstream(result.config, "s")
    assert up["algorithm"] == "consistent-hashing"
    assert (up["hash_on"], up["hash_on_header"], up["slots"]) == ("header", "x-user", 100)
    service = {s["name"]: s for s in result.config["services"]}["n.s.80"]
    assert service["connect_timeout"] == 60000  # proxy: no effect
    warnings = {f.field: f.reason for f in result.failures if f.obj.kind == "KongIngress"}
    assert warnings["upstream"].startswith("'upstream' is DEPRECATED")
    assert warnings["proxy"].startswith("Support for 'proxy' was removed in 3.0")
    assert warnings["route"].startswith("Support for 'route' was removed in 3.0")


def test_host_header_annotation_and_upstream_policy_win_over_it() -> None:
    ki = _kong_ingress(
        upstream={"algorithm": "least-connections", "host_header": "from-ki.example.com"}
    )
    policy = {
        "apiVersion": "configuration.konghq.com/v1beta1",
        "kind": "KongUpstreamPolicy",
        "metadata": {"name": "pol", "namespace": "n"},
        "spec": {"algorithm": "round-robin"},
    }
    svc = _service(
        "s",
        **{
            "konghq.com/override": "ki",
            "konghq.com/host-header": "from-annotation.example.com",
            "konghq.com/upstream-policy": "pol",
        },
    )
    up = _upstream(translate_objects([_ingress("s"), svc, ki, policy]).config, "s")
    assert up["host_header"] == "from-annotation.example.com"
    assert up["algorithm"] == "round-robin"


def test_a_missing_kong_ingress_fails_on_the_service_which_is_still_served() -> None:
    result = translate_objects([_ingress("s"), _service("s", **{"konghq.com/override": "gone"})])
    assert {s["name"] for s in result.config["services"]} == {"n.s.80"}
    assert any(
        f.obj.kind == "Service"
        and f.field == "metadata.annotations.konghq.com/override"
        and f.reason == "failed to get KongIngress: KongIngress n/gone not found"
        for f in result.failures
    )


@pytest.mark.parametrize(
    ("upstream", "field"),
    [
        ({"algorithm": "evil\nvalue"}, "upstream.algorithm"),
        ({"slots": 5}, "upstream.slots"),
        ({"hash_on": ["x"]}, "upstream.hash_on"),
        ({"hash_fallback": "cookie"}, "upstream.hash_fallback"),
        ({"host_header": "bad host\r\n"}, "upstream.host_header"),
        ({"healthchecks": "no"}, "upstream.healthchecks"),
        ({"hash_on": "header", "hash_on_header": "x-a\r\nx-b"}, "upstream.hash_on_header"),
        ({"hash_on": "cookie"}, "upstream.hash_on"),
        ({"hash_on_query_arg": "q\x00"}, "upstream.hash_on_query_arg"),
    ],
)
def test_bad_fields_are_dropped_with_their_path_and_no_value(
    upstream: dict[str, Any], field: str
) -> None:
    ki = _kong_ingress(upstream={**upstream, "hash_on": upstream.get("hash_on", "ip")})
    result = translate_objects([_ingress("s"), _service("s", **{"konghq.com/override": "ki"}), ki])
    mine = [f for f in result.failures if f.obj.kind == "KongIngress"]
    assert field in {f.field for f in mine}, mine
    for value in upstream.values():
        if isinstance(value, str) and any(c in value for c in "\r\n\x00"):
            assert all(value not in str(f) for f in result.failures)
    up = _upstream(result.config, "s")
    key = field.split(".", 1)[1]
    assert key not in up or up[key] != upstream[key]


def test_a_kong_ingress_change_recomputes_only_the_services_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = Store()
    objs = [
        _ingress("s", "t"),
        _service("s", **{"konghq.com/override": "ki"}),
        _service("t"),
        _kong_ingress(),
    ]
    for raw in objs:
        store.apply(Upsert(raw["kind"], parse(raw["kind"], raw)))
    tr = Translator()
    tr.translate(store.snapshot())
    store.take_changes()
    seen: list[str] = []
    real = translator_module.translate_service

    def spy(name: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(translator_module, "translate_service", spy)
    changed = _kong_ingress(upstream={"algorithm": "least-connections"})
    store.apply(Upsert("KongIngress", parse("KongIngress", changed)))
    got = tr.translate(store.snapshot(), store.take_changes())
    assert seen == ["n.s.80"]
    assert _upstream(got.config, "s")["algorithm"] == "least-connections"
    assert got.body == Translator().translate(store.snapshot()).body


def test_the_admission_webhook_allows_a_service_naming_a_kong_ingress() -> None:
    """The deprecation warnings are the KongIngress's own (there before the Service), so a
    Service naming it is not refused as "it would break KongIngress"; one naming a KongIngress
    not there yet is allowed too (manifests apply in any order), as upstream."""
    from kic_trio.admission import AdmissionChecker

    store = Store()
    for raw in (_ingress("s"), _kong_ingress(upstream={"algorithm": "least-connections"})):
        store.apply(Upsert(raw["kind"], parse(raw["kind"], raw)))
    checker = AdmissionChecker(TranslatorOptions())
    for name in ("ki", "not-yet"):
        verdict = checker.check(
            store.snapshot(), "Service", _service("s", **{"konghq.com/override": name})
        )
        assert verdict.allowed, verdict.message
