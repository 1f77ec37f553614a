"""Small pure helpers: deterministic IDs, tags, Go-compatible value parsing.

IDs follow go-kong's ``FillID``: ``uuid5(uuid5(NS, "<plural>"), key)``. ``uuid.uuid5`` costs a
few microseconds (it builds UUID objects); at 40k entities that is a noticeable slice of a
translation, so :func:`uuid5` hashes and formats directly (same bits, checked in the tests).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence

from ..models import Model, split_list

_ROOT = uuid.UUID("fd02801f-0957-4a15-a55a-c8d9606f30b5")
#: uuid5 namespaces per entity kind, as bytes (the sha1 prefix).
ID_NAMESPACES: Mapping[str, bytes] = {
    plural: uuid.uuid5(_ROOT, plural).bytes
    for plural in ("services", "routes", "consumers", "consumergroups", "vaults", "plugins")
}


_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def uuid5(namespace: bytes, name: str) -> str:
    """``str(uuid.uuid5(UUID(bytes=namespace), name))`` without the object overhead."""
    h = hashlib.sha1(namespace + name.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


def entity_id(plural: str, key: str) -> str:
    return uuid5(ID_NAMESPACES[plural], key)


def tags_for(obj: Model) -> Sequence[str]:
    """Upstream's ``GenerateTagsForObject``: ``k8s-*`` identity tags, then ``konghq.com/tags``.

    These are load-bearing: Kong's error responses name entities by their tags, which is how a
    rejected entity is mapped back to the Kubernetes object for an Event. Parsed models carry
    them already (computed once at parse time).
    """
    if obj.tags:
        return obj.tags
    ref = obj.ref
    tags = []
    if ref.name:
        tags.append("k8s-name:" + ref.name)
    if ref.namespace:
        tags.append("k8s-namespace:" + ref.namespace)
    tags.append("k8s-kind:" + ref.kind)
    if ref.uid:
        tags.append("k8s-uid:" + ref.uid)
    if ref.group:
        tags.append("k8s-group:" + ref.group)
    if ref.version:
        tags.append("k8s-version:" + ref.version)
    user = obj.annotations.get("konghq.com/tags")
    if user:
        seen: set[str] = set()
        for tag in split_list(user):
            if tag not in seen:
                seen.add(tag)
                tags.append(tag)
    return tags


_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
#: ``-9223372036854775808``: the longest string ``strconv.Atoi`` can accept.
_GO_INT_MAX_LEN = 20


def go_bool(value: str) -> bool | None:
    """Go's ``strconv.ParseBool``: ``None`` when it would fail."""
    if value in _GO_TRUE:
        return True
    if value in _GO_FALSE:
        return False
    return None


def go_int(value: str) -> int | None:
    """Go's ``strconv.Atoi`` (64-bit): ``None`` when it would fail.

    The length cap comes first: Python's ``int()`` refuses (raises on) strings of more than
    4300 digits, and an annotation can be megabytes long.
    """
    if not value or len(value) > _GO_INT_MAX_LEN:
        return None
    digits = value[1:] if value[0] in "+-" else value
    if not (digits.isascii() and digits.isdigit()):
        return None
    n = int(value)
    return n if -(2**63) <= n < 2**63 else None


def go_int_between(value: str, low: int, high: int) -> int | None:
    """:func:`go_int` limited to Kong's range for the field (``None`` outside it)."""
    n = go_int(value)
    return n if n is not None and low <= n <= high else None


# --- value checks: what Kong accepts, in bounded time -------------------------------------
#
# These replace regexes with nested quantifiers (``([a-z0-9]+(-[a-z0-9]+)*)+``) that
# backtracked exponentially on a 34-character annotation. Each check is one pass over a
# length-capped string: split on ``.``, then plain ``str`` methods per label.

#: RFC 1035 limits: a whole name, one label.
MAX_NAME = 253
MAX_LABEL = 63


def _dns_label(label: str) -> bool:
    """``[A-Za-z0-9]+(-[A-Za-z0-9]+)*``: alphanumerics, single inner hyphens."""
    return (
        0 < len(label) <= MAX_LABEL
        and label.isascii()
        and label.replace("-", "").isalnum()
        and label[0] != "-"
        and label[-1] != "-"
        and "--" not in label
    )


