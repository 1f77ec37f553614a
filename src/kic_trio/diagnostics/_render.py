"""The read-only HTML page: per Kubernetes object, its Kong entities and failures; per
gateway, its last push.

Plain server-rendered HTML, no script. Every piece of text on it goes through
:func:`html.escape` — object names, annotations, Kong's messages are tenant input — and the
server sends a ``Content-Security-Policy`` that forbids scripts anyway. Entities are named
(type and name or id), never shown with their content, so no Secret value can reach the page;
config contents are only on the JSON endpoints, sanitized unless ``--dump-sensitive-config``.
"""

from __future__ import annotations

import datetime
import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import orjson

from ..models import Failure
from ._collector import PushRecord

ObjKey = tuple[str, str, str]

#: entity list -> (singular type shown, field that names an entity)
_TYPES: Mapping[str, tuple[str, str | None]] = {
    "services": ("service", "name"),
    "routes": ("route", "name"),
    "plugins": ("plugin", "name"),
    "upstreams": ("upstream", "name"),
    "targets": ("target", "target"),
    "consumers": ("consumer", "username"),
    "consumer_groups": ("consumer_group", "name"),
    "certificates": ("certificate", None),
    "ca_certificates": ("ca_certificate", None),
    "snis": ("sni", "name"),
    "vaults": ("vault", "prefix"),
    # credentials: named by id only (their identifying fields may be secret)
    "keyauth_credentials": ("keyauth_credential", None),
    "basicauth_credentials": ("basicauth_credential", None),
    "hmacauth_credentials": ("hmacauth_credential", None),
    "jwt_secrets": ("jwt_secret", None),
    "oauth2_credentials": ("oauth2_credential", None),
    "acls": ("acl", None),
    "mtls_auth_credentials": ("mtls_auth_credential", None),
}
_MAX_NESTING = 6


@attrs.define
class ObjectView:
    """One Kubernetes object on the page."""

    entities: list[tuple[str, str]] = attrs.field(factory=list)
    failures: list[tuple[str, str, str]] = attrs.field(factory=list)  # (source, field, reason)


def _key_of(tags: object) -> ObjKey | None:
    if not isinstance(tags, list):
        return None
    kind = ns = name = None
    for t in tags:
        if isinstance(t, str):
            if t.startswith("k8s-kind:"):
                kind = t[9:]
            elif t.startswith("k8s-namespace:"):
                ns = t[14:]
            elif t.startswith("k8s-name:"):
                name = t[9:]
    if kind is None or name is None:
        return None
    return (kind, ns or "", name)


def _attached_to(plugin: dict[str, Any]) -> str:
    """What a top-level plugin is attached to (``route x``), ``""`` for a global one."""
    parts = []
    for field in ("service", "route", "consumer", "consumer_group"):
        ref = plugin.get(field)
        if isinstance(ref, dict):
            ref = ref.get("name") or ref.get("id") or ref.get("username")
        if isinstance(ref, str) and ref:
            parts.append(f"{field} {ref}")
    return ", ".join(parts)


def entities_by_object(body: bytes) -> dict[ObjKey, list[tuple[str, str]]]:
    """``(kind, namespace, name)`` -> the ``(entity type, name or id)`` it produced, by tags."""
    out: dict[ObjKey, list[tuple[str, str]]] = {}
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return out
    if not isinstance(doc, dict):
        return out
    # (entity, depth, what it is: "route a.web.80") -- a nested plugin is named with its parent
    stack: list[tuple[dict[str, Any], int, str]] = [(doc, 0, "")]
    while stack:
        parent, depth, where = stack.pop()
        for plural, items in parent.items():
            kind = _TYPES.get(plural)
            if kind is None or not isinstance(items, list):
                continue
            singular, name_field = kind
            for ent in items:
                if not isinstance(ent, dict):
                    continue
                label = ent.get(name_field) if name_field else None
                if not isinstance(label, str) or not label:
                    label = str(ent.get("id") or "(no id)")
                key = _key_of(ent.get("tags"))
                if key is not None:
                    shown = label
                    if singular == "plugin":
                        on = where or _attached_to(ent)
                        shown = f"{label} on {on}" if on else f"{label} (global)"
                    out.setdefault(key, []).append((singular, shown))
                if depth < _MAX_NESTING:
                    stack.append((ent, depth + 1, f"{singular} {label}"))
    return out


