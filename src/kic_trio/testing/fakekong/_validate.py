"""What DB-less Kong 3.x checks in ``POST /config``, and the 400 bodies it answers with.

Kong validates in stages (see ``reference/kong-validation.md`` §0.1), and the stage decides
the shape of the error: field and entity checks first (here: the decK JSON schema plus the
Kong rules below); only when those pass, uniqueness and dangling references. Errors are
collected in an *error tree* shaped like the input (``err_t`` in Kong's source): entity
sections keyed by 1-based index (Lua arrays), by name, or by :data:`NULL_KEY` (Kong's
``ngx.null``). The tree is then rendered either as Kong's unflattened body or, with
``flatten_errors``, drained into ``flattened_errors`` entries that carry each entity's tags
— which is how a controller maps a rejection back to the Kubernetes object.

Known, deliberate differences from the decK schema (Kong is more lenient; we follow Kong):

* top-level ``consumer_group_consumers`` is accepted (DB-less only; absent from the schema);
* top-level ``degraphql_routes`` (the degraphql plugin's entity, a custom entity in decK) is
  accepted with Kong's documented fields: ``service`` (required), ``uri``, ``query``,
  ``methods``;
* ``secret`` of ``hmacauth_credentials`` and ``jwt_secrets`` may be omitted (Kong generates it);
* services and routes need neither ``name`` nor ``id``, and certificates need no ``id``
  (Kong generates ids; the schema insists on them).
"""

from __future__ import annotations

import ipaddress
import json
import re
import types
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from ._atc import ATCError, check_expression

#: Kong's ``ngx.null`` key: an error stored under an entity that has no name or id.
NULL_KEY = "\0null"

#: Entity collections that may be nested under another entity, and the fk they get.
#: FakeKong keeps its own copy of Kong's rules (it is Kong's stand-in, not our client); the
#: controller's copies in kong/_fallback.py and translator/_plugins.py must agree with these:
#: tests/unit/fakekong/test_kong_rules_agree.py checks it.
CHILDREN: dict[str, tuple[str, ...]] = {
    "services": ("routes", "plugins"),
    "routes": ("plugins",),
    "consumers": (
        "plugins",
        "acls",
        "keyauth_credentials",
        "basicauth_credentials",
        "hmacauth_credentials",
        "jwt_secrets",
        "oauth2_credentials",
        "mtls_auth_credentials",
    ),
    "upstreams": ("targets",),
    "certificates": ("snis",),
    "key_sets": ("keys",),
    "consumer_groups": ("plugins",),
}
PARENT_FK: dict[str, str] = {
    "services": "service",
    "routes": "route",
    "consumers": "consumer",
    "upstreams": "upstream",
    "certificates": "certificate",
    "key_sets": "set",
    "consumer_groups": "consumer_group",
}
#: Fields by which an entity can be referenced (Kong's endpoint keys); all unique.
ENDPOINT_KEY: dict[str, str] = {
    "services": "name",
    "routes": "name",
    "upstreams": "name",
    "consumers": "username",
    "snis": "name",
    "plugins": "instance_name",
    "keyauth_credentials": "key",
    "basicauth_credentials": "username",
    "hmacauth_credentials": "username",
    "jwt_secrets": "key",
    "oauth2_credentials": "client_id",
    "consumer_groups": "name",
}
#: Foreign keys that must resolve: entity type -> {fk field: referenced type}.
REFERENCES: dict[str, dict[str, str]] = {
    "routes": {"service": "services"},
    "plugins": {"route": "routes", "service": "services", "consumer": "consumers"},
    "targets": {"upstream": "upstreams"},
    "snis": {"certificate": "certificates"},
    "acls": {"consumer": "consumers"},
    "keyauth_credentials": {"consumer": "consumers"},
    "basicauth_credentials": {"consumer": "consumers"},
    "hmacauth_credentials": {"consumer": "consumers"},
    "jwt_secrets": {"consumer": "consumers"},
    "oauth2_credentials": {"consumer": "consumers"},
    "mtls_auth_credentials": {"consumer": "consumers"},
}
#: ``protocols`` values Kong knows (``kong/constants.lua``).
PROTOCOLS = ("grpc", "grpcs", "http", "https", "tcp", "tls", "tls_passthrough", "udp")
DEFAULT_ROUTE_PROTOCOLS = ("http", "https")
FORMAT_VERSIONS = ("1.1", "2.1", "3.0")

#: The plugins an OSS Kong 3.9 loads by default (``plugins = bundled``).
BUNDLED_PLUGINS: frozenset[str] = frozenset(
    [
        "acl",
        "acme",
        "ai-prompt-decorator",
        "ai-prompt-guard",
        "ai-prompt-template",
        "ai-proxy",
        "ai-request-transformer",
        "ai-response-transformer",
        "aws-lambda",
        "azure-functions",
        "basic-auth",
        "bot-detection",
        "correlation-id",
        "cors",
        "datadog",
        "file-log",
        "grpc-gateway",
        "grpc-web",
        "hmac-auth",
        "http-log",
        "ip-restriction",
        "jwt",
        "key-auth",
        "ldap-auth",
        "loggly",
        "oauth2",
        "opentelemetry",
        "post-function",
        "pre-function",
        "prometheus",
        "proxy-cache",
        "rate-limiting",
        "redirect",
        "request-size-limiting",
        "request-termination",
        "request-transformer",
        "response-ratelimiting",
        "response-transformer",
        "session",
        "standard-webhooks",
        "statsd",
        "syslog",
        "tcp-log",
        "udp-log",
        "zipkin",
    ]
)

#: Authentication plugins cannot be scoped to a consumer (``typedefs.no_consumer``).
NO_CONSUMER_PLUGINS = frozenset(
    {"acl", "basic-auth", "hmac-auth", "jwt", "key-auth", "ldap-auth", "oauth2", "mtls-auth"}
)

_SCHEMA_ENV = "KIC_TRIO_KONG_SCHEMA"
_UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_TARGET_RE = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(:\d{1,5})?$")
_DECLARATIVE_NS = uuid.UUID("fd02801f-0957-4a15-a55a-c8d9606f30b5")


