"""Redaction of Kong configurations and Kong's error answers, as upstream's ``SanitizedCopy``.

Pure functions on bytes (no event loop): the diagnostics server runs them in a worker thread,
only when someone asks for a dump, so the push path never pays for them.

What goes (upstream's rules, ``kongstate.SanitizedCopy`` and ``credentials.go``):

* certificates: ``key`` (and ``key_alt``);
* consumer credentials: key-auth ``key`` (a *unique* placeholder each: Kong requires keys to be
  unique, so a dumped config stays loadable), basic-auth ``password``, hmac-auth ``secret``, jwt
  ``secret``, oauth2 ``client_secret``;
* plugin configuration that came from a Secret: the whole ``config`` (every top-level value)
  for ``configFrom``, the patched value for each ``configPatches`` path. A path that cannot be
  followed redacts the whole config: when in doubt, less is shown, never more.

What stays: everything else, including inline plugin config (a user wrote it in a KongPlugin,
readable by anyone who can read that object).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import orjson

from ..models import KongPlugin

#: Upstream's placeholder: a vault reference that resolves to nothing.
REDACTED = "{vault://redacted-value}"
_KEY_NS = uuid.UUID("6f1c8b52-2f0e-4d5e-9d57-2c1a7e1b4a10")

#: credential list -> the fields that are secret in it
CREDENTIAL_FIELDS: Mapping[str, tuple[str, ...]] = {
    "keyauth_credentials": ("key",),
    "basicauth_credentials": ("password",),
    "hmacauth_credentials": ("secret",),
    "jwt_secrets": ("secret",),
    "oauth2_credentials": ("client_secret",),
}
#: Kong's entity_type (error answers) -> secret fields
_ENTITY_FIELDS: Mapping[str, tuple[str, ...]] = {
    "keyauth_credentials": ("key",),
    "basicauth_credentials": ("password",),
    "hmacauth_credentials": ("secret",),
    "jwt_secrets": ("secret",),
    "oauth2_credentials": ("client_secret",),
    "certificates": ("key", "key_alt"),
}
_ENTITY_TYPES = {
    "keyauth_credential": "keyauth_credentials",
    "basicauth_credential": "basicauth_credentials",
    "hmacauth_credential": "hmacauth_credentials",
    "jwt_secret": "jwt_secrets",
    "oauth2_credential": "oauth2_credentials",
    "certificate": "certificates",
}
#: keys under which entities nest other entities (decK's format); ``config`` is never entered
_NESTED = (
    "services",
    "routes",
    "plugins",
    "upstreams",
    "targets",
    "consumers",
    "consumer_groups",
    "certificates",
    "ca_certificates",
    "snis",
    "vaults",
    *CREDENTIAL_FIELDS,
)
_NESTED_SET = frozenset(_NESTED)
#: how deep entities nest (consumer_groups > consumers > credentials is 3): a bound, not a guess
_MAX_NESTING = 6

#: ``(kind, namespace, name)`` of a KongPlugin or KongClusterPlugin
PluginKey = tuple[str, str, str]


@attrs.frozen
class PluginSecrets:
    """Which parts of one plugin's config came from Secrets: all of it, or these JSON pointers."""

    whole: bool = False
    paths: tuple[str, ...] = ()


def plugin_secrets(plugins: Iterable[KongPlugin]) -> dict[PluginKey, PluginSecrets]:
    """The Secret-sourced parts of each KongPlugin/KongClusterPlugin that has any.

    ``plugins`` are parsed models (``config_from``, ``config_patches``, ``ref``). Plugins with
    neither are left out, so the result stays small however many plugins there are.
    """
    out: dict[PluginKey, PluginSecrets] = {}
    for p in plugins:
        config_from = p.config_from
        patches = p.config_patches
        if config_from is None and not patches:
            continue
        ref = p.ref
        out[(ref.kind, ref.namespace, ref.name)] = PluginSecrets(
            whole=config_from is not None, paths=tuple(pt.path for pt in patches)
        )
    return out


def _tag_key(tags: object) -> PluginKey | None:
    if not isinstance(tags, list):
        return None
    kind = ns = name = None
    for t in tags:
        if not isinstance(t, str):
            continue
        if t.startswith("k8s-kind:"):
            kind = t[9:]
        elif t.startswith("k8s-namespace:"):
            ns = t[14:]
        elif t.startswith("k8s-name:"):
            name = t[9:]
    if kind is None or name is None:
        return None
    return (kind, ns or "", name)


def _redact_whole(config: dict[str, Any]) -> dict[str, Any]:
    return dict.fromkeys(config, REDACTED)


