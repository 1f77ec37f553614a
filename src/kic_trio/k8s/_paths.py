"""Object names and namespaces that go into an API server URL path: checked, then escaped.

Why: a name that comes from a user-written object (a Secret named in an annotation, an
Ingress's TLS ``secretName``) was once put into the URL as is, so
``konghq.com/client-cert: ../../team-b/secrets/victim-tls`` made the controller GET a Secret
in a namespace it does not watch (httpx resolves the dot segments before sending). Every
user-controlled segment now goes through :func:`segment`: it must be a valid Kubernetes name
(no ``/``, no ``..``, no ``%``, bounded length), and is percent-escaped anyway, so that even a
rule missed here cannot change which object is addressed.

The checks are plain loops over characters, no regular expressions: bounded time on any input.
"""

from __future__ import annotations

from urllib.parse import quote

from .._errors import KubernetesError
from .._names import MAX_LABEL, MAX_SUBDOMAIN, name_problem, shown, valid_name


class InvalidName(KubernetesError):
    """A name or namespace that is not a valid Kubernetes name: no request was sent.

    ``status`` is 400 (a request the API server would refuse), so callers treat it as "asked
    wrong", never as "the API server is unavailable, retry".
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, status=400)


def segment(name: object, *, what: str = "name", label: bool = False) -> str:
    """``name`` checked and percent-escaped for one URL path segment.

    Raises :class:`InvalidName` (a :class:`KubernetesError`) before any request is made.
    """
    problem = name_problem(name, label=label)
    if problem is not None:
        raise InvalidName(f"invalid {what} {shown(name)}: {problem}")
    assert isinstance(name, str)
    return quote(name, safe="")


def namespace_segment(namespace: object) -> str:
    """A namespace, checked (DNS-1123 label) and escaped for a URL path."""
    return segment(namespace, what="namespace", label=True)


__all__ = [
    "MAX_LABEL",
    "MAX_SUBDOMAIN",
    "InvalidName",
    "name_problem",
    "namespace_segment",
    "segment",
    "shown",
    "valid_name",
]
