"""How a ``Config`` field is declared: converters, redaction, and the metadata that drives the
command line, the ``CONTROLLER_*`` variables and the README's flag table.

Why a module of its own: these are the building blocks of :class:`~kic_trio.config.Config`
(``_config.py``); the command line (``_sources.py``) and the checks (``_validation.py``) read the
same metadata. Everything here is pure and below ``_config``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ._convert import parse_bool, parse_duration

# ---------------------------------------------------------------------------------------------
# converters


def _duration(value: object) -> float:
    # Keep the raw value when it cannot be parsed: validate() reports it with the others.
    try:
        return parse_duration(value)
    except ValueError:
        return value  # type: ignore[return-value]


def _str_list(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, Sequence):
        out: list[str] = []
        for item in value:
            out.extend(_str_list(item) if isinstance(item, str) else [item])
        return tuple(out)
    return value  # type: ignore[return-value]  # validate() reports the wrong type


def _header_list(value: object) -> tuple[str, ...]:
    # Header values may contain commas: only a str is split, on commas, as upstream's slice flags do.
    return _str_list(value)


#: Feature gates and their defaults (upstream's ``feature_gates_keys.go``), with one
#: deliberate difference: ``FallbackConfiguration`` is on. When Kong refuses some objects,
#: kic-trio pushes the configuration without them (and what depends on them) at once, so one
#: broken object never holds back every other change; ``FallbackConfiguration=false`` gives
#: upstream's behaviour (the last good configuration stays until the broken object is fixed).
FEATURE_GATES: Mapping[str, bool] = {
    "GatewayAlpha": False,
    "FillIDs": True,
    "RewriteURIs": False,
    "KongServiceFacade": False,
    "SanitizeKonnectConfigDumps": True,
    "FallbackConfiguration": True,
    "KongCustomEntity": True,
}


def _feature_gates(value: object) -> Mapping[str, bool]:
    """Merge the given gates onto the defaults; accepts a mapping or ``"A=true,B=false"``."""
    given: dict[str, Any] = {}
    if value is None:
        pass
    elif isinstance(value, str):
        for part in value.split(","):
            if not part.strip():
                continue
            name, sep, raw = part.partition("=")
            given[name.strip()] = raw.strip() if sep else "<missing value>"
    elif isinstance(value, Mapping):
        given = dict(value)
    else:
        return value  # type: ignore[return-value]
    merged: dict[str, Any] = dict(FEATURE_GATES)
    for name, raw in given.items():
        try:
            merged[name] = parse_bool(raw)
        except ValueError:
            merged[name] = raw  # validate() reports it
    return _FrozenDict(merged)


class _FrozenDict(dict[str, Any]):
    """A dict that refuses mutation, so a frozen Config stays frozen (and hashable)."""

    def _refuse(self, *_a: object, **_k: object) -> None:
        raise TypeError("Config.feature_gates is read-only; build a new Config with attrs.evolve")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment]

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items())))


def _opt_str(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value if value != "" else None
    return value  # type: ignore[return-value]


def _secret_repr(value: object) -> str:
    if value is None or value == ():
        return repr(value)
    return "'<redacted>'"


def redact_url(url: object) -> str:
    """``url`` with the password of its userinfo replaced by ``***`` (for messages and reprs).

    Why by hand, not ``urlsplit``: the URL may be malformed (that is why it is in an error
    message), and the password must go even then. Everything between ``scheme://`` and the last
    ``@`` of the authority is userinfo; what follows its first ``:`` is the password. A
    user name alone is kept (it helps to tell URLs apart and is not a credential).
    """
    if not isinstance(url, str):
        return repr(url)
    start = url.find("://")
    start = start + 3 if start >= 0 else 0
    end = len(url)
    for sep in "/?#":
        i = url.find(sep, start)
        if i >= 0:
            end = min(end, i)
    at = url.rfind("@", start, end)
    if at < 0:
        return url
    userinfo = url[start:at]
    user, colon, _password = userinfo.partition(":")
    return url[:start] + user + (":***" if colon else "") + url[at:]


def _url_repr(value: object) -> str:
    if isinstance(value, str):
        return repr(redact_url(value))
    if isinstance(value, tuple):
        return repr(tuple(redact_url(v) for v in value))
    return repr(value)


# ---------------------------------------------------------------------------------------------
# field declaration helpers: metadata drives the CLI, the env vars and the README table


def _field(
    default: Any,
    help: str,
    *,
    kind: str,
    converter: Any = None,
    secret: bool = False,
    group: str = "general",
    ours: bool = False,
    url: bool = False,
) -> Any:
    """One ``Config`` field. ``secret``: the value is never shown (repr, errors); ``url``: the
    value is a URL (or list of them) whose password is never shown."""
    meta = {"help": help, "kind": kind, "secret": secret, "group": group, "ours": ours, "url": url}
    kwargs: dict[str, Any] = {"metadata": meta}
    if secret:
        kwargs["repr"] = _secret_repr
    elif url:
        kwargs["repr"] = _url_repr
    if converter is not None:
        kwargs["converter"] = converter
    if isinstance(default, list | dict | tuple):
        if converter is not None:
            return attrs.field(default=attrs.Factory(lambda: converter(default)), **kwargs)
        return attrs.field(default=attrs.Factory(lambda: type(default)(default)), **kwargs)
    return attrs.field(default=default, **kwargs)


def _s(default: str | None, help: str, **kw: Any) -> Any:
    return _field(default, help, kind="str", converter=_opt_str if default is None else None, **kw)


def _b(default: bool, help: str, **kw: Any) -> Any:
    return _field(default, help, kind="bool", **kw)


def _i(default: int, help: str, **kw: Any) -> Any:
    return _field(default, help, kind="int", **kw)


def _f(default: float, help: str, **kw: Any) -> Any:
    return _field(default, help, kind="float", **kw)


def _d(default: float, help: str, **kw: Any) -> Any:
    return _field(default, help, kind="duration", converter=_duration, **kw)


def _l(default: Sequence[str], help: str, **kw: Any) -> Any:
    return _field(tuple(default), help, kind="list", converter=_str_list, **kw)


LOG_LEVELS = ("trace", "debug", "info", "error")
LOG_FORMATS = ("text", "console", "json")
