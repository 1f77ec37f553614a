"""Leadership as the rest of a controller sees it: one :class:`LeaderState` per instance.

Why here, below both ``_instance`` and ``k8s``: the elector (k8s/_leader.py) sets it, the
applier, the status updater and the Event recorder read it, and ``Instance`` owns it. One class
for all of them (there used to be two, with different defaults and features).
"""

from __future__ import annotations

import attrs
import trio


@attrs.define(eq=False)
class LeaderState:
    """Whether this instance leads, and a way to wait for that to change.

    The applier and the status updater look at ``is_leader`` before each write and wait on
    :meth:`wait_leader`; a task that must stop the moment leadership is lost runs inside a
    cancel scope cancelled by :meth:`wait_not_leader`.
    """

    _is_leader: bool = False  # the elector starts as a follower; Instance passes True
    _changed: trio.Event = attrs.field(factory=trio.Event)
    #: Number of times leadership was gained, so a writer can tell that it lost and regained
    #: it between two looks (its caches of what it wrote may then be stale).
    terms: int = 0

    @property
    def is_leader(self) -> bool:
        return self._is_leader

    def set(self, is_leader: bool) -> None:
        """Record a change (a no-op when nothing changes)."""
        if is_leader == self._is_leader:
            return
        self._is_leader = is_leader
        if is_leader:
            self.terms += 1
        self._changed.set()
        self._changed = trio.Event()

    async def wait_changed(self) -> None:
        """Return at the next change of :attr:`is_leader`."""
        await self._changed.wait()

    async def wait_leader(self) -> None:
        """Return once this instance leads (at once when it already does)."""
        while not self._is_leader:
            await self._changed.wait()

    async def wait_not_leader(self) -> None:
        """Return once this instance does not lead (at once when it does not)."""
        while self._is_leader:
            await self._changed.wait()
