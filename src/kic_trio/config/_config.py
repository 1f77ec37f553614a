"""``Config``: the one source of truth for every setting.

The command line (``kic-trio run --help``), the ``CONTROLLER_*`` environment variables and
the README's flag table are all generated from the fields below, so the library API and the
standalone program cannot drift apart, and the defaults are the same by construction.

Conventions:

* A field's name is the upstream flag in snake_case (``--kong-admin-url`` ->
  ``kong_admin_url``); its default is upstream's default.
* Durations are ``float`` seconds everywhere. Constructors also take a
  :class:`datetime.timedelta` or a Go-style duration string (``"1m30s"``), so code written
  against upstream's Go API ports over as written.
* "Not set" is ``None`` for optional strings, ``[]``/``()`` for lists.
* Building a ``Config`` never does I/O. :meth:`Config.validate` collects *every* problem into
  one :class:`~kic_trio.ConfigError`; :func:`kic_trio.run` calls it before anything starts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .._errors import ConfigError
from .._names import name_problem, shown
from ..models._gateway_parsers import valid_controller_name
from ._convert import parse_tristate as _leader
from ._convert import structure_settings
from ._fields import (
    FEATURE_GATES,
    LOG_FORMATS,
    LOG_LEVELS,
    _b,
    _d,
    _f,
    _feature_gates,
    _field,
    _i,
    _l,
    _s,
    _url_repr,
    redact_url,
)
from ._validation import (
    DNS_LABEL,
    DNS_NAME,
    EXPECTED,
    bind_problem,
    is_ip,
    namespaced_name_problem,
    type_ok,
    url_problem,
)


@attrs.frozen(kw_only=True)
class Config:
    """Every setting of the controller. Build it, then ``trio.run(kic_trio.run, cfg)``.

    Example (the same as upstream's Go API)::

        cfg = kic_trio.Config(
            ingress_class="kong",
            kong_admin_url=["http://localhost:8001"],
            pod_namespace="kong",
            leader_election=True,
            sync_period=timedelta(seconds=10),
        )

    Construction only converts values (lists, durations); :meth:`validate` checks them all.
    Use :func:`attrs.evolve` to derive a changed copy.
    """

    # -- logging --------------------------------------------------------------------------
    log_level: str = _s("info", "Level of logging: trace, debug, info or error.", group="logging")
    log_format: str = _s("text", "Format of logs: text (or console) or json.", group="logging")

    # -- Kong Admin API ---------------------------------------------------------------------
    kong_admin_url: Sequence[str] = _l(
        ["http://localhost:8001"],
        "Kong Admin API URL(s) to push configuration to (static gateways). Ignored when --kong-admin-svc is set.",
        group="kong",
        url=True,
    )
    kong_admin_svc: str | None = _s(
        None,
        "Kong Admin API Service as namespace/name: enables gateway discovery from its EndpointSlices (wins over --kong-admin-url).",
        group="kong",
    )
    kong_admin_svc_port_names: Sequence[str] = _l(
        ["admin-tls", "kong-admin-tls"],
        "Names of the Admin API Service ports that discovery considers.",
        group="kong",
    )
    gateway_discovery_readiness_check_interval: float = _d(
        10.0, "How often discovered gateways are checked for readiness (at least 3s).", group="kong"
    )
    gateway_discovery_readiness_check_timeout: float = _d(
        5.0, "Timeout of one gateway readiness check (below the interval).", group="kong"
    )
    kong_admin_tls_skip_verify: bool = _b(
        False,
        "Skip verification of the Admin API's TLS certificate. Insecure: for tests only.",
        group="kong",
    )
    kong_admin_tls_server_name: str | None = _s(
        None, "SNI name to use and verify for the Admin API's TLS certificate.", group="kong"
    )
    kong_admin_ca_cert: str | None = _s(
        None,
        "PEM CA certificate to verify the Admin API (mutually exclusive with the file).",
        group="kong",
    )
    kong_admin_ca_cert_file: str | None = _s(
        None, "Path of a PEM CA certificate to verify the Admin API.", group="kong"
    )
    kong_admin_header: Sequence[str] = _l(
        [],
        "Extra header(s) for Admin API requests, as key:value (values are never logged).",
        group="kong",
        secret=True,
    )
    kong_admin_tls_client_cert: str | None = _s(
        None, "PEM client certificate for mTLS to the Admin API.", group="kong"
    )
    kong_admin_tls_client_cert_file: str | None = _s(
        None, "Path of a PEM client certificate for mTLS to the Admin API.", group="kong"
    )
    kong_admin_tls_client_key: str | None = _s(
        None, "PEM client key for mTLS to the Admin API.", group="kong", secret=True
    )
    kong_admin_tls_client_key_file: str | None = _s(
        None, "Path of a PEM client key for mTLS to the Admin API.", group="kong"
    )
    kong_admin_token: str | None = _s(
        None, "Admin API token, sent as the Kong-Admin-Token header.", group="kong", secret=True
    )
    kong_admin_token_file: str | None = _s(
        None, "Path of a file holding the Admin API token.", group="kong"
    )
    kong_admin_init_retries: int = _i(
        60, "How many times to try each gateway at start-up before giving up.", group="kong"
    )
    kong_admin_init_retry_delay: float = _d(
        1.0, "Delay between two start-up attempts.", group="kong"
    )
    proxy_sync_seconds: float = _f(
        3.0,
        "Minimum interval between two pushes to one gateway, in seconds. An isolated change after a quiet spell goes out at once.",
        group="sync",
    )
    proxy_timeout_seconds: float = _f(
        30.0,
        "Timeout of one push to one gateway, in seconds (below the interval is not required).",
        group="sync",
    )
    enable_reverse_sync: bool = _b(
        False, "Push even when the gateway already runs the same configuration.", group="sync"
    )
    use_last_valid_config_for_fallback: bool = _b(
        False,
        "With FallbackConfiguration: back-fill the objects a fallback leaves out from the last configuration Kong accepted (their old version and what depended on them there), as upstream.",
        group="sync",
    )
    init_cache_sync_duration: float = _d(
        5.0,
        "After this long without every watcher's initial list, log which kinds are late (the first translation starts as soon as all have synced).",
        group="sync",
    )
    cache_sync_timeout: float = _d(
        120.0,
        "Longest the first translation waits for a late watcher's initial list before going ahead with what it has.",
        group="sync",
    )
    sync_debounce: float = _d(
        0.02,
        "Quiet period after a change before translating: changes closer together are batched.",
        group="sync",
        ours=True,
    )
    sync_max_delay: float = _d(
        0.25,
        "Longest a change waits for a quiet period under a storm of changes.",
        group="sync",
        ours=True,
    )
    translation_budget: float = _d(
        5.0,
        "A translation running longer than this is reported (metric, log, Warning Event on the controller's Pod); 0 turns the watchdog off.",
        group="sync",
        ours=True,
    )
    kong_status_check_interval: float = _d(
        5.0,
        "How often each gateway's /status is checked, to re-push promptly to one that restarted empty.",
        group="sync",
        ours=True,
    )
    sync_period: float = _d(
        36000.0,
        "Period of a full relist of every watched kind (upstream's informer resync).",
        group="kubernetes",
    )

    # -- Kubernetes -----------------------------------------------------------------------
    kubeconfig: str | None = _s(
        None, "Path of a kubeconfig file (in-cluster config when unset).", group="kubernetes"
    )
    apiserver_host: str | None = _s(
        None, "Kubernetes API server URL, overriding the kubeconfig.", group="kubernetes", url=True
    )
    ingress_class: str = _s(
        "kong", "Name of the ingress class this controller serves.", group="kubernetes"
    )
    watch_namespace: Sequence[str] = _l(
        [], "Namespace(s) to watch; all when empty.", group="kubernetes"
    )
    secret_label_selector: str | None = _s(
        None,
        'A label key: Secrets with this label set to "true" are kept, besides referenced and Kong-labelled ones.',
        group="kubernetes",
    )
    cluster_domain: str = _s(
        "", "Cluster domain appended to service-upstream host names.", group="kubernetes"
    )
    enable_controller_ingress_networkingv1: bool = _b(
        True, "Watch networking.k8s.io/v1 Ingresses.", group="controllers"
    )
    enable_controller_ingress_class_networkingv1: bool = _b(
        True, "Watch IngressClasses.", group="controllers"
    )
    enable_controller_ingress_class_parameters: bool = _b(
        True, "Watch IngressClassParameters.", group="controllers"
    )
    enable_controller_service: bool = _b(True, "Watch Services.", group="controllers")
    enable_controller_kongplugin: bool = _b(True, "Watch KongPlugins.", group="controllers")
    enable_controller_kongclusterplugin: bool = _b(
        True, "Watch KongClusterPlugins.", group="controllers"
    )
    enable_controller_kongconsumer: bool = _b(True, "Watch KongConsumers.", group="controllers")
    enable_controller_kongconsumergroup: bool = _b(
        True, "Watch KongConsumerGroups.", group="controllers"
    )
    enable_controller_kong_upstream_policy: bool = _b(
        True, "Watch KongUpstreamPolicies.", group="controllers"
    )
    enable_controller_kong_custom_entity: bool = _b(
        True,
        "Watch KongCustomEntities (Kong entities such as degraphql_routes).",
        group="controllers",
    )
    enable_controller_kong_vault: bool = _b(True, "Watch KongVaults.", group="controllers")
    enable_controller_kongingress: bool = _b(
        True, "Watch KongIngresses (deprecated: their upstream overrides).", group="controllers"
    )
    enable_controller_kong_service_facade: bool = _b(
        True,
        "Watch KongServiceFacades (translated only with the KongServiceFacade feature gate).",
        group="controllers",
    )
    # TCPIngress / UDPIngress: deprecated upstream, still on by default there
    enable_controller_tcpingress: bool = _b(True, "Watch TCPIngresses.", group="controllers")
    enable_controller_udpingress: bool = _b(True, "Watch UDPIngresses.", group="controllers")
    # Gateway API (upstream's switches and defaults; the alpha kinds TCPRoute, UDPRoute,
    # TLSRoute and BackendTLSPolicy need the GatewayAlpha feature gate and the Gateway switch)
    enable_controller_gwapi_gateway: bool = _b(
        True, "Watch Gateways and GatewayClasses (Gateway API).", group="controllers"
    )
    enable_controller_gwapi_httproute: bool = _b(
        True, "Watch HTTPRoutes (Gateway API).", group="controllers"
    )
    enable_controller_gwapi_grpcroute: bool = _b(
        True, "Watch GRPCRoutes (Gateway API).", group="controllers"
    )
    enable_controller_gwapi_reference_grant: bool = _b(
        True, "Watch ReferenceGrants (Gateway API).", group="controllers"
    )
    gateway_api_controller_name: str = _s(
        "konghq.com/kic-gateway-controller",
        "The controllerName of the GatewayClasses this controller serves.",
        group="controllers",
    )
    gateway_to_reconcile: str | None = _s(
        None,
        "Only this Gateway (namespace/name) and the routes naming it are reconciled.",
        group="controllers",
    )
    feature_gates: Mapping[str, object] = _field(
        {},
        "Feature gates as Name=true|false,...; merged onto the defaults.",
        kind="gates",
        converter=_feature_gates,
        group="general",
    )

    # -- cluster behaviour ------------------------------------------------------------------
    election_id: str = _s(
        "5b374a9e.konghq.com", "Name of the leader-election Lease.", group="cluster"
    )
    election_namespace: str | None = _s(
        None,
        "Namespace of the leader-election Lease (the Pod's namespace when unset).",
        group="cluster",
    )
    leader_election: bool | None = _field(
        None,
        "Leader election: true or false forces it; unset chooses as upstream (on with --kong-admin-svc, off with static URLs).",
        kind="tristate",
        converter=_leader,
        group="cluster",
    )
    pod_name: str | None = _s(
        None, "Name of the controller's Pod (from POD_NAME), for Events on it.", group="cluster"
    )
    pod_namespace: str | None = _s(
        None, "Namespace of the controller's Pod (from POD_NAMESPACE).", group="cluster"
    )
    publish_service: str | None = _s(
        None, "Service (namespace/name) whose addresses go into Ingress status.", group="cluster"
    )
    publish_service_udp: str | None = _s(
        None,
        "Service (namespace/name) of Kong's UDP proxy: its ports become Gateway listeners too.",
        group="cluster",
    )
    publish_status_address_udp: Sequence[str] = _l(
        [], "Address(es) of the UDP proxy, overriding --publish-service-udp.", group="cluster"
    )
    publish_status_address: Sequence[str] = _l(
        [], "Address(es) to put into Ingress status, overriding --publish-service.", group="cluster"
    )
    update_status: bool | None = _field(
        None,
        "Write Ingress status with the publish addresses. Unset: on when --publish-service or "
        "--publish-status-address is given (upstream's default is on, and it refuses to start without either).",
        kind="tristate",
        converter=_leader,
        group="cluster",
    )
    emit_kubernetes_events: bool = _b(
        True, "Emit Kubernetes Events for problems and pushes.", group="cluster"
    )

    # -- operability -------------------------------------------------------------------------
    health_probe_bind_address: str = _s(
        ":10254", "Address of /healthz and /readyz (port 0: any free port).", group="serving"
    )
    metrics_bind_address: str = _s(
        ":10255", "Address of /metrics (port 0: any free port).", group="serving"
    )

    # -- diagnostics (upstream's --dump-config; served by kic_trio.diagnostics) ---------------
    dump_config: bool = _b(
        False,
        "Keep the last applied, failed and fallback configuration of each gateway and serve "
        "them (and an HTML overview) on the diagnostics server.",
        group="diagnostics",
    )
    dump_sensitive_config: bool = _b(
        False,
        "Include certificate keys, credentials and Secret-sourced plugin config in the dumps "
        "(redacted otherwise). Anyone who can reach the diagnostics server sees them.",
        group="diagnostics",
    )
    diagnostic_server_port: int = _i(
        10256,
        "Port of the diagnostics server (all interfaces), on with --dump-config.",
        group="diagnostics",
    )
    diagnostic_bind_address: str | None = _s(
        None,
        "[host]:port of the diagnostics server, overriding --diagnostic-server-port "
        "(e.g. 127.0.0.1:10256 to keep it on loopback; port 0: any free port).",
        group="diagnostics",
        ours=True,
    )

    @property
    def diagnostic_address(self) -> str:
        """Where the diagnostics server binds: ``--diagnostic-bind-address`` or ``:<port>``."""
        return self.diagnostic_bind_address or f":{self.diagnostic_server_port}"

    # -- end of diagnostics ---------------------------------------------------------------------

    # -- admission webhook (upstream's flags and defaults; kic_trio.admission) ---------------
    admission_webhook_listen: str = _s(
        "off",
        "Address of the validating admission webhook (HTTPS), as [host]:port, or off.",
        group="admission",
    )
    admission_webhook_cert: str | None = _s(
        None,
        "PEM certificate (chain) of the admission webhook; wins over --admission-webhook-cert-file.",
        group="admission",
    )
    admission_webhook_cert_file: str = _s(
        "/admission-webhook/tls.crt",
        "Path of the admission webhook's PEM certificate (chain).",
        group="admission",
    )
    admission_webhook_key: str | None = _s(
        None,
        "PEM private key of the admission webhook; wins over --admission-webhook-key-file.",
        group="admission",
        secret=True,
    )
    admission_webhook_key_file: str = _s(
        "/admission-webhook/tls.key",
        "Path of the admission webhook's PEM private key.",
        group="admission",
    )

    # ------------------------------------------------------------------------------------------

    def validate(self) -> Config:
        """Check every field; raise one :class:`ConfigError` listing all problems. Returns self."""
        problems = [(name, flag_of(name), why) for name, why in _problems(self)]
        if problems:
            raise ConfigError(problems)
        return self

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Config:
        """Build from a mapping (a YAML/JSON file). Keys are field names or flag names.

        Unknown keys and values of the wrong type raise :class:`ConfigError` naming the key.
        """
        return structure_settings(cls, data, source="config", flag_of=flag_of)

    @property
    def status_updates_enabled(self) -> bool:
        """Whether Ingress status is written: explicitly on, or unset with a publish method given."""
        if self.update_status is None:
            return bool(self.publish_service or self.publish_status_address)
        return self.update_status

    def resolved_admin_token(self) -> str | None:
        """The token, read from ``kong_admin_token_file`` when that is set (does I/O)."""
        if self.kong_admin_token_file:
            with open(self.kong_admin_token_file, encoding="utf-8") as f:
                return f.read().strip()
        return self.kong_admin_token


def flag_of(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


def env_of(field_name: str) -> str:
    return "CONTROLLER_" + field_name.upper()


def config_fields() -> tuple[attrs.Attribute[Any], ...]:
    return attrs.fields(Config)


# ---------------------------------------------------------------------------------------------
# validation: the checks are in _validation.py; this applies them field by field


def _problems(cfg: Config) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []

    def add(name: str, why: str) -> None:
        out.append((name, why))

    # types first: a wrong type makes the value checks below meaningless for that field
    bad_type: set[str] = set()
    for f in config_fields():
        value = getattr(cfg, f.name)
        kind = f.metadata["kind"]
        if not type_ok(kind, value):
            bad_type.add(f.name)
            value_text = "the value" if f.metadata["secret"] else _url_repr(value)
            add(f.name, f"{value_text} is not {EXPECTED[kind]}")
    if f_required := [n for n in ("ingress_class",) if n not in bad_type and not getattr(cfg, n)]:
        for n in f_required:
            add(n, "must not be empty")

    def ok(name: str) -> bool:
        return name not in bad_type

    if ok("log_level") and cfg.log_level not in LOG_LEVELS:
        add(
            "log_level",
            f"{cfg.log_level!r} is not a valid log level (use one of {', '.join(LOG_LEVELS)})",
        )
    if ok("log_format") and cfg.log_format not in LOG_FORMATS:
        add("log_format", f"{cfg.log_format!r} is not a valid log format (use text or json)")

    if ok("kong_admin_url"):
        if not cfg.kong_admin_url and not cfg.kong_admin_svc:
            add(
                "kong_admin_url",
                "at least one Admin API URL is needed when --kong-admin-svc is not set",
            )
        for url in cfg.kong_admin_url:
            why = url_problem(url)
            if why:
                add("kong_admin_url", f"{redact_url(url)!r}: {why}")
    for name in (
        "kong_admin_svc",
        "publish_service",
        "publish_service_udp",
        "gateway_to_reconcile",
    ):
        value = getattr(cfg, name)
        if ok(name) and value is not None:
            why = namespaced_name_problem(value)
            if why:
                add(name, f"{value!r}: {why}")
    if ok("apiserver_host") and cfg.apiserver_host is not None:
        why = url_problem(cfg.apiserver_host)
        if why:
            add("apiserver_host", f"{redact_url(cfg.apiserver_host)!r}: {why}")
    if ok("kong_admin_header"):
        for i, h in enumerate(cfg.kong_admin_header, 1):
            key, sep, _ = h.partition(":")
            if not sep or not key.strip():
                # Never any part of it: without a ':' the "name" is the whole (secret) value.
                add("kong_admin_header", f"header #{i}: a header must be key:value")

    both = [
        (
            "kong_admin_token",
            "kong_admin_token_file",
            "both admin token and admin token file specified, only one allowed",
        ),
        (
            "kong_admin_ca_cert",
            "kong_admin_ca_cert_file",
            "both a CA certificate and a CA certificate file specified, only one allowed",
        ),
        (
            "kong_admin_tls_client_cert",
            "kong_admin_tls_client_cert_file",
            "both a client certificate and a client certificate file specified, only one allowed",
        ),
        (
            "kong_admin_tls_client_key",
            "kong_admin_tls_client_key_file",
            "both a client key and a client key file specified, only one allowed",
        ),
    ]
    for a, b, why in both:
        if ok(a) and ok(b) and getattr(cfg, a) and getattr(cfg, b):
            add(b, why)
    if all(
        ok(n)
        for n in (
            "kong_admin_tls_client_cert",
            "kong_admin_tls_client_cert_file",
            "kong_admin_tls_client_key",
            "kong_admin_tls_client_key_file",
        )
    ):
        has_cert = bool(cfg.kong_admin_tls_client_cert or cfg.kong_admin_tls_client_cert_file)
        has_key = bool(cfg.kong_admin_tls_client_key or cfg.kong_admin_tls_client_key_file)
        if has_cert and not has_key:
            add(
                "kong_admin_tls_client_key",
                "client certificate was provided, but the client key was not",
            )
        if has_key and not has_cert:
            add(
                "kong_admin_tls_client_cert",
                "client key was provided, but the client certificate was not",
            )

    for name in ("kong_admin_init_retries",):
        if ok(name) and getattr(cfg, name) < 0:
            add(name, "must not be negative")
    for name in ("proxy_sync_seconds", "proxy_timeout_seconds"):
        if ok(name) and getattr(cfg, name) <= 0:
            add(name, "must be positive")
    for f in config_fields():
        if f.metadata["kind"] == "duration" and ok(f.name) and getattr(cfg, f.name) < 0:
            add(f.name, "must not be negative")
    if ok("sync_debounce") and ok("sync_max_delay") and cfg.sync_max_delay < cfg.sync_debounce:
        add("sync_max_delay", "must not be below --sync-debounce")
    if ok("gateway_discovery_readiness_check_interval") and ok(
        "gateway_discovery_readiness_check_timeout"
    ):
        if cfg.kong_admin_svc and cfg.gateway_discovery_readiness_check_interval < 3.0:
            add("gateway_discovery_readiness_check_interval", "must be at least 3s")
        if (
            cfg.gateway_discovery_readiness_check_timeout
            >= cfg.gateway_discovery_readiness_check_interval
        ):
            add(
                "gateway_discovery_readiness_check_timeout",
                "timeout must be below the readiness check interval",
            )

    if ok("feature_gates"):
        for name, value in cfg.feature_gates.items():
            if name not in FEATURE_GATES:
                add(
                    "feature_gates",
                    f"{name} is not a valid feature (known: {', '.join(FEATURE_GATES)})",
                )
            elif not isinstance(value, bool):
                add("feature_gates", f"{name}={value!r}: the value must be true or false")
        gates = cfg.feature_gates
        if gates.get("KongCustomEntity") and gates.get("FillIDs") is False:
            # a custom entity names its parent's entities by ID (upstream's start-up error)
            add("feature_gates", "FillIDs is required if KongCustomEntity is enabled")

    # diagnostics
    if ok("diagnostic_server_port") and not 0 <= cfg.diagnostic_server_port <= 65535:
        add("diagnostic_server_port", "the port must be a number from 0 to 65535")
    if ok("diagnostic_bind_address") and cfg.diagnostic_bind_address is not None:
        why = bind_problem(cfg.diagnostic_bind_address)
        if why:
            add("diagnostic_bind_address", f"{cfg.diagnostic_bind_address!r}: {why}")
    # end of diagnostics
    for name in ("health_probe_bind_address", "metrics_bind_address"):
        if ok(name):
            why = bind_problem(getattr(cfg, name))
            if why:
                add(name, f"{getattr(cfg, name)!r}: {why}")
    if ok("admission_webhook_listen") and cfg.admission_webhook_listen != "off":
        why = bind_problem(cfg.admission_webhook_listen)
        if why:
            add("admission_webhook_listen", f"{cfg.admission_webhook_listen!r}: {why} (or off)")
    for name in ("publish_status_address", "publish_status_address_udp"):
        if ok(name):
            for addr in getattr(cfg, name):
                if not is_ip(addr) and not DNS_NAME.fullmatch(addr):
                    add(name, f"{addr!r} is neither an IP address nor a DNS name")
    if ok("gateway_api_controller_name") and not valid_controller_name(
        cfg.gateway_api_controller_name
    ):
        add(
            "gateway_api_controller_name",
            f"{shown(cfg.gateway_api_controller_name)}: the expected format is example.com/controller-name",
        )
    if (
        ok("update_status")
        and cfg.update_status is True
        and not cfg.publish_service
        and not cfg.publish_status_address
    ):
        add(
            "update_status",
            "status updates enabled but no method to determine data-plane addresses: "
            "set --publish-service or --publish-status-address, or --update-status=false",
        )
    for name, label in (
        ("election_id", False),
        ("election_namespace", True),
        ("pod_namespace", True),
    ):
        value = getattr(cfg, name)
        if ok(name) and value is not None and (why := name_problem(value, label=label)):
            add(name, f"{shown(value)} {why}")
    if ok("watch_namespace"):
        for ns in cfg.watch_namespace:
            if not DNS_LABEL.fullmatch(ns):
                add("watch_namespace", f"{ns!r} is not a valid namespace name")
    if ok("ingress_class") and cfg.ingress_class and not DNS_NAME.fullmatch(cfg.ingress_class):
        add("ingress_class", f"{cfg.ingress_class!r} is not a valid IngressClass name")
    return out
