"""Ingress status: the pure parts (addresses, comparison, the patch).

Writing status (and not re-writing unchanged status) is tested against a real kube-apiserver
in tests/integration/test_status_updates.py.
"""

from __future__ import annotations

from typing import Any

import kic_trio
from kic_trio.k8s._status import (
    StatusUpdater,
    entries_from_addresses,
    entries_from_service,
    entries_from_status,
    parse_publish_service,
    status_patch,
)


class NoKube:
    """These tests never reach the API server."""

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        raise AssertionError("no request expected")


def test_addresses_become_ip_or_hostname_entries() -> None:
    assert entries_from_addresses(
        ["10.0.0.1", " 2001:DB8::1 ", "Kong.Example.com.", "", "10.0.0.1"]
    ) == (
        ("10.0.0.1", ""),
        ("2001:db8::1", ""),
        ("", "kong.example.com"),
    )


def test_load_balancer_addresses_win_over_cluster_ips() -> None:
    svc = {
        "spec": {"type": "LoadBalancer", "clusterIP": "10.0.0.5", "clusterIPs": ["10.0.0.5"]},
        "status": {
            "loadBalancer": {"ingress": [{"ip": "203.0.113.7"}, {"hostname": "lb.example.net"}]}
        },
    }
    assert entries_from_service(svc) == (("203.0.113.7", ""), ("", "lb.example.net"))


def test_without_a_provisioned_load_balancer_cluster_ips_are_used() -> None:
    pending = {
        "spec": {"type": "LoadBalancer", "clusterIPs": ["10.0.0.5", "fd00::5"]},
        "status": {"loadBalancer": {}},
    }
    assert entries_from_service(pending) == (("10.0.0.5", ""), ("fd00::5", ""))
    old_style = {"spec": {"type": "ClusterIP", "clusterIP": "10.0.0.9"}}
    assert entries_from_service(old_style) == (("10.0.0.9", ""),)
    headless = {"spec": {"type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["None"]}}
    assert entries_from_service(headless) == ()
    assert entries_from_service({"spec": "junk"}) == ()


def test_current_status_is_read_back_for_comparison() -> None:
    ing = {
        "status": {
            "loadBalancer": {
                "ingress": [{"ip": "10.0.0.1", "ports": [{"port": 80}]}, {"hostname": "h"}]
            }
        }
    }
    assert entries_from_status(ing) == (("10.0.0.1", ""), ("", "h"))
    assert entries_from_status({}) == ()
    assert entries_from_status({"status": {"loadBalancer": {"ingress": "junk"}}}) == ()


def test_patch_replaces_the_list_and_pins_the_uid() -> None:
    patch = status_patch((("10.0.0.1", ""), ("", "kong.example.com")), "uid-1")
    assert patch == {
        "status": {
            "loadBalancer": {"ingress": [{"ip": "10.0.0.1"}, {"hostname": "kong.example.com"}]}
        },
        "metadata": {"uid": "uid-1"},
    }
    assert "metadata" not in status_patch((), "")


def test_publish_service_must_be_namespace_slash_name() -> None:
    assert parse_publish_service("kong/kong-proxy") == ("kong", "kong-proxy")
    assert parse_publish_service("kong-proxy") is None
    assert parse_publish_service("a/b/c") is None


def test_static_addresses_override_the_publish_service() -> None:
    cfg = kic_trio.Config(
        kong_admin_url=["http://k:8001"],
        publish_service="kong/proxy",
        publish_status_address=["1.2.3.4"],
    )
    updater = StatusUpdater(cfg, NoKube())
    assert updater.enabled and updater.static == (("1.2.3.4", ""),) and updater.service is None
    cfg = kic_trio.Config(kong_admin_url=["http://k:8001"], publish_service="kong/proxy")
    assert StatusUpdater(cfg, NoKube()).service == ("kong", "proxy")


async def test_without_any_address_source_submit_is_ignored() -> None:
    updater = StatusUpdater(kic_trio.Config(kong_admin_url=["http://k:8001"]), NoKube())
    assert not updater.enabled
    updater.submit(frozenset())
    assert updater._configured == frozenset()
