"""The decision: would this object, added to the controller's view, make the translator fail?

Pure (no trio, httpx or kr8s): a store snapshot, a raw candidate object and the Secrets it
needs in, the list of *new* failures out. One code path with the controller: the candidate is
parsed by :func:`kic_trio.models.parse` and translated by the same :class:`Translator` the
controller uses, on a "what if" snapshot (:meth:`Snapshot.with_objects`). Only failures that the
candidate brings are refused — on the candidate itself, or on an object it breaks (a credential
Secret that breaks a KongConsumer) — so an unrelated broken object elsewhere in the cluster does
not block every write.

Cost: the checker keeps one incremental :class:`Translator` at the controller's view. A request
translates the candidate's change and back (both incremental); only when the store moved since
the previous request is there one full translation. Calls are serialised by a thread lock, so
the async layer can run :meth:`AdmissionChecker.check` in a worker thread and abandon it on a
timeout without two threads sharing the translator.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs
import immutables

from ..models import (
    Failure,
    KongClusterPlugin,
    KongConsumer,
    KongPlugin,
    Model,
    ObjectRef,
    Secret,
    names_other_class,
    parse,
)
from ..store import Snapshot
from ..translator import ROUTER_FLAVORS, Translator, TranslatorOptions

# The consumer translator's own credential code, for a credential Secret that no consumer
# references yet (upstream issue 4885: such Secrets were let through, then broke a consumer).
from ..translator._consumers import credential_type, translate_consumer

# The translator's own plugin-configuration builder: the webhook checks a KongPlugin that no
# object references yet (the translator only builds referenced plugins) with the same code.
from ..translator._plugins import PluginConfigError, plugin_config

#: (API group, kind) -> the kind name the store and translator use. Upstream's webhook
#: validates these kinds (and Gateway API kinds, which kic-trio does not translate yet).
VALIDATED_KINDS: Mapping[tuple[str, str], str] = {
    ("configuration.konghq.com", "KongPlugin"): "KongPlugin",
    ("configuration.konghq.com", "KongClusterPlugin"): "KongClusterPlugin",
    ("configuration.konghq.com", "KongConsumer"): "KongConsumer",
    ("configuration.konghq.com", "KongConsumerGroup"): "KongConsumerGroup",
    ("", "Secret"): "Secret",
    ("", "Service"): "Service",
    ("networking.k8s.io", "Ingress"): "Ingress",
}

#: Longest message put into an AdmissionReview answer (kubectl shows it whole).
MAX_MESSAGE = 2000
#: At most this many failures are spelled out in one message.
MAX_LISTED = 5

_FailureKey = tuple[str, str, str, str, str]

#: Kinds whose references may be applied in any order (``kubectl apply -f dir/`` creates an
#: Ingress before its Service or KongPlugin): a reference that does not exist *yet* is not
#: refused for them, as upstream does not; the controller still reports it (Warning Event).
#: A KongPlugin's or KongConsumer's missing Secret is refused, as upstream does.
_ORDER_FREE = frozenset({"Ingress", "Service"})
_MISSING = (" not found", "does not exist")


def _missing_reference(f: Failure) -> bool:
    return any(m in f.reason for m in _MISSING)


def _key(f: Failure) -> _FailureKey:
    # not the uid: a candidate on CREATE has none yet, the stored one has
    return (f.obj.kind, f.obj.namespace, f.obj.name, f.field, f.reason)


@attrs.frozen
class Verdict:
    """The answer for one candidate: ``failures`` empty means allowed."""

    failures: tuple[Failure, ...] = ()
    candidate: ObjectRef | None = None

    @property
    def allowed(self) -> bool:
        return not self.failures

    @property
    def message(self) -> str:
        """What the API server shows the user: where, and why, per failure (bounded)."""
        if not self.failures:
            return ""
        parts = []
        for f in self.failures[:MAX_LISTED]:
            where = f" (field {f.field})" if f.field else ""
            own = self.candidate is not None and (f.obj.kind, f.obj.key) == (
                self.candidate.kind,
                self.candidate.key,
            )
            who = "" if own else f"it would break {f.obj}: "
            parts.append(f"{who}{f.reason}{where}")
        more = len(self.failures) - MAX_LISTED
        if more > 0:
            parts.append(f"and {more} more")
        what = str(self.candidate) if self.candidate is not None else "the object"
        text = f"{what} would not be configured in Kong: " + "; ".join(parts)
        return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def candidate_model(kind: str, raw: Mapping[str, Any]) -> Model:
    """The candidate parsed exactly as the watch layer parses it (never raises)."""
    return parse(kind, dict(raw))


class AdmissionChecker:
    """Answers "what would the translator say?" for candidates, against a moving store view.

    Thread-safe: one call at a time (a lock); the translator inside is never shared.
    """

    def __init__(
        self,
        options: TranslatorOptions,
        router_flavor: Callable[[], str | None] = lambda: None,
    ) -> None:
        """``router_flavor``: the flavor the controller learnt from Kong (``None`` until then).

        The webhook must judge as the controller translates: some annotations are refused in
        one flavor and skipped in the other (``konghq.com/headers.host``). It starts before
        Kong has answered, so the flavor is asked for at every check, not fixed at start.
        """
        self._translator = Translator(options)
        self._router_flavor = router_flavor
        self._lock = threading.Lock()
        self._base: Snapshot | None = None
        self._base_maps: dict[str, immutables.Map[tuple[str, str], Any]] = {}
        self._base_failures: frozenset[_FailureKey] = frozenset()

    def check(
        self, snapshot: Snapshot, kind: str, raw: Mapping[str, Any], secrets: Sequence[Model] = ()
    ) -> Verdict:
        """New failures the candidate ``raw`` (of store ``kind``) brings to ``snapshot``.

        ``secrets``: Secrets the candidate references that the store does not hold (the store
        keeps only referenced Secrets, so a new KongConsumer's credentials are fetched by the
        caller). A hostile object becomes failures, never an exception.
        """
        with self._lock:
            self._follow_router_flavor()
            model = candidate_model(kind, raw)
            if names_other_class(kind, raw, self._translator.options.ingress_class):
                return Verdict((), model.ref)  # another controller's: the watch layer drops it
            try:
                return self._check(snapshot, kind, model, secrets)
            except Exception as exc:  # a bug of ours must not decide for Kong: say what failed
                self._base = None
                return Verdict(
                    (
                        Failure(
                            model.ref,
                            "",
                            f"could not be validated ({type(exc).__name__}); check the "
                            "controller's logs",
                        ),
                    ),
                    model.ref,
                )

    def _follow_router_flavor(self) -> None:
        flavor = self._router_flavor()
        if flavor is None:
            return
        # as the translator task: only "expressions" changes translation
        known = flavor if flavor in ROUTER_FLAVORS else "traditional_compatible"
        if known != self._translator.options.router_flavor:
            self._translator = Translator(
                attrs.evolve(self._translator.options, router_flavor=known)
            )
            self._base = None  # the next check translates the whole view for this flavor

    def _at(self, snapshot: Snapshot) -> frozenset[_FailureKey]:
        """Bring the translator to ``snapshot``, incrementally from the previous view.

        The store replaces a model on every change and keeps unchanged ones, and a kind's map
        is the same object while the kind is unchanged: the difference between two views is
        found by identity, per changed kind, in a pass over that kind's map (microseconds per
        thousand objects) instead of a full translation.
        """
        maps = {k: snapshot.map(k) for k in snapshot.kinds()}
        if self._base is None:
            result = self._translator.translate(snapshot)
        else:
            changed = _changed_between(self._base_maps, maps)
            if not changed:
                self._base, self._base_maps = snapshot, maps
                return self._base_failures
            result = self._translator.translate(snapshot, changed)
        self._base_failures = frozenset(_key(f) for f in result.failures)
        self._base, self._base_maps = snapshot, maps
        return self._base_failures

    def _check(
        self, snapshot: Snapshot, kind: str, model: Model, secrets: Sequence[Model]
    ) -> Verdict:
        before = self._at(snapshot)
        added: list[tuple[str, Model]] = [("Secret", s) for s in secrets]
        added.append((kind, model))
        after_snap = snapshot.with_objects(added)
        changed = {(k, m.ref.namespace, m.ref.name) for k, m in added}
        result = self._translator.translate(after_snap, changed)
        # back to the controller's view, incrementally, for the next request
        self._translator.translate(snapshot, changed)
        ref = model.ref
        found: dict[_FailureKey, Failure] = {}
        for f in result.failures:
            k = _key(f)
            own = (f.obj.kind, f.obj.key) == (ref.kind, ref.key)
            # the candidate's own failures always count (an update that leaves it broken is
            # refused too); another object's only when the candidate brings them
            if (own or k not in before) and not (kind in _ORDER_FREE and _missing_reference(f)):
                found.setdefault(k, f)
        for f in _unreferenced_plugin_failures(model, after_snap):
            found.setdefault(_key(f), f)
        for f in _credential_failures(model, after_snap):
            found.setdefault(_key(f), f)
        return Verdict(tuple(found.values()), ref)


def _unreferenced_plugin_failures(model: Model, snap: Snapshot) -> Iterable[Failure]:
    """The translator builds a plugin's config only once something references it; the webhook
    checks it at once, with the translator's builder and message."""
    if not isinstance(model, KongPlugin | KongClusterPlugin):
        return ()
    out = list(model.failures)
    if not model.plugin:
        if not any(f.field == "plugin" for f in out):
            out.append(Failure(model.ref, "plugin", "the plugin name must not be empty"))
        return out
    try:
        plugin_config(model, snap, set())
    except PluginConfigError as exc:
        out.append(Failure(model.ref, "", f"could not build the plugin configuration: {exc}"))
    return out


