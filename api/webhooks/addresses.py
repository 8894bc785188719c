"""Which URLs a webhook may be sent to: public addresses only (no SSRF into our network).

Checked when the subscription is made and again at each delivery, for a name may resolve
elsewhere later. The delivery then connects to the very address that was checked (``Target``),
sending the original host name in the Host header and in the TLS SNI: a second resolution
between the check and the connection could otherwise answer an internal address.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeUrl(Exception):
    """A URL webhooks are not sent to; the message is for the user, in French."""


@dataclass(frozen=True)
class Target:
    # One per checked address, with the IP in place of the host name: a dual-stack name is
    # tried on its next address when the first one does not connect.
    urls: tuple[str, ...]
    host_header: str
    sni_hostname: str | None  # https only


def loopback_allowed() -> bool:
    return bool(getattr(settings, "WEBHOOKS_ALLOW_LOOPBACK", False))


def parse(url: str) -> SplitResult:
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as error:
        raise UnsafeUrl("Cette adresse n'est pas une URL valide.") from error
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl("L'adresse doit commencer par https:// (ou http:// en test local).")
    if not parts.hostname:
        raise UnsafeUrl("L'adresse ne nomme aucun serveur.")
    if parts.username or parts.password:
        raise UnsafeUrl("L'adresse ne doit pas contenir d'identifiant ni de mot de passe.")
    if parts.scheme == "http" and not loopback_allowed():
        raise UnsafeUrl("L'adresse doit être en https:// : les messages partent chiffrés.")
    return parts


def why_forbidden(ip: IpAddress) -> str | None:
    """The French reason ``ip`` is refused, or None if it is a public address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return None if loopback_allowed() else "une adresse locale (boucle locale)"
    if ip.is_link_local:
        return "une adresse de lien local (dont les métadonnées des hébergeurs)"
    if ip.is_multicast:
        return "une adresse de multidiffusion"
    if ip.is_unspecified or ip.is_reserved:
        return "une adresse réservée"
    if ip.is_private:
        return "une adresse de réseau privé"
    if not ip.is_global:
        return "une adresse non publique"
    return None


def addresses_of(host: str, port: int) -> list[IpAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeUrl(f"Le serveur « {host} » est introuvable (nom inconnu).") from error
    # Without the scope of a link-local IPv6 (fe80::1%eth0), which is refused anyway.
    return list(
        dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found)
    )


def check_addresses(host: str, addresses: list[IpAddress]) -> None:
    """Every address the name resolves to must be public: a name that answers one public and
    one private address could be sent to the private one on another resolution."""
    if not addresses:
        raise UnsafeUrl(f"Le serveur « {host} » est introuvable (aucune adresse).")
    for ip in addresses:
        reason = why_forbidden(ip)
        if reason is not None:
            named = host if str(ip) == host else f"{host} ({ip})"
            raise UnsafeUrl(
                f"L'adresse {named} est {reason} : les webhooks ne partent que vers des "
                "serveurs publics, joignables sur Internet."
            )


def resolve(url: str) -> Target:
    """The checked, pinned target of ``url``; raises ``UnsafeUrl`` with a French message."""
    parts = parse(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = addresses_of(host, port)
    check_addresses(host, addresses)
    path = parts.path or "/"
    query = f"?{parts.query}" if parts.query else ""
    default_port = port == (443 if parts.scheme == "https" else 80)
    # urlsplit lower-cases hostname; an IPv6 host keeps its brackets in the Host header.
    shown_host = f"[{host}]" if ":" in host else host
    host_header = shown_host if default_port else f"{shown_host}:{port}"
    literals = [f"[{ip}]" if ip.version == 6 else str(ip) for ip in addresses]
    return Target(
        urls=tuple(f"{parts.scheme}://{literal}:{port}{path}{query}" for literal in literals),
        host_header=host_header,
        sni_hostname=host if parts.scheme == "https" else None,
    )
