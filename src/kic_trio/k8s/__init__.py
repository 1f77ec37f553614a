"""The Kubernetes edge: one client per instance, the watch layer, and the cluster writers.

* :func:`open_kube_client` -> :class:`KubeClient` (``request``/``stream``; raises
  :class:`~kic_trio._errors.KubernetesError`).
* :func:`run_watchers` / :class:`Reflector` / :class:`SecretFetcher`: list+watch per kind
  with reflector semantics, class and Secret filtering, deltas to the store.
* Leader election, Events and status updates (``_leader``, ``_events``, ``_status``;
  Gateway API status: ``_gwstatus``).
"""

from ._client import KubeClient, open_kube_client
from ._events import EventRecorder, make_event_recorder
from ._gwstatus import GATEWAY_STATUS_KINDS, GatewayStatusWriter
from ._leader import LeaderElector, run_leader_election
from ._reflector import Backoff, KindNotServed, NullObserver, Reflector, WatchSink, collection_path
from ._status import StatusUpdater, make_status_updater
from ._watchers import (
    KIND_SWITCHES,
    KindHandler,
    MetricsObserver,
    SecretFetcher,
    enabled_kinds,
    kind_served,
    prepare_raw,
    run_kind,
    run_watchers,
)

__all__ = [
    "GATEWAY_STATUS_KINDS",
    "KIND_SWITCHES",
    "Backoff",
    "EventRecorder",
    "GatewayStatusWriter",
    "KindHandler",
    "KindNotServed",
    "KubeClient",
    "LeaderElector",
    "MetricsObserver",
    "NullObserver",
    "Reflector",
    "SecretFetcher",
    "StatusUpdater",
    "WatchSink",
    "collection_path",
    "enabled_kinds",
    "kind_served",
    "make_event_recorder",
    "make_status_updater",
    "open_kube_client",
    "prepare_raw",
    "run_kind",
    "run_leader_election",
    "run_watchers",
]
