"""The pure core: store snapshot -> Kong declarative config (canonical JSON) + failures.

Imports neither trio, httpx nor kr8s (DESIGN.md rule 1): it can be unit-tested, fuzzed and
benchmarked without an event loop. ``translate_objects`` and ``cli_main`` are the offline
entry points (``kic-trio translate``).
"""

from ._expressions import ROUTER_FLAVORS
from ._objects import load_manifests, translate_objects
from ._options import TranslatorOptions
from ._translator import TranslationResult, Translator

__all__ = [
    "ROUTER_FLAVORS",
    "TranslationResult",
    "Translator",
    "TranslatorOptions",
    "cli_main",
    "load_manifests",
    "translate_objects",
]


def cli_main(argv: list[str] | None = None) -> int:
    """``kic-trio translate -f FILE_OR_DIR... [-o yaml|json] [--ingress-class NAME] [--no-fail]``."""
    from ._cli import main

    return main(argv)
