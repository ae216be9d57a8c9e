"""A change counter that threads and coroutines can wait on: the worker bumps it after each step and job end."""

from __future__ import annotations

import asyncio
import contextlib
import threading


class Updates:
    """`count` moves on every `announce`; `wait` blocks a thread, `wait_async` suspends a coroutine (no thread)."""

    def __init__(self) -> None:
        self.count = 0
        self._changed = threading.Condition()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def announce(self) -> None:
        with self._changed:
            self.count += 1
            self._changed.notify_all()
            waiters = list(self._waiters)
        for loop, event in waiters:
            with contextlib.suppress(RuntimeError):  # that loop has closed: nobody waits there any more
                loop.call_soon_threadsafe(event.set)

    def wait(self, seen: int, timeout: float) -> int:
        """Block until `count` moves past `seen` (or the timeout); returns the current count."""
        with self._changed:
            self._changed.wait_for(lambda: self.count != seen, timeout)
            return self.count

    async def wait_async(self, seen: int, timeout: float) -> int:
        """As `wait`, without holding a thread."""
        waiter = (asyncio.get_running_loop(), asyncio.Event())
        with self._changed:
            if self.count != seen:
                return self.count
            self._waiters.add(waiter)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter[1].wait(), timeout)
        finally:
            with self._changed:
                self._waiters.discard(waiter)
        return self.count
