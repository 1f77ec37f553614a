"""``--use-last-valid-config-for-fallback`` through the real applier, against FakeKong on
virtual time: what a fallback leaves out comes back as Kong last accepted it, whole."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import trio
import trio.testing
from test_applier_fallback import BAD, payload, routes_served, running

from kic_trio.testing import FakeKong
from kic_trio.testing.fakekong._validate import find_schema

pytestmark = pytest.mark.skipif(
    find_schema() is None,
    reason="Kong's declarative JSON schema not found (set $KIC_TRIO_KONG_SCHEMA)",
)


def tags(kind: str, name: str) -> list[str]:
    return [f"k8s-name:{name}", "k8s-namespace:a", f"k8s-kind:{kind}", f"k8s-uid:uid-{name}"]


def config(key_names: list[str], *, second: bool) -> dict[str, Any]:
    routes = [{"name": "a.web", "paths": ["/web"], "tags": tags("Ingress", "web")}]
    if second:  # an unrelated change that must go out with the fallback
        routes.append({"name": "a.new", "paths": ["/new"], "tags": tags("Ingress", "new")})
    return {
        "_format_version": "3.0",
        "services": [
            {
                "name": "a.svc",
                "host": "svc.a.svc",
                "port": 80,
                "tags": tags("Service", "svc"),
                "routes": routes,
            }
        ],
        "plugins": [
            {
                "name": "key-auth",
                "route": "a.web",
                "config": {"key_names": key_names},
                "tags": tags("KongPlugin", "auth"),
            }
        ],
    }


@pytest.mark.parametrize("backfill", [False, True])
async def test_the_left_out_objects_come_back_from_the_last_accepted_config(
    autojump_clock: trio.testing.MockClock, backfill: bool
) -> None:
    with trio.fail_after(600):
        async with FakeKong() as kong:
            kong.reject_entities = [BAD]
            async with running(kong, use_last_valid_config_for_fallback=backfill) as (
                latest,
                _,
                _,
            ):
                good = payload(config(["apikey"], second=False))
                latest.put(good)
                await kong.wait_for(
                    lambda k: k.configuration_hash == hashlib.md5(good.body).hexdigest()
                )
                latest.put(payload(config(["bad key"], second=True)))
                await kong.wait_for(lambda k: "a.new" in routes_served(k.config))
                if backfill:
                    # the old route comes back only together with its old key-auth
                    assert routes_served(kong.config) == {"a.web": {"key-auth"}, "a.new": set()}
                    [plugin] = kong.config["plugins"]
                    assert plugin["config"]["key_names"] == ["apikey"]
                else:
                    assert routes_served(kong.config) == {"a.new": set()}