def find_schema(explicit: str | Path | None = None) -> Path | None:
    """Where decK's declarative JSON schema is: the argument, ``$KIC_TRIO_KONG_SCHEMA``, or the
    assets cache that ``python -m kic_trio.testing.controlplane assets`` fills (pinned version,
    from the Go module proxy). ``None`` if nowhere: then only Kong's own rules are checked.

    Never fetches: a FakeKong starting in a test must not reach for the network.
    """
    import os

    if explicit is not None:
        return Path(explicit)
    env = os.environ.get(_SCHEMA_ENV)
    if env:
        return Path(env)
    from ..controlplane._assets import assets_present, schema_file

    cached = schema_file()
    if assets_present() and cached.is_file():
        return cached
    return None


#: Foreign keys Kong takes as a name/id string, where decK's schema wants an object.
_STRING_FKS = {
    "Route": ("service",),
    "FRoute": ("service",),
    "FTarget": ("upstream",),
    "Target": ("upstream",),
    "SNI": ("certificate",),
}
_CREDENTIALS = (
    "ACLGroup",
    "BasicAuth",
    "HMACAuth",
    "JWTAuth",
    "KeyAuth",
    "MTLSAuth",
    "Oauth2Credential",
)


def kong_leniency(schema: dict[str, Any]) -> dict[str, Any]:
    """decK's schema, loosened exactly where DB-less Kong accepts more (see the module doc)."""
    schema = json.loads(json.dumps(schema))
    defs = schema["definitions"]
    for name, fields in _STRING_FKS.items():
        for f in fields:
            ref = defs[name]["properties"].get(f)
            if ref is not None:
                defs[name]["properties"][f] = {"anyOf": [{"type": "string"}, ref]}
    for name in _CREDENTIALS:
        props = defs[name]["properties"]
        if "consumer" in props:
            props["consumer"] = {"anyOf": [{"type": "string"}, props["consumer"]]}
    for name in ("HMACAuth", "JWTAuth"):
        defs[name]["required"] = [r for r in defs[name].get("required", []) if r != "secret"]
    defs["FCertificate"]["required"] = [r for r in defs["FCertificate"]["required"] if r != "id"]
    for name in ("FService", "FRoute"):
        defs[name].pop("anyOf", None)
    schema["properties"]["consumer_group_consumers"] = {
        "type": "array",
        "items": {"type": "object"},
    }
    schema["properties"]["degraphql_routes"] = {
        "type": "array",
        "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["service", "uri", "query"],
            "properties": {
                "id": {"type": "string"},
                "service": {"anyOf": [{"type": "string"}, {"type": "object"}]},
                "uri": {"type": "string"},
                "query": {"type": "string"},
                "methods": {"type": "array", "items": {"type": "string"}},
            },
        },
    }
    return schema


#: Entity types FakeKong validates when it has no decK schema (Kong's core DAOs it knows).
_CORE_TYPES = frozenset(
    {
        "services",
        "routes",
        "upstreams",
        "targets",
        "consumers",
        "consumer_groups",
        "consumer_group_consumers",
        "plugins",
        "certificates",
        "ca_certificates",
        "snis",
        "vaults",
        "keys",
        "key_sets",
        "acls",
        "keyauth_credentials",
        "basicauth_credentials",
        "hmacauth_credentials",
        "jwt_secrets",
        "oauth2_credentials",
        "mtls_auth_credentials",
        "degraphql_routes",
    }
)
#: degraphql_routes as the degraphql plugin's DAO declares it (and as the leniency accepts).
_DEGRAPHQL_FIELDS: tuple[dict[str, Any], ...] = (
    {"service": {"type": "foreign", "reference": "services", "required": True}},
    {"methods": {"type": "set", "elements": {"type": "string"}}},
    {"uri": {"type": "string", "required": True}},
    {"query": {"type": "string", "required": True}},
)


def entity_schema(etype: str, checker: SchemaChecker | None) -> dict[str, Any] | None:
    """Kong's ``GET /schemas/<etype>`` answer for a type FakeKong validates, else ``None``
    (Kong answers 404 ``No entity named '<etype>'``).

    The types are the top-level lists of the decK schema in use (with Kong's leniencies), or
    Kong's core DAOs without one. Only what a controller reads is described faithfully: the
    ``id`` and the ``foreign`` fields with their ``reference`` and ``required`` (Kong's
    ``fields`` array of one-key objects); ``degraphql_routes`` gets its full field list.
    """
    if checker is not None:
        props = checker.schema.get("properties", {})
        known = {k for k, v in props.items() if isinstance(v, Mapping) and v.get("type") == "array"}
    else:
        known = set(_CORE_TYPES)
    if etype not in known:
        return None
    fields: list[dict[str, Any]] = [{"id": {"type": "string", "uuid": True, "auto": True}}]
    if etype == "degraphql_routes":
        fields.extend(json.loads(json.dumps(_DEGRAPHQL_FIELDS)))
    else:
        foreign = dict(REFERENCES.get(etype, {}))
        for parent, children in CHILDREN.items():
            if etype in children:
                foreign.setdefault(PARENT_FK[parent], parent)
        optional = etype in ("routes", "plugins")  # a route's service, a plugin's scopes
        for name, ref in sorted(foreign.items()):
            fields.append({name: {"type": "foreign", "reference": ref, "required": not optional}})
    return {"fields": fields}


