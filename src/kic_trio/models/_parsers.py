"""``parse(kind, raw)``: raw Kubernetes dict -> slim model, never raising.

Wrong types become failures with a field path; whatever is usable is kept. Even a parser bug
cannot escape: :func:`parse` turns any exception into a failure on the object (naming only the
exception type, so no Secret value can leak into a message).
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import math
import re
import sys
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from ._base import Failure, ObjectRef
from ._helpers import split_list
from ._kinds import KINDS, SPECS
from ._models import (
    KEPT_ANNOTATION_PREFIXES,
    AnyModel,
    ConfigPatch,
    Endpoint,
    EndpointPort,
    EndpointSlice,
    Ingress,
    IngressBackend,
    IngressClass,
    IngressClassParameters,
    IngressPath,
    IngressRule,
    IngressTLS,
    KongClusterPlugin,
    KongConsumer,
    KongConsumerGroup,
    KongPlugin,
    KongUpstreamPolicy,
    LoadBalancerIngress,
    ParametersRef,
    Secret,
    SecretKeyRef,
    Service,
    ServicePort,
    UnknownObject,
)
from ._parse import Reader, type_name


def tls_pair_valid(cert: bytes, key: bytes) -> bool:
    """Whether PEM ``cert`` and ``key`` (surrounding whitespace ignored) form a key pair.

    Like Go's ``tls.X509KeyPair``: the certificate parses and its public key is the private
    key's. Expiry is not checked (upstream does not either).
    """
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        c = x509.load_pem_x509_certificate(cert.strip())
        k = serialization.load_pem_private_key(
            key.strip(), None, unsafe_skip_rsa_key_validation=True
        )
        enc = serialization.Encoding.DER
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        return bool(
            c.public_key().public_bytes(enc, spki) == k.public_key().public_bytes(enc, spki)
        )
    except Exception:
        return False


def _timestamp(value: object) -> str:
    # PyYAML turns unquoted RFC 3339 timestamps into datetimes; keep text either way.
    if isinstance(value, str):
        return value
    if isinstance(value, _dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_dt.UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return ""


def _meta(kind: str, raw: Mapping[str, Any]) -> tuple[Reader, dict[str, Any]]:
    """Identity and common metadata; returns the reader (holding the ref) and base kwargs."""
    info = KINDS.get(kind)
    meta = raw.get("metadata")
    if not isinstance(meta, Mapping):
        meta = {}
    name = meta.get("name")
    namespace = meta.get("namespace") if info is None or info.namespaced else ""
    uid = meta.get("uid")
    group, version = (info.group, info.version) if info else ("", "v1")
    api_version = raw.get("apiVersion")
    if isinstance(api_version, str) and api_version:
        group, _, version = api_version.rpartition("/")
    # Namespaces, groups and versions repeat across thousands of objects: one string each
    # (interned) instead of one per object, ~3 KiB per 7-object set at 10k sets.
    ref = ObjectRef(
        kind=kind,
        namespace=_intern(namespace) if isinstance(namespace, str) else "",
        name=name if isinstance(name, str) else "",
        uid=uid if isinstance(uid, str) else "",
        group=_intern(group),
        version=_intern(version),
    )
    r = Reader(ref)
    if not isinstance(raw.get("metadata"), Mapping):
        r.fail("metadata", f"expected an object, got {type_name(raw.get('metadata'))}")
    if not isinstance(name, str) or not name:
        r.fail("metadata.name", "the object has no name")
    for key, value in (("namespace", namespace), ("uid", uid)):
        if value is not None and not isinstance(value, str):
            r.fail(f"metadata.{key}", f"expected a string, got {type_name(value)}")
    annotations = {
        k: v
        for k, v in r.str_map(meta.get("annotations"), "metadata.annotations").items()
        if k.startswith(KEPT_ANNOTATION_PREFIXES)
    }
    labels = r.str_map(meta.get("labels"), "metadata.labels")
    # most objects have neither: share one empty mapping instead of two dicts per object
    kept_annotations: Mapping[str, str] = annotations or _NO_STRINGS
    kept_labels: Mapping[str, str] = labels or _NO_STRINGS
    rv = meta.get("resourceVersion")
    base: dict[str, Any] = {
        "ref": ref,
        "resource_version": rv if isinstance(rv, str) else "",
        "annotations": kept_annotations,
        "labels": kept_labels,
        "created": _timestamp(meta.get("creationTimestamp")),
    }
    spec = SPECS.get(kind)
    if spec is not None and spec.tagged:
        base["tags"] = _tags(kind, ref, annotations)
    return r, base


_NO_STRINGS: Mapping[str, str] = MappingProxyType({})
_intern = sys.intern


def _tags(kind: str, ref: ObjectRef, annotations: Mapping[str, str]) -> tuple[str, ...]:
    # the namespace, kind, group and version tags are shared by many objects: interned
    tags = [f"k8s-name:{ref.name}"] if ref.name else []
    if ref.namespace:
        tags.append(_intern("k8s-namespace:" + ref.namespace))
    tags.append(_intern("k8s-kind:" + kind))
    if ref.uid:
        tags.append("k8s-uid:" + ref.uid)
    if ref.group:
        tags.append(_intern("k8s-group:" + ref.group))
    if ref.version:
        tags.append(_intern("k8s-version:" + ref.version))
    tags.extend(dict.fromkeys(split_list(annotations.get("konghq.com/tags"))))
    return tuple(tags)


def _load_balancer(r: Reader, status: object, path: str) -> tuple[LoadBalancerIngress, ...]:
    st = r.as_map(status, path)
    lb = r.as_map(st.get("loadBalancer"), f"{path}.loadBalancer")
    out = []
    for i, item in enumerate(r.as_list(lb.get("ingress"), f"{path}.loadBalancer.ingress")):
        m = r.as_map(item, f"{path}.loadBalancer.ingress[{i}]")
        out.append(
            LoadBalancerIngress(
                ip=r.as_str(m.get("ip"), f"{path}.loadBalancer.ingress[{i}].ip") or "",
                hostname=r.as_str(m.get("hostname"), f"{path}.loadBalancer.ingress[{i}].hostname")
                or "",
            )
        )
    return tuple(out)


# --- networking ------------------------------------------------------------------------------


def _backend(r: Reader, raw: object, path: str) -> IngressBackend:
    m = r.as_map(raw, path)
    svc = m.get("service")
    res = m.get("resource")
    if svc is not None:
        s = r.as_map(svc, f"{path}.service")
        port = r.as_map(s.get("port"), f"{path}.service.port")
        return IngressBackend(
            service_name=r.as_str(s.get("name"), f"{path}.service.name"),
            port_number=r.as_int(
                port.get("number"), f"{path}.service.port.number", low=0, high=65535
            ),
            port_name=r.as_str(port.get("name"), f"{path}.service.port.name") or None,
        )
    if res is not None:
        rm = r.as_map(res, f"{path}.resource")
        return IngressBackend(
            resource=(
                r.as_str(rm.get("apiGroup"), f"{path}.resource.apiGroup") or "",
                r.as_str(rm.get("kind"), f"{path}.resource.kind") or "",
                r.as_str(rm.get("name"), f"{path}.resource.name") or "",
            )
        )
    return IngressBackend()


def _ingress(raw: Mapping[str, Any]) -> Ingress:
    r, base = _meta("Ingress", raw)
    spec = r.as_map(raw.get("spec"), "spec")
    rules = []
    for i, rule_raw in enumerate(r.as_list(spec.get("rules"), "spec.rules")):
        p = f"spec.rules[{i}]"
        rule = r.as_map(rule_raw, p)
        host = r.as_str(rule.get("host"), f"{p}.host") or ""
        http = rule.get("http")
        paths = []
        if http is not None:
            hm = r.as_map(http, f"{p}.http")
            for j, path_raw in enumerate(r.as_list(hm.get("paths"), f"{p}.http.paths")):
                pp = f"{p}.http.paths[{j}]"
                pm = r.as_map(path_raw, pp)
                paths.append(
                    IngressPath(
                        path=r.as_str(pm.get("path"), f"{pp}.path") or "",
                        path_type=r.as_str(pm.get("pathType"), f"{pp}.pathType"),
                        backend=_backend(r, pm.get("backend"), f"{pp}.backend"),
                    )
                )
        rules.append(IngressRule(host=host, paths=tuple(paths), has_http=http is not None))
    tls = []
    for i, tls_raw in enumerate(r.as_list(spec.get("tls"), "spec.tls")):
        tm = r.as_map(tls_raw, f"spec.tls[{i}]")
        tls.append(
            IngressTLS(
                hosts=r.strs(tm.get("hosts"), f"spec.tls[{i}].hosts"),
                secret_name=r.as_str(tm.get("secretName"), f"spec.tls[{i}].secretName") or "",
            )
        )
    default = spec.get("defaultBackend")
    return Ingress(
        **base,
        ingress_class_name=r.as_str(spec.get("ingressClassName"), "spec.ingressClassName"),
        rules=tuple(rules),
        default_backend=None if default is None else _backend(r, default, "spec.defaultBackend"),
        tls=tuple(tls),
        load_balancer=_load_balancer(r, raw.get("status"), "status"),
        failures=tuple(r.failures),
    )


def _dns_label(value: str) -> bool:
    """A DNS-1123 label (a namespace name), checked without a regex."""
    return (
        0 < len(value) <= 63
        and value.isascii()
        and value == value.lower()
        and value.replace("-", "").isalnum()
        and value[0] != "-"
        and value[-1] != "-"
    )


def _dns_subdomain(value: str) -> bool:
    """A DNS-1123 subdomain (most object names): labels of :func:`_dns_label` joined by dots."""
    return 0 < len(value) <= 253 and all(_dns_label(label) for label in value.split("."))


def _ingress_class(raw: Mapping[str, Any]) -> IngressClass:
    r, base = _meta("IngressClass", raw)
    spec = r.as_map(raw.get("spec"), "spec")
    params = None
    if spec.get("parameters") is not None:
        pm = r.as_map(spec.get("parameters"), "spec.parameters")
        params = ParametersRef(
            api_group=r.as_str(pm.get("apiGroup"), "spec.parameters.apiGroup") or "",
            kind=r.as_str(pm.get("kind"), "spec.parameters.kind") or "",
            name=r.as_str(pm.get("name"), "spec.parameters.name") or "",
            namespace=r.as_str(pm.get("namespace"), "spec.parameters.namespace") or "",
            scope=r.as_str(pm.get("scope"), "spec.parameters.scope") or "",
        )
        # The name and namespace are looked up (and could reach a URL): a name that is not
        # a DNS subdomain ("../../x") refers to nothing; the class keeps its defaults.
        bad = [
            f
            for f, v, check in (
                ("name", params.name, _dns_subdomain),
                ("namespace", params.namespace, _dns_label),
            )
            if v and not check(v)
        ]
        for f in bad:
            r.fail(f"spec.parameters.{f}", f"parameters {f} is not a valid Kubernetes name")
        if bad:
            params = None
    return IngressClass(
        **base,
        controller=r.as_str(spec.get("controller"), "spec.controller") or "",
        parameters=params,
        failures=tuple(r.failures),
    )


def _ingress_class_parameters(raw: Mapping[str, Any]) -> IngressClassParameters:
    r, base = _meta("IngressClassParameters", raw)
    spec = r.as_map(raw.get("spec"), "spec")
    return IngressClassParameters(
        **base,
        service_upstream=bool(r.as_bool(spec.get("serviceUpstream"), "spec.serviceUpstream")),
        enable_legacy_regex_detection=bool(
            r.as_bool(spec.get("enableLegacyRegexDetection"), "spec.enableLegacyRegexDetection")
        ),
        failures=tuple(r.failures),
    )


# --- core ------------------------------------------------------------------------------------


def _service(raw: Mapping[str, Any]) -> Service:
    r, base = _meta("Service", raw)
    spec = r.as_map(raw.get("spec"), "spec")
    ports = []
    for i, port_raw in enumerate(r.as_list(spec.get("ports"), "spec.ports")):
        p = f"spec.ports[{i}]"
        pm = r.as_map(port_raw, p)
        number = r.as_int(pm.get("port"), f"{p}.port", low=0, high=65535)
        if number is None:
            if pm and pm.get("port") is None:
                r.fail(f"{p}.port", "a service port needs a port number")
            continue
        tp = pm.get("targetPort")
        target: int | str | None
        if isinstance(tp, int) and not isinstance(tp, bool) and not 0 <= tp <= 65535:
            target = None
            r.fail(f"{p}.targetPort", "must be between 0 and 65535")
        elif isinstance(tp, int | str) and not isinstance(tp, bool):
            target = tp
        else:
            target = None
            if tp is not None:
                r.fail(f"{p}.targetPort", f"expected an integer or a string, got {type_name(tp)}")
        ports.append(
            ServicePort(
                name=r.as_str(pm.get("name"), f"{p}.name") or "",
                port=number,
                target_port=target,
                protocol=r.as_str(pm.get("protocol"), f"{p}.protocol") or "TCP",
            )
        )
    cluster_ips = r.strs(spec.get("clusterIPs"), "spec.clusterIPs")
    if not cluster_ips:
        cip = r.as_str(spec.get("clusterIP"), "spec.clusterIP")
        cluster_ips = (cip,) if cip and cip != "None" else ()
    return Service(
        **base,
        type=r.as_str(spec.get("type"), "spec.type") or "ClusterIP",
        external_name=r.as_str(spec.get("externalName"), "spec.externalName") or "",
        ports=tuple(ports),
        cluster_ips=cluster_ips,
        load_balancer=_load_balancer(r, raw.get("status"), "status"),
        failures=tuple(r.failures),
    )


#: Characters of an IPv4/IPv6 address or a DNS name (FQDN slices); anything else is refused.
_ADDRESS_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.:-_%")


def _address_ok(address: str) -> bool:
    """An endpoint address Kong can take as a target host (checked by set, no regex)."""
    return 0 < len(address) <= 253 and _ADDRESS_CHARS.issuperset(address)


def _endpoint_slice(raw: Mapping[str, Any]) -> EndpointSlice:
    r, base = _meta("EndpointSlice", raw)
    ports = []
    for i, port_raw in enumerate(r.as_list(raw.get("ports"), "ports")):
        pm = r.as_map(port_raw, f"ports[{i}]")
        ports.append(
            EndpointPort(
                name=r.as_str(pm.get("name"), f"ports[{i}].name") or "",
                port=r.as_int(pm.get("port"), f"ports[{i}].port", low=0, high=65535),
                protocol=r.as_str(pm.get("protocol"), f"ports[{i}].protocol") or "TCP",
            )
        )
    endpoints = []
    for i, ep_raw in enumerate(r.as_list(raw.get("endpoints"), "endpoints")):
        p = f"endpoints[{i}]"
        em = r.as_map(ep_raw, p)
        cond = r.as_map(em.get("conditions"), f"{p}.conditions")
        target = r.as_map(em.get("targetRef"), f"{p}.targetRef")
        addresses = r.strs(em.get("addresses"), f"{p}.addresses")
        if not all(_address_ok(a) for a in addresses):
            # an address becomes a Kong target "host:port": CR/LF or spaces there would
            # smuggle text into Kong's configuration (the API server refuses them; offline
            # input does not)
            for j, a in enumerate(addresses):
                if not _address_ok(a):
                    r.fail(f"{p}.addresses[{j}]", "address is not an IP address or DNS name")
            addresses = tuple(a for a in addresses if _address_ok(a))
        endpoints.append(
            Endpoint(
                addresses=addresses,
                ready=r.as_bool(cond.get("ready"), f"{p}.conditions.ready"),
                serving=r.as_bool(cond.get("serving"), f"{p}.conditions.serving"),
                terminating=r.as_bool(cond.get("terminating"), f"{p}.conditions.terminating"),
                target_kind=r.as_str(target.get("kind"), f"{p}.targetRef.kind") or "",
                target_name=r.as_str(target.get("name"), f"{p}.targetRef.name") or "",
            )
        )
    owner = ""
    meta = raw.get("metadata")
    if isinstance(meta, Mapping):
        owners = meta.get("ownerReferences")
        for o in owners if isinstance(owners, list) else ():
            if (
                isinstance(o, Mapping)
                and o.get("kind") == "Service"
                and isinstance(o.get("name"), str)
            ):
                owner = o["name"]
                break
    return EndpointSlice(
        **base,
        service_name=base["labels"].get("kubernetes.io/service-name", ""),
        address_type=r.as_str(raw.get("addressType"), "addressType") or "IPv4",
        ports=tuple(ports),
        endpoints=tuple(endpoints),
        owner_service=owner,
        failures=tuple(r.failures),
    )


def _secret(raw: Mapping[str, Any]) -> Secret:
    r, base = _meta("Secret", raw)
    data: dict[str, bytes] = {}
    for key, value in r.as_map(raw.get("data"), "data").items():
        if isinstance(value, bytes):
            data[key] = value
            continue
        if not isinstance(value, str):
            r.fail(f"data.{key}", f"expected base64 text, got {type_name(value)}")
            continue
        try:
            data[key] = base64.b64decode("".join(value.split()), validate=True)
        except (binascii.Error, ValueError):
            r.fail(f"data.{key}", "the value is not valid base64")
    for key, value in r.as_map(raw.get("stringData"), "stringData").items():
        if isinstance(value, str):
            data[key] = value.encode()
        else:
            r.fail(f"stringData.{key}", f"expected a string, got {type_name(value)}")
    pair_ok = None
    if "tls.crt" in data and "tls.key" in data:
        pair_ok = tls_pair_valid(data["tls.crt"], data["tls.key"])
    return Secret(
        **base,
        type=r.as_str(raw.get("type"), "type") or "Opaque",
        data=data,
        tls_pair_valid=pair_ok,
        failures=tuple(r.failures),
    )


# --- Kong ------------------------------------------------------------------------------------

_RUN_ON = ("first", "second", "all")
_PLUGIN_PROTOCOLS = ("http", "https", "grpc", "grpcs", "tcp", "tls", "udp")


def _secret_key_ref(r: Reader, raw: object, path: str, with_ns: bool) -> SecretKeyRef | None:
    m = r.as_map(raw, path)
    skr = r.as_map(m.get("secretKeyRef"), f"{path}.secretKeyRef")
    name = r.as_str(skr.get("name"), f"{path}.secretKeyRef.name")
    key = r.as_str(skr.get("key"), f"{path}.secretKeyRef.key")
    ns = r.as_str(skr.get("namespace"), f"{path}.secretKeyRef.namespace") if with_ns else ""
    if not name or not key:
        r.fail(f"{path}.secretKeyRef", "needs both name and key")
        return None
    if with_ns and not ns:
        r.fail(f"{path}.secretKeyRef.namespace", "a KongClusterPlugin must name the namespace")
        return None
    return SecretKeyRef(name=name, key=key, namespace=ns or "")


def _plugin(kind: str, raw: Mapping[str, Any]) -> KongPlugin:
    r, base = _meta(kind, raw)
    cluster = kind == "KongClusterPlugin"
    plugin = r.as_str(raw.get("plugin"), "plugin") or ""
    if not plugin and not raw.get("plugin"):
        r.fail("plugin", "plugin is required")
    config = None
    if raw.get("config") is not None:
        cm = r.as_map(raw.get("config"), "config")
        config = r.json_value(cm, "config")
    config_from = None
    if raw.get("configFrom") is not None:
        config_from = _secret_key_ref(r, raw.get("configFrom"), "configFrom", cluster)
        if config:
            r.fail("configFrom", "config and configFrom cannot be used together")
            config_from = None
    patches = []
    for i, patch_raw in enumerate(r.as_list(raw.get("configPatches"), "configPatches")):
        pm = r.as_map(patch_raw, f"configPatches[{i}]")
        path = r.as_str(pm.get("path"), f"configPatches[{i}].path")
        ref = _secret_key_ref(r, pm.get("valueFrom"), f"configPatches[{i}].valueFrom", cluster)
        if path is None or not path.startswith("/"):
            r.fail(f"configPatches[{i}].path", "must be a JSON pointer starting with /")
        elif ref is not None:
            patches.append(ConfigPatch(path=path, value_from=ref))
    run_on = r.as_str(raw.get("run_on"), "run_on")
    if run_on is not None and run_on not in _RUN_ON:
        r.fail("run_on", f"must be one of {', '.join(_RUN_ON)}")
        run_on = None
    protocols = []
    for i, proto in enumerate(r.strs(raw.get("protocols"), "protocols")):
        if proto in _PLUGIN_PROTOCOLS:
            protocols.append(proto)
        else:
            r.fail(f"protocols[{i}]", f"must be one of {', '.join(_PLUGIN_PROTOCOLS)}")
    ordering = None
    if raw.get("ordering") is not None:
        ordering = r.json_value(r.as_map(raw.get("ordering"), "ordering"), "ordering")
    cls = KongClusterPlugin if cluster else KongPlugin
    return cls(
        **base,
        plugin=plugin,
        config=config,
        config_from=config_from,
        config_patches=tuple(patches),
        disabled=bool(r.as_bool(raw.get("disabled"), "disabled")),
        run_on=run_on,
        protocols=tuple(protocols),
        ordering=ordering,
        instance_name=r.as_str(raw.get("instance_name"), "instance_name") or None,
        failures=tuple(r.failures),
    )


def _consumer(raw: Mapping[str, Any]) -> KongConsumer:
    r, base = _meta("KongConsumer", raw)
    username = r.as_str(raw.get("username"), "username") or ""
    custom_id = r.as_str(raw.get("custom_id"), "custom_id") or ""
    return KongConsumer(
        **base,
        username=username,
        custom_id=custom_id,
        credentials=r.strs(raw.get("credentials"), "credentials"),
        consumer_groups=r.strs(raw.get("consumerGroups"), "consumerGroups"),
        failures=tuple(r.failures),
    )


def _consumer_group(raw: Mapping[str, Any]) -> KongConsumerGroup:
    r, base = _meta("KongConsumerGroup", raw)
    return KongConsumerGroup(**base, failures=tuple(r.failures))


_ALGORITHMS = (
    "round-robin",
    "consistent-hashing",
    "least-connections",
    "latency",
    "sticky-sessions",
)
_HASH_INPUTS = ("ip", "consumer", "path", "none")
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower()


def _health(r: Reader, raw: object, path: str) -> dict[str, Any]:
    """camelCase health-check spec -> Kong's snake_case (header names kept verbatim)."""
    out: dict[str, Any] = {}
    for key, value in r.as_map(raw, path).items():
        sub = f"{path}.{key}"
        if key == "headers":
            out["headers"] = {
                h: list(r.strs(v, f"{sub}.{h}")) for h, v in r.as_map(value, sub).items()
            }
        elif isinstance(value, Mapping):
            out[_snake(key)] = _health(r, value, sub)
        elif isinstance(value, float) and not math.isfinite(value):
            # JSON cannot carry NaN/Infinity (orjson writes null): refused, Kong's default stays
            r.fail(sub, "expected a finite number, got NaN or Infinity")
        elif isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
            # every health-check number (intervals, counters, timeouts, concurrency) is >= 0
            # for Kong, which would refuse the whole configuration
            r.fail(sub, "must not be negative")
        else:
            out[_snake(key)] = r.json_value(value, sub)
    return out


