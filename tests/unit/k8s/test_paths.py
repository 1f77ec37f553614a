"""Names that go into API server URLs: checked (DNS-1123), escaped; bad ones never requested.

The integration test with a real API server is tests/integration/test_path_traversal.py; these
pin the rules and the fetcher's refusal without one.
"""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest
import trio

from _eventually import eventually
from kic_trio._names import name_problem, valid_name
from kic_trio.k8s import KindHandler, KubeClient, SecretFetcher
from kic_trio.k8s._paths import InvalidName, namespace_segment, segment
from kic_trio.k8s._reflector import collection_path
from kic_trio.k8s._status import _ingress_path
from kic_trio.models import KINDS, ObjectRef

#: Names a tenant can write into an annotation or a TLS secretName, none of them a valid name.
HOSTILE = [
    "../../team-b/secrets/victim-tls",
    "..",
    ".",
    "a/b",
    "..%2F..%2Fteam-b%2Fsecrets%2Fvictim-tls",
    "%2e%2e",
    "a?watch=true",
    "a#frag",
    "a b",
    "A",
    "-a",
    "a-",
    "a..b",
    ".a",
    "a.",
    "",
    "a" * 254,
    "victim\x00",
    "victim\n",
    "\u0430",  # Cyrillic a
    "a\\b",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_are_invalid_and_never_become_a_segment(name: str) -> None:
    assert not valid_name(name)
    with pytest.raises(InvalidName) as info:
        segment(name)
    assert info.value.status == 400


@pytest.mark.parametrize(
    "name", ["a", "victim-tls", "a.b.c", "x" * 63 + "." + "y" * 63, "0", "a" * 253]
)
def test_valid_names_pass_unchanged(name: str) -> None:
    assert name_problem(name) is None
    assert segment(name) == name


def test_namespaces_follow_the_label_rule() -> None:
    assert namespace_segment("team-a") == "team-a"
    for bad in ("team.a", "a" * 64, "../kube-system", "", "Team"):
        with pytest.raises(InvalidName):
            namespace_segment(bad)


def test_non_strings_are_invalid() -> None:
    assert name_problem(None) == "is not a string"
    assert name_problem(3) == "is not a string"


def test_the_rule_is_linear_on_long_input() -> None:
    """No regex: a long near-miss is answered without backtracking (the check is a loop)."""
    assert name_problem("a" * 100_000 + "!") is not None
    assert name_problem("a-" * 50_000) is not None


def test_error_message_is_bounded_and_printable() -> None:
    with pytest.raises(InvalidName) as info:
        segment("x/" * 1000 + "\x1b[31m")
    text = str(info.value)
    assert len(text) < 200
    assert "\x1b" not in text


def test_paths_built_by_the_edge_check_their_segments() -> None:
    assert collection_path(KINDS["Secret"], "team-a") == "/api/v1/namespaces/team-a/secrets"
    with pytest.raises(InvalidName):
        collection_path(KINDS["Secret"], "../kube-system")
    with pytest.raises(InvalidName):
        _ingress_path(ObjectRef("Ingress", "ns", "../../kube-system/ingresses/x", "u"))


async def test_fetcher_never_requests_an_invalid_or_unwatched_secret() -> None:
    """Bad references are dropped before the request; a good one in the same batch is fetched."""
    requested: list[str] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        requested.append(request.url.raw_path.decode())
        name = request.url.path.rsplit("/", 1)[1]
        return httpx.Response(
            200, json={"metadata": {"name": name, "namespace": "team-a", "resourceVersion": "1"}}
        )

    kube = KubeClient(api=None, namespace="default", sa_dir=None)
    kube._client = httpx.AsyncClient(
        base_url="https://k8s.test", transport=httpx.MockTransport(answer)
    )
    send, _receive = trio.open_memory_channel[Any](math.inf)
    handler = KindHandler("Secret", send, ingress_class="kong")
    fetcher = SecretFetcher(kube, handler, namespaces=["team-a"])
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(fetcher.run)
            fetcher.fetch([("team-a", bad) for bad in HOSTILE])
            fetcher.fetch([("team-b", "victim-tls"), ("../team-b", "victim-tls")])
            await fetcher.fetch_now([("team-a", "../../team-b/secrets/victim-tls")])
            fetcher.fetch([("team-a", "good")])
            await eventually(
                lambda: not handler.fetching and ("team-a", "good") in handler.held, interval=0.01
            )
            nursery.cancel_scope.cancel()
        await kube.http.aclose()
    assert requested == ["/api/v1/namespaces/team-a/secrets/good"]
    assert all(key[0] == "team-a" and valid_name(key[1]) for key in fetcher.wanted)