class SchemaChecker:
    """The decK JSON schema (with Kong's leniencies), compiled once per FakeKong, lazily.

    A fast path (``fastjsonschema``, compiled per entity type, when installed) answers
    "valid?" for a 10k-entity config in well under a second; only an invalid config goes
    through ``jsonschema``, which reports every error for Kong's error body.
    """

    def __init__(self, path: Path) -> None:
        with path.open("rb") as f:
            self._schema = kong_leniency(json.load(f))
        self._full: Any = None
        self._fast: tuple[Any, dict[str, Any]] | None = None
        self._fast_tried = False

    @property
    def schema(self) -> Mapping[str, Any]:
        """The decK schema in use, with Kong's leniencies (read-only by convention)."""
        return self._schema

    def _full_validator(self) -> Any:
        if self._full is None:
            import jsonschema  # type: ignore[import-untyped]

            self._full = jsonschema.Draft4Validator(self._schema)
        return self._full

    def _fast_validators(self) -> tuple[Any, dict[str, Any]] | None:
        if not self._fast_tried:
            self._fast_tried = True
            try:
                import fastjsonschema
            except ImportError:
                return None
            defs = self._schema["definitions"]
            per_type: dict[str, Any] = {}
            for key, prop in self._schema["properties"].items():
                items = prop.get("items")
                if prop.get("type") == "array" and isinstance(items, dict):
                    per_type[key] = fastjsonschema.compile({"definitions": defs, **items})
            self._fast = (fastjsonschema.compile(self._schema), per_type)
        return self._fast

    def _valid_fast(self, doc: Mapping[str, Any]) -> bool | None:
        fast = self._fast_validators()
        if fast is None:
            return None
        import fastjsonschema

        top, per_type = fast
        try:
            top({k: ([] if k in per_type and isinstance(v, list) else v) for k, v in doc.items()})
            for key, lst in doc.items():
                check = per_type.get(key)
                if check is not None and isinstance(lst, list):
                    for ent in lst:
                        check(ent)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    #: Below this many top-level entities, ``jsonschema`` alone is quicker than compiling.
    FAST_PATH_MIN = 500

    def check(self, config: Mapping[str, Any], tree: ErrorTree) -> None:
        size = sum(len(v) for v in config.values() if isinstance(v, list))
        valid = self._valid_fast(config) if size >= self.FAST_PATH_MIN else None
        if valid is None:
            valid = self._full_validator().is_valid(config)
        if valid:
            return
        for error in self._full_validator().iter_errors(config):
            self._record(error, config, tree)

    def _record(self, error: Any, doc: Mapping[str, Any], tree: ErrorTree) -> None:
        path = list(error.absolute_path)
        chain, rest = locate(path, doc)
        instance = error.instance
        v = error.validator
        if v == "required":
            for name in error.validator_value:
                if isinstance(instance, Mapping) and name not in instance:
                    tree.field(chain, [*rest, name], "required field missing")
        elif v == "additionalProperties":
            known = error.schema.get("properties", {})
            patterns = [re.compile(p) for p in error.schema.get("patternProperties", {})]
            for name in instance:
                if name not in known and not any(p.search(name) for p in patterns):
                    tree.field(chain, [*rest, name], "unknown field")
        elif (
            v == "anyOf"
            and not rest
            and all(
                isinstance(s, Mapping) and set(s) <= {"required", "description"}
                for s in error.validator_value
            )
        ):
            names = sorted(n for s in error.validator_value for n in s["required"])
            tree.entity(
                chain,
                "at least one of these fields must be non-empty: "
                + ", ".join(f"'{n}'" for n in names),
            )
        elif v == "anyOf" and any(
            s.get("type") == "string" for s in error.validator_value if isinstance(s, Mapping)
        ):
            tree.field(
                chain,
                rest,
                "expected a string" if not isinstance(instance, Mapping) else "expected a record",
            )
        else:
            tree.field(chain, rest, _message(error), whole=not rest)


def _message(error: Any) -> str:
    """Kong's wording (``kong/db/schema/init.lua`` templates) for a JSON-schema failure."""
    v, val, inst = error.validator, error.validator_value, error.instance
    if v == "type":
        types = [val] if isinstance(val, str) else list(val)
        words = {
            "string": "expected a string",
            "number": "expected a number",
            "integer": "expected an integer",
            "boolean": "expected a boolean",
            "array": "expected an array",
            "object": "expected a record",
        }
        return words.get(types[0], f"expected a {types[0]}")
    if v == "enum":
        return "expected one of: " + ", ".join(str(x) for x in val)
    if v == "pattern":
        return f"invalid value: {inst}"
    if v == "minLength":
        return f"length must be at least {val}"
    if v == "maxLength":
        return f"length must be at most {val}"
    if v == "minItems":
        return f"length must be at least {val}"
    if v == "maxItems":
        return f"length must be at most {val}"
    if v in ("minimum", "maximum"):
        lo, hi = error.schema.get("minimum"), error.schema.get("maximum")
        if lo is not None and hi is not None:
            return f"value should be between {lo} and {hi}"
        if lo is not None:
            return f"value must be greater than {lo}"
        return f"value must be at most {hi}"
    return str(error.message)


def locate(path: list[Any], doc: Mapping[str, Any]) -> tuple[list[tuple[str, int]], list[Any]]:
    """Split a JSON path into the chain of entities it goes through and the field path."""
    chain: list[tuple[str, int]] = []
    if len(path) >= 2 and isinstance(path[0], str) and isinstance(path[1], int):
        chain.append((path[0], path[1]))
        i = 2
        node: Any = doc.get(path[0])
        node = node[path[1]] if isinstance(node, list) and path[1] < len(node) else None
        while (
            i + 1 < len(path)
            and path[i] in CHILDREN.get(chain[-1][0], ())
            and isinstance(path[i + 1], int)
            and isinstance(node, Mapping)
            and isinstance(node.get(path[i]), list)
        ):
            chain.append((path[i], path[i + 1]))
            lst = node[path[i]]
            node = lst[path[i + 1]] if path[i + 1] < len(lst) else None
            i += 2
        return chain, path[i:]
    return chain, path


class ErrorTree:
    """Kong's ``err_t``: nested dicts; array positions are 1-based ``int`` keys.

    Only the first error per field is kept (Kong reports the first failing validator).
    """

    def __init__(self) -> None:
        self.root: dict[Any, Any] = {}
        #: The errors come from the reference/uniqueness stage, which runs after Kong
        #: generated ids for every entity (so flattened entries carry ``entity_id``).
        self.ids_generated = False

    def __bool__(self) -> bool:
        return bool(self.root)

    def _entity_node(
        self, chain: list[tuple[str, int]], *, create: bool = True
    ) -> dict[Any, Any] | None:
        node = self.root
        for etype, idx in chain:
            section = node.setdefault(etype, {})
            key = idx + 1
            cur = section.get(key)
            if isinstance(cur, str):
                return None  # a whole-entity error already stands
            if cur is None:
                cur = section[key] = {}
            node = cur
        return node

    def field(
        self, chain: list[tuple[str, int]], rest: list[Any], message: str, *, whole: bool = False
    ) -> None:
        if whole and chain:
            self.whole(chain, message)
            return
        node = self._entity_node(chain)
        if node is None:
            return
        keys = [k + 1 if isinstance(k, int) else k for k in rest]
        if not keys:
            keys = ["@entity"]
        for k in keys[:-1]:
            nxt = node.get(k)
            if isinstance(nxt, str):
                return
            if nxt is None:
                nxt = node[k] = {}
            node = nxt
        node.setdefault(keys[-1], message)

    def entity(self, chain: list[tuple[str, int]], message: str) -> None:
        node = self._entity_node(chain)
        if node is None:
            return
        node.setdefault("@entity", []).append(message)

    def whole(self, chain: list[tuple[str, int]], message: str) -> None:
        """Replace an entity's errors with one string (uniqueness, ``expected a record``)."""
        parent = self._entity_node(chain[:-1])
        if parent is None:
            return
        etype, idx = chain[-1]
        parent.setdefault(etype, {})[idx + 1] = message

    def replace(self, chain: list[tuple[str, int]], errors: dict[Any, Any]) -> None:
        """Replace an entity's errors with exactly ``errors`` (a subschema short-circuit)."""
        parent = self._entity_node(chain[:-1])
        if parent is None:
            return
        etype, idx = chain[-1]
        parent.setdefault(etype, {})[idx + 1] = errors

    def keyed(self, etype: str, key: str, message: str) -> None:
        """An error stored under a name/id/null key (dangling references, stage-5 uniqueness)."""
        self.root.setdefault(etype, {}).setdefault(key, []).append(message)


