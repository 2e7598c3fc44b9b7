"""Per-key rate limits: a token bucket per API key, in this process.

A key with a limit of ``n`` per minute holds at most ``n`` tokens and earns ``n / 60`` tokens a
second; each request spends one. So a client may burst ``n`` requests, then keeps to ``n`` a
minute; a refused request waits ``(1 − tokens) / rate`` seconds (its Retry-After). Buckets live in
the worker's memory: with several workers each keeps its own, so a key may make up to ``n`` per
minute per worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

PERIOD_SECONDS = 60.0


class RateLimiter:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock  # tests replace it to move time on
        self._buckets: dict[int, tuple[float, float]] = {}  # key id → (tokens, updated at)
        self._lock = threading.Lock()

    def acquire(self, key_id: int, *, per_minute: int) -> float:
        """Spend a token of the key: 0.0 when the request may go, else seconds until it may."""
        rate = per_minute / PERIOD_SECONDS
        with self._lock:
            now = self.clock()
            tokens, updated = self._buckets.get(key_id, (float(per_minute), now))
            tokens = min(float(per_minute), tokens + (now - updated) * rate)
            if tokens >= 1.0:
                self._buckets[key_id] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key_id] = (tokens, now)
            return (1.0 - tokens) / rate
