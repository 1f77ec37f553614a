"""Type-checked readers over raw Kubernetes dicts that record problems instead of raising.

Every model's parser walks the raw object with a :class:`Reader`. A value of the wrong type
becomes a :class:`~kic_trio.models.Failure` with the field path (``spec.rules[0].host``) and a
cattrs-style reason (``expected a string, got int``); the parser keeps going with a default, so
one bad field never costs the rest of the object.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._base import Failure, ObjectRef

#: Deepest JSON data a parser walks (plugin config, ordering); the translator refuses deeper.
MAX_JSON_DEPTH = 64
#: Most containers walked in one object's JSON data (a Kubernetes object is ~1.5 MiB at most).
MAX_JSON_NODES = 100_000

_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    bool: "a boolean",
    dict: "an object",
    list: "a list",
    float: "a number",
}


def type_name(value: object) -> str:
    """The JSON-ish name of ``value``'s type, for failure reasons (never the value itself)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "list"
    return type(value).__name__


class Reader:
    """Collects failures for one object while its fields are read."""

    __slots__ = ("_json_nodes", "failures", "ref")

    def __init__(self, ref: ObjectRef) -> None:
        self.ref = ref
        self.failures: list[Failure] = []
        self._json_nodes = 0

    def fail(self, path: str, reason: str) -> None:
        self.failures.append(Failure(self.ref, path, reason))

    def _bad(self, path: str, want: type, value: object) -> None:
        self.fail(path, f"expected {_TYPE_NAMES.get(want, want.__name__)}, got {type_name(value)}")

    def as_map(self, raw: object, path: str) -> Mapping[str, Any]:
        """A mapping, or ``{}`` (recording a failure) when ``raw`` is something else."""
        if raw is None:
            return {}
        if isinstance(raw, Mapping):
            return raw
        self._bad(path, dict, raw)
        return {}

    def as_list(self, raw: object, path: str) -> list[Any]:
        if raw is None:
            return []
        if isinstance(raw, list | tuple):
            return list(raw)
        self._bad(path, list, raw)
        return []

    def as_str(self, raw: object, path: str, default: str | None = None) -> str | None:
        if raw is None:
            return default
        if isinstance(raw, str):
            return raw
        self._bad(path, str, raw)
        return default

    def as_int(
        self,
        raw: object,
        path: str,
        default: int | None = None,
        low: int = -(2**63),
        high: int = 2**63 - 1,
    ) -> int | None:
        """An integer within ``low..high`` (int64 unless told), else ``default`` + a failure.

        JSON and YAML give arbitrarily large integers (and ``1e300`` is an integral float);
        Kong's schema, and Go's decoder upstream, refuse them.
        """
        if raw is None:
            return default
        if isinstance(raw, float) and raw.is_integer():  # NaN and infinities are not
            raw = int(raw)
        if isinstance(raw, int) and not isinstance(raw, bool):
            if low <= raw <= high:
                return raw
            self.fail(path, f"must be between {low} and {high}")
            return default
        self._bad(path, int, raw)
        return default

    def as_bool(self, raw: object, path: str, default: bool | None = None) -> bool | None:
        if raw is None:
            return default
        if isinstance(raw, bool):
            return raw
        self._bad(path, bool, raw)
        return default

    def strs(self, raw: object, path: str) -> tuple[str, ...]:
        """A list of strings; wrong elements are dropped (each with a failure)."""
        out: list[str] = []
        for i, item in enumerate(self.as_list(raw, path)):
            value = self.as_str(item, f"{path}[{i}]")
            if value is not None:
                out.append(value)
        return tuple(out)

    def str_map(self, raw: object, path: str) -> dict[str, str]:
        """Annotations / labels: non-string values are dropped with a failure."""
        out: dict[str, str] = {}
        for key, value in self.as_map(raw, path).items():
            if isinstance(key, str) and isinstance(value, str):
                out[key] = value
            else:
                self.fail(f"{path}.{key}", f"expected a string, got {type_name(value)}")
        return out

    def json_value(self, raw: object, path: str, depth: int = 0) -> Any:
        """Plain JSON data (plugin config): tuples become lists, other types are dropped.

        Past :data:`MAX_JSON_DEPTH` levels the value is kept as it is, unwalked, with a
        failure: recursing further could exhaust the stack, and dropping it would weaken the
        configuration; the translator's own (iterative) check then refuses the whole object.
        """
        if raw is None or isinstance(raw, str | bool | int | float):
            return raw
        if depth >= MAX_JSON_DEPTH and isinstance(raw, Mapping | list | tuple):
            self.fail(path, f"nested deeper than {MAX_JSON_DEPTH} levels")
            return raw
        self._json_nodes += 1
        if self._json_nodes > MAX_JSON_NODES and isinstance(raw, Mapping | list | tuple):
            # a YAML alias bomb (manifests read by ``kic-trio translate``) shares its nodes:
            # walking it would visit ~10^9 of them
            if self._json_nodes == MAX_JSON_NODES + 1:
                self.fail(path, f"more than {MAX_JSON_NODES} values")
            return raw
        if isinstance(raw, Mapping):
            out: dict[str, Any] = {}
            for key, value in raw.items():
                if not isinstance(key, str):
                    self.fail(path, f"expected string keys, got {type_name(key)}")
                    continue
                out[key] = self.json_value(value, f"{path}.{key}", depth + 1)
            return out
        if isinstance(raw, list | tuple):
            return [self.json_value(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(raw)]
        self.fail(path, f"expected JSON data, got {type_name(raw)}")
        return None
