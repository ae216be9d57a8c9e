"""Job-end callbacks: POST the final job to its `callback_url` once, retrying with backoff, off the worker thread."""

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


class CallbackSender:
    """A daemon thread that delivers queued callbacks; `send` never blocks the caller."""

    def __init__(self, *, transport: httpx.BaseTransport | None = None) -> None:
        self._queue: queue.Queue[tuple[str, Callable[[], dict[str, Any]]] | None] = queue.Queue()
        self._stop = threading.Event()
        self._client = httpx.Client(timeout=TIMEOUT_S, transport=transport, follow_redirects=False)
        self._thread = threading.Thread(target=self._run, name="studio-callbacks", daemon=True)
        self._thread.start()

    def send(self, url: str, payload: Callable[[], dict[str, Any]]) -> None:
        """Queue a POST of `payload()` (built when it is sent) to `url`."""
        self._queue.put((url, payload))

    def stop(self) -> None:
        self._stop.set()
        self._queue.put(None)
        self._thread.join(5)
        self._client.close()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            url, payload = item
            self._deliver(url, payload())

    def _deliver(self, url: str, body: dict[str, Any]) -> bool:
        for attempt, wait in enumerate((0.0, *BACKOFF_S), start=1):
            if wait and self._stop.wait(wait):
                return False
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