def valid_sni(name: str) -> bool:
    """Upstream's SNI rule (labels of :func:`_dns_label` joined by dots), length-capped."""
    if not 0 < len(name) <= MAX_NAME:
        return False
    return all(_dns_label(label) for label in name.split("."))


def valid_host(name: str) -> bool:
    """Upstream's host-alias rule: an SNI-style name, optionally ``*.``-prefixed or ``.*``-ended."""
    if not 0 < len(name) <= MAX_NAME:
        return False
    labels = name.split(".")
    if labels[0] == "*":
        labels = labels[1:]
    if labels and labels[-1] == "*":
        labels = labels[:-1]
    return bool(labels) and all(_dns_label(label) for label in labels)


def _subdomain_label(label: str) -> bool:
    """A DNS-1123 label: lower-case alphanumerics and ``-`` (``xn--`` punycode included)."""
    return (
        0 < len(label) <= MAX_LABEL
        and label.isascii()
        and label == label.lower()
        and label.replace("-", "").isalnum()
        and label[0] != "-"
        and label[-1] != "-"
    )


def valid_ingress_host(host: str) -> bool:
    """What the API server accepts as an Ingress rule host: a DNS-1123 subdomain, ``*.`` allowed.

    Only offline input (``kic-trio translate``) can break it; Kong would refuse the route.
    """
    if not 0 < len(host) <= MAX_NAME:
        return False
    labels = host.split(".")
    if labels[0] == "*" and len(labels) > 1:
        labels = labels[1:]
    return all(_subdomain_label(label) for label in labels)


def valid_host_header(value: str) -> bool:
    """Kong's upstream ``host_header`` (``kong.tools.ip``): a host name, optionally ``:port``.

    Labels of ``[0-9A-Za-z_-]`` that do not end in ``-``; one trailing dot allowed.
    """
    if not 0 < len(value) <= MAX_NAME + 6:
        return False
    host, sep, port = value.rpartition(":")
    if not sep:
        host = value
    elif not (port.isascii() and port.isdigit() and len(port) <= 5 and int(port) <= 65535):
        return False
    if host.endswith("."):
        host = host[:-1]
    if not 0 < len(host) <= MAX_NAME:
        return False
    for label in host.split("."):
        if not (
            0 < len(label) <= MAX_LABEL
            and label.isascii()
            and label.replace("-", "").replace("_", "").isalnum()
            and label[-1] != "-"
        ):
            return False
    return True


def shown(value: str) -> str:
    """A user value for a failure reason: quoted when short and printable, else not at all.

    Reasons go into Events and logs; a megabyte annotation (or one with CR/LF) must not.
    """
    if len(value) <= 32 and not has_control_char(value):
        return repr(value)
    return "the value"


def has_control_char(value: str) -> bool:
    """NUL, CR, LF and the other C0 controls and DEL: Kong refuses them in paths and headers.

    Tab is allowed (it is legal whitespace in an HTTP header value).
    """
    if value.isascii() and value.isprintable():  # the common case, in C
        return False
    return any((c < " " and c != "\t") or c == "\x7f" for c in value)


def valid_header_name(name: str) -> bool:
    """Kong's header-name rule (``kong/tools/http.lua``): ``A-Z a-z 0-9 _ -`` only."""
    return (
        0 < len(name) <= 256 and name.isascii() and name.replace("-", "").replace("_", "").isalnum()
    )


def plugin_names(obj: Model) -> list[tuple[str, str]]:
    """``konghq.com/plugins`` of an object: ``(namespace, name)`` per entry, in order.

    ``ns:name`` entries name a plugin in another namespace; upstream only binds those with a
    ReferenceGrant, which kic-trio does not watch, so the caller reports them as failures.
    """
    out = []
    for item in split_list(obj.annotations.get("konghq.com/plugins")):
        ns, sep, name = item.partition(":")
        out.append((ns, name) if sep else (obj.ref.namespace, item))
    return out
