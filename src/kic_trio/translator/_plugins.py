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
import math
import re
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


#: Deepest nesting accepted in a plugin configuration. Kong's own schemas nest a handful of
#: levels; orjson refuses to serialise past 255 and the standard library's parsers recurse.
MAX_DEPTH = 64
#: Largest configuration accepted, in bytes of JSON (a Kubernetes object is at most ~1.5 MiB).
MAX_BYTES = 1 << 20
_INT64 = (-(1 << 63), (1 << 63) - 1)
_INDEX = re.compile(r"0|[1-9][0-9]{0,17}")


def check_config(
    value: Any, *, max_depth: int = MAX_DEPTH, max_bytes: int = MAX_BYTES, where: str = "config"
) -> None:
    """Refuse what Kong (or our serialiser) cannot take: too deep or big, non-JSON values.

    Iterative, so that a hostile depth cannot exhaust the Python stack; the size is an
    estimate (string lengths plus a few bytes per node) computed in the same walk, so the
    check is linear in the value and stops at the first problem. Messages name the path's
    depth and the type, never the value (it may come from a Secret).
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    size = 0
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise PluginConfigError(f"{where} is nested deeper than {max_depth} levels")
        if isinstance(node, Mapping):
            size += 2
            for k, v in node.items():
                if not isinstance(k, str):
                    raise PluginConfigError(f"{where} has a key that is not a string")
                size += len(k) + 4
                stack.append((v, depth + 1))
        elif isinstance(node, list | tuple):
            size += 2
            stack.extend((v, depth + 1) for v in node)
        elif isinstance(node, str):
            size += len(node) + 3
        elif node is None or isinstance(node, bool):
            size += 5
        elif isinstance(node, int):
            if not _INT64[0] <= node <= _INT64[1]:
                raise PluginConfigError(f"{where} has an integer beyond 64-bit range")
            size += 20
        elif isinstance(node, float):
            if not math.isfinite(node):
                raise PluginConfigError(f"{where} has a number that is not finite (NaN/Infinity)")
            size += 24
        else:
            raise PluginConfigError(f"{where} holds a {type(node).__name__}, which is not JSON")
        if size > max_bytes:
            raise PluginConfigError(f"{where} is too big (over {max_bytes} bytes)")


def _decode(raw: bytes) -> str:
    if len(raw) > MAX_BYTES:
        raise PluginConfigError(f"is too big (over {MAX_BYTES} bytes)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PluginConfigError("is not valid UTF-8") from None


def _refuse_constant(name: str) -> Any:
    raise PluginConfigError("has a number that is not finite (NaN/Infinity)")


def load_json_config(raw: bytes) -> Any:
    """JSON from a Secret, checked; ``ValueError`` when it is not JSON at all.

    Strict UTF-8 (not the standard library's UTF-16/32 guessing), ``NaN``/``Infinity`` refused
    (Go's parser refuses them too; serialised, they would become ``null``), a nesting deeper
    than the C scanner's stack a failure rather than a ``RecursionError``.
    """
    text = _decode(raw)
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise PluginConfigError(f"is nested deeper than {MAX_DEPTH} levels") from None
    check_config(value, where="the value")
    return value


class _NoAliasLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses anchors and aliases *before* they are expanded.

    An alias bomb (``b: [*a, *a, ...]`` nine levels deep) is a few hundred bytes that expand
    to ~10^9 nodes when serialised: refusing the first anchor keeps it at those bytes.
    """

    _depth = 0

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        # The scanner runs ahead of the composer, and its per-level bookkeeping is quadratic
        # in the flow depth: 3000 nested "[" took 2 s before the composer saw level 65.
        if self.flow_level >= MAX_DEPTH:
            raise PluginConfigError(f"is nested deeper than {MAX_DEPTH} levels")
        super().fetch_flow_collection_start(TokenClass)

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise PluginConfigError("YAML anchors and aliases are not allowed")
        # Refuse depth while composing: letting 3000 nested "[" run into RecursionError took
        # 2 s of the Trio thread (8 s on a loaded machine), which held up every other change.
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise PluginConfigError(f"is nested deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_yaml_config(raw: bytes) -> Any:
    """YAML from a Secret: no anchors/aliases, strict UTF-8, bounded size and depth."""
    text = _decode(raw)
    try:
        value = yaml.load(text, Loader=_NoAliasLoader)  # a SafeLoader subclass
    except RecursionError:
        raise PluginConfigError(f"is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError:  # e.g. an integer over Python's 4300-digit conversion limit
        raise PluginConfigError("is not valid YAML") from None
    check_config(value, where="the value")
    return value


def _decode_pointer(path: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]


def _index(part: str, size: int, *, insert: bool) -> int:
    """An RFC 6901 array index, bounded by the array (no ``-1``, ``+1``, ``01`` or 10^30)."""
    if not _INDEX.fullmatch(part):
        raise ValueError("not an array index")
    i = int(part)
    if i > size or (i == size and not insert):
        raise IndexError("array index out of range")
    return i


def _patch_add(doc: Any, path: str, value: Any) -> Any:
    """JSON-patch ``add`` creating missing parents (``EnsurePathExistsOnAdd``); ``""`` replaces."""
    if path == "":
        return value
    parts = _decode_pointer(path)
    if len(parts) > MAX_DEPTH:
        raise ValueError("path too deep")
    node = doc
    for part in parts[:-1]:
        if isinstance(node, list):
            node = node[_index(part, len(node), insert=False)]
        elif isinstance(node, dict):
            if part not in node or not isinstance(node[part], dict | list):
                node[part] = {}
            node = node[part]
        else:
            raise TypeError("not a container")
    last = parts[-1]
    if isinstance(node, list):
        if last == "-":
            node.append(value)
        else:
            node.insert(_index(last, len(node), insert=True), value)
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise TypeError("not a container")
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
            value = load_json_config(raw)
        except PluginConfigError as exc:
            raise PluginConfigError(
                f"value of key '{ref.key}' in secret '{secret_ns}/{ref.name}' {exc}"
            ) from None
        except ValueError:
            raise PluginConfigError(
                f"value of key '{ref.key}' in secret '{secret_ns}/{ref.name}' is not JSON"
            ) from None
        try:
            config = _patch_add(config, patch.path, value)
        except (IndexError, ValueError, TypeError) as exc:
            # our own messages ("not an array index", "array index out of range", ...): they
            # say what is wrong with the path and never hold the Secret's value
            raise PluginConfigError(f"cannot apply the patch at {patch.path}: {exc}") from None
        except KeyError:
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
            config = load_json_config(raw)
        except PluginConfigError as exc:
            raise PluginConfigError(
                f"value of key '{ref.key}' in secret '{secret_ns}/{ref.name}' {exc}"
            ) from None
        except ValueError:
            try:
                config = load_yaml_config(raw)
            except PluginConfigError as exc:
                raise PluginConfigError(
                    f"value of key '{ref.key}' in secret '{secret_ns}/{ref.name}' {exc}"
                ) from None
            except yaml.YAMLError:
                config = None
        if not isinstance(config, dict):
            raise PluginConfigError(
                f"key '{ref.key}' in secret '{secret_ns}/{ref.name}' contains neither "
                "valid JSON nor valid YAML)"
            )
    if not isinstance(config, dict):
        raise PluginConfigError("the configuration is not an object")
    check_config(config, where="the configuration")
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
