"""Would Kong load it? FakeKong's validator, minus the documented, known gaps.

Known gap (also present in upstream's output; listed in the translator report):
* ``mtls_auth_credentials`` without ``id``: decK's schema (which FakeKong follows) requires it;
  mtls-auth is an Enterprise plugin whose DB-less loader generates ids.
"""

from __future__ import annotations

import functools
from typing import Any

from kic_trio.testing.fakekong import KongValidator


@functools.cache
def _validator(
    enterprise: bool = False, router_flavor: str = "traditional_compatible"
) -> KongValidator | None:
    """FakeKong's validator with decK's schema (``None`` when the schema is not cached).

    ``enterprise``: any plugin name is enabled, as on Kong Enterprise (upstream's ``-ee`` cases
    use Enterprise plugins such as ``degraphql``). ``router_flavor``: the Kong the case's
    settings translate for (expression routes are refused by the traditional flavors).
    """
    try:
        if enterprise:
            return KongValidator(
                validate_schema=True, enabled_plugins=None, router_flavor=router_flavor
            )
        return KongValidator(validate_schema=True, router_flavor=router_flavor)
    except FileNotFoundError:
        return None


def available() -> bool:
    return _validator() is not None


def _known(entity_type: str | None, error: dict[str, Any]) -> bool:
    return entity_type == "mtls_auth_credential" and error.get("field") == "id"


def kong_errors(
    config: dict[str, Any],
    *,
    enterprise: bool = False,
    router_flavor: str = "traditional_compatible",
) -> list[str]:
    v = _validator(enterprise, router_flavor)
    assert v is not None
    body = v.check(config)
    if body is None:
        return []
    out = []
    for entity in body.get("flattened_errors", []):
        for error in entity.get("errors", []):
            if not _known(entity.get("entity_type"), error):
                out.append(f"{entity.get('entity_type')} {entity.get('entity_name')}: {error}")
    if not body.get("flattened_errors"):
        out.append(str(body.get("message")))
    return out
