"""Which EndpointSlice endpoints become gateways (pure: no cluster needed)."""

from __future__ import annotations

from typing import Any

from kic_trio.kong import admin_url, discovered_gateways


def slice_(port: int, *endpoints: dict[str, Any], name: str = "admin-tls") -> dict[str, Any]:
    return {"ports": [{"name": name, "port": port}, {"name": "proxy", "port": 8000}], "endpoints": list(endpoints)}


def ep(ip: str, *, ready: bool | None = True, terminating: bool | None = None, kind: str = "Pod") -> dict[str, Any]:
    cond: dict[str, Any] = {}
    if ready is not None:
        cond["ready"] = ready
    if terminating is not None:
        cond["terminating"] = terminating
    return {"addresses": [ip, "10.9.9.9"], "conditions": cond, "targetRef": {"kind": kind, "name": "kong-0"}}


PORTS = ("admin-tls", "kong-admin-tls")


def test_ready_pod_endpoints_on_named_ports_only() -> None:
    found = discovered_gateways(
        [
            slice_(8444, ep("10.0.0.1"), ep("10.0.0.2", ready=False), ep("10.0.0.3", terminating=True)),
            slice_(8445, ep("10.0.0.4", kind="Node"), ep("10.0.0.5", ready=None), name="kong-admin-tls"),
            slice_(8446, ep("10.0.0.6"), name="status"),
        ],
        PORTS,
        service="kong-admin",
        namespace="kong",
    )
    assert found == {
        "https://10.0.0.1:8444": "pod.kong-admin.kong.svc",
        "https://10.0.0.5:8445": "pod.kong-admin.kong.svc",  # unknown readiness counts as ready
    }


def test_ipv6_addresses_are_bracketed_and_bad_entries_ignored() -> None:
    found = discovered_gateways(
        [slice_(8444, ep("fd00::1"), {"addresses": []}, "junk"), {"endpoints": None}],  # type: ignore[arg-type]
        PORTS,
        service="s",
        namespace="n",
    )
    assert list(found) == ["https://[fd00::1]:8444"]


def test_url_mapping_hook() -> None:
    assert admin_url("fd00::1", 8444) == "https://[fd00::1]:8444"
    found = discovered_gateways(
        [slice_(8444, ep("10.0.0.1"))], PORTS, service="s", namespace="n", url_for=lambda a, p: f"https://127.0.0.1:{p}"
    )
    assert list(found) == ["https://127.0.0.1:8444"]
