"""Where deliveries may go: https and public addresses in production; loopback too in dev/test.

Checked twice: the URL when a subscription is saved (scheme, and the host if it is an address),
and every address the host resolves to right before each delivery, since a name that was public
when saved may point into the private network later (DNS rebinding, an internal name).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from shulian_common.settings import Environment, Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


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


async def resolve_and_check(url: str, *, allow_local: bool) -> None:
    """Resolve the URL's host and refuse it if any address it has is not allowed."""
    check_url(url, allow_local=allow_local)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise TargetRefusedError(f"webhook host does not resolve: {type(exc).__name__}") from None
    for *_, sockaddr in infos:
        check_address(ipaddress.ip_address(str(sockaddr[0]).split("%")[0]), allow_local=allow_local)
