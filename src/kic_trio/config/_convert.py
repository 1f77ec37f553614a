"""String → value conversions for settings, shared by ``Config`` and its sources.

Why a module of its own: ``Config.from_mapping`` (a library call) and the command line's flags,
``CONTROLLER_*`` variables and ``--config`` files all turn strings into typed values the same way.
Keeping the conversions here, below both, means ``_config`` never imports ``_sources`` (a lazy
import was an import cycle). This module imports nothing else from the project but ``_errors``:
keep it that way (``tests/unit/test_house_rules.py`` checks there is no cycle).

A settings class opts in by putting ``metadata={"kind": ...}`` on each attrs field, where the
kind is a key of :data:`CONVERT`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override

from .._errors import ConfigError

_GO_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: object) -> float:
    """Seconds from a number, a ``timedelta`` or a Go duration string (``"10s"``, ``"1h30m"``).

    A bare number string (``"2.5"``) is seconds too. Raises ``ValueError`` on anything else.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, str):
        text = value.strip()
        try:
            return float(text)
        except ValueError:
            pass
        sign = 1.0
        if text[:1] in "+-":
            sign = -1.0 if text[0] == "-" else 1.0
            text = text[1:]
        pos, total = 0, 0.0
        for m in _GO_DURATION.finditer(text):
            if m.start() != pos:
                break
            total += float(m.group(1)) * _GO_UNITS[m.group(2)]
            pos = m.end()
        if text and pos == len(text):
            return sign * total
    raise ValueError(
        f"{value!r} is not a duration (use seconds or a Go duration such as 10s, 1m30s)"
    )


def parse_bool(value: object) -> bool:
    """``true/false/1/0/yes/no/on/off`` (any case), as Go's ``strconv.ParseBool`` and friends."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "t", "true", "yes", "y", "on"}:
        return True
    if text in {"0", "f", "false", "no", "n", "off"}:
        return False
    raise ValueError(f"{value!r} is not a boolean (use true or false)")


def parse_tristate(value: object) -> bool | None:
    """``true``/``false``/``auto`` (``None``); an unparsable value is returned as is.

    Returning the raw value (instead of raising) lets ``Config.validate`` report it together
    with every other bad field.
    """
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"", "auto", "none"}:
        return None
    if text in {"enabled", "enable"}:
        return True
    if text in {"disabled", "disable"}:
        return False
    try:
        return parse_bool(text)
    except ValueError:
        return value  # type: ignore[return-value]


def _to_str(raw: object) -> object:
    return raw


def _to_bool(raw: object) -> object:
    return parse_bool(raw) if isinstance(raw, str) else raw


def _to_int(raw: object) -> object:
    if isinstance(raw, str):
        try:
            return int(raw.strip())
        except ValueError:
            raise ValueError(f"{raw!r} is not an integer") from None
    return raw


def _to_float(raw: object) -> object:
    if isinstance(raw, str):
        try:
            return float(raw.strip())
        except ValueError:
            raise ValueError(f"{raw!r} is not a number") from None
    return raw


def _to_duration(raw: object) -> object:
    return parse_duration(raw) if isinstance(raw, str) else raw


def _to_tristate(raw: object) -> object:
    value = parse_tristate(raw)
    if value is not None and not isinstance(value, bool):
        raise ValueError(f"{raw!r} is not true, false or auto")
    return value


#: string -> value, per field kind (flags, environment variables and config files alike).
#: Adding a kind: add it here and to ``_config``'s type check; a field of an unknown kind is a
#: ``KeyError`` at the first conversion, so a test that builds a Config from a mapping finds it.
CONVERT: Mapping[str, Callable[[object], object]] = {
    "str": _to_str,
    "bool": _to_bool,
    "int": _to_int,
    "float": _to_float,
    "duration": _to_duration,
    "list": _to_str,  # the field's converter splits commas
    "gates": _to_str,  # the field's converter parses Name=bool pairs
    "tristate": _to_tristate,
}

_T = TypeVar("_T")


def _mapping_converter(cls: type[Any]) -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=True)

    def hook(kind: str) -> Callable[[object, Any], object]:
        def structure(value: object, _type: Any) -> object:
            return CONVERT[kind](value)

        return structure

    overrides: dict[str, Any] = {
        f.name: override(struct_hook=hook(f.metadata["kind"])) for f in attrs.fields(cls)
    }
    conv.register_structure_hook(cls, make_dict_structure_fn(cls, conv, **overrides))
    return conv


def structure_settings(
    cls: type[_T],
    data: Mapping[str, Any],
    *,
    source: str,
    flag_of: Callable[[str], str],
) -> _T:
    """Build ``cls`` from a mapping whose keys are field names or flag names.

    Unknown keys and values of the wrong type raise one :class:`ConfigError` naming each key
    (and its flag, so the user can search the docs for it); the file itself is ``--config``.
    """
    if not isinstance(data, Mapping):
        raise ConfigError([("(file)", "--config", f"{source} must be a mapping of settings")])
    normalised: dict[str, Any] = {}
    for key, value in data.items():
        normalised[str(key).lstrip("-").replace("-", "_")] = value
    names = attrs.fields_dict(cls)  # type: ignore[arg-type]
    try:
        return _mapping_converter(cls).structure(normalised, cls)
    except cattrs.ClassValidationError as exc:
        problems = []
        for message in cattrs.transform_error(exc, path=source):
            field = _field_from_message(message, normalised)
            problems.append((field, flag_of(field) if field in names else "--config", message))
        raise ConfigError(problems) from None


def _field_from_message(message: str, data: Mapping[str, Any]) -> str:
    # cattrs messages end with "@ $.<key>" (or list the extra keys)
    _, _, path = message.rpartition("@ ")
    if "." in path:
        return path.split(".", 1)[1].split("[")[0].split(".")[0]
    for key in data:
        if key in message:
            return key
    return "(file)"
