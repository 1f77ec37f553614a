"""FakeKong without decK's schema: Kong's own rules still apply (a library user's first run).

The schema comes from the assets cache (``python -m kic_trio.testing.controlplane assets``);
these tests point the cache at an empty folder to see what a user who never fetched it gets.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import trio

from kic_trio.testing import FakeKong
from kic_trio.testing.controlplane import schema_file
from kic_trio.testing.fakekong import KongValidator
from kic_trio.testing.fakekong._validate import find_schema

#: Valid for Kong's own rules; decK's schema refuses it (``retries`` must be an integer).
SCHEMA_ONLY_ERROR = {
    "_format_version": "3.0",
    "services": [{"name": "s", "host": "example.com", "retries": "many"}],
}
#: Refused by Kong's own rules (a plugin this Kong does not load).
RULES_ERROR = {
    "_format_version": "3.0",
    "services": [{"name": "s", "host": "example.com", "plugins": [{"name": "no-such-plugin"}]}],
}
GOOD = {"_format_version": "3.0", "services": [{"name": "s", "host": "example.com"}]}


@pytest.fixture
def no_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KIC_TRIO_ASSETS_DIR", str(tmp_path / "empty-assets"))
    monkeypatch.delenv("KIC_TRIO_KONG_SCHEMA", raising=False)
    return tmp_path


def test_the_schema_is_found_in_the_assets_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KIC_TRIO_KONG_SCHEMA", raising=False)
    assert find_schema() == schema_file()  # the cache (tests/conftest.py fetched it)
    assert KongValidator().schema_path == schema_file()


@pytest.mark.usefixtures("no_schema")
def test_validator_without_schema_checks_kongs_rules_only() -> None:
    assert find_schema() is None
    kong = KongValidator()
    assert kong.schema_path is None
    assert kong.check(GOOD) is None
    assert kong.check(SCHEMA_ONLY_ERROR) is None  # only the schema would have caught it
    body = kong.check(RULES_ERROR)
    assert body is not None
    assert body["flattened_errors"][0]["entity_type"] == "plugin"
    with pytest.raises(FileNotFoundError, match="assets"):
        KongValidator(validate_schema=True)


def test_validator_with_the_schema_catches_schema_errors() -> None:
    body = KongValidator().check(SCHEMA_ONLY_ERROR)
    assert body is not None
    assert body["flattened_errors"][0]["errors"][0]["field"] == "retries"
    assert KongValidator(validate_schema=False).check(SCHEMA_ONLY_ERROR) is None


def test_explicit_schema_path_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "schema.json"
    copy.write_bytes(schema_file().read_bytes())
    monkeypatch.setenv("KIC_TRIO_ASSETS_DIR", str(tmp_path / "empty-assets"))
    kong = KongValidator(schema_path=copy)
    assert kong.schema_path == copy and kong.check(SCHEMA_ONLY_ERROR) is not None
    with pytest.raises(FileNotFoundError):
        KongValidator(schema_path=tmp_path / "missing.json")
    monkeypatch.setenv("KIC_TRIO_KONG_SCHEMA", str(copy))
    assert KongValidator().schema_path == copy


@pytest.mark.usefixtures("no_schema")
async def test_fake_kong_without_schema_answers_with_kongs_rules() -> None:
    with trio.fail_after(10):
        async with FakeKong() as fk, httpx.AsyncClient(base_url=fk.url) as c:
            assert fk.schema_path is None
            r = await c.post("/config?flatten_errors=1", json=RULES_ERROR)
            assert r.status_code == 400
            assert r.json()["flattened_errors"][0]["entity_type"] == "plugin"
            r = await c.post("/config", json=SCHEMA_ONLY_ERROR)
            assert r.status_code == 201
