"""Kong's ``expressions`` router: Ingress routes as ATC ``expression`` + ``priority``.

When a gateway runs ``router_flavor = expressions``, upstream (KIC 3.5,
``subtranslator/ingress_atc.go`` and ``translator/atc``) does not send ``paths``/``hosts``/
``headers``/``methods``/``snis`` for an Ingress route: it sends one ATC expression built from
them, and a ``priority`` that encodes the traits Kong's traditional router sorts by. This module
is that builder, pure and small:

* :class:`Predicate`, :func:`all_of`, :func:`any_of` — the matcher tree, rendered exactly as
  upstream does (one part: bare; two or more: each in parentheses, joined by `` && `` or
  `` || ``; empty parts dropped);
* :func:`quote` — every string literal is double-quoted with ``\\``, ``"``, ``\\n``, ``\\r``,
  ``\\t`` escaped, so no annotation value or path can close the literal and inject matcher
  syntax (the field names are fixed, or built from header names that were checked first);
* :func:`ingress_expression_route` — the route of one Ingress x host x backend;
* :func:`ingress_priority` — upstream's ``IngressRoutePriorityTraits.EncodeToPriority``.

Advice: compare against ``reference/upstream-surface.md`` §2 when changing anything here; the
golden ``expression-routes-on`` variants pin the output byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import attrs

from ..models import Failure, ObjectRef, split_list

RouterFlavor = Literal["traditional", "traditional_compatible", "expressions"]
ROUTER_FLAVORS: tuple[str, ...] = ("traditional", "traditional_compatible", "expressions")

#: Upstream's ``ResourceKindBitsIngress << FromResourceKindPriorityShiftBits``.
_KIND_INGRESS = 3 << 44
_MATCH_FIELDS_SHIFT = 41
_HEADER_COUNT_SHIFT = 33
_PLAIN_HOST_SHIFT = 32
_REGEX_PATH_SHIFT = 16
_HEADER_COUNT_LIMIT = 255
_PATH_LENGTH_LIMIT = (1 << 16) - 1
#: ``IngressDefaultBackendPriority``: the catch-all route loses against every other route.
DEFAULT_BACKEND_PRIORITY = 0
_HEADERS_PREFIX = "konghq.com/headers."
_HEADER_REGEX_PREFIX = "~*"

#: Route annotations upstream does not apply as fields with expression routes (they feed
#: the expression instead, or are meaningless there).
EXPRESSION_ONLY_ANNOTATIONS = frozenset(
    {
        "konghq.com/regex-priority",
        "konghq.com/methods",
        "konghq.com/snis",
        "konghq.com/host-aliases",
        "konghq.com/path-handling",
    }
)


# --- the matcher tree ----------------------------------------------------------------------


def quote(value: str) -> str:
    """An ATC string literal: ``"..."`` with ``\\``, ``"``, LF, CR and TAB escaped."""
    escaped = (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return f'"{escaped}"'


@attrs.frozen(slots=True)
class Predicate:
    """``<field> <op> "<value>"``, e.g. ``http.path ^= "/api/"``."""

    field: str
    op: str
    value: str

    def expression(self) -> str:
        return f"{self.field} {self.op} {quote(self.value)}"


@attrs.frozen(slots=True)
class Group:
    """Parts joined by ``&&`` (``op="&&"``) or ``||``; empty parts were dropped on creation."""

    op: str
    parts: tuple[Matcher, ...]

    def expression(self) -> str:
        if not self.parts:
            return ""
        if len(self.parts) == 1:
            return self.parts[0].expression()
        return f" {self.op} ".join(f"({p.expression()})" for p in self.parts)


Matcher = Predicate | Group


def _nonempty(parts: Sequence[Matcher | None]) -> tuple[Matcher, ...]:
    return tuple(p for p in parts if p is not None and not (isinstance(p, Group) and not p.parts))


def all_of(*parts: Matcher | None) -> Group:
    """AND of the non-empty ``parts``."""
    return Group("&&", _nonempty(parts))


def any_of(*parts: Matcher | None) -> Group:
    """OR of the non-empty ``parts``."""
    return Group("||", _nonempty(parts))


# --- validity checks (upstream's regexes, without a backtracking regex engine) -------------


def _label_ok(label: str) -> bool:
    """``[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*``: ASCII alphanumerics, single inner hyphens."""
    return (
        bool(label)
        and label.isascii()
        and all(part.isalnum() for part in label.split("-"))
        and "" not in label.split("-")
    )


def valid_sni(sni: str) -> bool:
    """Upstream's ``validSNIs``: dot-separated labels, no wildcard."""
    return bool(sni) and all(_label_ok(x) for x in sni.split("."))


def valid_host(host: str) -> bool:
    """Upstream's ``validHosts``: labels, optionally ``*.`` first and/or ``.*`` last."""
    rest = host[2:] if host.startswith("*.") else host
    if rest.endswith(".*"):
        rest = rest[:-2]
    return valid_sni(rest)


def valid_method(method: str) -> bool:
    """``\\A[A-Z]+$``."""
    return bool(method) and method.isascii() and method.isalpha() and method.isupper()


# --- matchers of one Ingress route ---------------------------------------------------------


def _host_matcher(hosts: Sequence[str]) -> Group:
    out: list[Matcher] = []
    for host in hosts:
        if not valid_host(host):
            continue
        if host.startswith("*"):
            out.append(Predicate("http.host", "=^", host[1:]))
        else:
            out.append(Predicate("http.host", "==", host))
    return any_of(*out)


def path_matcher(path_type: str, path: str, regex_prefix: str) -> Matcher:
    """One Ingress path (already pre-processed: slashes collapsed, empty -> ``/``)."""
    if path_type == "Prefix":
        base = path.strip("/")
        if not base:
            return Predicate("http.path", "^=", "/")
        return any_of(
            Predicate("http.path", "==", "/" + base), Predicate("http.path", "^=", "/" + base + "/")
        )
    if path_type == "Exact":
        return Predicate("http.path", "==", "/" + path.lstrip("/"))
    if not path:
        return Predicate("http.path", "^=", "/")
    if regex_prefix and path.startswith(regex_prefix):
        regex = path[len(regex_prefix) :] or "^/"
        if not regex.startswith("^"):
            regex = "^" + regex
        return Predicate("http.path", "~", regex)
    return Predicate("http.path", "^=", path)


def header_values(ann: Mapping[str, str]) -> dict[str, list[str]]:
    """``konghq.com/headers.<Name>`` -> values (split by the separator, trimmed)."""
    sep = ann.get("konghq.com/headers-separator", ",") or ","
    out: dict[str, list[str]] = {}
    for key, value in ann.items():
        if key.startswith(_HEADERS_PREFIX) and len(key) > len(_HEADERS_PREFIX) and value:
            out[key[len(_HEADERS_PREFIX) :]] = [v.strip() for v in value.split(sep)]
    return out


def _header_matcher(headers: Mapping[str, list[str]]) -> Group:
    parts: list[Matcher] = []
    for name in sorted(headers):
        values = headers[name]
        field_name = name.lower().replace("-", "_")
        if not values or field_name == "host":
            continue
        alts: list[Matcher] = []
        for val in values:
            if val.startswith(_HEADER_REGEX_PREFIX):
                alts.append(
                    Predicate(f"http.headers.{field_name}", "~", val[len(_HEADER_REGEX_PREFIX) :])
                )
            else:
                alts.append(Predicate(f"http.headers.{field_name}", "==", val))
        parts.append(any_of(*alts))
    return all_of(*parts)


def _blen(s: str) -> int:
    """Go's ``len``: bytes, not characters."""
    return len(s.encode("utf-8", "surrogatepass"))


def ingress_priority(
    paths: Sequence[tuple[str, str]], regex_prefix: str, host: str, ann: Mapping[str, str]
) -> int:
    """Upstream's ``calculateIngressRoutePriorityTraits(...).EncodeToPriority()``.

    Bits (high to low): resource kind, number of match fields, number of headers, all hosts
    plain, any regex-like path, longest path. Counts use the annotations as written (an
    invalid method still counts as "methods given"), as upstream does.
    """
    fields = 1 if paths else 0
    regex = False
    longest = 0
    for path_type, path in paths:
        if path_type == "Exact":
            regex = True
            length = 1 + _blen(path.lstrip("/"))
        elif path_type == "Prefix":
            regex = True
            base = path.strip("/")
            length = 1 if not base else 2 + _blen(base)
        elif regex_prefix and path.startswith(regex_prefix):
            regex = True
            length = _blen(path[len(regex_prefix) :])
        else:
            length = _blen(path)
        longest = max(longest, length)
    hosts = ([host] if host else []) + split_list(ann.get("konghq.com/host-aliases"))
    plain = False
    if hosts:
        fields += 1
        plain = not any(h.startswith("*") for h in hosts)
    headers = header_values(ann)
    if headers:
        fields += 1
    if split_list(ann.get("konghq.com/methods")):
        fields += 1
    if "konghq.com/snis" in ann and split_list(ann["konghq.com/snis"]):
        fields += 1
    return (
        _KIND_INGRESS
        + (fields << _MATCH_FIELDS_SHIFT)
        + (min(len(headers), _HEADER_COUNT_LIMIT) << _HEADER_COUNT_SHIFT)
        + ((1 << _PLAIN_HOST_SHIFT) if plain else 0)
        + ((1 << _REGEX_PATH_SHIFT) if regex else 0)
        + min(longest, _PATH_LENGTH_LIMIT)
    )


def ingress_matcher(
    paths: Sequence[tuple[str, str]],
    regex_prefix: str,
    host: str,
    ann: Mapping[str, str],
    ref: ObjectRef | None = None,
    failures: list[Failure] | None = None,
) -> Group:
    """The AND of hosts, paths, headers, methods and SNIs of one Ingress route.

    Invalid host aliases, methods and SNIs are dropped one by one (as upstream); each drop is
    reported on ``failures`` (never with the value: it may be anything a user wrote).
    """
    ann_hosts = split_list(ann.get("konghq.com/host-aliases"))
    hosts = ([host] if host else []) + ann_hosts
    methods = [m.upper() for m in split_list(ann.get("konghq.com/methods"))]
    snis = split_list(ann.get("konghq.com/snis")) if "konghq.com/snis" in ann else []
    if failures is not None and ref is not None:
        for key, values, ok in (
            ("konghq.com/host-aliases", ann_hosts, valid_host),
            ("konghq.com/methods", methods, valid_method),
            ("konghq.com/snis", snis, valid_sni),
        ):
            bad = sum(1 for v in values if not ok(v))
            if bad:
                failures.append(
                    Failure(
                        ref,
                        f"metadata.annotations.{key}",
                        f"{bad} invalid value(s) left out of the route's expression",
                    )
                )
    return all_of(
        _host_matcher(hosts) if hosts else None,
        any_of(*(path_matcher(t, p, regex_prefix) for t, p in paths)),
        _header_matcher(header_values(ann)),
        any_of(*(Predicate("http.method", "==", m) for m in methods if valid_method(m))),
        any_of(*(Predicate("tls.sni", "==", s) for s in snis if valid_sni(s))),
    )


def route_field_annotations(ann: Mapping[str, str]) -> dict[str, str]:
    """The annotations still applied as route fields with expression routes.

    Upstream's ``Route.overrideByAnnotation`` skips ``regex-priority``, ``methods``, ``snis``,
    ``host-aliases``, ``headers.*`` and ``path-handling`` for expression routes.
    """
    return {
        k: v
        for k, v in ann.items()
        if k not in EXPRESSION_ONLY_ANNOTATIONS and not k.startswith(_HEADERS_PREFIX)
    }


def to_expression_route(
    route: dict[str, object],
    paths: Sequence[tuple[str, str]],
    regex_prefix: str,
    host: str,
    ann: Mapping[str, str],
    ref: ObjectRef,
    failures: list[Failure],
) -> None:
    """Turn a traditional Ingress route (in place) into upstream's expression route."""
    for key in ("paths", "hosts", "headers", "methods", "snis", "regex_priority", "path_handling"):
        route.pop(key, None)
    route["expression"] = ingress_matcher(
        paths, regex_prefix, host, ann, ref, failures
    ).expression()
    route["priority"] = ingress_priority(paths, regex_prefix, host, ann)


def to_default_backend_route(route: dict[str, object]) -> None:
    """The default backend's catch-all: ``http.path ^= "/"`` at priority 0."""
    for key in ("paths", "hosts", "headers", "methods", "snis", "regex_priority", "path_handling"):
        route.pop(key, None)
    route["expression"] = Predicate("http.path", "^=", "/").expression()
    route["priority"] = DEFAULT_BACKEND_PRIORITY
