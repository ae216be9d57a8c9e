"""Issue 10, H1: callbacks go to public addresses only (checked at submit and again at send), concurrently."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from studio.domain.destinations import AllowList, DestinationRefused, check_url, parse_allow_list
from studio.services import webhooks
from studio.services.webhooks import CallbackSender, resolve
from tests.helpers import wait_for

NONE = AllowList()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:7860/api/v1/jobs/1/retry",
        "http://localhost/x",
        "http://app.localhost/x",
        "http://10.0.0.5/hook",
        "http://192.168.1.1/",
        "http://172.16.0.1/",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://100.64.0.1/",  # carrier-grade NAT
        "http://0.0.0.0:7860/",
        "http://[::1]/",
        "http://[fd00::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0x7f000001/",
        "http://2130706433/",
        "http://0177.0.0.1/",
        "http://127.1/",
        "http://user:pass@example.com/hook",
        "http://@example.com/hook",
        "ftp://example.com/hook",
        "file:///etc/passwd",
        "http://example.com:70000/",
    ],
)
def test_non_public_or_ambiguous_destinations_are_refused_at_submit(url: str) -> None:
    with pytest.raises(DestinationRefused, match=r"^callback_url: "):
        check_url(url, NONE)


@pytest.mark.parametrize("url", ["https://example.com/hook?job=1", "http://93.184.216.34:8080/x", "https://cafe.be/"])
def test_public_destinations_pass(url: str) -> None:
    assert check_url(url, NONE) == url


def test_the_allow_list_opens_named_hosts_and_networks() -> None:
    allow = parse_allow_list(["hooks.lan", "10.0.0.0/8", "127.0.0.1"])
    for url in ("http://hooks.lan/x", "http://10.1.2.3/x", "http://127.0.0.1:9/x"):
        assert check_url(url, allow) == url
    with pytest.raises(DestinationRefused):
        check_url("http://192.168.0.1/x", allow)
    with pytest.raises(ValueError, match="callback_allow: 'http://x' is neither"):
        parse_allow_list(["http://x"])


def _resolving_to(monkeypatch: pytest.MonkeyPatch, address: str) -> None:
    def fake_getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(webhooks.socket, "getaddrinfo", fake_getaddrinfo)


def test_a_name_that_resolves_inside_is_refused_at_send_time(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "http://rebind.example.com/hook"
    assert check_url(url, NONE) == url  # at submit it named a public host
    _resolving_to(monkeypatch, "127.0.0.1")  # by send time, DNS answers the loopback
    with pytest.raises(DestinationRefused, match=r"rebind\.example\.com \(127\.0\.0\.1\) is not a public address"):
        resolve(url, NONE)


def test_the_request_goes_to_the_checked_address_with_the_name_as_host(monkeypatch: pytest.MonkeyPatch) -> None:
    _resolving_to(monkeypatch, "93.184.216.34")
    target = resolve("https://hooks.example.com:8443/a?b=1", NONE)
    assert target.url == "https://93.184.216.34:8443/a?b=1"
    assert (target.host, target.sni_hostname) == ("hooks.example.com:8443", "hooks.example.com")


# -- the sender -------------------------------------------------------------------------------------


class _Receiver(BaseHTTPRequestHandler):
    got: list[tuple[str, str]]
    hold: threading.Event | None

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        if self.server.hold is not None:  # type: ignore[attr-defined]
            self.server.hold.wait(30)  # type: ignore[attr-defined]
        self.server.got.append((self.path, self.headers["Host"]))  # type: ignore[attr-defined]
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receivers() -> Iterator[list[ThreadingHTTPServer]]:
    servers = []
    for hold in (threading.Event(), None):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
        server.got, server.hold = [], hold  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    yield servers
    for server in servers:
        if server.hold is not None:  # type: ignore[attr-defined]
            server.hold.set()  # type: ignore[attr-defined]
        server.shutdown()


def test_a_slow_receiver_does_not_delay_another_jobs_callback(receivers: list[ThreadingHTTPServer]) -> None:
    slow, fast = receivers
    sender = CallbackSender(allow=parse_allow_list(["127.0.0.1"]))
    outcomes: list[tuple[str, bool]] = []
    try:
        sender.send(f"http://127.0.0.1:{slow.server_port}/slow", dict, lambda ok: outcomes.append(("slow", ok)))
        sender.send(f"http://127.0.0.1:{fast.server_port}/fast", dict, lambda ok: outcomes.append(("fast", ok)))
        wait_for(lambda: outcomes == [("fast", True)], timeout=10, what="the fast callback, while the slow one waits")
        slow.hold.set()  # type: ignore[attr-defined]
        wait_for(lambda: len(outcomes) == 2, timeout=10, what="the slow callback")
    finally:
        sender.stop()
    assert outcomes == [("fast", True), ("slow", True)]


def test_the_sender_refuses_a_loopback_destination_and_records_it_given_up(
    receivers: list[ThreadingHTTPServer],
) -> None:
    _slow, fast = receivers
    sender = CallbackSender()  # nothing allowed beyond public addresses
    outcomes: list[bool] = []
    try:
        sender.send(f"http://127.0.0.1:{fast.server_port}/internal-admin", dict, outcomes.append)
        wait_for(lambda: outcomes == [False], timeout=10, what="the refusal")
    finally:
        sender.stop()
    assert fast.got == []  # type: ignore[attr-defined]


def test_an_allowed_name_is_called_at_its_resolved_address_with_its_host_header(
    receivers: list[ThreadingHTTPServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    _slow, fast = receivers
    _resolving_to(monkeypatch, "127.0.0.1")
    sender = CallbackSender(allow=parse_allow_list(["hooks.lan"]))
    outcomes: list[bool] = []
    try:
        sender.send(f"http://hooks.lan:{fast.server_port}/hook", dict, outcomes.append)
        wait_for(lambda: outcomes == [True], timeout=10, what="the delivery")
    finally:
        sender.stop()
    assert fast.got == [("/hook", f"hooks.lan:{fast.server_port}")]  # type: ignore[attr-defined]
