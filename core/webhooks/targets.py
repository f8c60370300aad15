"""Where a webhook may be sent: no link-local, metadata or local-network address (SSRF).

Rule: docs/rules.md#webhook-targets. A URL's host is resolved and every address checked,
when a subscription is saved and again before each send; the send connects to an address
it checked (so a name that re-resolves elsewhere, DNS rebinding, cannot redirect it).
Link-local, cloud metadata, unspecified, multicast and reserved addresses are refused
always; loopback and private ranges unless settings.SCARLOG_WEBHOOKS_ALLOW_PRIVATE.
"""
import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata services (AWS/GCP/Azure/OpenStack; AWS IPv6; Alibaba): refused always.
METADATA = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "fd00:ec2::254", "100.100.100.200"))
ALWAYS_REFUSED = (
    ("a link-local address", [ipaddress.ip_network("169.254.0.0/16"),
                              ipaddress.ip_network("fe80::/10")]),
    ("the unspecified address", [ipaddress.ip_network("0.0.0.0/8"),
                                 ipaddress.ip_network("::/128")]),
    ("a multicast address", [ipaddress.ip_network("224.0.0.0/4"),
                             ipaddress.ip_network("ff00::/8")]),
)
PRIVATE = (
    ("a loopback address", [ipaddress.ip_network("127.0.0.0/8"),
                            ipaddress.ip_network("::1/128")]),
    ("a private-network address", [ipaddress.ip_network(n) for n in (
        "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "100.64.0.0/10")]),
)
ALLOW_SETTING = "SCARLOG_WEBHOOKS_ALLOW_PRIVATE"


class TargetRefused(ValueError):
    """A webhook URL's host is, or resolves to, an address webhooks may not reach; the
    message is a phrase after "URL …" ("points at a link-local address (169.254.0.1)")."""


def address_problem(address: str | Address, allow_private: bool) -> str | None:
    """None when webhooks may POST to `address` (an IP address), else the reason, a phrase
    ("points at a loopback address (127.0.0.1)…"). An IPv4-mapped IPv6 address is judged
    as its IPv4 address, a 6to4 one as the IPv4 address it embeds. Raises ValueError for
    text that is not an IP address."""
    ip = ipaddress.ip_address(address)
    shown = str(ip)
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv4-mapped (::ffff:a.b.c.d) or 6to4 (2002:aabb:ccdd::) address reaches the
        # IPv4 address inside it.
        ip = ip.ipv4_mapped or ip.sixtofour or ip
    suffix = ", a cloud metadata service" if ip in METADATA else ""
    if ip in METADATA and not any(ip in n for _, nets in ALWAYS_REFUSED for n in nets):
        return f"points at a cloud metadata service address ({shown})"
    for kind, networks in ALWAYS_REFUSED:
        if any(ip in n for n in networks):
            return f"points at {kind} ({shown}{suffix})"
    for kind, networks in PRIVATE:
        if any(ip in n for n in networks):
            if allow_private:
                return None
            return (f"points at {kind} ({shown}); local-network targets need "
                    f"{ALLOW_SETTING}=true")
    if ip.is_reserved or not ip.is_global:
        return f"points at a reserved address ({shown})"
    return None


def allow_private() -> bool:
    """settings.SCARLOG_WEBHOOKS_ALLOW_PRIVATE (env, default false; true in the demo)."""
    return bool(getattr(settings, ALLOW_SETTING, False))


def host_and_port(url: str) -> tuple[str, int]:
    """The host name (brackets removed) and port (80/443 by default) of http(s) `url`.
    Raises TargetRefused for a URL with no host or a bad port."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError as error:
        raise TargetRefused(f"has a bad port ({error})") from error
    if not parts.hostname:
        raise TargetRefused("has no host")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (literal addresses, decimal or hex forms too), in
    the resolver's order, without repeats. Raises OSError (socket.gaierror) when it does
    not resolve."""
    addresses: list[str] = []
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = sockaddr[0].split("%", 1)[0]  # an IPv6 zone id is not part of the address
        if address not in addresses:
            addresses.append(address)
    return addresses


def checked_addresses(url: str, allow: bool | None = None) -> list[str]:
    """The addresses of `url`'s host, every one checked by address_problem (`allow`
    defaults to the setting). Raises TargetRefused naming the first refused address, and
    OSError when the host does not resolve."""
    allow = allow_private() if allow is None else allow
    host, port = host_and_port(url)
    addresses = resolve(host, port)
    for address in addresses:
        if (problem := address_problem(address, allow)) is not None:
            raise TargetRefused(problem)
    return addresses


def url_target_problem(url: str) -> str | None:
    """For saving a subscription: None, or why `url` (already an http(s) link) may not be a
    webhook target. A host that does not resolve now is accepted: the send checks again."""
    try:
        checked_addresses(url)
    except TargetRefused as refused:
        return str(refused)
    except OSError:
        return None
    return None
