"""The wire: which addresses may receive webhooks, how a body is signed, and one POST.

- Only HTTPS, except http://localhost and http://127.0.0.1 in development (settings.DEBUG)
  or when `CPOR_WEBHOOKS_ALLOW_HTTP_LOCALHOST` is set (the tests' local receiver).
- Otherwise the host must resolve only to public addresses: a partner must not make the
  server call into its own network (SSRF). The check is made again at each delivery, and
  the connection goes to the very address that was checked, so a DNS answer that changes
  between the check and the call (rebinding) cannot slip through.
- Redirects are never followed: a 3xx is recorded like any other non-2xx answer.
- Timeouts: 3 s to connect, 5 s to read.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 5.0
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})
SIGNATURE_HEADER = "X-CPOR-Signature"
EVENT_ID_HEADER = "X-CPOR-Event-Id"
EVENT_TYPE_HEADER = "X-CPOR-Event"
USER_AGENT = "CPOR-Webhooks/1.0"


class EndpointRefused(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


def local_http_allowed() -> bool:
    return bool(settings.DEBUG or getattr(settings, "CPOR_WEBHOOKS_ALLOW_HTTP_LOCALHOST", False))


def _is_local_http(parts) -> bool:
    return parts.scheme == "http" and (parts.hostname or "") in LOCAL_HOSTS and local_http_allowed()


def check_url(url: str) -> str:
    """The URL, normalised, if webhooks may be sent to it; EndpointRefused otherwise.

    Resolving the host is part of the check (so that an address inside the server's network
    is refused when the endpoint is registered, not only when it is called).
    """
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as error:
        raise EndpointRefused(_("Enter a valid URL.")) from error
    if not parts.hostname:
        raise EndpointRefused(_("Enter a valid URL."))
    if parts.username or parts.password:
        raise EndpointRefused(_("The URL must not contain a user name or password."))
    if _is_local_http(parts):
        return url
    if parts.scheme != "https":
        raise EndpointRefused(_("The URL must start with https://."))
    resolve_public(parts.hostname, parts.port or 443)
    return url


def resolve_public(host: str, port: int) -> str:
    """The first address of `host`, if every address it resolves to is public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise EndpointRefused(_("The host name %(host)s could not be found.") % {"host": host}) from error
    addresses = [info[4][0] for info in infos]
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if not ip.is_global or ip.is_multicast:
            raise EndpointRefused(
                _("%(host)s is a private, loopback or link-local address; webhooks go to public addresses only.")
                % {"host": host}
            )
    return addresses[0]


def sign(secret: str, timestamp: int, body: str) -> str:
    """hex HMAC-SHA256 of f"{timestamp}.{body}" with the endpoint's secret."""
    return hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: str) -> str:
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def verify(secret: str, header: str, body: str, *, tolerance: int = 300, now: float | None = None) -> bool:
    """What a receiver does (and the tests do): check the signature and the timestamp's age."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance:
        return False
    return hmac.compare_digest(fields.get("v1", ""), sign(secret, timestamp, body))


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str
    duration_ms: int


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to an address checked beforehand, with separate connect and read timeouts."""

    def __init__(self, host, port, address):
        super().__init__(host, port, timeout=CONNECT_TIMEOUT)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), CONNECT_TIMEOUT)
        self.sock.settimeout(READ_TIMEOUT)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host, port, address):
        super().__init__(host, port, timeout=CONNECT_TIMEOUT, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), CONNECT_TIMEOUT)
        sock.settimeout(READ_TIMEOUT)
        # Certificate and SNI for the host name, connection to the checked address.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, *, body: str, headers: dict[str, str]) -> Outcome:
    """One POST; never raises for what the network or the receiver does, it reports it."""
    started = time.monotonic()

    def outcome(status_code=None, error=""):
        return Outcome(status_code, error[:300], int((time.monotonic() - started) * 1000))

    parts = urlsplit(url)
    try:
        if _is_local_http(parts):
            connection = _PinnedHTTPConnection(parts.hostname, parts.port or 80, parts.hostname.strip("[]"))
        else:
            if parts.scheme != "https":
                return outcome(error=str(_("The URL must start with https://.")))
            address = resolve_public(parts.hostname, parts.port or 443)
            connection = _PinnedHTTPSConnection(parts.hostname, parts.port or 443, address)
    except EndpointRefused as refused:
        return outcome(error=refused.message)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    try:
        connection.request("POST", path, body=body.encode(), headers=headers)
        response = connection.getresponse()
        response.read(64 * 1024)  # drain a little; the answer's body is not kept
        return outcome(response.status)
    except (OSError, http.client.HTTPException) as error:
        return outcome(error=f"{type(error).__name__}: {error}")
    finally:
        connection.close()
