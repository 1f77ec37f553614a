"""Exponential backoff, written once: the watch loops, the applier's retries and its refusals.

Why one helper: the three copies had drifted (different jitter, cap before or after jitter) and
none guarded the exponent, so ``base * 2 ** n`` overflowed a float after ~1,000 failures in a
row (a long Kong outage would have crashed the applier). Pure: no clock, no trio; the caller
owns the attempt count and the random source (seed it in tests).
"""

from __future__ import annotations

import random

import attrs

#: Past this many doublings every policy is at its cap anyway; keeps ``factor ** n`` finite.
_MAX_EXPONENT = 64


@attrs.frozen
class BackoffPolicy:
    """``initial * factor ** (attempt - 1)``, capped at ``maximum``, times ``U[low, high)``.

    The result never exceeds ``maximum`` (jitter spreads retries apart, never past the cap).
    ``jitter=(1.0, 1.0)`` means none. Choose ``low < 1 <= high`` for "full" jitter around the
    base (client-go's watch loops: ``(1, 2)``) or ``high = 1`` to only ever shorten it.
    """

    initial: float
    maximum: float
    factor: float = 2.0
    jitter: tuple[float, float] = (1.0, 1.0)

    def base(self, attempt: int) -> float:
        """The un-jittered delay before retry number ``attempt`` (1 = after the first failure)."""
        exponent = min(max(attempt - 1, 0), _MAX_EXPONENT)
        return min(self.initial * self.factor**exponent, self.maximum)

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """The delay before retry number ``attempt``; ``rng`` draws the jitter (one draw)."""
        base = self.base(attempt)
        low, high = self.jitter
        if low == high:
            return min(base * low, self.maximum)
        return min(base * (rng or random).uniform(low, high), self.maximum)