def build_objects(
    body: bytes | None,
    translation_failures: Iterable[Failure],
    pushes: Iterable[PushRecord],
) -> dict[ObjKey, ObjectView]:
    """Every object that produced an entity or has a failure, with both."""
    objects: dict[ObjKey, ObjectView] = {}
    if body is not None:
        for key, ents in entities_by_object(body).items():
            objects[key] = ObjectView(entities=sorted(ents))
    for f in translation_failures:
        key = (f.obj.kind, f.obj.namespace, f.obj.name)
        objects.setdefault(key, ObjectView()).failures.append(("translation", f.field, f.reason))
    for rec in pushes:
        seen: set[tuple[ObjKey, str]] = set()
        for f in rec.failures:
            key = (f.obj.kind, f.obj.namespace, f.obj.name)
            seen.add((key, f.reason))
            objects.setdefault(key, ObjectView()).failures.append(
                (f"Kong ({rec.gateway})", f.field, f.reason)
            )
        for ref, why in rec.left_out.items():
            key = (ref.kind, ref.namespace, ref.name)
            if (key, why) not in seen:
                objects.setdefault(key, ObjectView()).failures.append(
                    (f"fallback ({rec.gateway})", "", why)
                )
    return dict(sorted(objects.items()))


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _when(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


_STYLE = (
    "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin-bottom:1.5em}"
    "th,td{border:1px solid #bbb;padding:.3em .6em;text-align:left;vertical-align:top}"
    "th{background:#eee}.fail{color:#a00}.ok{color:#070}code{font-size:.95em}"
)


def render_page(
    *,
    objects: Mapping[ObjKey, ObjectView],
    pushes: Sequence[PushRecord],
    translation_sha: str | None,
    translation_at: float | None,
    sensitive: bool,
) -> bytes:
    """The whole page as UTF-8 bytes. Everything interpolated is escaped."""
    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>kic-trio diagnostics</title>',
        f"<style>{_STYLE}</style></head><body>",
        "<h1>kic-trio diagnostics</h1>",
        '<p id="dumps">Configuration dumps: <a href="/debug/config/successful">successful</a>, '
        '<a href="/debug/config/failed">failed</a>, <a href="/debug/config/fallback">fallback</a>, '
        '<a href="/debug/config/problems">problems</a>, <a href="/debug/config/raw-error">raw-error</a>. '
        + (
            "<strong>The JSON dumps include Secret values (--dump-sensitive-config).</strong>"
            if sensitive
            else "Secret values are redacted."
        )
        + "</p>",
    ]
    if translation_sha is not None and translation_at is not None:
        out.append(
            f'<p id="translation">Newest translation: <code>{_e(translation_sha[:12])}</code> '
            f"at {_e(_when(translation_at))}</p>"
        )
    out.append(
        '<h2>Gateways</h2><table id="pushes"><thead><tr><th>gateway</th><th>last push</th>'
        "<th>config hash</th><th>outcome</th><th>HTTP</th><th>size</th><th>message</th>"
        "</tr></thead><tbody>"
    )
    if not pushes:
        out.append('<tr><td colspan="7">no push yet</td></tr>')
    for rec in pushes:
        cls = "ok" if rec.outcome in ("applied", "fallback") else "fail"
        out.append(
            f'<tr class="push" data-gateway="{_e(rec.gateway)}"><td>{_e(rec.gateway)}</td>'
            f"<td>{_e(_when(rec.at))}</td><td><code>{_e(rec.sha[:12])}</code></td>"
            f'<td class="{cls} outcome">{_e(rec.outcome)}</td>'
            f"<td>{_e(rec.status if rec.status is not None else '-')}</td>"
            f"<td>{_e(rec.size)} bytes</td><td>{_e(rec.message)}</td></tr>"
        )
    out.append("</tbody></table>")
    out.append(
        '<h2>Kubernetes objects</h2><table id="objects"><thead><tr><th>kind</th>'
        "<th>namespace</th><th>name</th><th>Kong entities</th><th>failures</th></tr>"
        "</thead><tbody>"
    )
    if not objects:
        out.append('<tr><td colspan="5">no object yet</td></tr>')
    for (kind, ns, name), view in objects.items():
        ents = "".join(
            f'<li class="entity">{_e(t)}: {_e(label)}</li>' for t, label in view.entities
        )
        fails = "".join(
            f'<li class="failure">{_e(src)}: {_e(field) + ": " if field else ""}{_e(reason)}</li>'
            for src, field, reason in view.failures
        )
        out.append(
            f'<tr class="object" data-kind="{_e(kind)}" data-namespace="{_e(ns)}" '
            f'data-name="{_e(name)}"><td>{_e(kind)}</td><td>{_e(ns)}</td><td>{_e(name)}</td>'
            f'<td><ul>{ents}</ul></td><td class="fail"><ul>{fails}</ul></td></tr>'
        )
    out.append("</tbody></table></body></html>")
    return "\n".join(out).encode("utf-8")
