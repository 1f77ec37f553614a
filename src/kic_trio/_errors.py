"""The project's exception hierarchy.

Exception policy (the public contract, see README "Errors"):

* ``run()`` raises :class:`ConfigError` before starting anything when the configuration is
  invalid.
* Any other failure that stops the controller surfaces as exactly one
  :class:`ControllerError` (its ``__cause__`` is the original exception); callers never see
  a bare :class:`ExceptionGroup` for a single failure. Cancellation is never wrapped.
* Problems with *objects* (a bad annotation, a Kong rejection) are never exceptions: they
  become :class:`kic_trio.models.Failure` records, Kubernetes Events and lifecycle events,
  and the rest of the configuration still goes out.
* Each I/O edge translates its library's exceptions into the ones below at its boundary:
  ``kic_trio.k8s`` raises :class:`KubernetesError`, ``kic_trio.kong`` raises
  :class:`KongAdminError`.
"""

from __future__ import annotations

from collections.abc import Sequence


class KicTrioError(Exception):
    """Base class of every exception this package raises on purpose."""


class ConfigError(KicTrioError, ValueError):
    """The configuration is invalid. ``problems`` lists every bad field, not just the first."""

    def __init__(self, problems: Sequence[tuple[str, str, str]]) -> None:
        #: ``(field, flag, reason)`` for each problem.
        self.problems: tuple[tuple[str, str, str], ...] = tuple(problems)
        lines = [f"  {field} ({flag}): {reason}" for field, flag, reason in self.problems]
        n = len(self.problems)
        super().__init__(
            f"invalid configuration ({n} problem{'s' if n != 1 else ''}):\n" + "\n".join(lines)
        )


class ControllerError(KicTrioError):
    """The controller stopped because one of its tasks failed; see ``__cause__``."""


class KubernetesError(KicTrioError):
    """Talking to the Kubernetes API failed."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class KongAdminError(KicTrioError):
    """Talking to a Kong Admin API failed."""

    def __init__(self, message: str, *, url: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class UnsupportedKongError(KongAdminError):
    """The gateway is too old or runs with a database, which this controller does not drive yet."""
