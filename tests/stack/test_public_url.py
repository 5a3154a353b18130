"""`cobuild run --public-url https://HOST:PORT --tls-cert ... --tls-key ...`: the workbench and
the sign-in pages served over TLS where phones reach them, with a self-signed certificate
made here (for localhost: the tests talk to 127.0.0.1 only), and the addresses people are
sent to (the console's own, the provider's issuer, the sign-in redirect) on that host."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shutil
import ssl
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cobuild_kit.scim import NewUser
from cobuild_stack import accounts
from cobuild_stack.errors import StackError
from cobuild_stack.launcher import Stack, StackConfig
from cobuild_stack.ports import free_port
from cobuild_stack.provider import ProviderSettings
from cobuild_stack.public import public_address
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

PASSWORD = "Gongjian-2026!"


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for localhost and 127.0.0.1, as an intranet's administrator makes one."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_files() -> Iterator[tuple[Path, Path]]:
    root = Path(tempfile.mkdtemp(prefix="cobuild-tls-"))
    os.chmod(root, 0o755)
    try:
        yield _self_signed(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize(
    ("url", "with_files", "says"),
    [
        ("https://192.168.1.20:8100", False, "give --tls-cert and --tls-key"),
        ("http://192.168.1.20:8100", False, "signing in over the network needs TLS"),
        ("http://192.168.1.20:8100", True, "with a certificate, the URL is https"),
        ("https://192.168.1.20:8100/console", True, "an origin only"),
        ("192.168.1.20:8100", True, "give scheme://host:port"),
    ],
)
def test_a_public_address_that_cannot_work_is_refused_saying_why(
    url: str, with_files: bool, says: str, tls_files: tuple[Path, Path]
) -> None:
    cert, key = tls_files if with_files else (None, None)
    with pytest.raises(StackError, match=says):
        public_address(url, cert, key)


def test_a_public_address_keeps_its_port_and_trusts_its_certificate(
    tls_files: tuple[Path, Path],
) -> None:
    cert, key = tls_files
    public = public_address("https://192.168.1.20:8443/", cert, key)
    assert (public.url, public.host, public.port) == (
        "https://192.168.1.20:8443",
        "192.168.1.20",
        8443,
    )
    assert public.origin_at(8110) == "https://192.168.1.20:8110"
    assert public.trust_env() == {"SSL_CERT_FILE": str(cert.resolve())}
    assert public_address("https://cobuild.example.org", cert, key).port == 443
    assert public_address("http://127.0.0.1:8100", None, None).trust_env() == {}


@pytest.mark.integration
async def test_the_workbench_and_the_sign_in_pages_answer_over_tls_at_the_public_host(
    tls_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = tls_files
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # this process trusts it, as `cobuild run`
    public = public_address(f"https://localhost:{free_port()}", cert, key)
    root = Path(tempfile.mkdtemp(prefix="cobuild-public-"))
    os.chmod(root, 0o755)  # as root, PostgreSQL runs as nobody and must reach var/pg
    config = StackConfig.from_env(
        {},
        var_dir=root / "var",
        services=("access",),
        service_ports={"access": 0},
        partitions=1,
        test_mode=True,
        console_port=0,
        provider=ProviderSettings(port=0),
        public=public,
    )
    stack = Stack(config)
    try:
        info = await stack.start()
        assert info["console"]["url"] == public.url
        issuer = info["provider"]["issuer"]
        assert issuer.startswith("https://localhost:"), issuer
        async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=cert)) as browser:
            discovery = await browser.get(f"{issuer}/.well-known/openid-configuration")
            assert discovery.status_code == 200 and discovery.json()["issuer"] == issuer
            assert (await browser.get(f"{public.url}/readyz")).status_code == 200
            # The sign-in sends the browser to the provider's TLS address, and back to the
            # workbench's public one.
            start = await browser.get(f"{public.url}/signin")
            assert start.status_code in (302, 303), start.text[:300]
            went = urlsplit(start.headers["location"])
            assert f"{went.scheme}://{went.netloc}" == issuer
            back = parse_qs(went.query)["redirect_uri"][0]
            assert back.startswith(public.url + "/"), back
            assert "; secure" in start.headers.get("set-cookie", "").lower()  # https only
        # A person signs in at the provider's TLS address; the access service checks her
        # token there (its own trust of the certificate) and exchanges it.
        provider = info["provider"]
        await accounts.provision(
            provider,
            NewUser(user_name="li.juan", display_name="李娟", family_name="李", password=PASSWORD),
        )
        signed_in = await accounts.sign_in(provider, "li.juan", PASSWORD)
        async with httpx.AsyncClient() as client:
            exchanged = await client.post(
                f"{info['services']['access']['url']}/exchange",
                json={"subject_token": signed_in.access_token, "grant_id": None},
            )
        assert exchanged.status_code == 200, exchanged.text
        assert exchanged.json()["role"] == "person"
        async with httpx.AsyncClient() as plain:  # no plain http beside it
            with pytest.raises(httpx.HTTPError):
                await plain.get(f"http://127.0.0.1:{public.port}/readyz")
    finally:
        await stack.stop()
        shutil.rmtree(root, ignore_errors=True)
