"""The typed seam between this package's tasks and the Kubernetes client.

Every task of the watch layer and every writer (leader election, status, Events) talks to the
API server through :class:`~kic_trio.k8s.KubeClient`; they are typed against these protocols
instead, so tests can drive them with small doubles and no task depends on the client's
internals. One definition, so the shapes cannot drift apart.
"""

from __future__ import annotations

import contextlib
from typing import Any, Protocol

import httpx


class KubeRequester(Protocol):
    """Plain calls: what the writers use.

    ``request`` returns the response of a 2xx call and raises
    :class:`~kic_trio._errors.KubernetesError` (with ``status`` set when the server answered)
    otherwise.
    """

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        headers: Any = None,
        timeout: httpx.Timeout | float | None = None,
    ) -> httpx.Response: ...


class KubeWatcher(KubeRequester, Protocol):
    """Calls and streams: what the watch layer uses (both raise ``KubernetesError``)."""

    def stream(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        headers: Any = None,
        timeout: httpx.Timeout | float | None = None,
    ) -> contextlib.AbstractAsyncContextManager[httpx.Response]: ...
