"""The one backoff helper: same delays as the three copies it replaced, and no overflow."""

from __future__ import annotations

import random

from kic_trio._backoff import BackoffPolicy
from kic_trio.k8s import Backoff
from kic_trio.kong._applier import PUSH_BACKOFF, REFUSED_BACKOFF


def test_push_backoff_matches_the_formula_it_replaced() -> None:
    ours, theirs = random.Random(7), random.Random(7)
    for n in range(1, 40):
        old = min(30.0, 0.5 * 2 ** (n - 1)) * theirs.uniform(0.5, 1.0)
        assert PUSH_BACKOFF.delay(n, ours) == old


def test_refused_retry_doubles_to_its_cap_without_jitter() -> None:
    assert [REFUSED_BACKOFF.delay(n) for n in (1, 2, 3, 4, 5)] == [60, 120, 240, 480, 600]


def test_watch_backoff_doubles_with_jitter_and_resets_after_a_quiet_period() -> None:
    b = Backoff(rng=random.Random(1))
    ref = random.Random(1)
    now = 0.0
    for base in (0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0):
        delay = b.next(now)
        assert delay == min(base * (1.0 + ref.random()), 30.0)
        now += delay
    assert b.next(now + 10_000) < 1.6  # back to 0.8 s (times jitter below 2)


def test_many_failures_in_a_row_stay_at_the_cap() -> None:
    # base * 2 ** n overflowed a float after ~1,000 failures (a long outage).
    policy = BackoffPolicy(0.5, 30.0, jitter=(0.5, 1.0))
    rng = random.Random(0)
    for n in (1_000, 10_000, 10**9):
        assert 15.0 <= policy.delay(n, rng) <= 30.0
    assert BackoffPolicy(1.0, 5.0, factor=10.0).delay(10**6) == 5.0
