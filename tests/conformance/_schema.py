"""Validate a declarative config against decK's JSON schema, allowing only its known gaps.

The schema is the pinned one from the assets cache (``python -m kic_trio.testing.controlplane
assets``; tests/conftest.py fetches it at session start), found the way FakeKong finds it.

Allowed differences (decK's view vs what DB-less Kong accepts):
* top-level ``consumer_group_consumers`` is DB-less only and not in the schema;
* ``secret`` of ``hmacauth_credentials`` / ``jwt_secrets`` may be missing (Kong generates it).
* found here, case ``credentials-all-types``: the schema requires ``id`` on
  ``mtls_auth_credentials``; upstream never sets one (FillIDs does not cover credentials) and
  DB-less Kong generates it.
"""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

import jsonschema

from kic_trio.testing.fakekong._validate import find_schema
from kic_trio.translator._fragments import LISTS

MISSING = (
    "decK's schema is not in the assets cache: run `python -m kic_trio.testing.controlplane "
    "assets` (needs go and the Go module proxy)"
)


@functools.cache
def validator() -> jsonschema.Draft4Validator | None:
    path = find_schema()
    if path is None or not path.is_file():
        return None
    return jsonschema.Draft4Validator(json.loads(path.read_text()))


def _allowed(error: jsonschema.ValidationError) -> bool:
    path = list(error.absolute_path)
    if error.validator == "required" and "'secret' is a required property" in error.message:
        return len(path) >= 3 and path[-2] in ("hmacauth_credentials", "jwt_secrets")
    if error.validator == "required" and "'id' is a required property" in error.message:
        return len(path) >= 3 and path[-2] == "mtls_auth_credentials"
    return False


def schema_errors(config: dict[str, Any]) -> list[str]:
    """Schema violations other than the documented, allowed ones."""
    v = validator()
    assert v is not None, MISSING
    doc = copy.deepcopy(config)
    doc.pop("consumer_group_consumers", None)
    # custom entities (KongCustomEntity, of any spec.type) are top-level keys of Kong's body
    # outside decK's schema: every key that is not one of the translator's own lists
    for key in [k for k in doc if not k.startswith("_") and k not in LISTS]:
        doc.pop(key)
    out = []
    for error in v.iter_errors(doc):
        if error.context:
            # anyOf/oneOf: report the most specific sub-errors that are not allowed
            subs = [e for e in error.context if not _allowed(e)]
            if not subs:
                continue
        if _allowed(error):
            continue
        where = "/".join(str(p) for p in error.absolute_path)
        out.append(f"{where}: {error.message[:300]}")
    return out
