"""Gateway discovery: the Kong gateways are the ready endpoints of ``kong_admin_svc``.

The Service's EndpointSlices (label ``kubernetes.io/service-name``) list its Pods; every
endpoint that is ready, not terminating and backed by a Pod gives one gateway per port whose
name is in ``kong_admin_svc_port_names``, at ``https://<podIP>:<port>`` (always https, as
upstream). A new gateway is added to the :class:`GatewaySet` — it starts up and gets the
current configuration at once — and a gone one is removed. Readiness of each gateway is
checked by its own task (``/status`` every ``kong_status_check_interval``, within
``gateway_discovery_readiness_check_timeout``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import trio

from .._instance import Instance
from ._applier import GatewaySet

SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def admin_url(address: str, port: int) -> str:
    """Upstream's gateway URL for an endpoint: always https, IPv6 bracketed."""
    host = f"[{address}]" if ":" in address else address
    return f"https://{host}:{port}"


def discovered_gateways(
    slices: Iterable[Mapping[str, Any]],
    port_names: Iterable[str],
    *,
    service: str,
    namespace: str,
    url_for: Callable[[str, int], str] = admin_url,
) -> dict[str, str]:
    """Admin URLs of the ready endpoints in ``slices`` -> the TLS server name to use for each.

    ``url_for(address, port)`` makes the URL (default :func:`admin_url`); an embedder that
    reaches gateways some other way (a port-forward, a test on loopback) can map it.
    """
    wanted = set(port_names)
    out: dict[str, str] = {}
    server_name = f"pod.{service}.{namespace}.svc"
    for sl in slices:
        ports = [
            p["port"]
            for p in (sl.get("ports") or [])
            if isinstance(p, Mapping) and p.get("name") in wanted and isinstance(p.get("port"), int)
        ]
        for ep in sl.get("endpoints") or []:
            if not isinstance(ep, Mapping):
                continue
            cond = ep.get("conditions") or {}
            # an absent "ready" means unknown, which Kubernetes says to read as ready
            if cond.get("terminating") is True or cond.get("ready") is False:
                continue
            target = ep.get("targetRef") or {}
            if target.get("kind") != "Pod":
                continue
            addrs = ep.get("addresses") or []
            if not addrs or not isinstance(addrs[0], str):
                continue
            for port in ports:
                out[url_for(addrs[0], port)] = server_name
    return out


class _SliceSink:
    """The Reflector's sink: keeps the Service's slices and re-derives the gateways."""

    def __init__(
        self,
        instance: Instance,
        gateways: GatewaySet,
        service: str,
        namespace: str,
        url_for: Callable[[str, int], str],
    ) -> None:
        self._url_for = url_for
        self._instance = instance
        self._gateways = gateways
        self._service = service
        self._namespace = namespace
        self.slices: dict[str, Mapping[str, Any]] = {}
        self.listed = trio.Event()

    async def upsert(self, raw: dict[str, Any]) -> None:
        name = (raw.get("metadata") or {}).get("name")
        if isinstance(name, str):
            self.slices[name] = raw
            if self.listed.is_set():
                self.reconcile()

    async def delete(self, namespace: str, name: str) -> None:
        self.slices.pop(name, None)
        if self.listed.is_set():
            self.reconcile()

    async def synced(self, source: object) -> None:
        self.reconcile()
        self.listed.set()

    def reconcile(self) -> None:
        cfg = self._instance.cfg
        log = self._instance.log
        found = discovered_gateways(
            self.slices.values(),
            cfg.kong_admin_svc_port_names,
            service=self._service,
            namespace=self._namespace,
            url_for=self._url_for,
        )
        for url in sorted(set(self._gateways.urls()) - set(found)):
            log.info("gateway discovery: %s is gone", url)
            self._gateways.remove(url)
        for url, server_name in sorted(found.items()):
            if self._gateways.get(url) is None:
                log.info("gateway discovery: found %s", url)
                self._gateways.add(
                    url, discovered=True, server_name=cfg.kong_admin_tls_server_name or server_name
                )


async def run_gateway_discovery(
    instance: Instance,
    kube: Any,
    gateways: GatewaySet,
    *,
    url_for: Callable[[str, int], str] = admin_url,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Keep ``gateways`` equal to the ready admin endpoints of ``kong_admin_svc``.

    Watches the Service's EndpointSlices with the watch layer's :class:`Reflector` (list,
    then watch; relist on 410; backoff on errors), filtered by the
    ``kubernetes.io/service-name`` label. Returns from ``nursery.start`` after the first list.
    """
    from ..k8s import Reflector
    from ..models import KINDS

    cfg = instance.cfg
    if not cfg.kong_admin_svc:
        raise ValueError("gateway discovery needs kong_admin_svc")
    namespace, _, service = cfg.kong_admin_svc.partition("/")
    sink = _SliceSink(instance, gateways, service, namespace, url_for)
    reflector = Reflector(
        kube,
        "EndpointSlice",
        KINDS["EndpointSlice"],
        sink,
        namespace=namespace,
        label_selector=f"{SERVICE_NAME_LABEL}={service}",
    )
    async with trio.open_nursery() as nursery:
        nursery.start_soon(reflector.run)
        await sink.listed.wait()
        task_status.started()
