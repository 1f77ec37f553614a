"""``status.conditions`` of Kong's own kinds: ``Programmed`` once Kong runs the object.

Upstream writes ``Programmed`` on KongCustomEntity, KongVault and KongServiceFacade (and
its consumers) after each sync: ``True/Programmed`` when the object is in the configuration
Kong accepted, ``False/Invalid`` when it failed (its Events say why). The translator already
decides which (:data:`kic_trio.models.CONDITIONED_KINDS`, ``ConfigPayload.status``); this edge
only writes, under the same rules as the Ingress addresses (``_status.py``):

* only what differs from what it last wrote: a steady state costs no writes;
* newest wins: a set submitted while a batch is written replaces the rest of it;
* rate-limited through the status updater's token bucket, only while leading;
* a JSON merge-patch of the ``/status`` subresource carrying ``metadata.uid``, so an object
  re-created under the same name never gets the old one's conditions. The conditions list is
  replaced whole: these kinds carry only the controller's conditions.

``lastTransitionTime`` is the time of the write: a condition is written only when it changed
(after a restart of the controller, once more).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from typing import Any

import trio

from .._errors import KubernetesError
from ..models import KINDS, Condition, ObjectRef
from ._events import TokenBucket
from ._leader import KubeRequester
from ._paths import namespace_segment, segment

Conditions = tuple[Condition, ...]
_MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


def status_path(ref: ObjectRef) -> str:
    """The ``/status`` subresource of ``ref`` (its kind from the registry); a bad name raises
    :class:`~._paths.InvalidName` before any request."""
    info = KINDS[ref.kind]
    base = f"/apis/{info.group}/{info.version}" if info.group else f"/api/{info.version}"
    if info.namespaced:
        base += f"/namespaces/{namespace_segment(ref.namespace)}"
    return f"{base}/{info.plural}/{segment(ref.name)}/status"


def conditions_patch(conditions: Conditions, uid: str, now: float) -> dict[str, Any]:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    items = [
        {
            "type": c.type,
            "status": c.status,
            "reason": c.reason,
            "message": c.message,
            "lastTransitionTime": stamp,
        }
        for c in conditions
    ]
    patch: dict[str, Any] = {"status": {"conditions": items}}
    if uid:
        patch["metadata"] = {"uid": uid}
    return patch


class ConditionsWriter:
    """Writes the submitted conditions while :meth:`lead` runs (the status updater runs it
    while leading, and calls :meth:`reset` when a term ends)."""

    def __init__(
        self,
        kube: KubeRequester,
        log: logging.Logger,
        bucket: TokenBucket,
        *,
        request_timeout: float = 10.0,
        retry_period: float = 10.0,
    ) -> None:
        self.kube = kube
        self.log = log
        self._bucket = bucket
        self.request_timeout = request_timeout
        self.retry_period = retry_period
        self._want: Mapping[ObjectRef, Conditions] = {}
        self._written: dict[ObjectRef, Conditions] = {}
        self._dirty = trio.Event()
        self._idle = trio.Event()
        self._idle.set()
        #: Counters, for logs and tests.
        self.patches = 0
        self.failures = 0

    def submit(self, want: Mapping[ObjectRef, Conditions]) -> None:
        """The conditions every object should carry now (the latest push). Never blocks."""
        self._want = want
        if any(self._written.get(r) != c for r, c in want.items()):
            self._idle = trio.Event() if self._idle.is_set() else self._idle
            self._dirty.set()

    async def wait_idle(self) -> None:
        """Return once everything submitted so far has been written (for tests)."""
        await self._idle.wait()

    def reset(self) -> None:
        """A term ended: whoever leads next may have written; compare afresh next term."""
        self._written.clear()

    async def lead(self) -> None:
        self._dirty.set()
        retry = False
        while True:
            with trio.move_on_after(self.retry_period if retry else math.inf):
                await self._dirty.wait()
            self._dirty = trio.Event()
            want = self._want
            failed_before = self.failures
            for ref in sorted((r for r, c in want.items() if self._written.get(r) != c), key=str):
                if self._want is not want:
                    break  # newest wins: the loop starts over with the new set
                await self._patch(ref, want[ref])
            # memory follows the cluster: forget objects no longer submitted
            if len(self._written) > len(self._want) + 1000:
                self._written = {r: c for r, c in self._written.items() if r in self._want}
            retry = self.failures != failed_before
            if not self._dirty.is_set() and not retry:
                self._idle.set()

    async def _patch(self, ref: ObjectRef, conditions: Conditions) -> None:
        await self._bucket.take()
        try:
            path = status_path(ref)
            with trio.fail_after(self.request_timeout):
                await self.kube.request(
                    "PATCH",
                    path,
                    json=conditions_patch(conditions, ref.uid, time.time()),
                    headers=_MERGE_PATCH,
                )
        except (KubernetesError, trio.TooSlowError) as exc:
            status = getattr(exc, "status", None)
            if status in (400, 404, 409, 422):
                # gone, re-created under the same name (uid precondition), or not writable:
                # a later push brings the new object; nothing to retry
                self._written[ref] = conditions
                self.log.debug("conditions of %s not written: %s", ref, exc)
                return
            self.failures += 1
            self.log.warning("could not write the conditions of %s: %s", ref, exc)
            return
        self.patches += 1
        self._written[ref] = conditions


__all__ = ["ConditionsWriter", "conditions_patch", "status_path"]
