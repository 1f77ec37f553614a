"""The kind registry: one record per watched kind, and every layer derives its kind lists from it.

A kind that is registered but not handled somewhere (no Config switch, no CRD, no translator
branch, no generator in the property tests) fails here, not silently in a cluster.
"""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, find, settings
from strategies import any_object
from test_hostile_properties import base_object

from kic_trio import models
from kic_trio._deltas import Upsert
from kic_trio.config import Config
from kic_trio.k8s import KIND_SWITCHES, enabled_kinds
from kic_trio.kong._parse import CLUSTER_SCOPED
from kic_trio.models import (
    ANNOTATION_CLASSED_KINDS,
    SPECS,
    ClassFilter,
    ObjectRef,
    UnknownKindError,
    UnknownObject,
    parse,
    spec_of,
)
from kic_trio.store import Store
from kic_trio.translator import Translator
from kic_trio.translator._translator import TRANSLATED_KINDS


def test_every_switch_names_a_real_config_field() -> None:
    fields = {f.name: f for f in attrs.fields(Config)}
    for kind, spec in SPECS.items():
        if spec.switch is not None:
            assert spec.switch in fields, f"{kind}: {spec.switch!r} is not a Config field"
            assert fields[spec.switch].default is True or fields[spec.switch].default is False


def test_watch_layer_switches_come_from_the_registry() -> None:
    assert dict(KIND_SWITCHES) == {k: s.switch for k, s in SPECS.items()}
    off = Config(**{s.switch: False for s in SPECS.values() if s.switch})  # type: ignore[arg-type]
    assert enabled_kinds(off) == [k for k, s in SPECS.items() if s.switch is None]
    assert enabled_kinds(Config()) == [k for k, s in SPECS.items() if s.gate is None]
    gated = Config(feature_gates={"GatewayAlpha": True})
    assert enabled_kinds(gated) == list(SPECS)


def test_gateway_api_switches_and_gate_are_upstreams() -> None:
    """GA kinds on by default; TCP/UDP/TLS routes and BackendTLSPolicy only with GatewayAlpha,
    BackendTLSPolicy only with the Gateway and HTTPRoute controllers too; GatewayClass comes
    with the Gateway switch (it has none of its own upstream)."""
    on = enabled_kinds(Config())
    assert {"GatewayClass", "Gateway", "HTTPRoute", "GRPCRoute", "ReferenceGrant"} <= set(on)
    alpha = {"TCPRoute", "UDPRoute", "TLSRoute", "BackendTLSPolicy"}
    assert not alpha & set(on)
    gates = {"GatewayAlpha": True}
    assert alpha <= set(enabled_kinds(Config(feature_gates=gates)))
    no_http = Config(feature_gates=gates, enable_controller_gwapi_httproute=False)
    assert "BackendTLSPolicy" not in enabled_kinds(no_http)
    assert "TCPRoute" in enabled_kinds(no_http)
    no_gw = set(enabled_kinds(Config(feature_gates=gates, enable_controller_gwapi_gateway=False)))
    assert not ({"GatewayClass", "Gateway"} | alpha) & no_gw
    assert {spec_of(k).api.version for k in ("TCPRoute", "UDPRoute", "TLSRoute")} == {"v1alpha2"}
    assert spec_of("ReferenceGrant").api.version == "v1beta1"


def test_every_registered_kind_has_a_translator_branch() -> None:
    assert set(SPECS) == TRANSLATED_KINDS


def test_parser_dispatch_follows_the_registry() -> None:
    for kind, spec in SPECS.items():
        ns = "ns" if spec.namespaced else None
        meta = {"name": "x", **({"namespace": ns} if ns else {})}
        model = parse(kind, {"apiVersion": spec.api.api_version, "kind": kind, "metadata": meta})
        assert not isinstance(model, UnknownObject), kind
        assert model.ref.kind == kind
        assert model.ref.namespace == (ns or "")
        assert (model.ref.group, model.ref.version) == (spec.api.group, spec.api.version)
        assert bool(model.tags) is spec.tagged, kind
    unknown = parse("Widget", {"metadata": {"name": "x"}})
    assert isinstance(unknown, UnknownObject)
    assert "unsupported kind" in unknown.failures[0].reason


