"""Fail closed on plugins: what a failing plugin protects is left out with it.

A route, Kong service, consumer or consumer group that references a plugin which makes no
instance for it (the plugin does not exist, its configuration cannot be built, it cannot be
attached there, or its instance lost Kong's one-plugin-per-scope arbitration) must not be
served without it: that would give it less protection than its author asked for (a consumer
without its rate-limiting plugin has *more* access, so it is left out too).

Why an assembly-time filter and not a re-run of the units: plugin units are fed by the units
that reference them (routes come from Kong service units), so re-running a service unit because
one of its plugins failed would change the plugin's relations, which would change whether it
failed: a cycle, and with it an ``incremental != full`` risk. Instead the units compute and
report their entities and relations exactly as before (a blocked route still *references* its
plugin, so the plugin's own Failure stays), and :class:`BlockingFragments` keeps, per unit, the
entities as built ("raw") and which entities they mention. The set of blocked entities is
derived from the plugin units only; when it changes, only the units that mention a changed
entity are filtered again. The result depends only on (raw entries, blocked set), which are
the same whichever way they were reached, so ``incremental == full`` holds by construction.

Filtering removes, with a blocked entity, everything that would otherwise dangle: a blocked
route is taken out of its service (a service left with no route goes with its upstream, as a
service with no routes does in the translator), a blocked service takes its routes and
upstream, a blocked consumer takes its group memberships, a blocked group its memberships, and
any plugin instance attached to a blocked entity is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from ._fragments import Fragments

#: A Kong entity a plugin can be attached to: (``"route"``|``"service"``|``"consumer"``|
#: ``"consumer_group"``, its name/identifier as plugin instances reference it).
Ent = tuple[str, str]

_PLUGIN_FIELDS = ("service", "route", "consumer", "consumer_group")


def _mentions(entries: list[tuple[str, Any, Any]]) -> frozenset[Ent]:
    out: set[Ent] = set()
    for list_name, key, e in entries:
        if list_name == "services":
            out.add(("service", key))
            for r in e.get("routes") or ():
                out.add(("route", r.get("name")))
        elif list_name == "plugins":
            for f in _PLUGIN_FIELDS:
                v = e.get(f)
                if v is not None:
                    out.add((f, v))
        elif list_name == "consumers":
            out.add(("consumer", e.get("username") or e.get("custom_id")))
        elif list_name == "consumer_group_consumers":
            out.add(("consumer", e["consumer"]))
            out.add(("consumer_group", e["consumer_group"]))
        elif list_name == "consumer_groups":
            out.add(("consumer_group", e.get("name")))
    return frozenset(out)


def _service_ents(entries: list[tuple[str, Any, Any]]) -> frozenset[Ent]:
    """The services and routes ``entries`` hold."""
    out: set[Ent] = set()
    for list_name, key, e in entries:
        if list_name == "services":
            out.add(("service", key))
            out.update(("route", r.get("name")) for r in e.get("routes") or ())
    return frozenset(out)


def _filter(
    entries: list[tuple[str, Any, Any]], blocked: dict[Ent, Any], gone: dict[Ent, Any]
) -> list[tuple[str, Any, Any]]:
    """``entries`` without what the blocked entities take down (see the module docstring).

    ``gone`` holds the services and routes left out with a blocked one (a service whose routes
    were all blocked, the routes of a blocked service): their plugins must go too, but they are
    not blocked themselves (nothing failed for them).
    """
    services: dict[Any, Any] = {}
    for list_name, key, e in entries:
        if list_name != "services":
            continue
        if ("service", key) in blocked:
            services[key] = None
            continue
        routes = e.get("routes") or []
        kept = [r for r in routes if ("route", r.get("name")) not in blocked]
        if len(kept) != len(routes):
            services[key] = {**e, "routes": kept} if kept else None
    dropped_service = any(v is None for v in services.values())
    out: list[tuple[str, Any, Any]] = []
    for list_name, key, e in entries:
        if list_name == "services" and key in services:
            if services[key] is None:
                continue
            e = services[key]
        elif list_name == "upstreams":
            # a Kong service unit holds one service and its upstream
            if dropped_service:
                continue
        elif list_name == "plugins":
            if any(
                (f, e[f]) in blocked or (f, e[f]) in gone
                for f in _PLUGIN_FIELDS
                if e.get(f) is not None
            ):
                continue
        elif list_name == "consumers":
            if ("consumer", e.get("username") or e.get("custom_id")) in blocked:
                continue
        elif list_name == "consumer_group_consumers":
            if ("consumer", e["consumer"]) in blocked or (
                "consumer_group",
                e["consumer_group"],
            ) in blocked:
                continue
        elif list_name == "consumer_groups" and ("consumer_group", e.get("name")) in blocked:
            continue
        out.append((list_name, key, e))
    return out


class BlockingFragments(Fragments):
    """:class:`Fragments` that leave out what a blocked entity takes down.

    ``blocked`` maps each blocked entity to why (kept by the translator). Nothing extra is
    kept for a unit whose entries went out unfiltered: its raw entries are its serialised
    fragments, parsed back only when a block reaches it. Filtered units keep their raw
    entries (few: only those next to a failing plugin). The index entity -> units mentioning
    it is built on the first block and maintained from then on, so a configuration where no
    plugin ever failed pays (almost) nothing: the translator benchmark must not regress.
    """

    def __init__(self) -> None:
        super().__init__()
        self.blocked: dict[Ent, Any] = {}
        self._gone: dict[Ent, Any] = {}
        self._gone_of: dict[Any, frozenset[Ent]] = {}
        self._raw: dict[Any, list[tuple[str, Any, Any]]] = {}
        self._mentions: dict[Any, frozenset[Ent]] = {}
        self._mentioned_by: dict[Ent, set[Any]] = {}
        self._indexed = False

    def replace(self, unit: Any, entries: Iterable[tuple[str, Any, Any]]) -> None:
        if not self._indexed:
            super().replace(unit, entries)
            return
        raw = entries if isinstance(entries, list) else list(entries)
        self._index(unit, raw)
        self._put(unit, raw)

    def _raw_of(self, unit: Any) -> list[tuple[str, Any, Any]]:
        raw = self._raw.get(unit)
        if raw is not None:
            return raw
        lists = self.lists
        return [
            (list_name, key, orjson.loads(lists[list_name].data(key)))
            for list_name, key in self._owned.get(unit, ())
        ]

    def _index(self, unit: Any, raw: list[tuple[str, Any, Any]]) -> None:
        mentions = _mentions(raw)
        old = self._mentions.get(unit, frozenset())
        if old == mentions:
            return
        for ent in old - mentions:
            s = self._mentioned_by.get(ent)
            if s is not None:
                s.discard(unit)
                if not s:
                    del self._mentioned_by[ent]
        for ent in mentions - old:
            self._mentioned_by.setdefault(ent, set()).add(unit)
        if mentions:
            self._mentions[unit] = mentions
        else:
            self._mentions.pop(unit, None)

    def _put(self, unit: Any, raw: list[tuple[str, Any, Any]]) -> None:
        blocked, gone = self.blocked, self._gone
        mentions = self._mentions.get(unit, frozenset())
        now_gone: frozenset[Ent] = frozenset()
        if (blocked and not mentions.isdisjoint(blocked)) or (
            gone and not mentions.isdisjoint(gone)
        ):
            entries = _filter(raw, blocked, gone)
            now_gone = _service_ents(raw) - _service_ents(entries)
            self._raw[unit] = raw
        else:
            entries = raw
            self._raw.pop(unit, None)
        super().replace(unit, entries)
        was_gone = self._gone_of.get(unit, frozenset())
        if was_gone != now_gone:
            for ent in was_gone - now_gone:
                gone.pop(ent, None)
            for ent in now_gone - was_gone:
                gone[ent] = True
            if now_gone:
                self._gone_of[unit] = now_gone
            else:
                self._gone_of.pop(unit, None)
            # the plugins of a service that went (or came back): they never make one go
            self.refilter(was_gone ^ now_gone)

    def refilter(self, changed: Iterable[Ent]) -> None:
        """Filter again the units mentioning an entity whose blocked state changed."""
        if not self._indexed:
            # the first block: index what every unit mentions (parsed back from its fragments)
            self._indexed = True
            for unit in list(self._owned):
                self._index(unit, self._raw_of(unit))
        units: set[Any] = set()
        for ent in changed:
            units.update(self._mentioned_by.get(ent, ()))
        for unit in units:
            self._put(unit, self._raw_of(unit))
