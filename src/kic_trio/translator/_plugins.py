"""KongPlugin / KongClusterPlugin -> Kong plugin instances, one per referrer combination.

Rules: kic-behaviour.md §3.13 (upstream ``kongstate/plugin.go``, ``kongstate.go: buildPlugins``,
``util/rels``): a plugin referenced by consumers *and* routes/services becomes one instance per
(consumer x route|service) pair; consumer groups pair the same way when no consumer refers to it;
otherwise one instance per referrer. ``instance_name`` gets a hash suffix per instance.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import yaml

from ..models import Failure, KongClusterPlugin, KongPlugin, ObjectRef
from ._util import entity_id, tags_for

Dep = tuple[str, str, str]

#: A relation: (route|service|consumer|consumer_group, identifier, referrer)
Relation = tuple[str, str, ObjectRef]


#: Authentication plugins Kong refuses to scope to a consumer (``typedefs.no_consumer``).
NO_CONSUMER_PLUGINS = frozenset(
    {"acl", "basic-auth", "hmac-auth", "jwt", "key-auth", "ldap-auth", "oauth2", "mtls-auth"}
)


class PluginConfigError(Exception):
    """The plugin's configuration cannot be built (message names no Secret values)."""


def _decode_pointer(path: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]


def _patch_add(doc: Any, path: str, value: Any) -> Any:
    """JSON-patch ``add`` creating missing parents (``EnsurePathExistsOnAdd``); ``""`` replaces."""
    if path == "":
        return value
    parts = _decode_pointer(path)
    node = doc
    for part in parts[:-1]:
        if isinstance(node, list):
            node = node[int(part)]
        else:
            if part not in node or not isinstance(node[part], dict | list):
                node[part] = {}
            node = node[part]
    last = parts[-1]
    if isinstance(node, list):
        if last == "-":
            node.append(value)
        else:
            node.insert(int(last), value)
    else:
        node[last] = value
    return doc


def plugin_config(plugin: KongPlugin, snap: Any, deps: set[Dep]) -> dict[str, Any]:
    """The ``config`` of a plugin: inline, patched from Secrets, or wholly from a Secret."""
    cluster = isinstance(plugin, KongClusterPlugin)
    ns = plugin.ref.namespace
    # the config is only read downstream: copy it only when patches will modify it
    config: Any = plugin.config if plugin.config is not None else {}
    if plugin.config_patches:
        config = copy.deepcopy(dict(config))
    for patch in plugin.config_patches:
        ref = patch.value_from
        secret_ns = ref.namespace if cluster else ns
        deps.add(("Secret", secret_ns, ref.name))
        secret = snap.get("Secret", secret_ns, ref.name)
        if secret is None:
            raise PluginConfigError(f"Secret {secret_ns}/{ref.name} not found")
        raw = secret.data.get(ref.key)
        if raw is None:
            raise PluginConfigError(f"no key '{ref.key}' in secret '{secret_ns}/{ref.name}'")
        try:
            value = json.loads(raw)
        except ValueError:
            raise PluginConfigError(
                f"value of key '{ref.key}' in secret '{secret_ns}/{ref.name}' is not JSON"
            ) from None
        try:
            config = _patch_add(config, patch.path, value)
        except (KeyError, IndexError, ValueError, TypeError):
            raise PluginConfigError(f"cannot apply the patch at {patch.path}") from None
    if plugin.config_from is not None:
        if config:
            raise PluginConfigError(
                f"{plugin.ref.kind} '{ns}/{plugin.ref.name}' has both Config and ConfigFrom set"
            )
        ref = plugin.config_from
        secret_ns = ref.namespace if cluster else ns
        deps.add(("Secret", secret_ns, ref.name))
        secret = snap.get("Secret", secret_ns, ref.name)
        if secret is None:
            raise PluginConfigError(
                f"error fetching plugin configuration secret '{secret_ns}/{ref.name}'"
            )
        raw = secret.data.get(ref.key)
        if raw is None:
            raise PluginConfigError(f"no key '{ref.key}' in secret '{secret_ns}/{ref.name}'")
        try:
            config = json.loads(raw)
        except ValueError:
            try:
                config = yaml.safe_load(raw)
            except yaml.YAMLError:
                config = None
        if not isinstance(config, dict):
            raise PluginConfigError(
                f"key '{ref.key}' in secret '{secret_ns}/{ref.name}' contains neither "
                "valid JSON nor valid YAML)"
            )
    if not isinstance(config, dict):
        raise PluginConfigError("the configuration is not an object")
    return config