def _changed_between(
    old: Mapping[str, immutables.Map[tuple[str, str], Any]],
    new: Mapping[str, immutables.Map[tuple[str, str], Any]],
) -> set[tuple[str, str, str]]:
    """``(kind, namespace, name)`` of every object that differs between two store views."""
    empty: immutables.Map[tuple[str, str], Any] = immutables.Map()
    out: set[tuple[str, str, str]] = set()
    for kind in old.keys() | new.keys():
        a, b = old.get(kind, empty), new.get(kind, empty)
        if a is b:
            continue
        for key, model in b.items():
            if a.get(key) is not model:
                out.add((kind, *key))
        for key in a:
            if key not in b:
                out.add((kind, *key))
    return out


def _credential_failures(model: Model, snap: Snapshot) -> Iterable[Failure]:
    """A credential Secret (``konghq.com/credential`` label or ``kongCredType``) checked as a
    consumer would use it, whether or not a consumer references it yet."""
    if not isinstance(model, Secret) or not credential_type(model):
        return ()
    ref = model.ref
    probe = KongConsumer(
        ref=ObjectRef(
            "KongConsumer", ref.namespace, "admission-probe", group="configuration.konghq.com"
        ),
        username="admission-probe",
        credentials=(ref.name,),
    )
    out = translate_consumer(probe, snap, False)
    return [Failure(ref, "", f.reason) for f in out.failures]
