"""A ``KubeClient.request`` over the control plane's admin client that counts its calls.

Not a mock: every request goes to the real kube-apiserver; the count lets tests prove that
unchanged state is not rewritten and repeated problems do not create new objects.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx

from kic_trio._errors import KubernetesError
from kic_trio.testing.controlplane import ControlPlane


class Kube:
    """The ``KubeClient.request`` contract over the control plane's admin client, counting calls."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.calls: list[tuple[str, str]] = []

    async def request(
        self, method: str, path: str, *, params: Any = None, json: Any = None, headers: Any = None
    ) -> httpx.Response:
        self.calls.append((method, path))
        try:
            resp = await self.client.request(
                method, path, params=params, json=json, headers=headers
            )
        except httpx.HTTPError as exc:
            raise KubernetesError(f"{method} {path}: {exc}") from exc
        if resp.status_code >= 400:
            raise KubernetesError(
                f"{method} {path}: {resp.status_code} {resp.text[:200]}", status=resp.status_code
            )
        return resp

    def count(self, method: str, suffix: str = "") -> int:
        return sum(1 for m, p in self.calls if m == method and p.endswith(suffix))


@contextlib.asynccontextmanager
async def kube_client(cp: ControlPlane) -> AsyncIterator[Kube]:
    async with cp.admin_client() as client:
        yield Kube(client)
