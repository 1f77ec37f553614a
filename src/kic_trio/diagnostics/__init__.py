"""Diagnostics, as upstream's (``--dump-config``, ``--dump-sensitive-config``).

With ``--dump-config`` the controller keeps the last configuration each gateway accepted, the
last one that failed (with Kong's answer) and the last fallback one, and serves them read-only
on the diagnostics server (``--diagnostic-server-port``, default 10256) at upstream's paths:
``/debug/config/successful``, ``/failed``, ``/fallback``, ``/problems``, ``/raw-error``
(``?gateway=<url>`` picks one gateway; the newest across gateways otherwise), plus an HTML page
at ``/`` listing, per Kubernetes object, the Kong entities it produced and its failures, and
each gateway's last push. Dumps are sanitized (certificate keys, credentials, plugin config
from Secrets) unless ``--dump-sensitive-config``.
"""

from ._app import diagnostics_app
from ._collector import Diagnostics, DiagnosticsSink, NullDiagnostics, PushRecord
from ._render import build_objects, entities_by_object, render_page
from ._sanitize import REDACTED, PluginSecrets, plugin_secrets, sanitize_config, sanitize_error

__all__ = [
    "REDACTED",
    "Diagnostics",
    "DiagnosticsSink",
    "NullDiagnostics",
    "PluginSecrets",
    "PushRecord",
    "build_objects",
    "diagnostics_app",
    "entities_by_object",
    "plugin_secrets",
    "render_page",
    "sanitize_config",
    "sanitize_error",
]
