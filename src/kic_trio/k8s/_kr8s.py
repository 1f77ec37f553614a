"""Every use of kr8s's private attributes, in one place (kr8s is pinned; see pyproject.toml).

kr8s loads credentials well (kubeconfig, exec plugins, in-cluster service account) but its
``Api`` has no public way to do four things a controller needs; each is one function below:

* take an ``Api`` out of kr8s's per-thread cache, so two controllers never share (and close)
  one client (:func:`open_api`);
* stop kr8s falling back to ``$KUBECONFIG``/``~/.kube/config`` when only a URL is given;
* know which of its files kr8s wrote from ``*-data`` kubeconfig fields (client keys
  included), to delete them — it never does (:func:`temp_files`);
* rebuild / close its own httpx session after credentials change (:func:`refresh_session`,
  :func:`close_session`).

When upgrading kr8s, check these against its source (``tests/unit/k8s/test_kube_client.py``
covers the cache and the temp files); ``tests/unit/test_house_rules.py`` keeps kr8s's private
names out of every other module.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import kr8s


def open_api(*, url: str | None, kubeconfig: str | None, serviceaccount: Path) -> Any:
    """A kr8s ``Api`` of our own: out of kr8s's cache, no kubeconfig fallback for a bare URL."""
    api = kr8s.asyncio.Api(
        bypass_factory=True, url=url, kubeconfig=kubeconfig, serviceaccount=str(serviceaccount)
    )
    if url and not kubeconfig:
        # Only the URL: do not let kr8s pick up $KUBECONFIG or ~/.kube/config behind our back.
        api.auth._kubeconfig_path_or_dict = False  # type: ignore[assignment]
    # Out of kr8s's per-thread cache: this Api belongs to one controller instance only.
    for cache in kr8s.asyncio.Api._instances.values():
        for key in [k for k, v in list(cache.items()) if v is api]:
            del cache[key]
    return api


def temp_files(api: Any) -> list[str]:
    """Files kr8s wrote from ``*-data`` kubeconfig fields (it never removes them)."""
    auth = api.auth
    user = getattr(auth, "_user", {}) or {}
    cluster = getattr(auth, "_cluster", {}) or {}
    out = []
    if "client-key-data" in user and auth.client_key_file:
        out.append(str(auth.client_key_file))
    if "client-certificate-data" in user and auth.client_cert_file:
        out.append(str(auth.client_cert_file))
    if "certificate-authority-data" in cluster and auth.server_ca_file:
        out.append(str(auth.server_ca_file))
    return out


async def refresh_session(api: Any) -> None:
    """Rebuild kr8s's own session from its (re-read) auth, for code using kr8s objects."""
    await api._create_session()


async def close_session(api: Any) -> None:
    """Close kr8s's own session (kr8s never does)."""
    session = getattr(api, "_session", None)
    if session is not None:
        with contextlib.suppress(Exception):
            await session.aclose()
