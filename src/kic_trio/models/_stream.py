"""The parsers of TCPIngress and UDPIngress (``configuration.konghq.com/v1beta1``; their models
are in ``_models.py``, with the others): Kong stream routes.

Both kinds are deprecated upstream but still in the CRDs and still translated (to Kong services
of protocol ``tcp``/``udp`` and routes matching a destination port, plus the SNI for TCP).
The parsers keep each rule's index (route names are ``<ns>.<name>.<ruleIndex>``): a rule that
cannot be read is dropped with a failure and the other rules keep their names.

Advice: validate here everything Kong would refuse (ports, hosts): a bad rule must become a
failure on its object, never a route Kong refuses (which would refuse the whole configuration).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._models import StreamRule, TCPIngress, UDPIngress
from ._parse import Reader
from ._parsers import _meta

#: The widest host Kong accepts as an SNI; longer names are refused here.
_MAX_HOST = 253


def _label_ok(label: str) -> bool:
    return (
        0 < len(label) <= 63
        and label.isascii()
        and label.replace("-", "").isalnum()
        and label[0] != "-"
        and label[-1] != "-"
    )


def valid_stream_host(host: str) -> bool:
    """A DNS name (optionally ``*.``-prefixed), what Kong accepts in a route's ``snis``."""
    if not 0 < len(host) <= _MAX_HOST:
        return False
    labels = host.split(".")
    if labels[0] == "*" and len(labels) > 1:
        labels = labels[1:]
    return all(_label_ok(x) for x in labels)


def _rules(r: Reader, spec: Mapping[str, Any], with_host: bool) -> tuple[StreamRule, ...]:
    out: list[StreamRule] = []
    for i, raw in enumerate(r.as_list(spec.get("rules"), "spec.rules")):
        path = f"spec.rules[{i}]"
        before = len(r.failures)
        rule = r.as_map(raw, path)
        port = r.as_int(rule.get("port"), f"{path}.port", low=1, high=65535)
        if port is None and rule.get("port") is None:
            r.fail(f"{path}.port", "port is required")
        backend = r.as_map(rule.get("backend"), f"{path}.backend")
        service = r.as_str(backend.get("serviceName"), f"{path}.backend.serviceName")
        if not service:
            if backend.get("serviceName") is None or service == "":
                r.fail(f"{path}.backend.serviceName", "serviceName is required")
        elif not _label_ok(service):
            r.fail(f"{path}.backend.serviceName", "not a Kubernetes Service name")
        sp_raw = backend.get("servicePort")
        service_port = r.as_int(sp_raw, f"{path}.backend.servicePort", low=1, high=65535)
        if service_port is None and sp_raw is None:
            r.fail(f"{path}.backend.servicePort", "servicePort is required")
        host = ""
        if with_host:
            h = r.as_str(rule.get("host"), f"{path}.host", "")
            if h and not valid_stream_host(h):
                r.fail(f"{path}.host", "not a host name Kong accepts as an SNI")
            else:
                host = h or ""
        if len(r.failures) == before and port and service and service_port:
            out.append(StreamRule(i, port, service, service_port, host))
        elif len(r.failures) > before:
            r.fail(path, "rule left out")
    return tuple(out)


def stream_secret_refs(obj: object) -> list[tuple[str, str]]:
    """The Secrets a TCPIngress's ``spec.tls`` names (the Secret fetcher asks for them)."""
    if isinstance(obj, TCPIngress):
        return [(obj.ref.namespace, secret) for secret, _ in obj.tls if secret]
    return []


def parse_tcp_ingress(raw: Mapping[str, Any]) -> TCPIngress:
    """A TCPIngress; never raises (bad rules are dropped, each with a failure)."""
    r, base = _meta("TCPIngress", raw)
    spec = r.as_map(raw.get("spec"), "spec")
    rules = _rules(r, spec, with_host=True)
    tls: list[tuple[str, tuple[str, ...]]] = []
    for i, item in enumerate(r.as_list(spec.get("tls"), "spec.tls")):
        t = r.as_map(item, f"spec.tls[{i}]")
        secret = r.as_str(t.get("secretName"), f"spec.tls[{i}].secretName", "") or ""
        tls.append((secret, r.strs(t.get("hosts"), f"spec.tls[{i}].hosts")))
    return TCPIngress(**base, rules=rules, tls=tuple(tls), failures=tuple(r.failures))


def parse_udp_ingress(raw: Mapping[str, Any]) -> UDPIngress:
    """A UDPIngress; never raises (bad rules are dropped, each with a failure)."""
    r, base = _meta("UDPIngress", raw)
    spec = r.as_map(raw.get("spec"), "spec")
    rules = _rules(r, spec, with_host=False)
    return UDPIngress(**base, rules=rules, failures=tuple(r.failures))
