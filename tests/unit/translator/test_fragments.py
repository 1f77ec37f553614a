"""SortedList: chunked, cached joins must always equal a fresh join of the sorted entities."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kic_trio.translator import _fragments
from kic_trio.translator._fragments import SortedList

ops = st.lists(
    st.tuples(
        st.sampled_from(["set", "set", "delete", "check"]), st.integers(0, 12), st.integers(0, 3)
    ),
    max_size=120,
)


@pytest.fixture(autouse=True)
def tiny_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_fragments, "CHUNK", 3)


@settings(max_examples=300, deadline=None)
@given(ops=ops)
def test_join_matches_reference(ops: list[tuple[str, int, int]]) -> None:
    lst = SortedList()
    ref: dict[int, bytes] = {}
    for op, key, version in ops:
        if op == "set":
            data = b'{"k":%d,"v":%d}' % (key, version)
            lst.set(key, data)
            ref[key] = data
        elif op == "delete":
            lst.delete(key)
            ref.pop(key, None)
        else:
            body, digest = lst.join()
            assert body == b"[" + b",".join(ref[k] for k in sorted(ref)) + b"]"
            fresh = SortedList()
            for k, v in ref.items():
                fresh.set(k, v)
            assert fresh.join() == (body, digest)
    assert len(lst) == len(ref)
    assert lst.keys() == sorted(ref)
    assert lst.join()[0] == b"[" + b",".join(ref[k] for k in sorted(ref)) + b"]"
