"""Fetch an image from a URL given in an import file, safely.

A catalog file comes from outside; its URLs must not make the server reach into its own
network (SSRF). The host is resolved once, every address is checked, and the connection goes
to the checked address, so a DNS answer cannot change between the check and the request.
Size and time are bounded; redirects are followed a few times, each hop checked again.
"""

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_TIMEOUT_SECONDS = 10.0
MAX_REDIRECTS = 3
# Characters a URL may carry as they are: reserved ones and escapes already made.
URL_SAFE = "/%:@!$&'()*+,;=~?"


class FetchRefused(Exception):
    """The URL was not fetched; the message says why, for a person."""


@dataclass(frozen=True)
class Fetched:
    url: str
    content: bytes
    content_type: str


# Private networks an import may fetch from all the same (e.g. an internal image store), as
# CIDR strings. Empty: only public addresses, so a catalog file cannot reach internal services.
TRUSTED_NETWORKS: tuple[str, ...] = ()


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The networks of TRUSTED_NETWORKS, which the address check lets through."""
    return [ipaddress.ip_network(value, strict=False) for value in TRUSTED_NETWORKS]


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries: IPv4-mapped (::ffff:a.b.c.d) or 6to4 (2002:ab:cd::/16).

    Both reach the IPv4 address they carry (6to4 through a relay), so both are checked as it is.
    """
    return ip.ipv4_mapped or ip.sixtofour


def check_address(address: str) -> None:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if any(ip in network for network in allowed_networks()):
        return
    if isinstance(ip, ipaddress.IPv6Address) and embedded_ipv4(ip) is not None:
        ip = embedded_ipv4(ip)
        if any(ip in network for network in allowed_networks()):
            return
    if ip.is_loopback:
        raise FetchRefused(f"{ip} is a loopback address.")
    if ip.is_link_local:
        raise FetchRefused(f"{ip} is a link-local address.")
    if ip.is_private:
        raise FetchRefused(f"{ip} is a private address.")
    if ip.is_multicast or ip.is_reserved or ip.is_unspecified or not ip.is_global:
        raise FetchRefused(f"{ip} is not a public address.")


def resolve_public(host: str, port: int) -> str:
    """Resolve ``host`` and return one address, refusing if ANY of its addresses is not public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise FetchRefused(f"The host {host!r} does not resolve ({error.strerror}).") from None
    except UnicodeError:  # the IDNA codec refuses empty or over-long labels ("a..b")
        raise FetchRefused(f"The host {host!r} is not a valid host name.") from None
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise FetchRefused(f"The host {host!r} does not resolve.")
    for address in addresses:
        check_address(address)
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host, *, address, **kwargs):
        super().__init__(host, **kwargs)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host, *, address, **kwargs):
        super().__init__(host, context=ssl.create_default_context(), **kwargs)
        self._address = address

    def connect(self):
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


def fetch_image(url: str, *, max_bytes: int = DEFAULT_MAX_BYTES, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> Fetched:
    """Download ``url`` (http/https) within ``max_bytes`` and ``timeout`` seconds overall.

    The deadline covers every hop's connection, headers and body: a server trickling a byte at
    a time never resets it. Raises FetchRefused for a malformed URL, a non-public address, a bad
    scheme, a status other than 200, too many redirects, a body over the limit or a slow server.
    """
    deadline = time.monotonic() + timeout
    for _ in range(MAX_REDIRECTS + 1):
        try:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as error:  # a bad port or an unclosed IPv6 bracket
            raise FetchRefused(f"The URL is malformed ({error}).") from None
        if parts.scheme not in ("http", "https"):
            raise FetchRefused(f"Only http and https URLs are fetched, not {parts.scheme or 'a bare path'!r}.")
        if not parts.hostname:
            raise FetchRefused("The URL has no host.")
        address = resolve_public(parts.hostname, port)
        connection_class = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchRefused(f"Timed out after {timeout:g} s.")
        connection = connection_class(parts.hostname, port=port, address=address, timeout=remaining)
        # A socket timeout bounds each read, not their sum; at the deadline the watchdog shuts the
        # socket, which ends whatever read is blocked on it.
        watchdog = threading.Timer(remaining, _shut, args=(connection,))
        watchdog.daemon = True
        watchdog.start()
        try:
            # http.client sends the request line as ASCII: percent-encode what is not.
            path = quote(parts.path or "/", safe=URL_SAFE)
            if parts.query:
                path += "?" + quote(parts.query, safe=URL_SAFE)
            connection.request("GET", path, headers={"User-Agent": "Shelfsight-import/1", "Accept": "image/*"})
            response = connection.getresponse()
            if response.status in (301, 302, 303, 307, 308) and response.getheader("Location"):
                url = urljoin(url, response.getheader("Location"))
                continue
            if response.status != 200:
                raise FetchRefused(f"The server answered HTTP {response.status}.")
            declared = response.getheader("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FetchRefused(f"The image is larger than {max_bytes // (1024 * 1024)} MB.")
            content = _read_bounded(response, max_bytes=max_bytes)
            if time.monotonic() >= deadline:
                raise FetchRefused(f"Timed out after {timeout:g} s.")
            return Fetched(url=url, content=content, content_type=response.getheader("Content-Type", ""))
        except (OSError, http.client.HTTPException) as error:
            if isinstance(error, TimeoutError) or time.monotonic() >= deadline:
                raise FetchRefused(f"Timed out after {timeout:g} s.") from None
            raise FetchRefused(f"The download failed: {error}.") from None
        finally:
            watchdog.cancel()
            connection.close()
    raise FetchRefused(f"More than {MAX_REDIRECTS} redirects.")


def _shut(connection: http.client.HTTPConnection) -> None:
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed: the fetch ended as the deadline came
            sock.shutdown(socket.SHUT_RDWR)


def _read_bounded(response, *, max_bytes: int) -> bytes:
    chunks, total = [], 0
    while True:
        chunk = response.read1(64 * 1024)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > max_bytes:
            raise FetchRefused(f"The image is larger than {max_bytes / (1024 * 1024):g} MB.")
        chunks.append(chunk)
