"""Which URLs an endpoint may have: what a registration is refused for, and what a delivery re-checks.

An endpoint's URL is chosen by whoever registers it, and deliveries are POSTs from inside the
deployment, so a URL must not reach what only the deployment can reach (server-side request
forgery): in production a name must resolve to public addresses only (no private, loopback,
link-local, shared, reserved or multicast address, IPv4 or IPv6), and the check is repeated before
every delivery, since a name may be re-pointed after registration. Only https is accepted; the
local stack (storage on this machine) also accepts http and loopback addresses, for receivers
started beside it. Redirects are never followed.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from shared.errors import InvalidParameterError

MAX_URL_CHARS = 2048
Resolver = Callable[[str, int], Iterable[str]]


def system_resolver(host: str, port: int) -> list[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def check_url(url: object, *, local: bool, resolve: Resolver = system_resolver) -> str:
    """The URL as given when an endpoint may have it; InvalidParameterError ``url`` naming the problem."""
    if not isinstance(url, str) or not url:
        raise InvalidParameterError("url", "is required: the https URL deliveries are POSTed to")
    if len(url) > MAX_URL_CHARS or not url.isascii() or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise InvalidParameterError(
            "url",
            f"must be an ASCII URL of at most {MAX_URL_CHARS} characters without "
            "spaces (encode international names as punycode)",
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidParameterError("url", "is not a URL with a valid host and port") from None
    host = parts.hostname
    if parts.scheme not in ("https", "http") or not host:
        raise InvalidParameterError("url", "must be an https URL with a host name")
    if parts.username is not None or parts.password is not None:
        raise InvalidParameterError("url", "must not carry a user name or password; the signature proves the sender")
    if parts.fragment:
        raise InvalidParameterError("url", "must not have a #fragment")
    loopback = _is_loopback_name(host)
    if parts.scheme == "http" and not (local and loopback):
        raise InvalidParameterError(
            "url", "must use https (http is accepted only for a receiver on this machine in the local stack)"
        )
    check_addresses(host, port or (443 if parts.scheme == "https" else 80), local=local, resolve=resolve)
    return url


def check_addresses(host: str, port: int, *, local: bool, resolve: Resolver = system_resolver) -> None:
    """InvalidParameterError unless every address ``host`` resolves to is one deliveries may reach."""
    try:
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolve(host, port)]
    except (OSError, UnicodeError, ValueError):
        raise InvalidParameterError("url", "names a host that does not resolve") from None
    if not addresses:
        raise InvalidParameterError("url", "names a host that does not resolve")
    for address in addresses:
        if local and address.is_loopback:
            continue
        if not _public(address):
            raise InvalidParameterError(
                "url",
                "resolves to a private, loopback, link-local or reserved address, "
                "which deliveries never reach; give a public https endpoint",
            )


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    return address.is_global and not address.is_multicast


def _is_loopback_name(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
