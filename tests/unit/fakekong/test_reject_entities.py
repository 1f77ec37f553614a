"""FakeKong's ``reject_entities`` knob: refuse an entity by its field values, as Kong refuses an
invalid plugin configuration (a field error, mapped back to the object through the tags)."""

from __future__ import annotations

import pytest

from kic_trio.testing.fakekong._validate import KongValidator, find_schema

pytestmark = pytest.mark.skipif(
    find_schema() is None,
    reason="Kong's declarative JSON schema not found (set $KIC_TRIO_KONG_SCHEMA)",
)


def config(key_names: list[str]) -> dict[str, object]:
    return {
        "_format_version": "3.0",
        "services": [{"name": "s", "host": "h", "routes": [{"name": "r", "paths": ["/"]}]}],
        "plugins": [
            {
                "name": "key-auth",
                "route": "r",
                "config": {"key_names": key_names},
                "tags": ["k8s-name:auth"],
            },
            {"name": "cors", "route": "r"},
        ],
    }


def test_a_matching_entity_is_refused_with_a_field_error() -> None:
    kong = KongValidator(
        reject_entities=(("plugins", {"name": "key-auth", "config.key_names": ["bad key"]}),)
    )
    body = kong.check(config(["bad key"]))
    assert body is not None
    [entry] = body["flattened_errors"]
    assert entry["entity_name"] == "key-auth" and entry["entity_tags"] == ["k8s-name:auth"]
    assert entry["errors"] == [
        {
            "type": "field",
            "field": "config.key_names",
            "message": "rejected by FakeKong: a refused value",
        }
    ]
    # another value of the same field is accepted: "fixing the plugin" works
    assert kong.check(config(["apikey"])) is None
