"""Where a ``Config`` comes from: flags, ``CONTROLLER_*`` variables, a ``--config`` file.

Precedence, lowest first: ``Config``'s defaults < ``--config FILE`` < ``CONTROLLER_*``
environment variables < flags on the command line (an explicit flag wins, as upstream).
``POD_NAME`` and ``POD_NAMESPACE`` fill ``pod_name``/``pod_namespace`` when nothing else does.

Boolean flags take ``--flag``, ``--flag=true`` and ``--flag=false``; list flags repeat or take
comma-separated values; durations take seconds or Go durations (``10s``, ``1m30s``). Every
flag is generated from ``Config``'s field metadata (``_fields.py``), so the command line, the
environment and the library cannot drift apart. The ``kic-trio`` command (``kic_trio._cli``)
builds its parser from :func:`add_run_flags`.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .._errors import ConfigError
from ._config import Config, config_fields, env_of, flag_of
from ._convert import CONVERT, structure_settings
from ._fields import FEATURE_GATES


def config_from_mapping(data: Mapping[str, Any], *, source: str = "config") -> Config:
    """Build a ``Config`` from a mapping; keys may be field names or flag names."""
    return structure_settings(Config, data, source=source, flag_of=flag_of)


def add_run_flags(parser: argparse.ArgumentParser) -> None:
    groups: dict[str, argparse._ArgumentGroup] = {}
    for f in config_fields():
        meta = f.metadata
        group = groups.setdefault(meta["group"], parser.add_argument_group(meta["group"]))
        default = default_of(f)
        shown = show_default(f.name, default)
        help_text = f"{meta['help']} (default {shown}; env {env_of(f.name)})"
        kind = meta["kind"]
        kwargs: dict[str, Any] = {"dest": f.name, "help": help_text, "default": argparse.SUPPRESS}
        if kind == "bool" or kind == "tristate":
            kwargs.update(nargs="?", const="true", metavar="true|false")
        elif kind == "list":
            kwargs.update(action="append", metavar="VALUE[,VALUE]")
        else:
            kwargs.update(metavar=kind.upper() if kind != "str" else "VALUE")
        group.add_argument(flag_of(f.name), **kwargs)
    parser.add_argument(
        "--config",
        dest="_config_file",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="YAML or JSON file of settings (keys: field or flag names); flags and env vars win over it.",
    )


def default_of(f: attrs.Attribute[Any]) -> object:
    default: Any = f.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        return default.factory()
    return default


def show_default(name: str, default: object) -> str:
    if name == "feature_gates":
        return ",".join(f"{k}={str(v).lower()}" for k, v in FEATURE_GATES.items())
    if default is None:
        return "unset"
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, tuple | list):
        return ",".join(default) if default else "none"
    return str(default)


def config_from_args(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> Config:
    """The ``Config`` a ``kic-trio run`` command line (without ``run``) describes.

    Raises :class:`ConfigError` naming the flag of every value that cannot be converted; an
    empty argv with an empty environment gives exactly ``Config()``.
    """
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(prog="kic-trio run", exit_on_error=False, add_help=False)
    add_run_flags(parser)
    try:
        ns, extra = parser.parse_known_args(list(argv))
    except argparse.ArgumentError as exc:
        raise ConfigError([("(command line)", exc.argument_name or "?", exc.message)]) from None
    if extra:
        raise ConfigError([("(command line)", extra[0], "unknown flag or argument")])
    given = vars(ns)

    base: dict[str, Any] = {}
    if "_config_file" in given:
        base = _load_file(given.pop("_config_file"))

    values: dict[str, Any] = {}
    problems: list[tuple[str, str, str]] = []
    for f in config_fields():
        kind = f.metadata["kind"]
        raw: object
        if f.name in given:
            raw = given[f.name]
            if kind == "list":
                raw = [
                    part for item in given[f.name] for part in str(item).split(",") if part.strip()
                ]
        elif env_of(f.name) in environ:
            raw = environ[env_of(f.name)]
        elif f.name in ("pod_name", "pod_namespace") and f.name.upper() in environ:
            raw = environ[f.name.upper()]
        else:
            continue
        try:
            values[f.name] = CONVERT[kind](raw)
        except ValueError as exc:
            problems.append((f.name, flag_of(f.name), str(exc)))
    if problems:
        raise ConfigError(problems)
    if base:
        file_cfg = config_from_mapping(base, source="--config file")
        return attrs.evolve(file_cfg, **values)
    return Config(**values)


def _load_file(path: str) -> dict[str, Any]:
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise ConfigError([("(file)", "--config", f"cannot read {path}: {exc.strerror}")]) from None
    try:
        data = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        # Not str(exc): YAML's errors quote the offending line, which may hold a token.
        raise ConfigError(
            [("(file)", "--config", f"{path} is not valid YAML/JSON: {_parse_error_where(exc)}")]
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([("(file)", "--config", f"{path} must hold a mapping of settings")])
    return data


def _parse_error_where(exc: Exception) -> str:
    """What went wrong and where (line, column), never the text of the file."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if mark is not None:
        return f"{problem or 'syntax error'} at line {mark.line + 1}, column {mark.column + 1}"
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
    return type(exc).__name__
