"""KongIngress (``configuration.konghq.com/v1``, deprecated): parse one object.

Since upstream 3.0 only its ``upstream`` section has an effect, applied to the Kong upstream
of every Service whose ``konghq.com/override`` names it (upstream-surface.md §6); ``proxy``
and ``route`` are kept only to warn about them. Translation: ``translator/_services.py``.

Advice: a field with a value Kong would refuse is dropped here with a failure on its path, so
one bad KongIngress never makes Kong refuse the whole configuration; move users to
KongUpstreamPolicy (which wins over it anyway).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._models import KongIngress
from ._parsers import _ALGORITHMS, _header_name_ok, _meta

#: Upstream's admission warnings for a KongIngress's sections: failures of every KongIngress
#: that has them (hence Warning Events), referenced or not, as upstream's webhook warns on
#: every write. Its ``upstream`` fields still apply.
SECTION_WARNINGS = {
    "proxy": "Support for 'proxy' was removed in 3.0. It will have no effect. "
    "Use Service's annotations instead.",
    "route": "Support for 'route' was removed in 3.0. It will have no effect. "
    "Use Ingress's annotations instead.",
    "upstream": "'upstream' is DEPRECATED and will be removed in a future version. "
    "Use a KongUpstreamPolicy resource instead.",
}
#: Kong's ``hash_on`` values (``hash_fallback``: the same without ``cookie``).
_HASH_ON = ("none", "consumer", "ip", "header", "cookie", "path", "query_arg", "uri_capture")
#: ``hash_on`` value -> the field naming what is hashed (``hash_on_<field>``).
_NEEDS = {
    "header": "header",
    "cookie": "cookie",
    "query_arg": "query_arg",
    "uri_capture": "uri_capture",
}
_STRINGS = (
    "host_header",
    "hash_on_header",
    "hash_fallback_header",
    "hash_on_cookie",
    "hash_on_cookie_path",
    "hash_on_query_arg",
    "hash_fallback_query_arg",
    "hash_on_uri_capture",
    "hash_fallback_uri_capture",
)


def parse_kong_ingress(raw: Mapping[str, Any]) -> KongIngress:
    """The honoured ``upstream`` fields and which sections are present; never raises."""
    r, base = _meta("KongIngress", raw)
    sections = tuple(k for k in ("proxy", "route", "upstream") if raw.get(k) is not None)
    for section in sections:
        r.fail(section, SECTION_WARNINGS[section])
    up = r.as_map(raw.get("upstream"), "upstream")
    out: dict[str, Any] = {}
    algorithm = r.as_str(up.get("algorithm"), "upstream.algorithm")
    if algorithm is not None:
        if algorithm in _ALGORITHMS:
            out["algorithm"] = algorithm
        else:
            r.fail("upstream.algorithm", f"must be one of {', '.join(_ALGORITHMS)}; ignored")
    slots = r.as_int(up.get("slots"), "upstream.slots", low=10, high=65536)
    if slots is not None:
        out["slots"] = slots
    for key, allowed in (("hash_on", _HASH_ON), ("hash_fallback", _HASH_ON[:4] + _HASH_ON[5:])):
        value = r.as_str(up.get(key), f"upstream.{key}")
        if value is not None:
            if value in allowed:
                out[key] = value
            else:
                r.fail(f"upstream.{key}", f"must be one of {', '.join(allowed)}; ignored")
    for key in _STRINGS:
        value = r.as_str(up.get(key), f"upstream.{key}")
        if not value:
            continue
        if key.endswith("_header") and key != "host_header" and not _header_name_ok(value):
            # Kong's rule (A-Z a-z 0-9 _ -); CR/LF would split the header Kong hashes on
            r.fail(f"upstream.{key}", "not a valid HTTP header name; ignored")
        elif any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            r.fail(f"upstream.{key}", "contains a control character (CR, LF, NUL, ...); ignored")
        else:
            out[key] = value
    for key in ("hash_on", "hash_fallback"):
        # Kong refuses the whole configuration over a hash input without its name
        want = _NEEDS.get(out.get(key, ""))
        if want is not None and f"{key}_{want}" not in out:
            r.fail(f"upstream.{key}", f"needs upstream.{key}_{want}; ignored")
            del out[key]
    if up.get("healthchecks") is not None:
        checks = r.as_map(up.get("healthchecks"), "upstream.healthchecks")
        if checks:
            out["healthchecks"] = r.json_value(checks, "upstream.healthchecks")
    return KongIngress(**base, upstream=out, sections=sections, failures=tuple(r.failures))