def _header_name_ok(name: str) -> bool:
    """Kong's header-name rule: ``A-Z a-z 0-9 _ -`` only, at most 256 characters."""
    return (
        0 < len(name) <= 256 and name.isascii() and name.replace("-", "").replace("_", "").isalnum()
    )


def _hash(r: Reader, raw: object, path: str, prefix: str, fallback: bool) -> dict[str, Any]:
    m = r.as_map(raw, path)
    set_keys = [k for k in ("input", "header", "cookie", "queryArg", "uriCapture") if m.get(k)]
    if len(set_keys) != 1:
        r.fail(path, "exactly one of input, header, cookie, queryArg, uriCapture must be set")
        return {}
    key = set_keys[0]
    value = r.as_str(m.get(key), f"{path}.{key}")
    if value is None:
        return {}
    if key == "input":
        if value not in _HASH_INPUTS:
            r.fail(f"{path}.input", f"must be one of {', '.join(_HASH_INPUTS)}")
            return {}
        return {prefix: value}
    if key == "cookie":
        if fallback:
            r.fail(f"{path}.cookie", "cookie is not allowed in hashOnFallback")
            return {}
        cookie_path = r.as_str(m.get("cookiePath"), f"{path}.cookiePath")
        if not cookie_path:
            r.fail(f"{path}.cookiePath", "cookiePath is required when cookie is set")
            return {}
        return {prefix: "cookie", "hash_on_cookie": value, "hash_on_cookie_path": cookie_path}
    kong = {"header": "header", "queryArg": "query_arg", "uriCapture": "uri_capture"}[key]
    if key == "header" and not _header_name_ok(value):
        # Kong's rule (A-Z a-z 0-9 _ -); CR/LF here would split the header Kong hashes on
        r.fail(f"{path}.header", "header is not a valid HTTP header name")
        return {}
    return {prefix: kong, f"{prefix}_{kong}": value}


