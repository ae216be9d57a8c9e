"""Which addresses the server may send a request a client named (job-end callbacks) to: public ones, by default.

A client chooses a callback URL; the server must not become its way into the loopback, the private network or a cloud's
metadata service (169.254.169.254). The URL's text is checked when the job is submitted, and the addresses its host
resolves to are checked again at every send, so a DNS answer that changes after the first check (rebinding) cannot
move it inside. The request then goes to the very address that was checked (studio.services.webhooks resolves and
pins it; this module holds the rules, without I/O).

`callback_allow` (host names or networks) opens named non-public destinations for on-premises receivers.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from studio.domain.errors import InvalidInput

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_HOST_NAME = re.compile(
    r"(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*"
)
# A host whose last label is a number is an IPv4 address to URL parsers (WHATWG "ends in a number"): 2130706433,
# 0x7f000001, 0177.0.0.1 and 127.1 all mean 127.0.0.1 to some library. Only the canonical dotted quad is accepted.
_NUMBER_LABEL = re.compile(r"\d+|0x[0-9a-f]*")
_LOCAL_NAMES = ("localhost", "localhost.localdomain")
DEFAULT_PORTS = {"http": 80, "https": 443}


class DestinationRefused(InvalidInput):
    """The URL may not be called: it names (or resolves to) an address that is not public, or it is malformed."""

    def __init__(self, message: str) -> None:
        super().__init__("callback_url", message)


@dataclass(frozen=True)
class AllowList:
    """Non-public destinations a setting opens: exact host names, and networks (a single address is a /32 or /128)."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()

    def allows_address(self, address: Address) -> bool:
        return any(address in network for network in self.networks if network.version == address.version)


def parse_allow_list(entries: Iterable[str]) -> AllowList:
    """The `callback_allow` setting as an AllowList.

    Raises:
        ValueError: an entry is neither a network (10.0.0.0/8, 127.0.0.1, fd00::/8) nor a host name.
    """
    hosts: set[str] = set()
    networks: list[Network] = []
    for entry in entries:
        text = entry.strip().lower()
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
            continue
        except ValueError:
            pass
        if not _HOST_NAME.fullmatch(text) or _NUMBER_LABEL.fullmatch(text.rsplit(".", 1)[-1]):
            raise ValueError(f"callback_allow: {entry!r} is neither a host name nor a network such as 10.0.0.0/8")
        hosts.add(text)
    return AllowList(frozenset(hosts), tuple(networks))


def is_public(address: Address) -> bool:
    """True for a globally routable unicast address (an IPv4-mapped IPv6 address is judged as its IPv4 one)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def literal_address(host: str) -> Address | None:
    """The address a host written as an IP literal names; None for a name.

    Raises:
        DestinationRefused: a number that is not a canonical dotted quad (see _NUMBER_LABEL).
    """
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMBER_LABEL.fullmatch(host.rsplit(".", 1)[-1]):
        raise DestinationRefused(f"write the address {host!r} as four decimal numbers (a.b.c.d)")
    return None


def check_url(url: str, allow: AllowList) -> str:
    """Check a callback URL's text when it is submitted; returns it unchanged.

    Raises:
        DestinationRefused: not http(s), a user name or password in it, a malformed host or port, or a host that is
            (or is an IP literal of) a non-public address not allowed by `callback_allow`.
    """
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS:
        raise DestinationRefused("only http and https URLs can be called back")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise DestinationRefused("must not carry a user name or password; put a token in the path")
    host = (parts.hostname or "").lower()
    if not host:
        raise DestinationRefused("has no host")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port outside 0–65535 or not a number
    except ValueError as exc:
        raise DestinationRefused(f"{exc}") from exc
    address = literal_address(host)
    if address is not None:
        if not (is_public(address) or allow.allows_address(address)):
            raise DestinationRefused(not_public(host, address))
    elif host not in allow.hosts and (host in _LOCAL_NAMES or host.endswith(".localhost")):
        raise DestinationRefused(f"{host} is this machine; {_HOW_TO_ALLOW}")
    return url


_HOW_TO_ALLOW = "callbacks go to public addresses only (an on-premises receiver needs --callback-allow)"


def not_public(host: str, address: Address) -> str:
    shown = host if host == str(address) else f"{host} ({address})"
    return f"{shown} is not a public address; {_HOW_TO_ALLOW}"