def test_unknown_kind_lookup_names_the_kind_and_the_known_ones() -> None:
    with pytest.raises(UnknownKindError) as info:
        spec_of("Widget")
    assert "'Widget'" in str(info.value)
    assert "KongPlugin" in str(info.value)


def test_registering_a_kind_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        models._kinds.register(SPECS["Service"])


def test_derived_tables() -> None:
    assert {k for k, s in SPECS.items() if s.class_filter is ClassFilter.ANNOTATION} == (
        ANNOTATION_CLASSED_KINDS
    )
    assert models.is_classed_kind("Ingress")
    assert not models.is_classed_kind("Service")
    assert {k for k, s in SPECS.items() if not s.namespaced} <= CLUSTER_SCOPED


def test_secret_refs_follow_the_kind() -> None:
    ing = parse(
        "Ingress",
        {
            "metadata": {"name": "i", "namespace": "ns"},
            "spec": {"tls": [{"secretName": "tls"}]},
        },
    )
    assert models.secret_refs(ing) == {("ns", "tls")}
    kcp = parse(
        "KongClusterPlugin",
        {
            "metadata": {"name": "p"},
            "plugin": "key-auth",
            "configFrom": {"secretKeyRef": {"name": "s", "key": "k", "namespace": "other"}},
        },
    )
    assert models.secret_refs(kcp) == {("other", "s")}
    # a model that could not be parsed references nothing (it is never half-read)
    broken = UnknownObject(ref=ObjectRef(kind="KongPlugin", namespace="ns", name="p"))
    assert models.secret_refs(broken) == frozenset()


def test_a_kind_the_translator_does_not_handle_is_an_error() -> None:
    store = Store()
    store.apply(Upsert("Widget", parse("Widget", {"metadata": {"name": "w", "namespace": "n"}})))
    with pytest.raises(UnknownKindError):
        Translator().translate(store.snapshot())


def _crd_names(folder: Path) -> set[str]:
    import yaml

    names = set()
    for path in folder.glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                names.add(doc["metadata"]["name"])
    return names


def test_every_crd_a_kind_needs_is_in_the_assets() -> None:
    from kic_trio.testing.controlplane._assets import assets_present, crd_dirs

    if not assets_present():
        pytest.skip("control-plane assets (CRDs) are not built on this machine")
    have: set[str] = set()
    for folder in crd_dirs():
        have |= _crd_names(folder)
    needed = {s.crd_name for s in SPECS.values() if s.crd_name}
    assert needed, "no kind needs a CRD?"
    assert needed <= have, sorted(needed - have)


@pytest.mark.parametrize("strategy", [any_object, base_object], ids=["random", "hostile"])
@pytest.mark.parametrize("kind", sorted(SPECS))
def test_the_incremental_property_tests_generate_every_kind(strategy: object, kind: str) -> None:
    """``incremental == full`` (test_incremental.py, test_hostile_properties.py) covers every kind."""
    found = find(
        strategy,  # type: ignore[arg-type]
        lambda obj: obj.get("kind") == kind,
        settings=settings(
            max_examples=2000, database=None, suppress_health_check=list(HealthCheck)
        ),
    )
    assert found["kind"] == kind


def test_offline_translation_counts_the_objects_of_unwatched_kinds() -> None:
    from kic_trio.translator import translate_objects

    result = translate_objects(
        [
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}},
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "e"}},
            {"kind": 7, "metadata": {"name": "x"}},
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "n"}},
        ]
    )
    assert dict(result.ignored_kinds) == {"Deployment": 2, "<int>": 1}
    assert translate_objects([]).ignored_kinds == {}
