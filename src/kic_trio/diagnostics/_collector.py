"""What the diagnostics server shows, kept by the translator task and the applier.

Memory is bounded by construction: each record holds a *reference* to the body bytes the
applier pushed (the same object, not a copy, and never a parsed dict), one record per gateway
and outcome, plus the newest translation. Sanitizing happens later, on request
(:mod:`._app`), so recording costs a few attribute writes on the push path.

Advice: hand :class:`Diagnostics` to the instance only with ``--dump-config``; without it the
instance keeps :class:`NullDiagnostics`, which records nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

import attrs

from .._payload import ConfigPayload, body_repr
from ..models import Failure, KongPlugin, ObjectRef
from ._sanitize import PluginKey, PluginSecrets, plugin_secrets

#: How many translations' Secret-sourced plugin metadata is remembered (a body being pushed
#: was translated at most a few translations ago; older bodies get the union of these).
_META_HISTORY = 8


def _no_secrets_repr(value: object) -> str:
    return "<plugin secret metadata>" if value else "{}"


@attrs.frozen
class PushRecord:
    """One push outcome to one gateway. ``body`` is the pushed config (its repr: its size)."""

    gateway: str
    at: float
    sha: str
    outcome: str  # "applied", "fallback", "refused", "error"
    status: int | None
    message: str
    size: int
    body: bytes = attrs.field(repr=body_repr)
    secrets: Mapping[PluginKey, PluginSecrets] = attrs.field(repr=_no_secrets_repr)
    #: Kong's answer to a refusal (it echoes entities: served sanitized)
    answer: bytes = attrs.field(default=b"", repr=body_repr)
    failures: tuple[Failure, ...] = ()
    left_out: Mapping[ObjectRef, str] = attrs.field(factory=dict)
    plugins_removed: tuple[str, ...] = ()


@attrs.frozen
class TranslationRecord:
    """The newest translation: its config (by reference) and its per-object failures."""

    at: float
    payload: ConfigPayload
    secrets: Mapping[PluginKey, PluginSecrets] = attrs.field(repr=_no_secrets_repr)


class SnapshotLike(Protocol):
    """What :meth:`Diagnostics.translated` reads of a store snapshot."""

    def list(self, kind: str) -> list[Any]: ...  # the store's models of that kind


class FallbackLike(Protocol):
    """What :meth:`Diagnostics.applied` reads of a fallback plan (``kong.FallbackPlan``)."""

    @property
    def removed(self) -> int: ...
    @property
    def failures(self) -> tuple[Failure, ...]: ...
    @property
    def left_out(self) -> Mapping[ObjectRef, str]: ...
    @property
    def plugins_removed(self) -> tuple[str, ...]: ...


class DiagnosticsSink(Protocol):
    """What the translator task and the applier report to (``Instance.diagnostics``)."""

    def translated(self, payload: ConfigPayload, snapshot: SnapshotLike | None) -> None: ...

    def applied(
        self,
        gateway: str,
        payload: ConfigPayload,
        status: int,
        *,
        fallback: FallbackLike | None = None,
    ) -> None: ...

    def failed(
        self,
        gateway: str,
        payload: ConfigPayload,
        message: str,
        status: int | None,
        *,
        answer: bytes = b"",
        failures: tuple[Failure, ...] = (),
        left_out: Iterable[ObjectRef] = (),
    ) -> None: ...


class NullDiagnostics:
    """Records nothing: the default, when ``--dump-config`` is off."""

    def translated(self, payload: ConfigPayload, snapshot: SnapshotLike | None) -> None:
        return None

    def applied(
        self,
        gateway: str,
        payload: ConfigPayload,
        status: int,
        *,
        fallback: FallbackLike | None = None,
    ) -> None:
        return None

    def failed(
        self,
        gateway: str,
        payload: ConfigPayload,
        message: str,
        status: int | None,
        *,
        answer: bytes = b"",
        failures: tuple[Failure, ...] = (),
        left_out: Iterable[ObjectRef] = (),
    ) -> None:
        return None


@attrs.define
class Diagnostics:
    """The last successful, failed and fallback configuration (per gateway), the newest
    translation, and each gateway's last push. Single-threaded writers (the Trio thread);
    readers take the attributes as they are (each is replaced whole, never mutated)."""

    sensitive: bool = False
    clock: Callable[[], float] = time.time
    translation: TranslationRecord | None = None
    #: gateway -> last push that Kong accepted (normal or fallback)
    last_successful: dict[str, PushRecord] = attrs.field(factory=dict)
    #: gateway -> last push that failed
    last_failed: dict[str, PushRecord] = attrs.field(factory=dict)
    #: gateway -> last fallback configuration Kong accepted
    last_fallback: dict[str, PushRecord] = attrs.field(factory=dict)
    #: gateway -> last push, whatever its outcome
    last_push: dict[str, PushRecord] = attrs.field(factory=dict)
    _meta: list[tuple[str, Mapping[PluginKey, PluginSecrets]]] = attrs.field(factory=list)

    # -- writers -------------------------------------------------------------------------

    def translated(self, payload: ConfigPayload, snapshot: SnapshotLike | None) -> None:
        plugins: list[KongPlugin] = []
        if snapshot is not None:
            for kind in ("KongPlugin", "KongClusterPlugin"):
                plugins.extend(snapshot.list(kind))
        secrets = plugin_secrets(plugins)
        self._meta = [(s, m) for s, m in self._meta if s != payload.sha][-(_META_HISTORY - 1) :]
        self._meta.append((payload.sha, secrets))
        self.translation = TranslationRecord(self.clock(), payload, secrets)

    def _secrets_for(self, sha: str) -> Mapping[PluginKey, PluginSecrets]:
        for s, m in reversed(self._meta):
            if s == sha:
                return m
        # a fallback body (derived from a translated one) or an old one: every plugin any
        # recent translation knew as Secret-sourced
        union: dict[PluginKey, PluginSecrets] = {}
        for _, m in self._meta:
            for k, v in m.items():
                old = union.get(k)
                union[k] = (
                    v
                    if old is None
                    else PluginSecrets(
                        old.whole or v.whole, tuple(dict.fromkeys(old.paths + v.paths))
                    )
                )
        return union

    def applied(
        self,
        gateway: str,
        payload: ConfigPayload,
        status: int,
        *,
        fallback: FallbackLike | None = None,
    ) -> None:
        left_out: Mapping[ObjectRef, str] = dict(fallback.left_out) if fallback else {}
        rec = PushRecord(
            gateway=gateway,
            at=self.clock(),
            sha=payload.sha,
            outcome="fallback" if fallback is not None and fallback.removed else "applied",
            status=status,
            message="accepted" if status != 304 else "already running it (HTTP 304)",
            size=len(payload.body),
            body=payload.body,
            secrets=self._secrets_for(payload.sha),
            failures=tuple(fallback.failures) if fallback is not None else (),
            left_out=left_out,
            plugins_removed=tuple(fallback.plugins_removed) if fallback is not None else (),
        )
        self.last_successful = {**self.last_successful, gateway: rec}
        self.last_push = {**self.last_push, gateway: rec}
        if rec.outcome == "fallback":
            self.last_fallback = {**self.last_fallback, gateway: rec}
        else:
            self.last_fallback = {g: r for g, r in self.last_fallback.items() if g != gateway}

    def failed(
        self,
        gateway: str,
        payload: ConfigPayload,
        message: str,
        status: int | None,
        *,
        answer: bytes = b"",
        failures: tuple[Failure, ...] = (),
        left_out: Iterable[ObjectRef] = (),
    ) -> None:
        rec = PushRecord(
            gateway=gateway,
            at=self.clock(),
            sha=payload.sha,
            outcome="refused" if status in (400, 413) else "error",
            status=status,
            message=message,
            size=len(payload.body),
            body=payload.body,
            secrets=self._secrets_for(payload.sha),
            answer=answer,
            failures=failures,
            left_out=dict.fromkeys(left_out, "left out of the fallback configuration"),
        )
        self.last_failed = {**self.last_failed, gateway: rec}
        self.last_push = {**self.last_push, gateway: rec}

    # -- readers -------------------------------------------------------------------------

    @staticmethod
    def newest(records: Mapping[str, PushRecord], gateway: str | None = None) -> PushRecord | None:
        """The record of ``gateway``, or the newest of all gateways when it is ``None``."""
        if gateway is not None:
            return records.get(gateway)
        best: PushRecord | None = None
        for rec in records.values():
            if best is None or rec.at >= best.at:
                best = rec
        return best
