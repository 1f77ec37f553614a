"""Builders of the Kubernetes objects tests apply, and readers of the Kong config they expect.

One place, so every test folder (integration, reliability) describes "an app" the same way.
Objects carry no namespace: ``kic_trio.testing.apply(..., namespace=ns)`` fills it in.
"""

from __future__ import annotations

from typing import Any


def service(name: str, port: int = 80, port_name: str = "http") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"ports": [{"name": port_name, "port": port, "protocol": "TCP"}]},
    }


def endpoint_slice(service_name: str, addresses: tuple[str, ...] = ("10.1.0.1",), port: int = 80) -> dict[str, Any]:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": f"{service_name}-1", "labels": {"kubernetes.io/service-name": service_name}},
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": port, "protocol": "TCP"}],
        "endpoints": [{"addresses": [a], "conditions": {"ready": True}} for a in addresses],
    }


def ingress(
    name: str,
    host: str,
    *,
    path: str = "/",
    backend: str | None = None,
    ingress_class: str = "kong",
    annotations: dict[str, str] | None = None,
    tls_secret: str | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "ingressClassName": ingress_class,
        "rules": [
            {
                "host": host,
                "http": {
                    "paths": [
                        {
                            "path": path,
                            "pathType": "Prefix",
                            "backend": {"service": {"name": backend or name, "port": {"number": 80}}},
                        }
                    ]
                },
            }
        ],
    }
    if tls_secret:
        spec["tls"] = [{"hosts": [host], "secretName": tls_secret}]
    metadata: dict[str, Any] = {"name": name}
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": metadata, "spec": spec}


def app(
    name: str,
    host: str,
    *,
    endpoints: bool = True,
    **ingress_options: Any,
) -> list[dict[str, Any]]:
    """A Service (with an EndpointSlice unless ``endpoints=False``) and an Ingress routing ``host`` to it."""
    objects = [service(name)]
    if endpoints:
        objects.append(endpoint_slice(name))
    objects.append(ingress(name, host, **ingress_options))
    return objects


def hosts_in(config: dict[str, Any]) -> set[str]:
    """Every route host of a Kong declarative config (nested or top-level routes)."""
    hosts: set[str] = set()
    for svc in config.get("services", []):
        for route in svc.get("routes", []):
            hosts.update(route.get("hosts", []))
    for route in config.get("routes", []):
        hosts.update(route.get("hosts", []))
    return hosts
