"""Kong's router flavor: read from ``GET /`` (upstream's errors), decided once for all gateways,
and FakeKong's validation of routes per flavor (``reference/kong-validation.md`` §2.2)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest
import trio

from kic_trio import Config
from kic_trio._errors import ControllerError, UnsupportedKongError
from kic_trio._instance import Instance
from kic_trio._latest import LatestValue
from kic_trio._payload import ConfigPayload
from kic_trio.kong import AdminAPIOptions, AdminClient, GatewaySet, run_applier
from kic_trio.testing import FakeKong
from kic_trio.testing.fakekong._validate import KongValidator


def _opts() -> AdminAPIOptions:
    return AdminAPIOptions.from_config(Config())


@pytest.mark.parametrize(
    ("reported", "message"),
    [
        (None, 'missing field "router_flavor"  from Kong Gateway\'s configuration root'),
        (3, 'invalid "router_flavor" type, expected a string, got float64'),
        (True, 'invalid "router_flavor" type, expected a string, got bool'),
        (["expressions"], 'invalid "router_flavor" type, expected a string, got []interface {}'),
    ],
)
async def test_missing_or_wrong_typed_router_flavor_is_refused(
    reported: object, message: str
) -> None:
    with trio.fail_after(10):
        async with FakeKong(router_flavor=reported) as fk, AdminClient(fk.url, _opts()) as c:
            with pytest.raises(UnsupportedKongError) as err:
                await c.info()
            assert message in str(err.value)


@pytest.mark.parametrize("flavor", ["traditional", "traditional_compatible", "expressions"])
async def test_router_flavor_is_read(flavor: str) -> None:
    with trio.fail_after(10):
        async with FakeKong(router_flavor=flavor) as fk, AdminClient(fk.url, _opts()) as c:
            assert (await c.info()).router_flavor == flavor


@asynccontextmanager
async def _gateways(urls: list[str]) -> AsyncIterator[GatewaySet]:
    inst = Instance.create(Config(kong_admin_url=urls))
    gs = GatewaySet.from_config(inst.cfg)
    latest: LatestValue[ConfigPayload] = LatestValue()
    async with trio.open_nursery() as nursery:
        await nursery.start(run_applier, inst, latest, gs)
        yield gs
        nursery.cancel_scope.cancel()


async def test_one_flavor_across_gateways_is_used() -> None:
    with trio.fail_after(20):
        async with (
            FakeKong(router_flavor="expressions") as a,
            FakeKong(router_flavor="expressions") as b,
            _gateways([a.url, b.url]) as gs,
        ):
            assert await gs.wait_router_flavor() == "expressions"
            assert gs.router_flavor_in_use == "expressions"


async def test_traditional_flavors_mix_fine() -> None:
    """``traditional`` and ``traditional_compatible`` take the same routes from us."""
    with trio.fail_after(20):
        async with (
            FakeKong(router_flavor="traditional") as a,
            FakeKong() as b,
            _gateways([a.url, b.url]) as gs,
        ):
            assert await gs.wait_router_flavor() in ("traditional", "traditional_compatible")


async def test_gateways_of_different_flavors_are_refused() -> None:
    with trio.fail_after(20):
        async with (
            FakeKong(router_flavor="expressions") as a,
            FakeKong() as b,
            _gateways([a.url, b.url]) as gs,
        ):
            with pytest.raises(ControllerError) as err:
                await gs.wait_router_flavor()
            text = str(err.value)
            assert "different router flavors" in text
            assert f"{a.url}: expressions" in text and f"{b.url}: traditional_compatible" in text


# --- FakeKong validates routes as Kong does in each flavor ---------------------------------


def _config(route: dict[str, Any]) -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [{"name": "s", "host": "example.com", "routes": [{"name": "r", **route}]}],
    }


def _errors(flavor: str, route: dict[str, Any]) -> list[str]:
    body = KongValidator(router_flavor=flavor).check(_config(route))
    if body is None:
        return []
    return [e["message"] for entry in body["flattened_errors"] for e in entry["errors"]]


EXPRESSION_ROUTE = {"expression": 'http.path ^= "/"', "priority": 5}
CONFLICT = (
    "Router Expression failed validation: cannot set 'expression' with 'methods', 'hosts', "
    "'paths', 'headers', 'snis', 'sources' or 'destinations' simultaneously"
)


def test_expressions_flavor_accepts_expression_routes_and_traditional_ones() -> None:
    assert _errors("expressions", EXPRESSION_ROUTE) == []
    assert _errors("expressions", {"paths": ["/"]}) == []


@pytest.mark.parametrize(
    ("route", "message"),
    [
        ({**EXPRESSION_ROUTE, "paths": ["/"]}, CONFLICT),
        ({**EXPRESSION_ROUTE, "hosts": ["a.com"]}, CONFLICT),
        (
            {**EXPRESSION_ROUTE, "regex_priority": 3},
            "Router Expression failed validation: cannot set 'regex_priority' with 'expression' "
            "simultaneously",
        ),
        (
            {"paths": ["/"], "priority": 7},
            "Router Expression failed validation: cannot set 'priority' with 'methods', 'hosts', "
            "'paths', 'headers', 'snis', 'sources' or 'destinations' simultaneously",
        ),
        ({**EXPRESSION_ROUTE, "priority": 2**46}, "value should be between 0 and 70368744177663"),
        (
            {"strip_path": False},
            "must set one of 'methods', 'hosts', 'headers', 'paths', 'snis', 'expression' when "
            "'protocols' is 'https'",
        ),
    ],
)
def test_expressions_flavor_refuses_what_kong_refuses(route: dict[str, Any], message: str) -> None:
    assert message in _errors("expressions", route)


@pytest.mark.parametrize(
    "expression",
    [
        'http.path == "/a" || http.path ^= "/"" ',  # an unescaped quote: injection attempt
        'http.path == "/a',
        '(http.path == "/a"',
        'http.path ~ "^/(?=x)"',  # look-around: Rust's regex has none
        'http.path ~ "^/(a"',
        "http.path",
        "",
    ],
)
def test_expressions_flavor_refuses_expressions_that_do_not_compile(expression: str) -> None:
    errors = _errors("expressions", {"expression": expression})
    assert any(e.startswith("Router Expression failed validation: ") for e in errors) or (
        expression == "" and any("must set one of" in e for e in errors)
    ), errors


@pytest.mark.parametrize("flavor", ["traditional", "traditional_compatible"])
def test_traditional_flavors_refuse_expression_fields(flavor: str) -> None:
    assert _errors(flavor, {"paths": ["/"], "expression": 'http.path ^= "/"'}) == ["unknown field"]
    assert _errors(flavor, {"paths": ["/"], "priority": 1}) == ["unknown field"]
    assert _errors(flavor, {"paths": ["/"]}) == []


async def test_fakekong_knob_reports_and_validates_its_flavor() -> None:
    with trio.fail_after(10):
        async with FakeKong(router_flavor="expressions") as fk, AdminClient(fk.url, _opts()) as c:
            assert (await c.info()).router_flavor == "expressions"
            ok = _config(EXPRESSION_ROUTE)
            assert (await c.post_config(orjson.dumps(ok))).status == 201
            fk.router_flavor = "traditional_compatible"
            bad = _config({**EXPRESSION_ROUTE, "name": "r2"})
            assert (await c.post_config(orjson.dumps(bad))).status == 400


async def test_a_gateway_discovered_later_with_another_flavor_is_an_error_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with trio.fail_after(20):
        async with (
            FakeKong(router_flavor="expressions") as a,
            FakeKong() as late,
            _gateways([a.url]) as gs,
        ):
            assert await gs.wait_router_flavor() == "expressions"
            with caplog.at_level("ERROR", logger="kic_trio"):
                gw = gs.add(late.url, discovered=True)
                await gs.wait_for(lambda _: gw.info is not None)
            errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
            assert any(
                "runs router flavor traditional_compatible" in m
                and "translates for expressions" in m
                for m in errors
            ), errors
