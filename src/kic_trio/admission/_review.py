"""AdmissionReview v1, both ways: the request the API server sends, the answer it wants.

Pure and bounded: the body is already size-limited by the server; parsing never raises
anything but :class:`ReviewError` (whose text never quotes the object: it may be a Secret).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import orjson

API_VERSION = "admission.k8s.io/v1"
#: Operations that are checked (upstream's webhook configuration: CREATE and UPDATE).
CHECKED_OPERATIONS = frozenset({"CREATE", "UPDATE"})


class ReviewError(ValueError):
    """The body is not an AdmissionReview v1 request (answered with HTTP 400)."""


@attrs.frozen
class ReviewRequest:
    """The parts of ``AdmissionReview.request`` the webhook uses."""

    uid: str
    group: str
    kind: str
    operation: str
    namespace: str
    name: str
    #: The candidate object (``None`` for DELETE): the raw dict, with the namespace filled in.
    obj: Mapping[str, Any] | None = attrs.field(repr=False)


def parse_review(body: bytes) -> ReviewRequest:
    """Parse an AdmissionReview v1 request body."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ReviewError("the body is not JSON") from None
    if not isinstance(doc, dict):
        raise ReviewError("the body is not a JSON object")
    if doc.get("apiVersion") != API_VERSION or doc.get("kind") != "AdmissionReview":
        raise ReviewError(f"only AdmissionReview {API_VERSION} is served")
    req = doc.get("request")
    if not isinstance(req, dict):
        raise ReviewError("the AdmissionReview has no request")
    uid = req.get("uid")
    if not isinstance(uid, str) or not uid:
        raise ReviewError("request.uid is missing")
    gvk = req.get("kind")
    if not isinstance(gvk, dict):
        raise ReviewError("request.kind is missing")
    group, kind = gvk.get("group", ""), gvk.get("kind")
    if not isinstance(group, str) or not isinstance(kind, str):
        raise ReviewError("request.kind is not a group/version/kind")
    operation = req.get("operation")
    if not isinstance(operation, str):
        raise ReviewError("request.operation is missing")
    namespace = req.get("namespace") or ""
    name = req.get("name") or ""
    if not isinstance(namespace, str) or not isinstance(name, str):
        raise ReviewError("request.namespace/name are not strings")
    obj = req.get("object")
    if obj is not None and not isinstance(obj, dict):
        raise ReviewError("request.object is not an object")
    if obj is not None:
        meta = obj.get("metadata")
        if not isinstance(meta, dict):
            meta = obj["metadata"] = {}
        # kubectl create -n NS sends the namespace in the URL only; the request carries it
        if namespace and not meta.get("namespace"):
            meta["namespace"] = namespace
        if not meta.get("name"):
            meta["name"] = name or f"{meta.get('generateName') or 'generated-'}(generated)"
    return ReviewRequest(uid, group, kind, operation, namespace, name, obj)


def review_answer(uid: str, allowed: bool, message: str = "") -> bytes:
    """The AdmissionReview v1 response body. A refusal carries ``message`` and code 400."""
    response: dict[str, Any] = {"uid": uid, "allowed": allowed}
    if not allowed:
        response["status"] = {"code": 400, "message": message, "reason": "BadRequest"}
    return orjson.dumps(
        {"apiVersion": API_VERSION, "kind": "AdmissionReview", "response": response}
    )
