"""FakeKong reports the proxy listeners it is told to (Gateway listeners are matched to them)."""

from __future__ import annotations

import httpx
import trio

from kic_trio.testing import FakeKong


async def test_default_is_kongs_single_http_listener() -> None:
    with trio.fail_after(10):
        async with FakeKong() as fk, httpx.AsyncClient(base_url=fk.url) as c:
            conf = (await c.get("/")).json()["configuration"]
            assert conf["proxy_listeners"] == [{"ip": "0.0.0.0", "port": 8000, "ssl": False}]
            assert conf["stream_listeners"] == []


async def test_configured_http_and_https_listeners_are_reported() -> None:
    with trio.fail_after(10):
        fk = FakeKong(
            proxy_listeners=((8000, False), (8443, True)), stream_listeners=((9000, False),)
        )
        async with fk, httpx.AsyncClient(base_url=fk.url) as c:
            conf = (await c.get("/")).json()["configuration"]
            assert [(x["port"], x["ssl"]) for x in conf["proxy_listeners"]] == [
                (8000, False),
                (8443, True),
            ]
            assert conf["stream_listeners"] == [{"ip": "0.0.0.0", "port": 9000, "ssl": False}]
