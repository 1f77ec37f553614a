"""KongServiceFacade (``incubator.ingress-controller.konghq.com/v1alpha1``): parse one object.

A facade names one port of a Service in its own namespace (``spec.backendRef {name, port}``);
an Ingress backend ``resource`` pointing at it gets a Kong service of its own
(upstream-surface.md §7). Translation is in ``translator/_services.py`` (behind the
``KongServiceFacade`` feature gate, off by default as upstream).

Advice: a facade whose backendRef cannot be read is kept (with its failures) so that the
Ingresses using it fail with a reason instead of silently losing their routes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._models import KongServiceFacade
from ._parsers import _meta


def parse_facade(raw: Mapping[str, Any]) -> KongServiceFacade:
    """The facade's backend Service and port; never raises (problems are failures)."""
    r, base = _meta("KongServiceFacade", raw)
    spec = r.as_map(raw.get("spec"), "spec")
    ref = r.as_map(spec.get("backendRef"), "spec.backendRef")
    name = r.as_str(ref.get("name"), "spec.backendRef.name") or ""
    if not name and "spec.backendRef.name" not in {f.field for f in r.failures}:
        r.fail("spec.backendRef.name", "the facade names no Service")
    port = r.as_int(ref.get("port"), "spec.backendRef.port", low=1, high=65535)
    if port is None:
        if ref.get("port") is None:
            r.fail("spec.backendRef.port", "the facade names no Service port")
        port = 0
    return KongServiceFacade(**base, service=name, port=port, failures=tuple(r.failures))
