"""Prometheus metrics, one registry per controller instance (several can run in a process).

Names and labels follow Kong's controller (``ingress_controller_*``) so existing dashboards
work; the ``kic_trio_*`` metrics are ours.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Upstream's buckets: push duration 100 ms x 1.33^n (30), translation 1 ms .. 60 s (30).
_PUSH_BUCKETS = tuple(100 * 1.33**n for n in range(30))
_TRANSLATE_BUCKETS = tuple(round(1 * (60_000 ** (n / 29)), 3) for n in range(30))
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """Every metric the controller exports, registered in ``self.registry``."""

    def __init__(self, instance_id: str) -> None:
        self.instance_id = instance_id
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.push_count = Counter(
            "ingress_controller_configuration_push_count",
            "Count of configuration pushes to Kong.",
            ["success", "protocol", "failure_reason", "dataplane", "instance_id"],
            registry=r,
        )
        self.push_broken_resources = Gauge(
            "ingress_controller_configuration_push_broken_resource_count",
            "Number of resources Kong rejected in the last push.",
            ["dataplane", "instance_id"],
            registry=r,
        )
        self.push_last_successful = Gauge(
            "ingress_controller_configuration_push_last_successful",
            "Unix time of the last successful push.",
            ["dataplane", "instance_id"],
            registry=r,
        )
        self.push_size = Gauge(
            "ingress_controller_configuration_push_size",
            "Size of the configuration pushed, in bytes.",
            ["dataplane", "protocol", "success", "instance_id"],
            registry=r,
        )
        self.push_duration = Histogram(
            "ingress_controller_configuration_push_duration_milliseconds",
            "How long a push took, in milliseconds.",
            ["success", "protocol", "dataplane", "instance_id"],
            buckets=_PUSH_BUCKETS,
            registry=r,
        )
        self.translation_count = Counter(
            "ingress_controller_translation_count",
            "Count of translations from Kubernetes state to Kong configuration.",
            ["success", "instance_id"],
            registry=r,
        )
        self.translation_broken_resources = Gauge(
            "ingress_controller_translation_broken_resource_count",
            "Number of resources that failed to translate in the last translation.",
            ["instance_id"],
            registry=r,
        )
        self.translation_duration = Histogram(
            "ingress_controller_translation_duration_milliseconds",
            "How long a translation took, in milliseconds.",
            ["success", "instance_id"],
            buckets=_TRANSLATE_BUCKETS,
            registry=r,
        )
        # ours
        self.watch_events = Counter(
            "kic_trio_watch_events",
            "Watch events received, per kind and type.",
            ["kind", "type", "instance_id"],
            registry=r,
        )
        self.watch_restarts = Counter(
            "kic_trio_watch_restarts",
            "Watch streams restarted (server timeout, error, dead stream), per kind.",
            ["kind", "reason", "instance_id"],
            registry=r,
        )
        self.watch_relists = Counter(
            "kic_trio_watch_relists",
            "Full relists after 410 Gone or errors, per kind.",
            ["kind", "instance_id"],
            registry=r,
        )
        self.translation_over_budget = Counter(
            "kic_trio_translation_over_budget",
            "Translations that ran longer than --translation-budget (counted when the budget ends, "
            "so a translation that never finishes is counted too).",
            ["instance_id"],
            registry=r,
        )
        self.store_objects = Gauge(
            "kic_trio_store_objects",
            "Objects held in the store, per kind.",
            ["kind", "instance_id"],
            registry=r,
        )
        self.sync_latency = Histogram(
            "kic_trio_sync_latency_seconds",
            "From a change seen on a watch to the configuration holding it applied on a gateway.",
            ["dataplane", "instance_id"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