def _unescape(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


def _redact_path(config: dict[str, Any], path: str) -> bool:
    """Replace the value at JSON pointer ``path``; False when it cannot be followed."""
    if not path.startswith("/"):
        return False
    parts = [_unescape(p) for p in path[1:].split("/")]
    node: Any = config
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    last = parts[-1]
    if isinstance(node, dict) and last in node:
        node[last] = REDACTED
        return True
    if isinstance(node, list) and last.isdigit() and int(last) < len(node):
        node[int(last)] = REDACTED
        return True
    return False


def _sanitize_plugin(plugin: dict[str, Any], secrets: Mapping[PluginKey, PluginSecrets]) -> None:
    key = _tag_key(plugin.get("tags"))
    meta = secrets.get(key) if key is not None else None
    config = plugin.get("config")
    if meta is None or not isinstance(config, dict):
        return
    if meta.whole or any(p == "" for p in meta.paths):
        plugin["config"] = _redact_whole(config)
        return
    for path in meta.paths:
        if not _redact_path(config, path):
            plugin["config"] = _redact_whole(config)
            return


class _Walker:
    def __init__(self, secrets: Mapping[PluginKey, PluginSecrets]) -> None:
        self.secrets = secrets
        self.keys = 0

    def entity(self, kind: str, ent: dict[str, Any], depth: int) -> None:
        if kind == "plugins":
            self._plugin(ent)
        for name in _ENTITY_FIELDS.get(kind, ()):
            if name in ent and ent[name] is not None:
                if kind == "keyauth_credentials":
                    self.keys += 1
                    ent[name] = "{vault://" + str(uuid.uuid5(_KEY_NS, str(self.keys))) + "}"
                else:
                    ent[name] = REDACTED
        if depth < _MAX_NESTING:
            self.lists(ent, depth + 1)

    def _plugin(self, ent: dict[str, Any]) -> None:
        _sanitize_plugin(ent, self.secrets)

    def lists(self, parent: dict[str, Any], depth: int) -> None:
        for kind, items in parent.items():
            if kind not in _NESTED_SET or not isinstance(items, list):
                continue
            for ent in items:
                if isinstance(ent, dict):
                    self.entity(kind, ent, depth)


def sanitize_config(body: bytes, secrets: Mapping[PluginKey, PluginSecrets]) -> bytes:
    """``body`` (a DB-less config) with its secret values replaced by placeholders.

    Raises ``ValueError`` when ``body`` is not a JSON object (callers show no dump then).
    """
    doc = orjson.loads(body)
    if not isinstance(doc, dict):
        raise ValueError("the configuration is not a JSON object")
    _Walker(secrets).lists(doc, 0)
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


def sanitize_error(body: bytes, secrets: Mapping[PluginKey, PluginSecrets]) -> bytes:
    """Kong's 400 answer with the secret values of the entities it echoes redacted.

    Kong's ``flattened_errors`` carry each refused ``entity`` whole (a key-auth key, a
    certificate's private key...), and ``fields``/``errors`` may echo values. Entities are
    sanitized by their ``entity_type``; an answer that is not JSON is withheld entirely.
    """
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return b'{"message": "the error answer is not JSON: withheld (--dump-sensitive-config shows it)"}'
    if not isinstance(doc, dict):
        return b'{"message": "the error answer is not a JSON object: withheld"}'
    walker = _Walker(secrets)
    errs = doc.get("flattened_errors")
    if isinstance(errs, list):
        for item in errs:
            if not isinstance(item, dict):
                continue
            kind = item.get("entity_type")
            kind = _ENTITY_TYPES.get(kind, kind) if isinstance(kind, str) else ""
            ent = item.get("entity")
            if isinstance(ent, dict):
                if kind == "plugin":
                    kind = "plugins"
                walker.entity(kind, ent, _MAX_NESTING)
            tags = ent.get("tags") if isinstance(ent, dict) else item.get("entity_tags")
            tag_key = _tag_key(tags if tags is not None else item.get("entity_tags"))
            if kind in _ENTITY_FIELDS or (kind == "plugins" and tag_key in secrets):
                # field errors of a secret-bearing entity may quote the value: keep the names
                for field in ("fields", "errors"):
                    if field in item:
                        item[field] = _redact_messages(item[field], kind)
    # the nested error tree (without flatten_errors) mirrors the config: redact it the same way
    fields = doc.get("fields")
    if isinstance(fields, dict):
        walker.lists(fields, 0)
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


def _redact_messages(value: Any, kind: str) -> Any:
    """Error details of a secret-bearing entity: the secret fields' messages replaced."""
    secret = set(_ENTITY_FIELDS.get(kind, ())) | ({"config"} if kind == "plugins" else set())
    if isinstance(value, dict):
        return {k: (REDACTED if k in secret else v) for k, v in value.items()}
    if isinstance(value, list):
        out = []
        for v in value:
            if isinstance(v, dict) and v.get("field") in secret:
                v = {**v, "message": REDACTED}
            out.append(v)
        return out
    return value
