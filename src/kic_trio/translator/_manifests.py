"""Parsing manifests for ``kic-trio translate``: strict about what YAML would silently lose.

Why not ``yaml.safe_load_all``: a duplicated key keeps only the last value, so two objects
pasted into one document (``kind``/``metadata`` twice) became one, and the other vanished with
no word; a document whose ``kind`` is a number crashed the whole run. Here:

* a duplicate key in any mapping is a :class:`ManifestProblem` naming the file, the document
  (1-based), its line and the key; that document is left out;
* a document whose ``apiVersion``/``kind`` is not a string or whose ``metadata`` is not a
  mapping (also inside a ``List``) is a problem on that document alone;
* a YAML syntax error ends that file (YAML cannot resume mid-stream) with a problem giving
  the line; other files are still read;

and every other document is translated as before. Problems never quote values (a manifest
may hold Secret data), only key names, which a user needs to find the mistake.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs
import yaml

#: Key names longer than this are cut in messages.
_MAX_KEY_SHOWN = 80


@attrs.frozen
class ManifestProblem:
    """One document (or file) that could not be used, and why."""

    source: str
    #: 1-based index of the document in its file; 0 for the file as a whole.
    document: int
    line: int
    reason: str

    def __str__(self) -> str:
        where = f"{self.source}: document {self.document}" if self.document else self.source
        return f"{where} (line {self.line}): {self.reason}"


class ManifestError(ValueError):
    """Raised when any document could not be used (``load_manifests`` of the translate CLI)."""

    def __init__(self, problems: Iterable[ManifestProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class _DuplicateKey(yaml.constructor.ConstructorError):
    pass


def _key_text(key: object) -> str:
    text = key if isinstance(key, str) else repr(key)
    return ascii(text[:_MAX_KEY_SHOWN] + ("..." if len(text) > _MAX_KEY_SHOWN else ""))


class _StrictLoader(yaml.SafeLoader):
    """``SafeLoader`` that refuses duplicate keys instead of keeping the last one."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            # Only the keys written in this mapping: a merge (``<<: *base``) may be overridden.
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:  # unhashable key: the base class reports it
                    continue
                if duplicate:
                    raise _DuplicateKey(
                        None,
                        None,
                        f"duplicate key {_key_text(key)}",
                        key_node.start_mark,
                    )
        return super().construct_mapping(node, deep=deep)


def _document_problem(doc: Mapping[Any, Any]) -> str | None:
    for field in ("apiVersion", "kind"):
        value = doc.get(field)
        if value is not None and not isinstance(value, str):
            return f"{field} must be a string, not {type(value).__name__}"
    meta = doc.get("metadata")
    if meta is not None and not isinstance(meta, Mapping):
        return f"metadata must be a mapping, not {type(meta).__name__}"
    if isinstance(meta, Mapping):
        for field in ("name", "namespace"):
            value = meta.get(field)
            if value is not None and not isinstance(value, str):
                return f"metadata.{field} must be a string, not {type(value).__name__}"
    return None


def _objects(doc: Any, where: str = "") -> Iterator[tuple[Mapping[str, Any] | None, str]]:
    """``(object, "")`` for each object of a document (``List`` kinds unpacked), or
    ``(None, reason)`` for a part that is not a usable object."""
    if doc is None:
        return
    if not isinstance(doc, Mapping):
        yield None, f"{where or 'the document'} is a {type(doc).__name__}, not a mapping"
        return
    problem = _document_problem(doc)
    if problem is not None:
        yield None, f"{where}: {problem}" if where else problem
        return
    kind = doc.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and "items" in doc:
        items = doc.get("items")
        if items is None:
            return
        if not isinstance(items, list):
            yield None, f"{where or kind}.items must be a list, not {type(items).__name__}"
            return
        for i, item in enumerate(items):
            yield from _objects(item, f"{where or kind}.items[{i}]")
        return
    yield doc, ""


def _read_text(text: str, source: str) -> tuple[list[Mapping[str, Any]], list[ManifestProblem]]:
    objects: list[Mapping[str, Any]] = []
    problems: list[ManifestProblem] = []
    loader = _StrictLoader(text)
    index = 0
    try:
        while True:
            try:
                if not loader.check_node():
                    break
                node = loader.get_node()
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                line = mark.line + 1 if mark is not None else 0
                reason = getattr(exc, "problem", None) or type(exc).__name__
                problems.append(
                    ManifestProblem(source, index + 1, line, f"not valid YAML: {reason}")
                )
                break
            index += 1
            line = node.start_mark.line + 1 if node is not None else 0
            try:
                doc = loader.construct_document(node)
            except yaml.YAMLError as exc:
                # construct_document leaves its bookkeeping behind when it raises: reset it
                # so that the next document is built from a clean state.
                loader.constructed_objects = {}
                loader.recursive_objects = {}
                loader.state_generators = []
                mark = getattr(exc, "problem_mark", None)
                reason = getattr(exc, "problem", None) or type(exc).__name__
                problems.append(
                    ManifestProblem(
                        source, index, mark.line + 1 if mark is not None else line, str(reason)
                    )
                )
                continue
            for obj, reason in _objects(doc):
                if obj is None:
                    problems.append(ManifestProblem(source, index, line, reason))
                else:
                    objects.append(obj)
    finally:
        loader.dispose()
    return objects, problems


def parse_manifests(
    text: str, source: str
) -> tuple[list[Mapping[str, Any]], list[ManifestProblem]]:
    """Every usable object in ``text`` (multi-document YAML or JSON) and the problems with the
    rest; ``source`` names the text in problems. Reading files is the caller's business
    (``kic-trio translate`` reads files and stdin): the core only parses what it is given."""
    return _read_text(text, source)


__all__ = ["ManifestError", "ManifestProblem", "parse_manifests"]
