"""FakeKong's copy of Kong's rules and the controller's copies agree (they had drifted).

FakeKong stands in for Kong, so it keeps its own tables rather than importing the controller's
(a shared mistake would then pass every test). Where both encode the same Kong rule, they must
be equal; where FakeKong checks less than the controller assumes, the gap is listed here.
"""

from __future__ import annotations

from kic_trio.kong import _fallback
from kic_trio.models import ANNOTATION_CLASSED_KINDS, is_classed_kind
from kic_trio.testing.fakekong import _validate as fake
from kic_trio.translator import _plugins, _translator

#: Foreign keys the fallback follows that FakeKong does not check yet (a weaker FakeKong, not
#: a different rule): list-valued ``ca_certificates``, consumer-group scoping, memberships.
FAKEKONG_DOES_NOT_CHECK = {
    ("services", "client_certificate"),
    ("services", "ca_certificates"),
    ("upstreams", "client_certificate"),
    ("plugins", "consumer_group"),
    ("consumer_group_consumers", "consumer"),
    ("consumer_group_consumers", "consumer_group"),
}


def test_nesting_tables_agree() -> None:
    assert fake.CHILDREN == _fallback._CHILDREN
    assert fake.PARENT_FK == _fallback._PARENT_FK


def test_no_consumer_plugins_agree() -> None:
    assert fake.NO_CONSUMER_PLUGINS == _plugins.NO_CONSUMER_PLUGINS
    assert "mtls-auth" in fake.NO_CONSUMER_PLUGINS  # the entry FakeKong's copy had lost


def test_references_agree_where_both_have_them() -> None:
    ours = {
        (etype, fk): target for etype, fks in _fallback._REFS.items() for fk, target in fks.items()
    }
    theirs = {
        (etype, fk): target for etype, fks in fake.REFERENCES.items() for fk, target in fks.items()
    }
    for key, target in theirs.items():
        assert ours.get(key) == target, (
            f"{key}: FakeKong says {target}, the fallback {ours.get(key)}"
        )
    assert set(ours) - set(theirs) == FAKEKONG_DOES_NOT_CHECK


def test_one_table_of_annotation_classed_kinds() -> None:
    assert _translator._CLASSED is ANNOTATION_CLASSED_KINDS
    assert all(is_classed_kind(kind) for kind in ANNOTATION_CLASSED_KINDS)