# -- walking the input ----------------------------------------------------------------------


@attrs.frozen
class Item:
    """One entity of the input, wherever it sits: ``chain`` locates it, ``parent`` is the
    item it is nested under (``None`` at top level)."""

    etype: str
    chain: tuple[tuple[str, int], ...]
    entity: Mapping[str, Any]
    parent: Item | None


def iter_items(config: Mapping[str, Any]) -> Iterator[Item]:
    def walk(
        etype: str, lst: list[Any], chain: tuple[tuple[str, int], ...], parent: Item | None
    ) -> Iterator[Item]:
        for i, ent in enumerate(lst):
            if not isinstance(ent, Mapping):
                continue
            item = Item(etype, (*chain, (etype, i)), ent, parent)
            yield item
            for child in CHILDREN.get(etype, ()):
                sub = ent.get(child)
                if isinstance(sub, list):
                    yield from walk(child, sub, item.chain, item)

    for key, value in config.items():
        if not key.startswith("_") and isinstance(value, list):
            yield from walk(key, value, (), None)


def is_uuid(value: object) -> bool:
    return isinstance(value, str) and bool(_UUID_RE.match(value))


# -- Kong's own rules (stage 1) -------------------------------------------------------------


@attrs.define
class Rules:
    """Knobs of the Kong rules: which plugins are loaded, which tags FakeKong rejects."""

    enabled_plugins: frozenset[str] | None = BUNDLED_PLUGINS
    reject_tags: frozenset[str] = frozenset()
    check_certificates: bool = True
    #: Kong's ``router_flavor``: ``expressions`` allows ``expression``/``priority`` on routes.
    router_flavor: str = "traditional_compatible"
    #: ``(entity type, {field: value})``: an entity of that type whose fields hold those values
    #: (``"config.key_names"`` reaches into ``config``) is refused, with a field error on the
    #: last field given — as Kong refuses a plugin whose configuration it finds invalid.
    reject_entities: tuple[tuple[str, Mapping[str, Any]], ...] = ()


def check_rules(
    config: Mapping[str, Any], tree: ErrorTree, rules: Rules, items: list[Item]
) -> None:
    fv = config.get("_format_version")
    if fv is None:
        tree.root.setdefault("_format_version", "required field missing")
    elif not isinstance(fv, str):
        tree.root.setdefault("_format_version", "expected a string")
    elif fv not in FORMAT_VERSIONS:
        tree.root.setdefault("_format_version", "expected one of: " + ", ".join(FORMAT_VERSIONS))
    for item in items:
        chain = list(item.chain)
        ent = item.entity
        tags = ent.get("tags")
        if rules.reject_tags and isinstance(tags, list):
            for t in tags:
                if t in rules.reject_tags:
                    tree.entity(chain, f"rejected by FakeKong: entity carries tag '{t}'")
        for etype, fields in rules.reject_entities:
            if (
                etype == item.etype
                and fields
                and all(_dotted(ent, k) == want for k, want in fields.items())
            ):
                last = list(fields)[-1]
                tree.field(chain, last.split("."), "rejected by FakeKong: a refused value")
        if item.etype == "routes":
            _check_route(chain, ent, tree, rules.router_flavor)
        elif item.etype == "plugins":
            name = ent.get("name")
            enabled = rules.enabled_plugins
            if enabled is not None and isinstance(name, str) and name not in enabled:
                tree.replace(
                    chain,
                    {
                        "name": f"plugin '{name}' not enabled; add it to the 'plugins' configuration property"
                    },
                )
            elif name in NO_CONSUMER_PLUGINS and (
                ent.get("consumer") is not None
                or (item.parent is not None and item.parent.etype == "consumers")
            ):
                tree.field(chain, ["consumer"], "value must be null")
        elif item.etype == "certificates" and rules.check_certificates:
            _check_certificate(chain, ent, tree)
        elif item.etype == "services":
            port = ent.get("port")
            if isinstance(port, int) and not 0 <= port <= 65535:
                tree.field(chain, ["port"], "value should be between 0 and 65535")
        elif item.etype == "targets":
            t = ent.get("target")
            if isinstance(t, str) and t and not _TARGET_RE.match(t):
                tree.field(
                    chain, ["target"], f"Invalid target ('{t}'); not a valid hostname or ip address"
                )


_MISSING = object()


def _dotted(ent: Mapping[str, Any], path: str) -> Any:
    node: Any = ent
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _nonempty(ent: Mapping[str, Any], field: str) -> bool:
    v = ent.get(field)
    return bool(v) and v is not None


_MATCHER_FIELDS = ("methods", "hosts", "paths", "headers", "snis", "sources", "destinations")
_MATCHER_LIST = "'methods', 'hosts', 'paths', 'headers', 'snis', 'sources' or 'destinations'"
_MAX_PRIORITY = 2**46 - 1
_ROUTER = "Router Expression failed validation: "


