"""Kong's schemas of custom entity types: asked once per type and gateway, never per
translation; a 404 is kept as "Kong has no such type"; a new type is asked when it appears
(``kong/_schemas.py``, against a real FakeKong on loopback)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from kic_trio import Config
from kic_trio._instance import Instance
from kic_trio._latest import LatestValue
from kic_trio._payload import ConfigPayload
from kic_trio.kong import AdminAPIOptions, AdminClient, GatewaySet, run_applier
from kic_trio.kong._schemas import EntitySchemaCache
from kic_trio.testing import FakeKong
from kic_trio.translator import BUILTIN_SCHEMAS, EntitySchema


@asynccontextmanager
async def _gateways(urls: list[str]) -> AsyncIterator[GatewaySet]:
    inst = Instance.create(Config(kong_admin_url=urls))
    gs = GatewaySet.from_config(inst.cfg)
    latest: LatestValue[ConfigPayload] = LatestValue()
    async with trio.open_nursery() as nursery:
        await nursery.start(run_applier, inst, latest, gs)
        yield gs
        nursery.cancel_scope.cancel()


async def test_fakekong_answers_schemas_like_kong() -> None:
    with trio.fail_after(10):
        async with FakeKong() as fk, AdminClient(fk.url, AdminAPIOptions()) as c:
            answer = await c.entity_schema("degraphql_routes")
            assert answer is not None
            assert (
                EntitySchema.from_kong("degraphql_routes", answer)
                == (BUILTIN_SCHEMAS["degraphql_routes"])
            )
            assert await c.entity_schema("other_things") is None
            (last,) = [r for r in fk.requests if r.path == "/schemas/other_things"]
            assert last.status == 404


async def test_each_type_is_asked_once_and_a_new_type_when_it_appears() -> None:
    with trio.fail_after(20):
        async with FakeKong() as fk, _gateways([fk.url]) as gs:
            await gs.wait_for(lambda g: all(x.ready for x in g))
            learned = trio.Event()

            def on_learned() -> None:
                nonlocal learned
                learned.set()

            async with trio.open_nursery() as nursery:
                cache: EntitySchemaCache = await nursery.start(
                    EntitySchemaCache(gs).run, on_learned
                )
                assert cache.current() == ()  # nothing asked: the translator's own table
                cache.want(["degraphql_routes", "other_things"])
                await learned.wait()
                assert cache.current() == (
                    BUILTIN_SCHEMAS["degraphql_routes"],
                    EntitySchema.missing("other_things"),
                )
                learned = trio.Event()
                for _ in range(5):  # the translator says the same types before each run
                    cache.want(["degraphql_routes", "other_things"])
                cache.want(["routes"])
                await learned.wait()
                assert [s.entity_type for s in cache.current()] == [
                    "degraphql_routes",
                    "other_things",
                    "routes",
                ]
                asked = sorted(r.path for r in fk.requests if r.path.startswith("/schemas/"))
                assert asked == [
                    "/schemas/degraphql_routes",
                    "/schemas/other_things",
                    "/schemas/routes",
                ]
                nursery.cancel_scope.cancel()


async def test_wait_known_returns_once_kong_answered_for_each_type() -> None:
    """What the first translation waits for (bounded by the controller's FIRST_SCHEMAS_WAIT)."""
    with trio.fail_after(20):
        async with FakeKong() as fk, _gateways([fk.url]) as gs:
            await gs.wait_for(lambda g: all(x.ready for x in g))
            async with trio.open_nursery() as nursery:
                cache: EntitySchemaCache = await nursery.start(
                    EntitySchemaCache(gs).run, lambda: None
                )
                await cache.wait_known(["other_things", "routes"])
                known = {s.entity_type: s.exists for s in cache.current()}
                assert known == {"other_things": False, "routes": True}
                nursery.cancel_scope.cancel()
