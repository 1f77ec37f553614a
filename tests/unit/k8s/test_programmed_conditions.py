"""``Programmed`` on Kong's own kinds: what the translator decides, what the edge writes."""

from __future__ import annotations

from kic_trio.k8s._conditions import conditions_patch, status_path
from kic_trio.models import (
    INGRESS_PROGRAMMED,
    KONG_INVALID,
    KONG_PROGRAMMED,
    ObjectRef,
    conditions_to_write,
)
from kic_trio.translator import TranslatorOptions, translate_objects

ALPHA = "configuration.konghq.com/v1alpha1"


def vault(name: str, backend: str | None) -> dict[str, object]:
    spec: dict[str, object] = {"prefix": name, "config": {}}
    if backend:
        spec["backend"] = backend
    return {
        "apiVersion": ALPHA,
        "kind": "KongVault",
        "metadata": {"name": name, "annotations": {"kubernetes.io/ingress.class": "kong"}},
        "spec": spec,
    }


def test_the_translator_marks_configured_kong_kinds_programmed_and_failed_ones_invalid() -> None:
    result = translate_objects([vault("good", "env"), vault("bad", None)], TranslatorOptions())
    by_name = {r.name: s for r, s in result.status.items() if r.kind == "KongVault"}
    assert by_name == {"good": KONG_PROGRAMMED, "bad": KONG_INVALID}
    [c] = KONG_PROGRAMMED.conditions
    assert (c.status, c.reason, c.message) == (
        "True",
        "Programmed",
        "Object was successfully configured in Kong.",
    )


def test_an_object_a_fallback_left_out_is_invalid_and_ingresses_get_no_conditions() -> None:
    kept, gone = ObjectRef("KongVault", "", "a", "u1"), ObjectRef("KongVault", "", "b", "u2")
    ing = ObjectRef("Ingress", "ns", "i", "u3")
    status = {kept: KONG_PROGRAMMED, gone: KONG_PROGRAMMED, ing: INGRESS_PROGRAMMED}
    out = conditions_to_write(status, frozenset({kept, ing}))
    assert out == {kept: KONG_PROGRAMMED.conditions, gone: KONG_INVALID.conditions}


def test_the_patch_names_the_uid_and_the_status_subresource_of_each_kind() -> None:
    facade = ObjectRef("KongServiceFacade", "ns", "f", "u")
    assert status_path(facade) == (
        "/apis/incubator.ingress-controller.konghq.com/v1alpha1/namespaces/ns/"
        "kongservicefacades/f/status"
    )
    assert status_path(ObjectRef("KongVault", "", "v", "u")) == (
        "/apis/configuration.konghq.com/v1alpha1/kongvaults/v/status"
    )
    patch = conditions_patch(KONG_INVALID.conditions, "u", 0.0)
    assert patch["metadata"] == {"uid": "u"}
    [item] = patch["status"]["conditions"]
    assert item["lastTransitionTime"] == "1970-01-01T00:00:00Z"
    assert (item["type"], item["status"], item["reason"]) == ("Programmed", "False", "Invalid")
