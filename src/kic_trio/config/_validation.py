"""The value checks behind :meth:`Config.validate <kic_trio.config.Config.validate>`.

Each check takes one value and returns why it is wrong (``None`` when it is fine), in words
that never quote a secret; ``_config.problems`` runs them field by field and names the flag.
Kept below ``_config`` so that the rules can be read (and tested) without the field list.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from collections.abc import Mapping

from .._names import name_problem

EXPECTED = {
    "str": "a string",
    "bool": "true or false",
    "int": "an integer",
    "float": "a number",
    "duration": "a duration (seconds, a timedelta or a Go duration such as 10s)",
    "list": "a list of strings",
    "gates": "a mapping of feature gate names to booleans",
    "tristate": "true, false or unset (automatic)",
}


def type_ok(kind: str, v: object) -> bool:
    if kind == "str":
        return v is None or isinstance(v, str)
    if kind == "bool":
        return isinstance(v, bool)
    if kind == "int":
        return isinstance(v, int) and not isinstance(v, bool)
    if kind == "float":
        return isinstance(v, int | float) and not isinstance(v, bool)
    if kind == "duration":
        return isinstance(v, float)
    if kind == "list":
        return isinstance(v, tuple) and all(isinstance(i, str) for i in v)
    if kind == "gates":
        return isinstance(v, Mapping)
    return v is None or isinstance(v, bool)  # tristate


DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
DNS_NAME = re.compile(
    r"(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
)


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def url_problem(url: str) -> str | None:
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018  # raises on a bad port
    except ValueError:
        # not the exception's text: it may quote a part of the URL
        return "not a valid URL (bad host or port)"
    if parts.scheme not in ("http", "https"):
        return "not a valid URL: the scheme must be http or https"
    if not parts.hostname:
        return "not a valid URL: it has no host"
    return None


def namespaced_name_problem(value: str) -> str | None:
    ns, sep, name = value.partition("/")
    if not sep:
        return "the expected format is namespace/name"
    if not ns:
        return "namespace cannot be empty"
    if not name:
        return "name cannot be empty"
    if "/" in name:
        return "the expected format is namespace/name"
    # both go into API server URLs (kube edge): the Kubernetes name rules
    if (why := name_problem(ns, label=True)) is not None:
        return f"the namespace {why}"
    if (why := name_problem(name)) is not None:
        return f"the name {why}"
    return None


def bind_problem(addr: str) -> str | None:
    host, sep, port = addr.rpartition(":")
    if not sep:
        return "the expected format is [host]:port"
    if not port.isdigit() or int(port) > 65535:
        return "the port must be a number from 0 to 65535"
    host = host.strip("[]")
    if host and not is_ip(host) and not DNS_NAME.fullmatch(host) and host != "localhost":
        return "the host must be an IP address or a host name"
    return None
