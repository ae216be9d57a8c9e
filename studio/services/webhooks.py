"""Job-end callbacks: POST the final job to its `callback_url`, retrying with backoff, off the worker thread.

Callbacks go out concurrently (a slow receiver delays only its own job's callback), each try bounded by a timeout,
and only to destinations studio.domain.destinations allows: the host is resolved at every try and the request goes
to the address that was checked, never to one a later DNS answer names.

Delivery is at least once: the studio records when a callback was delivered or given up (`on_done`), and a
restart re-sends those still owed (studio.api), so a receiver may see one job twice and should key on its id.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from studio.domain import destinations

log = logging.getLogger(__name__)

BACKOFF_S = (1.0, 2.0, 4.0, 8.0)  # waits between tries; 5 tries in all
TIMEOUT_S = 10.0  # per phase of one try (connect, write, the status line); the body of the answer is never read
CONCURRENT = 8  # callbacks in flight at once


@dataclass(frozen=True)
class Target:
    """Where one send really goes: `url` names the checked address; `host` and `sni_hostname` keep the name."""

    url: str
    host: str  # the Host header: the name the client gave, with its port
    sni_hostname: str | None  # for https: the name the certificate must match


def resolve(url: str, allow: destinations.AllowList) -> Target:
    """Resolve a checked callback URL now and pin the request to an address that is allowed.

    Raises:
        DestinationRefused: the host does not resolve, or one of its addresses is not public and not allowed.
    """
    destinations.check_url(url, allow)
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port or destinations.DEFAULT_PORTS[parts.scheme]
    literal = destinations.literal_address(host)
    if literal is not None:
        addresses: list[destinations.Address] = [literal]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise destinations.DestinationRefused(f"{host} does not resolve ({exc.strerror or exc})") from exc
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    named = host in allow.hosts
    for address in addresses:
        if not (named or destinations.is_public(address) or allow.allows_address(address)):
            raise destinations.DestinationRefused(destinations.not_public(host, address))
    pinned = addresses[0]
    netloc = f"[{pinned}]:{port}" if pinned.version == 6 else f"{pinned}:{port}"
    default_port = parts.port is None or parts.port == destinations.DEFAULT_PORTS[parts.scheme]
    host_header = host if default_port else f"{host}:{port}"
    if ":" in host and literal is not None:
        host_header = f"[{host}]" if default_port else f"[{host}]:{port}"
    return Target(
        url=urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")),
        host=host_header,
        sni_hostname=host if parts.scheme == "https" and literal is None else None,
    )


class CallbackSender:
    """A small pool of threads that delivers callbacks; `send` never blocks the caller."""

    def __init__(
        self,
        *,
        allow: destinations.AllowList | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.allow = allow or destinations.AllowList()
        self._stop = threading.Event()
        self._client = httpx.Client(timeout=TIMEOUT_S, transport=transport, follow_redirects=False, trust_env=False)
        self._pool = ThreadPoolExecutor(max_workers=CONCURRENT, thread_name_prefix="studio-callback")

    def send(
        self, url: str, payload: Callable[[], dict[str, Any]], on_done: Callable[[bool], None] | None = None
    ) -> None:
        """Queue a POST of `payload()` (built when it is sent) to `url`; `on_done(delivered)` runs once it was
        delivered, refused or given up — not when the sender stops first."""
        if self._stop.is_set():
            return
        self._pool.submit(self._run, url, payload, on_done)

    @property
    def stopped(self) -> threading.Event:
        """Set once the sender stops."""
        return self._stop

    def stop(self) -> None:
        """Stop sending (callbacks in flight get their current try); a second stop does nothing."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._client.close()

    def _run(self, url: str, payload: Callable[[], dict[str, Any]], on_done: Callable[[bool], None] | None) -> None:
        try:
            outcome = self._deliver(url, payload())
        except Exception:
            log.exception("callback to %s failed", url)
            outcome = False
        if outcome is not None and on_done is not None:
            try:
                on_done(outcome)
            except Exception:  # recording the outcome failed: the callback is sent again after a restart
                log.exception("could not record the outcome of the callback to %s", url)

    def _deliver(self, url: str, body: dict[str, Any]) -> bool | None:
        """True: delivered; False: refused (4xx, a destination not allowed) or given up; None: stopped first."""
        for attempt, wait in enumerate((0.0, *BACKOFF_S), start=1):
            if self._stop.is_set() or (wait and self._stop.wait(wait)):
                return None
            try:
                target = resolve(url, self.allow)
            except destinations.DestinationRefused as exc:
                log.warning("callback not sent: %s", exc)
                return False
            try:
                status = self._post(target, body)
            except httpx.HTTPError as exc:
                log.warning("callback %s failed (try %d): %s", url, attempt, exc)
                continue
            if status < 500:
                if status >= 400:
                    log.warning("callback %s refused with %s; not retrying", url, status)
                return status < 400
            log.warning("callback %s answered %s (try %d)", url, status, attempt)
        log.error("callback %s given up after %d tries", url, len(BACKOFF_S) + 1)
        return False

    def _post(self, target: Target, body: dict[str, Any]) -> int:
        """POST to the pinned address with the name as Host (and as the TLS server name); the answer's status."""
        extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else None
        request = self._client.build_request(
            "POST", target.url, json=body, headers={"Host": target.host}, extensions=extensions
        )
        response = self._client.send(request, stream=True)
        response.close()
        return response.status_code
