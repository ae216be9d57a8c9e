"""Counting events per key over a sliding time window, in memory: login failures, trims and exports per user.

What must survive a restart (queued jobs, jobs per hour) is counted in the database instead (studio.services.studio).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable


class WindowCounter:
    """At most `limit` events per key in any `window_s` seconds; thread-safe."""

    def __init__(self, *, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        events = self._events.get(key)
        if events is None:
            return deque()
        while events and events[0] <= now - self.window_s:
            events.popleft()
        if not events:
            del self._events[key]
        return events

    def retry_after(self, key: str, *, adding: int = 1) -> int | None:
        """Seconds until `adding` more events fit under the limit for `key`; None when they fit now."""
        with self._lock:
            now = self._clock()
            events = self._recent(key, now)
            over = len(events) + adding - self.limit
            if over <= 0:
                return None
            if adding > self.limit:
                return math.ceil(self.window_s)
            return max(1, math.ceil(events[over - 1] + self.window_s - now))

    def add(self, key: str) -> None:
        with self._lock:
            now = self._clock()
            self._recent(key, now)
            self._events.setdefault(key, deque()).append(now)

    def clear(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)
