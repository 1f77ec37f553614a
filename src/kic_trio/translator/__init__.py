"""The pure core: store snapshot -> Kong declarative config (canonical JSON) + failures.

Imports neither trio, httpx nor kr8s (DESIGN.md rule 1), and reads no files: it can be
unit-tested, fuzzed and benchmarked without an event loop. ``translate_objects`` (raw objects
in) and ``parse_manifests`` (manifest text in) serve the offline command, ``kic-trio
translate``, which lives outside this package (``kic_trio._translate_cli``) with its I/O.
"""

from ._custom_entities import BUILTIN_SCHEMAS, EntitySchema
from ._expressions import ROUTER_FLAVORS
from ._manifests import ManifestError, ManifestProblem, parse_manifests
from ._objects import snapshot_of, translate_objects
from ._options import TranslatorOptions
from ._translator import TranslationResult, Translator

__all__ = [
    "BUILTIN_SCHEMAS",
    "ROUTER_FLAVORS",
    "EntitySchema",
    "ManifestError",
    "ManifestProblem",
    "TranslationResult",
    "Translator",
    "TranslatorOptions",
    "parse_manifests",
    "snapshot_of",
    "translate_objects",
]
