"""Kong's schemas of the KongCustomEntity types, learned with ``GET /schemas/<type>``.

Upstream asks Kong for a custom entity type's schema on every translation; here the
translator is pure (it gets the answers as ``TranslatorOptions.entity_schemas``), and
:class:`EntitySchemaCache` asks once per type and gateway, in its own task, so translation
never waits for Kong:

* the translator task says which types the store holds (:meth:`EntitySchemaCache.want`);
  a type not asked yet wakes the task, which asks every ready gateway;
* a 404 means "Kong has no such type" (kept: the entity stays out with a Failure); a
  transport error or another status is not kept and is asked again later (backoff
  ``RETRY_BASE`` doubling to ``RETRY_CAP``); until some gateway answered, the translator uses
  its built-in table or leaves the type out (fail closed);
* when what the gateways say changes, a :class:`~kic_trio._deltas.SchemasLearned` goes to the
  translator task, which translates again with :meth:`EntitySchemaCache.current`.

Several gateways: a type one listed gateway does not have counts as missing (that gateway
would refuse the whole configuration); otherwise the answer of the first gateway (by URL)
that has it is used. Questions go to ready gateways only; answers are dropped with their
gateway (discovery removed it). Advice: answers are kept for the life of a gateway's entry; a Kong
upgraded in place with a new plugin is seen after a controller restart or a new gateway URL.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Iterable

import trio

from .._backoff import BackoffPolicy
from .._errors import KongAdminError
from ..translator import EntitySchema
from ._applier import GatewaySet

log = logging.getLogger("kic_trio.kong")

RETRY_BASE = 1.0
RETRY_CAP = 60.0
_RETRY = BackoffPolicy(RETRY_BASE, RETRY_CAP)


class EntitySchemaCache:
    """Kong's answers to ``GET /schemas/<type>``, per gateway URL and type."""

    def __init__(self, gateways: GatewaySet) -> None:
        self._gateways = gateways
        self._answers: dict[tuple[str, str], EntitySchema] = {}
        self._wanted: frozenset[str] = frozenset()
        self._wake = trio.Event()
        self._learned: tuple[EntitySchema, ...] = ()
        self._learned_changed = trio.Event()

    def want(self, types: Iterable[str]) -> None:
        """The custom entity types the store holds now (cheap: call before each translation)."""
        wanted = frozenset(types)
        if not wanted <= self._wanted:
            self._wake.set()
        self._wanted = self._wanted | wanted

    def current(self) -> tuple[EntitySchema, ...]:
        """What the ready gateways said about the wanted types (types none answered: absent)."""
        return self._learned

    async def wait_known(self, types: Iterable[str]) -> None:
        """Return once some gateway answered for each of ``types`` (bound it with a timeout:
        a gateway that never answers keeps it waiting)."""
        wanted = frozenset(types)
        self.want(wanted)
        while not wanted <= {s.entity_type for s in self._learned}:
            await self._learned_changed.wait()

    def _merge(self) -> tuple[EntitySchema, ...]:
        # every listed gateway's answers, ready or not: a gateway whose status check flaps
        # must not flip the schemas (each change is a full translation)
        urls = sorted(g.url for g in self._gateways)
        out: list[EntitySchema] = []
        for etype in sorted(self._wanted):
            said = [self._answers[(u, etype)] for u in urls if (u, etype) in self._answers]
            if not said:
                continue
            missing = next((s for s in said if not s.exists), None)
            out.append(missing or said[0])
        return tuple(out)

    async def _ask(self) -> bool:
        """Ask every ready gateway about every wanted type it has not answered; False when
        some question must be asked again (an error, not a 404)."""
        complete = True
        present = {g.url for g in self._gateways}
        for key in [k for k in self._answers if k[0] not in present]:
            del self._answers[key]  # a gateway that went away
        for gw in self._gateways:
            client = gw.client
            if not gw.ready or client is None:
                continue
            for etype in sorted(self._wanted):
                if (gw.url, etype) in self._answers:
                    continue
                try:
                    answer = await client.entity_schema(etype)
                except KongAdminError as e:
                    log.warning("gateway %s: GET /schemas/%s failed: %s", gw.shown, etype, e)
                    complete = False
                    continue
                self._answers[(gw.url, etype)] = (
                    EntitySchema.missing(etype)
                    if answer is None
                    else EntitySchema.from_kong(etype, answer)
                )
        return complete

    async def run(
        self,
        on_learned: Callable[[], None],
        *,
        task_status: trio.TaskStatus[EntitySchemaCache] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Ask until cancelled; ``on_learned()`` after each change of :meth:`current`."""
        task_status.started(self)
        failures = 0
        while True:
            self._wake = trio.Event()
            complete = await self._ask()
            learned = self._merge()
            if learned != self._learned:
                self._learned = learned
                self._learned_changed.set()
                self._learned_changed = trio.Event()
                on_learned()
            failures = 0 if complete else failures + 1
            deadline = trio.current_time() + (_RETRY.delay(failures) if failures else 1e9)
            async with trio.open_nursery() as nursery:

                async def until(wait: Callable[[], Awaitable[object]]) -> None:
                    await wait()
                    nursery.cancel_scope.cancel()

                nursery.start_soon(until, self._wake.wait)
                nursery.start_soon(until, self._gateways.wait_changed)
                nursery.start_soon(until, functools.partial(trio.sleep_until, deadline))
