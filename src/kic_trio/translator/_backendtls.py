"""BackendTLSPolicy: TLS from Kong to a Service's backends (gateway-api.md §8, last bullets).

Upstream (``ingressrules.go: handleBackendTLSPolices``) does not translate the policy into Kong
entities itself: it rewrites a *copy* of the target Service's annotations, which the ordinary
service translation then reads:

* ``konghq.com/tls-verify: "true"``, ``konghq.com/protocol: https``;
* ``konghq.com/host-header: <validation.hostname>``;
* ``konghq.com/ca-certificates-secrets`` / ``-configmaps``: the names of
  ``validation.caCertificateRefs`` (core ``Secret`` / ``ConfigMap``, the policy's namespace);
* ``konghq.com/tls-verify-depth`` from ``options["tls-verify-depth"]`` (an integer >= 0).

More than one policy on one Service: neither applies (failure
``Multiple BackendTLSPolicies attached to service`` on the Service) and both are
``Accepted=False/Conflicted``. A policy upstream cannot honour (``subjectAltNames``,
``wellKnownCACertificates``, a CA ref of another kind, a missing CA) is ``Accepted=False/
Invalid`` with the messages joined by `` - `` and is not applied — the Service is then *not*
served over plain text in its name: its Kong service keeps the Service's own annotations, and
the Failure says TLS to the backend was refused (fail closed would drop the route; upstream
drops the policy, and so do we, loudly).

Advice: the service builder calls :func:`service_with_backend_tls` on the Kubernetes Service of
a Gateway API backend and records ``deps`` (the namespace's policies and CA objects) on its
unit; the policy status is :func:`policy_status`, one ancestor per Gateway.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from ..models import Condition, Failure, ObjectRef, ObjectStatus, Service
from ..models._gateway_api import BackendTLSPolicy
from ..models._status import RouteParentStatus
from ..store import Snapshot

Dep = tuple[str, str, str]

MULTIPLE = "Multiple BackendTLSPolicies attached to service"
CONFLICTED = "Multiple BackendTLSPolicies target the same service"
SAN_UNSUPPORTED = "SubjectAltNames feature is not currently supported"
WELL_KNOWN_UNSUPPORTED = "WellKnownCACertificates feature is not currently supported"


def targets(policy: BackendTLSPolicy, namespace: str, service: str) -> bool:
    """Whether ``policy`` targets the core Service ``namespace/service``."""
    return policy.ref.namespace == namespace and any(
        t.group in ("", "core") and t.kind == "Service" and t.name == service
        for t in policy.target_refs
    )


def policies_for(
    snap: Snapshot, namespace: str, service: str, deps: set[Dep]
) -> list[BackendTLSPolicy]:
    """The BackendTLSPolicies targeting a Service (records the namespace-wide dependency)."""
    deps.add(("BackendTLSPolicy", namespace, ""))
    return [
        p
        for p in snap.list("BackendTLSPolicy")
        if isinstance(p, BackendTLSPolicy) and targets(p, namespace, service)
    ]


def problems(policy: BackendTLSPolicy, snap: Snapshot, deps: set[Dep]) -> list[str]:
    """Why upstream cannot honour ``policy`` (``Invalid`` messages), ``[]`` when it can."""
    out: list[str] = []
    ns = policy.ref.namespace
    for ref in policy.ca_certificate_refs:
        if (ref.group or "") not in ("", "core") or ref.kind not in ("ConfigMap", "Secret"):
            out.append(f"CACertificateRef {ref.name} is not a core ConfigMap or Secret")
            continue
        if ref.kind == "Secret":
            deps.add(("Secret", ns, ref.name))
            if snap.get("Secret", ns, ref.name) is None:
                out.append(f"CACertificateRef Secret {ns}/{ref.name} not found")
    if policy.subject_alt_names:
        out.append(SAN_UNSUPPORTED)
    if policy.well_known_ca_certificates:
        out.append(WELL_KNOWN_UNSUPPORTED)
    depth = dict(policy.options).get("tls-verify-depth")
    if depth is not None and not (depth.isascii() and depth.isdigit()):
        out.append("options tls-verify-depth must be an integer >= 0")
    return out


@attrs.frozen(slots=True, eq=False)
class BackendTLS:
    """The Service as its Kong service should see it, and what was decided on the way."""

    service: Service
    failures: tuple[Failure, ...] = ()
    #: the policy that applied, if one did
    applied: ObjectRef | None = None


def service_with_backend_tls(svc: Service, snap: Snapshot, deps: set[Dep]) -> BackendTLS:
    """``svc`` with the annotations its BackendTLSPolicy implies (a copy; ``svc`` unchanged)."""
    ns, name = svc.ref.namespace, svc.ref.name
    policies = policies_for(snap, ns, name, deps)
    if not policies:
        return BackendTLS(svc)
    if len(policies) > 1:
        return BackendTLS(svc, (Failure(svc.ref, "", MULTIPLE),))
    (policy,) = policies
    why = problems(policy, snap, deps)
    if why:
        return BackendTLS(
            svc,
            (
                Failure(
                    policy.ref,
                    "spec.validation",
                    "policy not applied ("
                    + " - ".join(why)
                    + "); TLS to the backend is not verified",
                ),
            ),
        )
    ann = dict(svc.annotations)
    ann["konghq.com/tls-verify"] = "true"
    ann["konghq.com/protocol"] = "https"
    if policy.hostname:
        ann["konghq.com/host-header"] = policy.hostname
    secrets = [r.name for r in policy.ca_certificate_refs if r.kind == "Secret"]
    configmaps = [r.name for r in policy.ca_certificate_refs if r.kind == "ConfigMap"]
    if secrets:
        ann["konghq.com/ca-certificates-secrets"] = ",".join(secrets)
    if configmaps:
        ann["konghq.com/ca-certificates-configmaps"] = ",".join(configmaps)
    depth = dict(policy.options).get("tls-verify-depth")
    if depth is not None:
        ann["konghq.com/tls-verify-depth"] = depth
    return BackendTLS(attrs.evolve(svc, annotations=ann), (), policy.ref)


def policy_conditions(
    policy: BackendTLSPolicy, snap: Snapshot, deps: set[Dep]
) -> tuple[Condition, ...]:
    """The ``Accepted`` condition upstream writes for each ancestor of ``policy``."""
    ns = policy.ref.namespace
    for t in policy.target_refs:
        if (
            t.group in ("", "core")
            and t.kind == "Service"
            and len(policies_for(snap, ns, t.name, deps)) > 1
        ):
            return (Condition("Accepted", "False", "Conflicted", CONFLICTED),)
    why = problems(policy, snap, deps)
    if why:
        return (Condition("Accepted", "False", "Invalid", " - ".join(why)),)
    return (Condition("Accepted", "True", "Accepted"),)


def policy_status(
    policy: BackendTLSPolicy,
    snap: Snapshot,
    ancestors: Sequence[ObjectRef],
    deps: set[Dep],
    controller_name: str = "konghq.com/kic-gateway-controller",
) -> dict[ObjectRef, ObjectStatus]:
    """``{policy: status}`` with one ``status.ancestors`` entry (our controller) per Gateway of
    ``ancestors``; ``{}`` when the policy has none (upstream keeps such a policy out of its
    cache and writes nothing)."""
    if not ancestors:
        return {}
    conditions = policy_conditions(policy, snap, deps)
    entries = tuple(
        RouteParentStatus(
            gateway=g,
            section_name="",
            controller_name=controller_name,
            conditions=conditions,
            generation=policy.generation,
        )
        for g in ancestors
    )
    return {policy.ref: ObjectStatus(conditions=conditions, parent=ancestors[0], parents=entries)}


__all__ = [
    "CONFLICTED",
    "MULTIPLE",
    "BackendTLS",
    "policies_for",
    "policy_conditions",
    "policy_status",
    "problems",
    "service_with_backend_tls",
    "targets",
]
