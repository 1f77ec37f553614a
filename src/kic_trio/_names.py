"""Kubernetes name rules (DNS-1123 label / subdomain), checked without regular expressions.

Why a module of its own: the same rule guards URL paths at the kube edge
(:mod:`kic_trio.k8s._paths`) and the configuration (``--watch-namespace``,
``--publish-service``, ``--election-id``), and it must run in bounded time on any input: plain
loops over characters, no backtracking. Pure: imports nothing of the I/O edges.
"""

from __future__ import annotations

#: DNS-1123 subdomain: most object names (Secret, Ingress, Event, Lease, Kong's kinds).
MAX_SUBDOMAIN = 253
#: DNS-1123 label: namespaces.
MAX_LABEL = 63

_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_LABEL_CHARS = _ALNUM | {"-"}


def _label_problem(label: str, max_len: int) -> str | None:
    if not label:
        return "has an empty label"
    if len(label) > max_len:
        return f"is longer than {max_len} characters"
    if any(c not in _LABEL_CHARS for c in label):
        return "may only contain lower-case letters, digits, '-' and '.'"
    if label[0] not in _ALNUM or label[-1] not in _ALNUM:
        return "must start and end with a letter or digit"
    return None


def name_problem(name: object, *, label: bool = False) -> str | None:
    """Why ``name`` is not a valid Kubernetes name, ``None`` when it is.

    ``label``: the DNS-1123 label rule (namespaces), else the DNS-1123 subdomain rule (object
    names). Never echoes the name (the caller decides whether it may be shown).
    """
    if not isinstance(name, str):
        return "is not a string"
    if not name:
        return "is empty"
    if label:
        return _label_problem(name, MAX_LABEL)
    if len(name) > MAX_SUBDOMAIN:
        return f"is longer than {MAX_SUBDOMAIN} characters"
    for part in name.split("."):
        problem = _label_problem(part, MAX_SUBDOMAIN)
        if problem is not None:
            return problem
    return None


def valid_name(name: object, *, label: bool = False) -> bool:
    """Whether ``name`` may be used in a URL path (see :func:`name_problem`)."""
    return name_problem(name, label=label) is None


def shown(value: object) -> str:
    """A short, printable rendering of a rejected value for a log line or error."""
    text = value if isinstance(value, str) else type(value).__name__
    text = text[:80] + ("..." if len(text) > 80 else "")
    return ascii(text)


__all__ = ["MAX_LABEL", "MAX_SUBDOMAIN", "name_problem", "shown", "valid_name"]
