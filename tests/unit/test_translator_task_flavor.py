"""The translator task learns Kong's router flavor before its first translation (virtual time)."""

from __future__ import annotations

import functools

import trio
import trio.testing
from test_translator_task import Rig, ingress, service

from kic_trio._controller import translator_task
from kic_trio._deltas import Synced, Upsert


async def test_first_translation_waits_for_the_router_flavor_and_uses_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    rig = Rig(sync_debounce=0.05)
    known = trio.Event()
    asked = []

    async def flavor() -> str:
        asked.append(trio.current_time())
        await known.wait()
        return "expressions"

    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            task = functools.partial(translator_task, offload=False, router_flavor=flavor)
            kinds = frozenset({"Service", "Ingress"})
            await nursery.start(task, rig.instance, rig.receive, rig.latest, kinds, None, None)
            for delta in (
                Upsert("Service", service("a")),
                Upsert("Ingress", ingress("a.example.com")),
                Synced("Service"),
                Synced("Ingress"),
            ):
                rig.send.send_nowait(delta)
            await trio.sleep(5)
            # synced, but no gateway has said how it routes: nothing translated yet
            assert len(asked) == 1 and not rig.latest.has_new
            assert rig.instance.health.caches_synced
            known.set()
            first = await rig.latest.get()
            assert b'"expression":"(http.host == \\"a.example.com\\")' in first.body
            assert b'"paths"' not in first.body
            # later changes are translated for the same flavor, without asking again
            rig.send.send_nowait(Upsert("Ingress", ingress("b.example.com")))
            second = await rig.latest.get()
            assert b'http.host == \\"b.example.com\\"' in second.body and len(asked) == 1
            nursery.cancel_scope.cancel()


async def test_unknown_flavor_names_translate_as_traditional(
    autojump_clock: trio.testing.MockClock,
) -> None:
    rig = Rig(sync_debounce=0.05)

    async def flavor() -> str:
        return "something_new"

    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            task = functools.partial(translator_task, offload=False, router_flavor=flavor)
            kinds = frozenset({"Service", "Ingress"})
            await nursery.start(task, rig.instance, rig.receive, rig.latest, kinds, None, None)
            for delta in (
                Upsert("Service", service("a")),
                Upsert("Ingress", ingress("a.example.com")),
                Synced("Service"),
                Synced("Ingress"),
            ):
                rig.send.send_nowait(delta)
            first = await rig.latest.get()
            assert b'"paths"' in first.body and b'"expression"' not in first.body
            nursery.cancel_scope.cancel()
