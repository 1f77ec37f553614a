"""Semantic comparison of two declarative configs: equal as data after sorting every list."""

from __future__ import annotations

from typing import Any

import orjson


def canonical(value: Any) -> Any:
    """Every list sorted (by each element's canonical JSON), recursively."""
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [canonical(v) for v in value]
        return sorted(items, key=lambda v: orjson.dumps(v, option=orjson.OPT_SORT_KEYS))
    return value


def diff(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Human-readable differences between two canonical values."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for k in sorted(set(expected) | set(actual)):
            p = f"{path}.{k}" if path else k
            if k not in actual:
                out.append(f"missing {p}: {str(expected[k])[:200]}")
            elif k not in expected:
                out.append(f"unexpected {p}: {str(actual[k])[:200]}")
            else:
                out.extend(diff(expected[k], actual[k], p))
        return out
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        out = []
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            out.extend(diff(e, a, f"{path}[{i}]"))
        return out
    if expected != actual:
        return [f"{path}: expected {str(expected)[:300]} got {str(actual)[:300]}"]
    return []
