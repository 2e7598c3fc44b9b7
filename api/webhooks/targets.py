"""Where webhooks may send: public addresses only, unless ``webhook_allow_private`` is set.

Checked twice. When a webhook is created, its URL may not name a non-public address literally, nor
``localhost``. When the delivery loop opens a connection, the host is resolved and every address
it resolves to must be public; the connection then goes to an address that was checked, so a
second lookup cannot swap in another one (DNS rebinding). Redirects are never followed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import typing

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# In this order, so an address gets its most telling name (::1 is loopback before reserved,
# 240.0.0.1 reserved before private).
_KINDS = (
    ("is_loopback", "a loopback"),
    ("is_unspecified", "an unspecified"),
    ("is_link_local", "a link-local"),
    ("is_multicast", "a multicast"),
    ("is_reserved", "a reserved"),
    ("is_private", "a private"),
)


class RefusedTarget(Exception):
    """A delivery not sent: its host resolves to an address webhooks may not reach."""


def _effective(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one reaches: IPv4-mapped, NAT64 (64:ff9b::/96) or 6to4."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if address.sixtofour is not None:
            return address.sixtofour
    return address


def non_public(address: IPAddress) -> str | None:
    """What kind of address webhooks may not reach ``address`` is ("a loopback address"), or
    None when it is public."""
    target = _effective(address)
    for attribute, kind in _KINDS:
        if getattr(target, attribute):
            return f"{kind} address"
    if not target.is_global:  # e.g. 100.64.0.0/10, the carrier-grade NAT space
        return "a non-public address"
    return None


def is_localhost(host: str) -> bool:
    name = host.rstrip(".").lower()
    return name == "localhost" or name.endswith(".localhost")


def host_refusal(host: str) -> str | None:
    """Why a URL naming ``host`` may not be a webhook's, judged without a DNS lookup; or None."""
    if is_localhost(host):
        return f"{host} is this server itself"
    try:
        address = ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
    except ValueError:
        return None  # a name: judged by what it resolves to, at every delivery
    kind = non_public(address)
    return f"{address} is {kind}" if kind else None


class PublicOnlyBackend(httpcore.AsyncNetworkBackend):
    """Connects only when every address the host resolves to is public, to one of those."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                loop = asyncio.get_running_loop()
                found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        except OSError as err:  # an unknown name: a failed attempt like a refused connection
            raise httpcore.ConnectError(f"{host}: {err}") from None
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in found))
        for address in addresses:
            if kind := non_public(address):
                if host == str(address):
                    raise RefusedTarget(f"refused: {host} is {kind}")
                raise RefusedTarget(f"refused: {host} resolves to {kind} ({address})")
        error: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as err:
                error = err
        raise error or httpcore.ConnectError(f"{host} resolves to no address")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise RefusedTarget("refused: webhooks are not sent over Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def delivery_transport(*, allow_private: bool) -> httpx.AsyncHTTPTransport:
    """httpx's transport; unless private targets are allowed, connecting through
    :class:`PublicOnlyBackend`."""
    transport = httpx.AsyncHTTPTransport()
    if allow_private:
        return transport
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
    # httpx has no public hook for the network backend of its pool: this is the pool its
    # constructor builds, with the backend added. The delivery tests fail if it stops applying.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=PublicOnlyBackend(),
    )
    return transport
