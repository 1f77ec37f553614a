"""Class filtering and reference helpers shared by the watch layer, the store and the translator."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ._kinds import SPECS, ClassFilter
from ._models import (
    Ingress,
    IngressClass,
    KongClusterPlugin,
    KongConsumer,
    KongPlugin,
    KongServiceFacade,
    Model,
    Service,
)

INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
CREDENTIAL_LABEL = "konghq.com/credential"
CA_CERT_LABEL = "konghq.com/ca-cert"


def _annotations(obj: Model | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(obj, Model):
        return obj.annotations
    meta = obj.get("metadata") if isinstance(obj, Mapping) else None
    ann = meta.get("annotations") if isinstance(meta, Mapping) else None
    return ann if isinstance(ann, Mapping) else {}


def ingress_class_of(obj: Model | Mapping[str, Any]) -> str | None:
    """The class an Ingress (raw or model) names, ``None`` when it names none.

    The ``kubernetes.io/ingress.class`` annotation wins over ``spec.ingressClassName``, as
    upstream's predicates check it first.
    """
    ann = _annotations(obj).get(INGRESS_CLASS_ANNOTATION)
    if isinstance(ann, str) and ann:
        return ann
    if isinstance(obj, Ingress):
        return obj.ingress_class_name or None
    if isinstance(obj, Mapping):
        spec = obj.get("spec")
        name = spec.get("ingressClassName") if isinstance(spec, Mapping) else None
        return name if isinstance(name, str) and name else None
    return None


def class_annotation_of(obj: Model | Mapping[str, Any]) -> str | None:
    """The ``kubernetes.io/ingress.class`` annotation of a KongConsumer/KongClusterPlugin/...."""
    ann = _annotations(obj).get(INGRESS_CLASS_ANNOTATION)
    return ann if isinstance(ann, str) and ann else None


def class_of(kind: str, obj: Model | Mapping[str, Any]) -> str | None:
    """The class an object of ``kind`` explicitly names (``None``: class-less or not classed)."""
    spec = SPECS.get(kind)
    how = spec.class_filter if spec is not None else ClassFilter.NONE
    if how is ClassFilter.INGRESS:
        return ingress_class_of(obj)
    if how is ClassFilter.ANNOTATION:
        return class_annotation_of(obj)
    return None


def is_classed_kind(kind: str) -> bool:
    """Whether objects of ``kind`` are filtered by ingress class at all."""
    spec = SPECS.get(kind)
    return spec is not None and spec.class_filter is not ClassFilter.NONE


def names_other_class(kind: str, obj: Model | Mapping[str, Any], ours: str) -> bool:
    """True when the object explicitly names a class that is not ``ours`` (the watch layer drops it)."""
    cls = class_of(kind, obj)
    return cls is not None and cls != ours


def is_default_class(obj: IngressClass | Mapping[str, Any]) -> bool:
    return _annotations(obj).get(DEFAULT_CLASS_ANNOTATION) == "true"


def split_list(value: str | None) -> list[str]:
    """A comma list annotation: trimmed, empty items dropped."""
    if not value:
        return []
    return [item.strip() for item in value.split(",") if item.strip()]


def secret_has_kong_label(
    labels: Mapping[str, str], secret_label_selector: str | None = None
) -> bool:
    """Whether a Secret is interesting by its labels alone (credential, CA, selector label)."""
    if labels.get(CA_CERT_LABEL) == "true" or CREDENTIAL_LABEL in labels:
        return True
    return bool(secret_label_selector) and labels.get(secret_label_selector or "") == "true"


def secret_refs(obj: Model) -> frozenset[tuple[str, str]]:
    """The Secrets ``(namespace, name)`` an object needs for translation (its kind's spec says)."""
    spec = SPECS.get(obj.ref.kind)
    return frozenset(spec.secret_refs(obj)) if spec is not None else frozenset()


def ingress_secret_refs(obj: Model) -> Iterable[tuple[str, str]]:
    if isinstance(obj, Ingress):
        ns = obj.ref.namespace
        return [(ns, tls.secret_name) for tls in obj.tls if tls.secret_name]
    return ()


def service_secret_refs(obj: Model) -> Iterable[tuple[str, str]]:
    """Client/CA certificate Secrets of a Service, or of a KongServiceFacade (laid over it)."""
    if not isinstance(obj, Service | KongServiceFacade):
        return ()
    ns = obj.ref.namespace
    out = []
    cert = obj.annotations.get("konghq.com/client-cert")
    if cert:
        out.append((ns, cert.strip()))
    out.extend(
        (ns, n) for n in split_list(obj.annotations.get("konghq.com/ca-certificates-secrets"))
    )
    return out


def consumer_secret_refs(obj: Model) -> Iterable[tuple[str, str]]:
    if isinstance(obj, KongConsumer):
        return [(obj.ref.namespace, n) for n in obj.credentials if n]
    return ()


def plugin_secret_refs(obj: Model) -> Iterable[tuple[str, str]]:
    """``configFrom``/``configPatches`` Secrets (a KongClusterPlugin's name their namespace)."""
    if not isinstance(obj, KongPlugin):
        return ()
    ns = obj.ref.namespace
    cluster = isinstance(obj, KongClusterPlugin)
    refs = [obj.config_from] if obj.config_from else []
    refs.extend(p.value_from for p in obj.config_patches)
    return [(ref.namespace if cluster else ns, ref.name) for ref in refs]