def _check_route_flavor(
    chain: list[tuple[str, int]], ent: Mapping[str, Any], tree: ErrorTree, flavor: str
) -> None:
    """``expression``/``priority``: legal only in the expressions flavor (``routes.lua``)."""
    if flavor != "expressions":
        for f in ("expression", "priority"):
            if ent.get(f) is not None:
                tree.field(chain, [f], "unknown field")
        return
    priority = ent.get("priority")
    if isinstance(priority, int) and not 0 <= priority <= _MAX_PRIORITY:
        tree.field(chain, ["priority"], f"value should be between 0 and {_MAX_PRIORITY}")
    traditional = any(_nonempty(ent, f) for f in _MATCHER_FIELDS)
    expression = ent.get("expression")
    if isinstance(expression, str) and expression:
        if traditional:
            tree.entity(
                chain, f"{_ROUTER}cannot set 'expression' with {_MATCHER_LIST} simultaneously"
            )
        if ent.get("regex_priority") not in (None, 0):
            tree.entity(
                chain, f"{_ROUTER}cannot set 'regex_priority' with 'expression' simultaneously"
            )
        try:
            check_expression(expression)
        except ATCError as exc:
            tree.entity(chain, f"{_ROUTER}{exc}")
    elif traditional and priority not in (None, 0):
        tree.entity(chain, f"{_ROUTER}cannot set 'priority' with {_MATCHER_LIST} simultaneously")


def _check_route(
    chain: list[tuple[str, int]],
    ent: Mapping[str, Any],
    tree: ErrorTree,
    flavor: str = "traditional_compatible",
) -> None:
    _check_route_flavor(chain, ent, tree, flavor)
    protocols = ent.get("protocols")
    if protocols is None:
        protocols = list(DEFAULT_ROUTE_PROTOCOLS)
    if not isinstance(protocols, list):
        return  # the schema reported it
    if not protocols:
        tree.replace(chain, {"protocols": "unknown type: nil"})
        return
    first = protocols[0]
    if first not in PROTOCOLS:
        tree.replace(chain, {"protocols": f"unknown type: {first}"})
        return
    clash = [g for g in _EXCLUSIVE_PROTOCOLS if any(p in g for p in protocols)]
    if len(clash) > 1:
        sets = ", ".join("(" + ", ".join(f"'{p}'" for p in g) + ")" for g in clash)
        tree.field(chain, ["protocols"], f"these sets are mutually exclusive: {sets}")
        return
    _check_stream_fields(chain, ent, tree, flavor)
    paths = ent.get("paths")
    if isinstance(paths, list):
        for i, p in enumerate(paths):
            msg = _path_problem(p)
            if msg:
                tree.field(chain, ["paths", i], msg)
    has_tls = any(p in ("grpcs", "https", "tls", "tls_passthrough") for p in protocols)
    if _nonempty(ent, "snis") and not has_tls:
        tree.field(chain, ["snis"], "length must be 0")
        tree.entity(
            chain,
            "'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'",
        )
    if first in ("http", "https"):
        for f in ("sources", "destinations"):
            if _nonempty(ent, f):
                tree.field(chain, [f], f"cannot set '{f}' when 'protocols' is 'http' or 'https'")
        fields: tuple[str, ...]
        if "https" in protocols:
            fields, proto = ("methods", "hosts", "headers", "paths", "snis"), "https"
        else:
            fields, proto = ("methods", "hosts", "headers", "paths"), "http"
        if flavor == "expressions":
            fields += ("expression",)
        if not any(_nonempty(ent, f) for f in fields):
            quoted = ", ".join(f"'{f}'" for f in fields)
            tree.entity(chain, f"must set one of {quoted} when 'protocols' is '{proto}'")
    elif first in ("grpc", "grpcs"):
        if ent.get("strip_path") is True:
            tree.field(
                chain,
                ["strip_path"],
                "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'",
            )
        for f in ("methods", "sources", "destinations"):
            if _nonempty(ent, f):
                tree.field(chain, [f], f"cannot set '{f}' when 'protocols' is 'grpc' or 'grpcs'")
        fields = (
            ("hosts", "headers", "paths", "snis")
            if first == "grpcs"
            else ("hosts", "headers", "paths")
        )
        if not any(_nonempty(ent, f) for f in fields):
            quoted = ", ".join(f"'{f}'" for f in fields)
            tree.entity(chain, f"must set one of {quoted} when 'protocols' is '{first}'")
    else:  # tcp, tls, udp, tls_passthrough
        for f in ("methods", "hosts", "paths", "headers"):
            if _nonempty(ent, f):
                tree.field(
                    chain,
                    [f],
                    f"cannot set '{f}' when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or 'udp'",
                )
        stream_fields: tuple[str, ...] = ("sources", "destinations", "snis")
        if flavor == "expressions":
            stream_fields += ("expression",)
        if first == "tls_passthrough":
            if not _nonempty(ent, "snis") and not (
                flavor == "expressions" and _nonempty(ent, "expression")
            ):
                tree.entity(chain, "must set snis when 'protocols' is 'tls_passthrough'")
        elif not any(_nonempty(ent, f) for f in stream_fields):
            quoted = ", ".join(f"'{f}'" for f in stream_fields)
            tree.entity(
                chain,
                f"must set one of {quoted} when 'protocols' is 'tcp', 'tls' or 'udp'",
            )


#: ``routes.protocols``' ``mutually_exclusive_subsets`` (``routes.lua``).
_EXCLUSIVE_PROTOCOLS = (
    ("http", "https"),
    ("tcp", "tls", "udp"),
    ("tls_passthrough",),
    ("grpc", "grpcs"),
)


def _ip_or_cidr(value: str) -> bool:
    try:
        if "/" in value:
            ipaddress.ip_network(value, strict=False)
        else:
            ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _sni_problem(value: str, flavor: str) -> str | None:
    """``snis`` elements: ``sni`` (no wildcard) in the traditional flavors, ``wildcard_host``
    in ``expressions`` (typedefs ``validate_sni`` / ``validate_wildcard_host``)."""
    name = value
    if flavor == "expressions":
        if value.count("*") > 1:
            return "invalid wildcard: must have at most one wildcard"
        if "*" in value:
            if not (value.startswith("*.") or value.endswith(".*")):
                return "invalid wildcard: must be placed at leftmost or rightmost label"
            name = value.replace("*", "abc")
    if _ip_or_cidr(name):
        return "must not be an IP"
    labels = name.split(".")
    if (
        not name
        or len(name) > 253
        or not all(
            0 < len(x) <= 63 and x.isascii() and x.replace("-", "").replace("_", "").isalnum()
            for x in labels
        )
    ):
        return f"invalid value: {value}"
    return None


