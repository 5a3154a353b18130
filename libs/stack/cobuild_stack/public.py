"""Where people reach the workbench and the sign-in pages from their phones: `cobuild run
--public-url https://HOST:PORT --tls-cert CERT --tls-key KEY`.

By default both listen on loopback, for one machine. Given a public URL, the console listens
on all interfaces at the URL's port and the provider at its own port on the same host, both
serving TLS with the given certificate (a sign-in page or its callback off loopback needs
it); sign-in redirects, invitation links and QR codes use these addresses. The services stay on
loopback. The other processes trust the certificate (SSL_CERT_FILE), so a self-signed one for
an intranet works; a certificate from the organisation's CA is given the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .errors import StackError

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
ALL_INTERFACES = "0.0.0.0"


@dataclass(frozen=True)
class PublicAddress:
    url: str  # the console's, as people type it: scheme://host:port, no path
    scheme: str
    host: str
    port: int
    tls_cert: Path | None = None
    tls_key: Path | None = None

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    def origin_at(self, port: int) -> str:
        """Another listener on the same host (the provider's)."""
        return f"{self.scheme}://{self.host}:{port}"

    def trust_env(self) -> dict[str, str]:
        """What makes a child process's clients trust the certificate (httpx, urllib and
        OpenSSL read SSL_CERT_FILE)."""
        return {"SSL_CERT_FILE": str(self.tls_cert)} if self.tls_cert else {}


def public_address(url: str, tls_cert: Path | None, tls_key: Path | None) -> PublicAddress:
    """The checked address; StackError saying what to change otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StackError(
            f"--public-url {url!r}: give scheme://host:port, e.g. https://192.168.1.20:8100"
        )
    if parts.path.strip("/") or parts.query or parts.fragment:
        raise StackError(f"--public-url {url!r}: an origin only, without a path")
    if (tls_cert is None) != (tls_key is None):
        raise StackError("--tls-cert and --tls-key go together")
    if parts.scheme == "https" and tls_cert is None:
        raise StackError(f"--public-url {url!r} is https: give --tls-cert and --tls-key")
    if parts.scheme == "http" and tls_cert is not None:
        raise StackError(f"--public-url {url!r}: with a certificate, the URL is https")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise StackError(
            f"--public-url {url!r}: signing in over the network needs TLS; give an https URL "
            "with --tls-cert and --tls-key"
        )
    for name, path in (("--tls-cert", tls_cert), ("--tls-key", tls_key)):
        if path is not None and not path.is_file():
            raise StackError(f"{name} {path}: no such file")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    origin = f"{parts.scheme}://{parts.netloc}"
    return PublicAddress(
        origin,
        parts.scheme,
        parts.hostname,
        port,
        tls_cert.resolve() if tls_cert else None,
        tls_key.resolve() if tls_key else None,
    )