def base_plugin(plugin: KongPlugin, config: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": plugin.plugin, "tags": tags_for(plugin)}
    if config:
        out["config"] = config
    if plugin.run_on:
        out["run_on"] = plugin.run_on
    if plugin.disabled:
        out["enabled"] = False
    if plugin.ordering:
        out["ordering"] = plugin.ordering
    if plugin.protocols:
        out["protocols"] = list(plugin.protocols)
    return out


def combinations(rels: Mapping[str, list[tuple[str, ObjectRef]]]) -> list[dict[str, str]]:
    """Upstream's ``ForeignRelations.GetCombinations``."""
    consumers = rels.get("consumer", [])
    groups = rels.get("consumer_group", [])
    targets = [("service", i) for i, _ in rels.get("service", [])] + [
        ("route", i) for i, _ in rels.get("route", [])
    ]
    if consumers:
        if targets:
            return [{"consumer": c, k: t} for c, _ in consumers for k, t in targets]
        return [{"consumer": c} for c, _ in consumers]
    if groups:
        if targets:
            return [{"consumer_group": g, k: t} for g, _ in groups for k, t in targets]
        return [{"consumer_group": g} for g, _ in groups]
    return [{k: t} for k, t in targets]


_ORDER = ("service", "route", "consumer", "consumer_group")
_HASH_NAMES = {
    "service": "service",
    "route": "route",
    "consumer": "consumer",
    "consumer_group": "group",
}


def instances(
    plugin: KongPlugin,
    config: Mapping[str, Any],
    rels: Mapping[str, list[tuple[str, ObjectRef]]],
    fill_ids: bool,
) -> list[dict[str, Any]]:
    base = base_plugin(plugin, config)
    out = []
    used: set[str] = set()
    for combo in combinations(rels):
        inst = dict(base)
        id_key = plugin.plugin
        to_hash = ""
        for kind in _ORDER:
            if kind in combo:
                inst[kind] = combo[kind]
                id_key += f":{kind}/{combo[kind]}"
                to_hash += f"_{_HASH_NAMES[kind]}-{combo[kind]}"
        if plugin.instance_name:
            full = hashlib.sha256(to_hash.encode()).hexdigest()
            name = f"{plugin.instance_name}-{full[:9]}"
            if name in used:
                name = f"{plugin.instance_name}-{full}"
            used.add(name)
            inst["instance_name"] = name
        if fill_ids:
            inst["id"] = entity_id("plugins", id_key)
        out.append(inst)
    return out


def global_plugin(
    plugin: KongClusterPlugin, config: Mapping[str, Any], fill_ids: bool
) -> dict[str, Any]:
    out = base_plugin(plugin, config)
    if plugin.instance_name:
        out["instance_name"] = plugin.instance_name
    if fill_ids:
        out["id"] = entity_id("plugins", plugin.plugin)
    return out


def missing_plugin_failures(
    name: str, rels: Mapping[str, list[tuple[str, ObjectRef]]]
) -> list[Failure]:
    refs = dict.fromkeys(ref for items in rels.values() for _, ref in items)
    return [
        Failure(
            ref,
            "metadata.annotations.konghq.com/plugins",
            f"referenced KongPlugin or KongClusterPlugin {name!r} does not exist",
        )
        for ref in refs
    ]