def _check_stream_fields(
    chain: list[tuple[str, int]], ent: Mapping[str, Any], tree: ErrorTree, flavor: str
) -> None:
    """``sources``/``destinations`` records and ``snis`` names, as Kong's typedefs check them."""
    for field in ("sources", "destinations"):
        items = ent.get(field)
        if not isinstance(items, list):
            continue  # the schema reported it
        for i, rec in enumerate(items):
            if not isinstance(rec, Mapping):
                continue
            ip, port = rec.get("ip"), rec.get("port")
            if ip is None and port is None:
                tree.field(
                    chain,
                    [field, i],
                    "at least one of these fields must be non-empty: 'ip', 'port'",
                )
            if isinstance(ip, str) and not _ip_or_cidr(ip):
                tree.field(chain, [field, i, "ip"], f"invalid ip or cidr range: '{ip}'")
            if isinstance(port, int) and not 0 <= port <= 65535:
                tree.field(chain, [field, i, "port"], "value should be between 0 and 65535")
    snis = ent.get("snis")
    if isinstance(snis, list):
        for i, sni in enumerate(snis):
            if isinstance(sni, str) and (msg := _sni_problem(sni, flavor)):
                tree.field(chain, ["snis", i], msg)


def _path_problem(p: object) -> str | None:
    if not isinstance(p, str):
        return None  # the schema reported it
    if p == "":
        return "length must be at least 1"
    if "//" in p:
        return "must not have empty segments"
    if not (p.startswith("/") or p.startswith("~/")):
        return "should start with: / (fixed path) or ~/ (regex path)"
    if p.startswith("~"):
        try:
            re.compile(p[1:])
        except re.error as e:
            return f"invalid regex: '{p[1:]}' (PCRE returned: {e})"
    return None


def _check_certificate(
    chain: list[tuple[str, int]], ent: Mapping[str, Any], tree: ErrorTree
) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert_pem, key_pem = ent.get("cert"), ent.get("key")
    cert = key = None
    if isinstance(cert_pem, str) and cert_pem:
        try:
            cert = x509.load_pem_x509_certificate(cert_pem.encode())
        except ValueError as e:
            tree.field(chain, ["cert"], f"invalid certificate: {e}")
    if isinstance(key_pem, str) and key_pem:
        try:
            key = serialization.load_pem_private_key(
                key_pem.encode(), password=None, unsafe_skip_rsa_key_validation=True
            )
        except (ValueError, TypeError) as e:
            # never echo key material: the library's message names the problem only
            tree.field(chain, ["key"], f"invalid key: {type(e).__name__}")
    if cert is not None and key is not None:
        fmt = serialization.PublicFormat.SubjectPublicKeyInfo
        enc = serialization.Encoding.DER
        if cert.public_key().public_bytes(enc, fmt) != key.public_key().public_bytes(enc, fmt):
            tree.entity(chain, "certificate does not match key")


# -- references and uniqueness (stages 4 and 5) ---------------------------------------------


def _ref_key(item: Item) -> str:
    """Kong's ``at``: endpoint key value, else primary key, else ``ngx.null``."""
    ek = ENDPOINT_KEY.get(item.etype)
    if ek and isinstance(item.entity.get(ek), str):
        return str(item.entity[ek])
    if isinstance(item.entity.get("id"), str):
        return str(item.entity["id"])
    if ek:
        return NULL_KEY
    return str(generated_id(item) or NULL_KEY)


def _uuid5(namespace: bytes, name: str) -> str:
    """``str(uuid.uuid5(...))`` without building UUID objects (10x faster on big configs)."""
    import hashlib

    h = bytearray(hashlib.sha1(namespace + name.encode(), usedforsecurity=False).digest()[:16])
    h[6] = (h[6] & 0x0F) | 0x50
    h[8] = (h[8] & 0x3F) | 0x80
    x = h.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


_TYPE_NS = types.MappingProxyType(
    {t: uuid.uuid5(_DECLARATIVE_NS, t).bytes for t in (*ENDPOINT_KEY, "targets")}
)


def _type_ns(etype: str) -> bytes:
    return _TYPE_NS[etype]


def generated_id(item: Item) -> str | None:
    """The id Kong would generate for an entity without one, when it is deterministic."""
    ent = item.entity
    if isinstance(ent.get("id"), str):
        return str(ent["id"])
    if item.etype == "targets":
        up = ent.get("upstream")
        if up is None and item.parent is not None:
            up = item.parent.entity.get("id") or item.parent.entity.get("name")
        if isinstance(up, str) and isinstance(ent.get("target"), str):
            return _uuid5(_type_ns("targets"), f"targets:*:{up}:{ent['target']}")
        return None
    ek = ENDPOINT_KEY.get(item.etype)
    if ek and isinstance(ent.get(ek), str):
        return _uuid5(_type_ns(item.etype), ent[ek])
    return None


def check_dangling_as_missing_pk(items: list[Item], tree: ErrorTree) -> None:
    """Stage 1b: with any other error, an unresolvable top-level fk is ``<fk>.id``."""
    index = _reference_index(items)
    for item in items:
        if item.parent is not None:
            continue
        for fk, target in REFERENCES.get(item.etype, {}).items():
            ref = item.entity.get(fk)
            if isinstance(ref, str) and ref not in index.get(target, set()):
                tree.field(list(item.chain), [fk, "id"], "missing primary key")


def _reference_index(items: list[Item]) -> dict[str, set[str]]:
    index: dict[str, set[str]] = {}
    for item in items:
        s = index.setdefault(item.etype, set())
        ek = ENDPOINT_KEY.get(item.etype)
        if ek and isinstance(item.entity.get(ek), str):
            s.add(item.entity[ek])
        if isinstance(item.entity.get("id"), str):
            s.add(item.entity["id"])
    return index


