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

from collections.abc import Iterable, Mapping
from typing import Any

import trio

from .._errors import KubernetesError
from .._instance import Instance
from ._applier import GatewaySet

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
_SLICES = "/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices"
#: How often the EndpointSlices are listed.
POLL_INTERVAL = 1.0


def discovered_gateways(
    slices: Iterable[Mapping[str, Any]], port_names: Iterable[str], *, service: str, namespace: str
) -> dict[str, str]:
    """Admin URLs of the ready endpoints in ``slices`` -> the TLS server name to use for each."""
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
            host = f"[{addrs[0]}]" if ":" in addrs[0] else addrs[0]
            for port in ports:
                out[f"https://{host}:{port}"] = server_name
    return out


async def run_gateway_discovery(
    instance: Instance,
    kube: Any,
    gateways: GatewaySet,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Keep ``gateways`` equal to the ready admin endpoints of ``kong_admin_svc``.

    Lists the Service's EndpointSlices every :data:`POLL_INTERVAL` seconds through
    ``kube.request`` (a list filtered by label is one small request).
    """
    cfg = instance.cfg
    assert cfg.kong_admin_svc, "discovery needs kong_admin_svc"
    namespace, _, service = cfg.kong_admin_svc.partition("/")
    path = _SLICES.format(ns=namespace)
    params = {"labelSelector": f"{SERVICE_NAME_LABEL}={service}"}
    started = False
    while True:
        try:
            resp = await kube.request("GET", path, params=params)
            items = resp.json().get("items") or []
        except (KubernetesError, ValueError) as e:
            instance.log.warning("gateway discovery: cannot list EndpointSlices of %s: %s", cfg.kong_admin_svc, e)
        else:
            found = discovered_gateways(items, cfg.kong_admin_svc_port_names, service=service, namespace=namespace)
            for url in set(gateways.urls()) - set(found):
                instance.log.info("gateway discovery: %s is gone", url)
                gateways.remove(url)
            for url, server_name in sorted(found.items()):
                if gateways.get(url) is None:
                    instance.log.info("gateway discovery: found %s", url)
                    gateways.add(url, discovered=True, server_name=cfg.kong_admin_tls_server_name or server_name)
        if not started:
            started = True
            task_status.started()
        await trio.sleep(POLL_INTERVAL)
