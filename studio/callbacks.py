"""Job-end callbacks: POST the final job to its `callback_url`, retrying with backoff, off the worker thread.

Delivery is at least once: the studio records when a callback was delivered or given up (`on_done`), and a
restart re-sends those still owed (studio.api), so a receiver may see one job twice and should key on its id.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

import httpx

log = logging.getLogger(__name__)

BACKOFF_S = (1.0, 2.0, 4.0, 8.0)  # waits between tries; 5 tries in all
TIMEOUT_S = 10.0

_Item = tuple[str, Callable[[], dict[str, Any]], Callable[[bool], None] | None]


class CallbackSender:
    """A daemon thread that delivers queued callbacks; `send` never blocks the caller."""

    def __init__(self, *, transport: httpx.BaseTransport | None = None) -> None:
        self._queue: queue.Queue[_Item | None] = queue.Queue()
        self._stop = threading.Event()
        self._client = httpx.Client(timeout=TIMEOUT_S, transport=transport, follow_redirects=False)
        self._thread = threading.Thread(target=self._run, name="studio-callbacks", daemon=True)
        self._thread.start()

    def send(
        self, url: str, payload: Callable[[], dict[str, Any]], on_done: Callable[[bool], None] | None = None
    ) -> None:
        """Queue a POST of `payload()` (built when it is sent) to `url`; `on_done(delivered)` runs once it was
        delivered, refused or given up — not when the sender stops first."""
        self._queue.put((url, payload, on_done))

    def stop(self) -> None:
        self._stop.set()
        self._queue.put(None)
        self._thread.join(5)
        self._client.close()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            url, payload, on_done = item
            outcome = self._deliver(url, payload())
            if outcome is not None and on_done is not None:
                try:
                    on_done(outcome)
                except Exception:  # recording the outcome failed: the callback is sent again after a restart
                    log.exception("could not record the outcome of the callback to %s", url)

    def _deliver(self, url: str, body: dict[str, Any]) -> bool | None:
        """True: delivered; False: refused (4xx) or given up; None: the sender stopped before an answer."""
        for attempt, wait in enumerate((0.0, *BACKOFF_S), start=1):
            if self._stop.is_set() or (wait and self._stop.wait(wait)):
                return None
            try:
                response = self._client.post(url, json=body)
                if response.status_code < 500:
                    if response.status_code >= 400:
                        log.warning("callback %s refused with %s; not retrying", url, response.status_code)
                    return response.status_code < 400
                log.warning("callback %s answered %s (try %d)", url, response.status_code, attempt)
            except httpx.HTTPError as exc:
                log.warning("callback %s failed (try %d): %s", url, attempt, exc)
        log.error("callback %s given up after %d tries", url, len(BACKOFF_S) + 1)
        return False
