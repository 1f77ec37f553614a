"""Status is translator output: per-object records, pure, written by the status edge."""

from __future__ import annotations

from typing import Any

import attrs

from kic_trio.models import INGRESS_PROGRAMMED, ObjectStatus, publishing
from kic_trio.translator import translate_objects


def _ingress(name: str, service: str, path: str = "/") -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}"},
        "spec": {
            "ingressClassName": "kong",
            "rules": [
                {
                    "http": {
                        "paths": [
                            {
                                "path": path,
                                "pathType": "Prefix",
                                "backend": {"service": {"name": service, "port": {"number": 80}}},
                            }
                        ]
                    }
                }
            ],
        },
    }


SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "svc", "namespace": "ns", "uid": "uid-svc"},
    "spec": {"ports": [{"port": 80}]},
}


def _by_name(status: Any) -> dict[str, ObjectStatus]:
    return {ref.name: s for ref, s in status.items()}


def test_configured_ingresses_publish_addresses_and_failed_ones_say_why() -> None:
    bad = _ingress("bad", "svc", path="/x")
    bad["metadata"]["annotations"] = {"konghq.com/plugins": "missing"}
    result = translate_objects([SERVICE, _ingress("good", "svc"), bad])
    status = _by_name(result.status)
    assert status["good"] is INGRESS_PROGRAMMED
    assert status["good"].publish_addresses
    assert not status["bad"].publish_addresses
    assert [(c.type, c.status) for c in status["bad"].conditions] == [("Programmed", "False")]
    assert {r.name for r in publishing(result.status, result.configured)} == {"good"}
    # only kinds that get a status are in it (the Service is configured but has none)
    assert {r.kind for r in result.status} == {"Ingress"}


def test_payload_carries_status_and_a_fallback_keeps_only_what_stayed() -> None:
    result = translate_objects([SERVICE, _ingress("a", "svc"), _ingress("b", "svc", "/b")])
    payload = result.to_payload()
    assert payload.status == result.status
    assert "status=" not in repr(payload)
    a = next(r for r in payload.configured if r.name == "a")
    # a fallback configuration leaves objects out after translation (kong/_fallback.py keeps
    # the status and shrinks ``configured``): what was left out is never reported as served
    fallback = attrs.evolve(payload, configured=payload.configured - {a})
    assert {r.name for r in publishing(fallback.status, fallback.configured)} == {"b"}


def test_status_records_are_frozen_values() -> None:
    assert attrs.evolve(INGRESS_PROGRAMMED) == INGRESS_PROGRAMMED


def test_a_unit_records_entities_failures_dependencies_and_status_one_way() -> None:
    from kic_trio.models import Condition, ObjectRef
    from kic_trio.translator import Translator
    from kic_trio.translator._units import ServiceUnit, UnitOut

    tr = Translator()
    st = tr._st
    ref = ObjectRef("HTTPRoute", "ns", "r", "uid-r")
    accepted = ObjectStatus(conditions=(Condition("Accepted", "True", "Accepted"),))
    dep = ("Service", "ns", "s")
    good = UnitOut(
        entries=[("services", "ns.s.80", {"name": "ns.s.80"})],
        configured=[ref],
        deps=frozenset({dep}),
        status={ref: accepted},
    )
    tr._record(st, ServiceUnit("ns.s.80"), good)
    assert st.deps.readers[dep] == {ServiceUnit("ns.s.80")}
    assert st.conf_count == {ref: 1}
    assert st.unit_status[ServiceUnit("ns.s.80")] == {ref: accepted}
    # an entity that cannot be serialised: nothing of the unit goes out, the object fails,
    # its status is dropped, and the dependency stays recorded (so a fix re-translates it)
    bad = attrs.evolve(good, entries=[("services", "ns.s.80", {"name": "\ud800"})])
    tr._record(st, ServiceUnit("ns.s.80"), bad)
    assert st.conf_count == {}
    assert ServiceUnit("ns.s.80") not in st.unit_status
    assert [f.obj for f in st.failures[ServiceUnit("ns.s.80")]] == [ref]
    assert st.deps.readers[dep] == {ServiceUnit("ns.s.80")}