def _upstream_policy(raw: Mapping[str, Any]) -> KongUpstreamPolicy:
    r, base = _meta("KongUpstreamPolicy", raw)
    spec = r.as_map(raw.get("spec"), "spec")
    up: dict[str, Any] = {}
    algorithm = r.as_str(spec.get("algorithm"), "spec.algorithm")
    if algorithm is not None:
        if algorithm in _ALGORITHMS:
            up["algorithm"] = algorithm
        else:
            r.fail("spec.algorithm", f"must be one of {', '.join(_ALGORITHMS)}")
    slots = r.as_int(spec.get("slots"), "spec.slots")
    if slots is not None:
        if 10 <= slots <= 65536:
            up["slots"] = slots
        else:
            r.fail("spec.slots", "must be between 10 and 65536")
    if spec.get("hashOn") is not None:
        up.update(_hash(r, spec.get("hashOn"), "spec.hashOn", "hash_on", False))
    if spec.get("hashOnFallback") is not None:
        up.update(
            _hash(r, spec.get("hashOnFallback"), "spec.hashOnFallback", "hash_fallback", True)
        )
    if spec.get("healthchecks") is not None:
        up["healthchecks"] = _health(r, spec.get("healthchecks"), "spec.healthchecks")
    if spec.get("stickySessions") is not None:
        sm = r.as_map(spec.get("stickySessions"), "spec.stickySessions")
        cookie = r.as_str(sm.get("cookie"), "spec.stickySessions.cookie")
        if cookie:
            up["sticky_sessions_cookie"] = cookie
            cookie_path = r.as_str(sm.get("cookiePath"), "spec.stickySessions.cookiePath")
            if cookie_path:
                up["sticky_sessions_cookie_path"] = cookie_path
        else:
            r.fail("spec.stickySessions.cookie", "cookie is required")
    return KongUpstreamPolicy(**base, upstream=up, failures=tuple(r.failures))


def parse(kind: str, raw: object) -> AnyModel:
    """The model of ``raw`` (a Kubernetes object as a dict). Never raises.

    Problems (wrong types, missing required fields) are in ``model.failures``; an unknown kind
    gives an :class:`UnknownObject` with one failure.
    """
    if not isinstance(raw, Mapping):
        raw = {}
    assert isinstance(raw, Mapping)
    spec = SPECS.get(kind)
    parser = spec.parser if spec is not None else None
    try:
        if parser is None:
            r, base = _meta(kind, raw)
            r.fail("kind", f"unsupported kind {kind!r}")
            return UnknownObject(**base, failures=tuple(r.failures))
        return parser(raw)
    except Exception as exc:  # a parser bug must not stop the world
        try:
            r, base = _meta(kind, raw)
        except Exception:
            r, base = _meta(kind, {})
        failure = Failure(base["ref"], "", f"could not be parsed ({type(exc).__name__})")
        return UnknownObject(**base, failures=(failure,))
