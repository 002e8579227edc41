"""Where deliveries may go: https and public addresses in production; loopback too in dev/test.

Checked twice: the URL when a subscription is saved (scheme, and the host if it is an address),
and every address the host resolves to right before each batch of deliveries, since a name that
was public when saved may point into the private network later (DNS rebinding, an internal name).

The name is resolved once per batch, and the requests go to the address that was checked:
``PinnedTransport`` connects to the pinned IP (the ``PIN_EXTENSION`` of each request) while the
``Host`` header, the TLS SNI and the certificate check keep the URL's host name. So a resolver that
answers a public address to the check and a private one a moment later (rebinding) is never asked
the second time, and a request that was not pinned is not sent at all.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx

from shulian_common.settings import Environment, Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
PIN_EXTENSION = "shulian.pinned_address"  # request extension: the checked IP to connect to


class TargetRefusedError(ValueError):
    """A webhook URL, or an address it resolves to, is not allowed here."""


def lenient(settings: Settings) -> bool:
    """Whether http and loopback targets are allowed (dev and test only)."""
    return settings.env in (Environment.DEV, Environment.TEST)


def check_url(url: str, *, allow_local: bool) -> None:
    """Refuse a URL that is not http(s) with a host, http outside dev/test, or a bad address."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise TargetRefusedError("webhook URL must be an absolute https URL")
    if parts.scheme == "http" and not allow_local:
        raise TargetRefusedError("webhook URL must use https")
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return  # a name: its addresses are checked at delivery time
    check_address(address, allow_local=allow_local)


def check_address(address: IPAddress, *, allow_local: bool) -> None:
    """Refuse private, link-local, reserved and multicast addresses (loopback only if allowed)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        if allow_local:
            return
        raise TargetRefusedError("webhook address is a loopback address")
    if not address.is_global or address.is_multicast:
        raise TargetRefusedError("webhook address is not a public address")


async def resolve(host: str, port: int) -> list[IPAddress]:
    """The addresses ``host`` resolves to (the system resolver)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(sockaddr[0]).split("%")[0]) for *_, sockaddr in infos]


async def resolve_and_check(url: str, *, allow_local: bool) -> IPAddress:
    """Resolve the URL's host once; refuse it if any address it has is not allowed, else the
    address to connect to (pin it: ``PIN_EXTENSION``)."""
    check_url(url, allow_local=allow_local)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = await resolve(host, port)
    except OSError as exc:
        raise TargetRefusedError(f"webhook host does not resolve: {type(exc).__name__}") from None
    if not addresses:
        raise TargetRefusedError("webhook host has no address")
    for address in addresses:
        check_address(address, allow_local=allow_local)
    return addresses[0]


class PinnedTransport(httpx.AsyncBaseTransport):
    """Sends each request to the address pinned in its ``PIN_EXTENSION``, never resolving again.

    The URL's host becomes the IP; ``Host`` (set when the request was built) and the TLS server
    name (``sni_hostname``, which the certificate is also checked against) stay the host name.
    Each host name gets its own connection pool (from ``transport_for_host``): pools match
    connections by the URL's origin, here the IP, and a connection whose certificate was checked
    for one name must never carry another name's request. Idle connections expire from the pools
    (keep-alive expiry); the pools themselves are small and live as long as the client.
    """

    def __init__(self, transport_for_host: Callable[[], httpx.AsyncBaseTransport]) -> None:
        self._new = transport_for_host
        self._by_host: dict[str, httpx.AsyncBaseTransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Connect to the pinned address; a request without one is refused (not sent)."""
        pinned = request.extensions.get(PIN_EXTENSION)
        if not isinstance(pinned, str):
            raise httpx.ConnectError("webhook request without a checked address", request=request)
        host = request.url.host
        inner = self._by_host.get(host)
        if inner is None:
            inner = self._by_host[host] = self._new()
        request.url = request.url.copy_with(host=pinned)
        request.extensions = {**request.extensions, "sni_hostname": host}
        return await inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Close every host's connections."""
        transports, self._by_host = list(self._by_host.values()), {}
        for transport in transports:
            await transport.aclose()
