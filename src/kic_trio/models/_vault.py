"""KongVault's parser: a cluster-scoped Kong vault, so plugin configs can say ``{vault://p/...}``.

The model (in ``_models.py``, where ``AnyModel`` names it without an import cycle) keeps the backend, prefix, description and config (``config`` may hold credentials:
it is never in the repr). ``spec.tags`` is ignored, as upstream does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._models import KongVault
from ._parsers import _meta


def parse_vault(raw: Mapping[str, Any]) -> KongVault:
    r, base = _meta("KongVault", raw)
    spec = r.as_map(raw.get("spec"), "spec")
    backend = r.as_str(spec.get("backend"), "spec.backend", "") or ""
    if not backend:
        r.fail("spec.backend", "is required")
    prefix = r.as_str(spec.get("prefix"), "spec.prefix", "") or ""
    if not prefix:
        r.fail("spec.prefix", "is required")
    description = r.as_str(spec.get("description"), "spec.description", "") or ""
    config = r.json_value(r.as_map(spec.get("config"), "spec.config"), "spec.config")
    ref = spec.get("controlPlaneRef")
    if ref is not None:
        cp = r.as_map(ref, "spec.controlPlaneRef")
        cp_type = r.as_str(cp.get("type"), "spec.controlPlaneRef.type", "kic")
        if cp_type != "kic":
            # another control plane's vault: not ours (upstream does not reconcile it)
            backend = ""
    return KongVault(
        **base,
        failures=tuple(r.failures),
        backend=backend,
        prefix=prefix,
        description=description,
        config=config if isinstance(config, Mapping) else {},
    )