def check_references_and_uniqueness(items: list[Item], tree: ErrorTree) -> None:
    seen_keys: dict[tuple[str, str], bool] = {}
    seen_ids: dict[tuple[str, str], bool] = {}
    custom_ids: dict[str, bool] = {}
    index = _reference_index(items)
    for item in items:
        ent = item.entity
        chain = list(item.chain)
        ek = ENDPOINT_KEY.get(item.etype)
        dup = None
        if ek and isinstance(ent.get(ek), str):
            k = (item.etype, ent[ek])
            if k in seen_keys:
                dup = f"uniqueness violation: '{item.etype}' entity with {ek} set to '{ent[ek]}' already declared"
            seen_keys[k] = True
        if dup is None:
            # a generated id derives from the endpoint key, already checked: only given ids
            # and targets (whose id comes from upstream + target) need a look
            pk = (
                ent.get("id")
                if isinstance(ent.get("id"), str)
                else (generated_id(item) if item.etype == "targets" else None)
            )
            if pk is not None:
                k = (item.etype, pk)
                if k in seen_ids:
                    dup = f"uniqueness violation: '{item.etype}' entity with primary key set to '{pk}' already declared"
                seen_ids[k] = True
        if dup is not None:
            tree.whole(chain, dup)
        for fk, target in REFERENCES.get(item.etype, {}).items():
            if item.parent is not None and PARENT_FK.get(item.parent.etype) == fk:
                continue
            ref = ent.get(fk)
            if ref is None:
                continue
            if isinstance(ref, Mapping):
                rid = ref.get("id")
                ok = isinstance(rid, str) and rid in index.get(target, set())
                shown = json.dumps(ref, separators=(",", ":"))
            else:
                ok = isinstance(ref, str) and ref in index.get(target, set())
                shown = str(ref)
            if not ok:
                tree.keyed(
                    item.etype,
                    _ref_key(item),
                    f"invalid reference '{fk}: {shown}' (no such entry in '{target}')",
                )
        if item.etype == "consumers" and isinstance(ent.get("custom_id"), str):
            cid = ent["custom_id"]
            if cid in custom_ids:
                # Kong's stage 5 keeps only the last such violation per entity type
                tree.root["consumers"] = {
                    **{
                        k: v
                        for k, v in tree.root.get("consumers", {}).items()
                        if isinstance(k, int)
                    },
                    _ref_key(item): "uniqueness violation: 'consumers' entity with custom_id "
                    f"set to '{cid}' already declared",
                }
            custom_ids[cid] = True


# -- validation entry point -----------------------------------------------------------------


def validate(config: Mapping[str, Any], schema: SchemaChecker | None, rules: Rules) -> ErrorTree:
    """All of Kong's stages; an empty tree means the config is accepted."""
    return validate_items(config, schema, rules)[0]


def validate_items(
    config: Mapping[str, Any], schema: SchemaChecker | None, rules: Rules
) -> tuple[ErrorTree, list[Item]]:
    """:func:`validate`, also handing back the walked entities (for :func:`flat_entities`)."""
    tree = ErrorTree()
    if schema is not None:
        schema.check(config, tree)
    items = list(iter_items(config))
    check_rules(config, tree, rules, items)
    if tree:
        check_dangling_as_missing_pk(items, tree)
        return tree, items
    tree.ids_generated = True
    check_references_and_uniqueness(items, tree)
    return tree, items


