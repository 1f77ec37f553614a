"""KongConsumer -> Kong consumer with credentials from labelled Secrets; KongConsumerGroup.

Rules: kic-behaviour.md §3.14 (upstream ``kongstate.go: FillConsumersAndCredentials``,
``credentials.go``, ``credentials_conflicts.go``). Credential values are Secret data: they go into
the config (that is their purpose) but never into a failure reason.
"""

from __future__ import annotations

from typing import Any

import attrs

from ..models import CREDENTIAL_LABEL, Failure, KongConsumer, KongConsumerGroup, ObjectRef, Secret
from ._util import entity_id, go_bool, go_int, plugin_names, tags_for

Dep = tuple[str, str, str]

#: credential type (and aliases) -> (output list, known fields, required field)
_CRED_TYPES: dict[str, tuple[str, tuple[str, ...], str]] = {
    "key-auth": ("keyauth_credentials", ("key", "ttl"), "key"),
    "basic-auth": ("basicauth_credentials", ("username", "password"), "username"),
    "hmac-auth": ("hmacauth_credentials", ("username", "secret"), "username"),
    "jwt": ("jwt_secrets", ("algorithm", "key", "rsa_public_key", "secret"), "key"),
    "acl": ("acls", ("group",), "group"),
    "oauth2": (
        "oauth2_credentials",
        ("name", "client_id", "client_secret", "redirect_uris", "hash_secret", "client_type"),
        "client_id",
    ),
    "mtls-auth": ("mtls_auth_credentials", ("subject_name",), "subject_name"),
}
_ALIASES = {
    "keyauth_credential": "key-auth",
    "basicauth_credential": "basic-auth",
    "hmacauth_credential": "hmac-auth",
    "jwt_secret": "jwt",
}
#: credential type -> field whose value must be unique across consumers
_UNIQUE = {
    "key-auth": ("key", "key-auth on 'key'"),
    "hmac-auth": ("username", "hmac-auth on 'username'"),
    "jwt": ("key", "jwt-auth on 'key'"),
    "basic-auth": ("username", "basic-auth on 'username'"),
    "oauth2": ("client_id", "oauth2-credentials on 'client_id'"),
}


@attrs.frozen(slots=True, eq=False)
class ConsumerOut:
    ref: ObjectRef
    #: ``creationTimestamp``: the oldest consumer keeps a duplicated username.
    created: str
    #: The Kong consumer, ``None`` when it cannot be translated.
    consumer: dict[str, Any] | None
    #: ``username`` or ``custom_id``: how plugins and groups refer to it.
    identifier: str
    groups: tuple[str, ...]
    plugins: tuple[tuple[str, str], ...]
    #: ``(index name, unique value, Secret ref)`` per credential, for conflict detection.
    unique_keys: tuple[tuple[str, str, ObjectRef], ...]
    failures: tuple[Failure, ...]
    configured: tuple[ObjectRef, ...]
    deps: frozenset[Dep]


def credential_type(secret: Secret) -> str:
    label = secret.labels.get(CREDENTIAL_LABEL)
    if label:
        return label
    legacy = secret.text("kongCredType")
    return legacy or ""


def _credential(kind: str, secret: Secret, fail: Any) -> dict[str, Any] | None:
    _, fields, required = _CRED_TYPES[kind]
    cred: dict[str, Any] = {}
    for key in fields:
        raw = secret.data.get(key)
        if raw is None:
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            # Kong takes text; a replaced byte would silently change a key or a password
            fail(f"failed to provision credential: data.{key} is not valid UTF-8")
            return None
        if key == "redirect_uris":
            cred[key] = text.split(",")
        elif key == "hash_secret":
            b = go_bool(text)
            if b is None:
                fail("Failed to parse hash_secret to bool. defaulting to false")
                b = False
            cred[key] = b
        elif key == "ttl":
            n = go_int(text)
            if n is None:
                fail("Failed to parse ttl to int, skipfilling the field")
            else:
                cred[key] = n
        else:
            cred[key] = text
    if kind == "jwt" and not cred.get("algorithm"):
        cred["algorithm"] = "HS256"
    if required not in cred:
        fail(f"failed to provision credential: {kind} is invalid: no {required}")
        return None
    if kind == "basic-auth" and "password" not in cred:
        # upstream only checks the username; Kong then rejects the whole config (schema)
        fail("failed to provision credential: basic-auth is invalid: no password")
        return None
    if kind == "oauth2" and "name" not in cred:
        fail("failed to provision credential: oauth2 is invalid: no name")
        return None
    cred["tags"] = tags_for(secret)
    return cred


def translate_consumer(consumer: KongConsumer, snap: Any, fill_ids: bool) -> ConsumerOut:
    ref = consumer.ref
    ns = ref.namespace
    failures: list[Failure] = []
    deps: set[Dep] = set()
    if not consumer.username and not consumer.custom_id:
        return ConsumerOut(
            ref,
            consumer.created,
            None,
            "",
            (),
            (),
            (),
            (Failure(ref, "", "no username or custom_id specified"),),
            (),
            frozenset(),
        )
    out: dict[str, Any] = {"tags": tags_for(consumer)}
    if consumer.username:
        out["username"] = consumer.username
        if fill_ids:
            out["id"] = entity_id("consumers", consumer.username)
    if consumer.custom_id:
        out["custom_id"] = consumer.custom_id
    groups = []
    for i, name in enumerate(consumer.consumer_groups):
        deps.add(("KongConsumerGroup", ns, name))
        if snap.get("KongConsumerGroup", ns, name) is None:
            failures.append(
                Failure(
                    ref,
                    f"consumerGroups[{i}]",
                    f'nonexistent consumer group: "KongConsumerGroup {ns}/{name} not found"',
                )
            )
            continue
        groups.append(name)
    unique: list[tuple[str, str, ObjectRef]] = []
    configured: list[ObjectRef] = [ref]
    for i, name in enumerate(consumer.credentials):
        field = f"credentials[{i}]"

        def fail(msg: str, name: str = name, field: str = field) -> None:
            failures.append(Failure(ref, field, f"credential {name!r} failure: {msg}"))

        deps.add(("Secret", ns, name))
        secret: Secret | None = snap.get("Secret", ns, name)
        if secret is None:
            fail(f"Failed to fetch secret: Secret {ns}/{name} not found")
            continue
        kind = credential_type(secret)
        kind = _ALIASES.get(kind, kind)
        if kind not in _CRED_TYPES:
            fail(f"failed to provision credential: unsupported credential type: {kind!r}")
            continue
        cred = _credential(kind, secret, fail)
        if cred is None:
            continue
        out.setdefault(_CRED_TYPES[kind][0], []).append(cred)
        configured.append(secret.ref)
        if kind in _UNIQUE:
            key, index = _UNIQUE[kind]
            unique.append((index, str(cred[key]), secret.ref))
    return ConsumerOut(
        ref=ref,
        created=consumer.created,
        consumer=out,
        identifier=consumer.username or consumer.custom_id,
        groups=tuple(groups),
        plugins=tuple(plugin_names(consumer)),
        unique_keys=tuple(unique),
        failures=tuple(failures),
        configured=tuple(configured),
        deps=frozenset(deps),
    )


def translate_consumer_group(group: KongConsumerGroup, fill_ids: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"name": group.ref.name, "tags": tags_for(group)}
    if fill_ids:
        out["id"] = entity_id("consumergroups", group.ref.name)
    return out
