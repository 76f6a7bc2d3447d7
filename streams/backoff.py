"""Exponential backoff with jitter, so that many cameras failing together do not retry together."""

from __future__ import annotations

import random


class Backoff:
    """Delays min_s, 2*min_s, 4*min_s ... capped at max_s, each scaled by a random 0.5..1 (jitter)."""

    def __init__(self, min_s: float, max_s: float, rng: random.Random | None = None) -> None:
        if not 0 < min_s <= max_s:
            raise ValueError("need 0 < min_s <= max_s")
        self.min_s = min_s
        self.max_s = max_s
        self.failures = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        """Record one more failure and return how long to wait before the next try."""
        ceiling = min(self.max_s, self.min_s * 2 ** min(self.failures, 32))
        self.failures += 1
        # "Equal jitter": never less than half the ceiling, so backoff still grows.
        return ceiling * (0.5 + 0.5 * self._rng.random())

    def reset(self) -> None:
        self.failures = 0
