"""The validating admission webhook (``--admission-webhook-listen``), as upstream's.

It refuses, with the translator's own message, an object that the translator would report a
failure on — a KongPlugin whose configuration cannot be built, a KongConsumer with invalid or
conflicting credentials, a Secret that breaks a consumer, Ingress annotations that would be
ignored — by translating the candidate against the controller's current store view (one code
path with the controller). Objects already broken elsewhere never block unrelated writes.

* :class:`AdmissionChecker`: the pure decision (no I/O), safe to run in a worker thread.
* :class:`AdmissionHandler` / :func:`admission_app`: AdmissionReview v1 over ASGI, bounded in
  size and time.
* :func:`run_admission_webhook`: the controller's task (HTTPS with hypercorn).

Advice: register it with ``failurePolicy: Ignore`` first (a webhook that is down then lets
writes through, and the controller still reports failures as Warning Events); switch to
``Fail`` once it runs with two replicas. ``deploy/admission-webhook.yaml`` is an example.
"""

from ._check import VALIDATED_KINDS, AdmissionChecker, Verdict
from ._review import ReviewError, ReviewRequest, parse_review, review_answer
from ._server import (
    MAX_BODY,
    AdmissionHandler,
    admission_app,
    context_from_config,
    run_admission_webhook,
    serve_webhook,
    tls_context,
)

__all__ = [
    "MAX_BODY",
    "VALIDATED_KINDS",
    "AdmissionChecker",
    "AdmissionHandler",
    "ReviewError",
    "ReviewRequest",
    "Verdict",
    "admission_app",
    "context_from_config",
    "parse_review",
    "review_answer",
    "run_admission_webhook",
    "serve_webhook",
    "tls_context",
]