def with_generated_ids(config: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``config`` where every entity has an id, as Kong's stage 2 leaves it."""
    copy: dict[str, Any] = json.loads(json.dumps(config))
    for item in iter_items(copy):
        ent = item.entity
        if isinstance(ent, dict) and not isinstance(ent.get("id"), str):
            ent["id"] = generated_id(item) or str(uuid.uuid4())
    return copy


def has_entities(config: Mapping[str, Any]) -> bool:
    return any(isinstance(v, list) and v for k, v in config.items() if not k.startswith("_"))


# -- rendering ------------------------------------------------------------------------------


class NullKeyError(Exception):
    """The unflattened error tree has an ``ngx.null`` key: Kong cannot encode it (500)."""


def to_json_tree(node: Any) -> Any:
    """``err_t`` as cjson encodes it: int-keyed tables become ``null``-padded arrays."""
    if isinstance(node, dict):
        if any(k == NULL_KEY for k in node):
            raise NullKeyError
        if node and all(isinstance(k, int) for k in node):
            out: list[Any] = [None] * max(node)
            for k, v in node.items():
                out[k - 1] = to_json_tree(v)
            return out
        return {str(k): to_json_tree(v) for k, v in node.items()}
    if isinstance(node, list):
        return [to_json_tree(v) for v in node]
    return node


_LUA_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def lua_pretty(node: Any) -> str:
    """Penlight 1.14 ``pretty.write(t, "")``: how Kong prints ``err_t`` in ``message``."""
    if isinstance(node, str):
        if "\n" in node:
            return f"[[{node}]]"
        return '"' + node.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(node, bool):
        return "true" if node else "false"
    if isinstance(node, (int, float)):
        return str(node)
    if node is None:
        return "nil"
    items: dict[Any, Any] = dict(enumerate(node, 1)) if isinstance(node, list) else dict(node)
    parts: list[str] = []
    n = 1
    while n in items:
        parts.append(lua_pretty(items[n]))
        n += 1
    others = [k for k in items if not (isinstance(k, int) and 1 <= k < n)]
    for k in sorted((k for k in others if not isinstance(k, int)), key=str):
        name = "userdata: NULL" if k == NULL_KEY else str(k)
        key = name if _LUA_IDENT.match(name) else f'["{name}"]'
        parts.append(f"{key}={lua_pretty(items[k])}")
    for k in sorted(k for k in others if isinstance(k, int)):
        parts.append(f"[{k}]={lua_pretty(items[k])}")
    return "{" + ",".join(parts) + "}"


def unflattened_body(tree: ErrorTree) -> dict[str, Any]:
    """Kong's 400 body without ``flatten_errors`` (raises :class:`NullKeyError` -> 500)."""
    fields = to_json_tree(tree.root)
    return {
        "code": 14,
        "name": "invalid declarative configuration",
        "message": "declarative config is invalid: " + lua_pretty(tree.root),
        "fields": fields,
    }


def flattened_body(tree: ErrorTree, config: Mapping[str, Any]) -> dict[str, Any]:
    """Kong's 400 body with ``flatten_errors``: entity errors drained into a list."""
    root = dict(tree.root)
    entries: list[dict[str, Any]] = []
    for etype in sorted(
        (k for k in root if isinstance(root[k], dict) and k in _entity_types(config)), reverse=True
    ):
        section = root.pop(etype)
        items = config.get(etype)
        if not isinstance(items, list):
            root[etype] = section  # no top-level array: left in `fields`, unflattened
            continue
        # keys that are not indexes (names, ids, ngx.null) cannot be resolved: dropped
        for key in sorted((k for k in section if isinstance(k, int)), reverse=True):
            if 1 <= key <= len(items) and isinstance(items[key - 1], Mapping):
                _drain(etype, items[key - 1], section[key], None, entries)
    return {
        "code": 14,
        "name": "invalid declarative configuration",
        "message": "declarative config is invalid: " + lua_pretty(root),
        "fields": to_json_tree(root),
        "flattened_errors": entries,
    }


def _entity_types(config: Mapping[str, Any]) -> set[str]:
    return {k for k, v in config.items() if not k.startswith("_") and isinstance(v, list)}


def _drain(
    etype: str,
    ent: Mapping[str, Any],
    err: Any,
    parent: tuple[str, Mapping[str, Any]] | None,
    out: list[dict[str, Any]],
) -> None:
    errors: list[dict[str, str]] = []
    if isinstance(err, str):
        errors.append({"type": "entity", "message": err})
    elif isinstance(err, dict):
        children = CHILDREN.get(etype, ())
        for key in sorted((k for k in err if k in children), reverse=True):
            sub_in = ent.get(key)
            sub_err = err[key]
            if isinstance(sub_in, list) and isinstance(sub_err, dict):
                for idx in sorted((k for k in sub_err if isinstance(k, int)), reverse=True):
                    if 1 <= idx <= len(sub_in) and isinstance(sub_in[idx - 1], Mapping):
                        _drain(key, sub_in[idx - 1], sub_err[idx], (etype, ent), out)
        for key in sorted((k for k in err if k not in children), key=str, reverse=True):
            val = err[key]
            if key == "@entity":
                for msg in val if isinstance(val, list) else [val]:
                    errors.append({"type": "entity", "message": str(msg)})
            else:
                _field_errors(str(key), val, errors)
    if not errors:
        return
    entry: dict[str, Any] = {"entity_type": etype[:-1] if etype.endswith("s") else etype}
    name = ent.get("name")
    if isinstance(name, str) and name:
        entry["entity_name"] = name
    if is_uuid(ent.get("id")):
        entry["entity_id"] = ent["id"]
    tags = ent.get("tags")
    if isinstance(tags, list) and all(isinstance(t, str) for t in tags):
        entry["entity_tags"] = list(tags)
    shown = {
        k: v for k, v in ent.items() if not (k in CHILDREN.get(etype, ()) and isinstance(v, list))
    }
    if parent is not None:
        ptype, pent = parent
        if is_uuid(pent.get("id")):
            shown[PARENT_FK[ptype]] = {"id": pent["id"]}
    entry["entity"] = shown
    entry["errors"] = errors
    out.append(entry)


def _field_errors(path: str, val: Any, out: list[dict[str, str]]) -> None:
    if isinstance(val, dict):
        for k in sorted(val, key=str, reverse=True):
            _field_errors(f"{path}.{k}", val[k], out)
    elif isinstance(val, list):
        for i in range(len(val), 0, -1):
            _field_errors(f"{path}.{i}", val[i - 1], out)
    elif val is not None:
        out.append({"type": "field", "field": path, "message": str(val)})


# -- what Kong stores -----------------------------------------------------------------------


def flat_entities(
    config: Mapping[str, Any], items: list[Item] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """The config as Kong stores it: one flat list per entity type, nested children hoisted
    with their parent's id as a foreign key, every entity with an id."""
    out: dict[str, list[dict[str, Any]]] = {}
    ids: dict[int, str] = {}  # id(Item) -> entity id, for the children's foreign keys
    for item in items if items is not None else iter_items(config):
        children = CHILDREN.get(item.etype, ())
        src = item.entity
        if children and any(isinstance(src.get(c), list) for c in children):
            ent = {k: v for k, v in src.items() if not (k in children and isinstance(v, list))}
        else:
            ent = dict(src)
        eid = src.get("id")
        if not isinstance(eid, str):
            eid = generated_id(item) or str(uuid.uuid4())
        ent["id"] = eid
        ids[id(item)] = eid
        if item.parent is not None:
            ent[PARENT_FK[item.parent.etype]] = ids[id(item.parent)]
        out.setdefault(item.etype, []).append(ent)
    return out


class KongValidator:
    """FakeKong's validation without the server: what Kong would answer to a config.

    ``check(config)`` returns ``None`` when Kong would load it, else the body of Kong's 400
    (flattened by default). Handy in property tests of a translator::

        kong = KongValidator()
        assert kong.check(result.config) is None

    With decK's schema when it is found (``schema_path``, ``$KIC_TRIO_KONG_SCHEMA``, or the
    cache ``python -m kic_trio.testing.controlplane assets`` fills) plus Kong's own rules;
    with Kong's own rules only when it is not (``schema_path`` is then ``None``). A
    ``schema_path`` given but missing is an error, not a silent downgrade; so is
    ``validate_schema=True`` without a schema, and ``validate_schema=False`` skips it.
    """

    def __init__(
        self,
        *,
        schema_path: str | Path | None = None,
        validate_schema: bool | None = None,
        enabled_plugins: frozenset[str] | None = BUNDLED_PLUGINS,
        reject_tags: frozenset[str] = frozenset(),
        reject_entities: tuple[tuple[str, Mapping[str, Any]], ...] = (),
        router_flavor: str = "traditional_compatible",
    ) -> None:
        path = None if validate_schema is False else find_schema(schema_path)
        if path is None and validate_schema:
            raise FileNotFoundError(
                "Kong's declarative JSON schema was not found: run `python -m "
                "kic_trio.testing.controlplane assets` or pass schema_path="
            )
        if path is not None and not path.is_file():
            raise FileNotFoundError(f"Kong's declarative JSON schema not found at {path}")
        #: The decK schema file in use (``None``: only Kong's own rules are checked).
        self.schema_path = path
        self.schema = SchemaChecker(path) if path is not None else None
        self.rules = Rules(
            enabled_plugins=enabled_plugins,
            reject_tags=reject_tags,
            reject_entities=reject_entities,
            router_flavor=router_flavor,
        )

    def check(self, config: Mapping[str, Any], *, flatten: bool = True) -> dict[str, Any] | None:
        tree = validate(config, self.schema, self.rules)
        if not tree:
            return None
        if flatten:
            return flattened_body(
                tree, with_generated_ids(config) if tree.ids_generated else config
            )
        try:
            return unflattened_body(tree)
        except NullKeyError:
            return {"message": "An unexpected error occurred"}
