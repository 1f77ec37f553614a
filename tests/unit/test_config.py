"""Config: defaults, conversions, validation that lists every problem."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

import kic_trio
from kic_trio import Config, ConfigError
from kic_trio.config import FEATURE_GATES, parse_duration


def test_upstream_go_example_builds_and_validates() -> None:
    cfg = Config(
        ingress_class="kong",
        kong_admin_url=["http://localhost:8001"],
        pod_namespace="kong",
        leader_election=True,
        sync_period=timedelta(seconds=10),
    )
    assert cfg.validate() is cfg
    assert cfg.sync_period == 10.0
    assert cfg.kong_admin_url == ("http://localhost:8001",)
    assert cfg.leader_election is True


def test_defaults_are_upstreams() -> None:
    cfg = Config()
    assert cfg.kong_admin_url == ("http://localhost:8001",)
    assert cfg.kong_admin_svc_port_names == ("admin-tls", "kong-admin-tls")
    assert cfg.ingress_class == "kong"
    assert cfg.proxy_sync_seconds == 3.0
    assert cfg.proxy_timeout_seconds == 30.0
    assert cfg.init_cache_sync_duration == 5.0
    assert cfg.kong_admin_init_retries == 60
    assert cfg.kong_admin_init_retry_delay == 1.0
    assert cfg.sync_period == 36000.0
    assert cfg.election_id == "5b374a9e.konghq.com"
    assert cfg.health_probe_bind_address == ":10254"
    assert cfg.metrics_bind_address == ":10255"
    assert cfg.emit_kubernetes_events is True
    assert dict(cfg.feature_gates) == dict(FEATURE_GATES)
    assert cfg.log_level == "info" and cfg.log_format == "text"
    cfg.validate()


def test_three_bad_fields_in_one_error() -> None:
    with pytest.raises(ConfigError) as info:
        Config(log_level="bogus", kong_admin_url=["not a url"], publish_service="no-slash").validate()
    fields = {p[0] for p in info.value.problems}
    assert fields == {"log_level", "kong_admin_url", "publish_service"}
    text = str(info.value)
    for flag in ("--log-level", "--kong-admin-url", "--publish-service"):
        assert flag in text


@pytest.mark.parametrize(
    ("kwargs", "field", "fragment"),
    [
        ({"kong_admin_token": "t0ken-value", "kong_admin_token_file": "/x"}, "kong_admin_token_file", "only one allowed"),
        ({"kong_admin_tls_client_cert": "PEM"}, "kong_admin_tls_client_key", "client key was not"),
        ({"kong_admin_tls_client_key_file": "/k"}, "kong_admin_tls_client_cert", "certificate was not"),
        ({"kong_admin_svc": "/name"}, "kong_admin_svc", "namespace cannot be empty"),
        ({"kong_admin_svc": "ns/"}, "kong_admin_svc", "name cannot be empty"),
        ({"feature_gates": {"NoSuchGate": True}}, "feature_gates", "not a valid feature"),
        ({"feature_gates": "FillIDs=maybe"}, "feature_gates", "true or false"),
        ({"feature_gates": "FillIDs=false"}, "feature_gates", "FillIDs is required if KongCustomEntity"),
        ({"log_format": "xml"}, "log_format", "not a valid log format"),
        ({"update_status": True}, "update_status", "no method to determine data-plane addresses"),
        ({"gateway_discovery_readiness_check_timeout": 20.0}, "gateway_discovery_readiness_check_timeout", "below"),
        ({"kong_admin_svc": "kong/admin", "gateway_discovery_readiness_check_interval": 1.0, "gateway_discovery_readiness_check_timeout": 0.5}, "gateway_discovery_readiness_check_interval", "at least 3s"),
        ({"sync_period": "ten minutes"}, "sync_period", "not a duration"),
        ({"proxy_sync_seconds": 0}, "proxy_sync_seconds", "positive"),
        ({"kong_admin_init_retries": "many"}, "kong_admin_init_retries", "not an integer"),
        ({"health_probe_bind_address": "nope"}, "health_probe_bind_address", "[host]:port"),
        ({"watch_namespace": ["Bad_NS"]}, "watch_namespace", "not a valid namespace"),
        ({"kong_admin_header": ["novalue"]}, "kong_admin_header", "key:value"),
        ({"kong_admin_url": [], "kong_admin_svc": None}, "kong_admin_url", "at least one"),
        ({"publish_status_address": ["not an address!"]}, "publish_status_address", "neither an IP"),
        ({"sync_debounce": 1.0, "sync_max_delay": 0.5}, "sync_max_delay", "below --sync-debounce"),
    ],
)
def test_each_rule_names_its_field(kwargs: dict[str, object], field: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        Config(**kwargs).validate()  # type: ignore[arg-type]
    matching = [p for p in info.value.problems if p[0] == field]
    assert matching, info.value
    assert fragment in matching[0][2]


def test_secrets_are_redacted_in_repr_and_errors() -> None:
    cfg = Config(kong_admin_token="sup3r-s3cret", kong_admin_token_file="/tmp/x", kong_admin_header=["X-Auth:hdr-s3cret"])
    assert "sup3r-s3cret" not in repr(cfg)
    assert "hdr-s3cret" not in repr(cfg)
    with pytest.raises(ConfigError) as info:
        cfg.validate()
    assert "sup3r-s3cret" not in str(info.value)


def test_frozen_and_hashable() -> None:
    cfg = Config()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        cfg.ingress_class = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        cfg.feature_gates["FillIDs"] = False  # type: ignore[index]
    assert hash(cfg) == hash(Config())
    assert attrs.evolve(cfg, ingress_class="other").ingress_class == "other"


def test_feature_gates_merge_onto_defaults() -> None:
    cfg = Config(feature_gates={"RewriteURIs": True})
    assert cfg.feature_gates["RewriteURIs"] is True
    assert cfg.feature_gates["FillIDs"] is True
    assert Config(feature_gates="FillIDs=false").feature_gates["FillIDs"] is False


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("10s", 10.0), ("1m30s", 90.0), ("1h", 3600.0), ("250ms", 0.25), ("2.5", 2.5), (3, 3.0), (timedelta(minutes=2), 120.0)],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


def test_public_api_surface() -> None:
    for name in ("run", "Config", "ConfigError", "Controller", "ControllerError", "ConfigApplied", "PushFailed"):
        assert hasattr(kic_trio, name)
