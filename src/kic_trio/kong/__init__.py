"""The Kong side: Admin API client, applier, gateway discovery.

``run_gateways`` is what ``run()`` starts: static gateways from ``kong_admin_url``, or the
gateways discovered from ``kong_admin_svc``'s EndpointSlices, all fed by the applier.
"""

from __future__ import annotations

from typing import Any

import trio

from .._instance import Instance
from .._latest import LatestValue
from .._payload import ConfigPayload
from ._applier import Gateway, GatewaySet, GatewayStatus, run_applier
from ._client import (
    EMPTY_HASH,
    AdminAPIOptions,
    AdminClient,
    KongInfo,
    PushResult,
    make_ssl_context,
    parse_retry_after,
    parse_version,
    redact_url,
)
from ._discovery import admin_url, discovered_gateways, run_gateway_discovery
from ._parse import (
    ConfigRejection,
    EntityError,
    ResponseParsingError,
    failures_from,
    parse_rejection,
    ref_from_tags,
)

__all__ = [
    "EMPTY_HASH",
    "AdminAPIOptions",
    "AdminClient",
    "ConfigRejection",
    "EntityError",
    "Gateway",
    "GatewaySet",
    "GatewayStatus",
    "KongInfo",
    "PushResult",
    "ResponseParsingError",
    "admin_url",
    "discovered_gateways",
    "failures_from",
    "make_ssl_context",
    "parse_rejection",
    "parse_retry_after",
    "parse_version",
    "redact_url",
    "ref_from_tags",
    "run_applier",
    "run_gateway_discovery",
    "run_gateways",
]


async def run_gateways(
    instance: Instance,
    kube: Any,
    latest: LatestValue[ConfigPayload],
    *,
    task_status: trio.TaskStatus[GatewaySet] = trio.TASK_STATUS_IGNORED,
) -> None:
    """The applier plus, with ``kong_admin_svc``, gateway discovery. Hands back the set."""
    cfg = instance.cfg
    gateways = GatewaySet() if cfg.kong_admin_svc else GatewaySet.from_config(cfg)
    async with trio.open_nursery() as nursery:
        await nursery.start(run_applier, instance, latest, gateways)
        if cfg.kong_admin_svc:
            await nursery.start(run_gateway_discovery, instance, kube, gateways)
        task_status.started(gateways)
