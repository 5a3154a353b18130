"""The embedded provider's settings, its files under var/provider/ and Canaille's
configuration written from them.

Canaille's defaults we change, and why:
- access tokens live `access_token_ttl_s` (5 minutes), not Canaille's 10 days: the exchange
  turns them into Cobuild tokens at once, and a stolen one must not outlive a working day;
- the password hash cost (PBKDF2 rounds) is a setting: low for the played district and the
  tests, where thousands of accounts are made, the provider's default otherwise;
- plain http only when the issuer is loopback; a public issuer must be https (a proxy in front
  terminates TLS and forwards to the loopback listener);
- mails and SMS go to the embedded mail catcher (cobuild_stack.mailcatcher);
- its zh_Hans catalogue translates four strings; the project's catalogue for the sign-in pages
  (provider_locale/, compiled at start) is merged over it;
- its logo (a mascot) is replaced, self-registration is off (accounts come through SCIM).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from .discovery import MailInfo, write_private
from .errors import StackError
from .ports import LOOPBACK
from .provider_clients import ClientSpec

DEFAULT_PORT = 8110
# The played district and the tests make many accounts: 1,000 PBKDF2-SHA512 rounds cost about
# 0.6 ms a hash here, the provider's default (passlib's 25,000) about 15 ms.
PLAYED_PASSWORD_ROUNDS = 1000
LOCALE_DIR = Path(__file__).parent / "provider_locale"
# A house in the party's red: the community. Canaille's own logo is its mascot, a rascal in
# a cap, which is not what a community worker should meet on her sign-in page.
LOGO_FILE = Path(__file__).parent / "provider_logo.svg"
FACTORS = ("password", "email", "sms")
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def _env_flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise StackError(f"{name} must be true or false, got {raw!r}")


def _env_int(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise StackError(f"{name} must be an integer, got {raw!r}") from None


@dataclass(frozen=True)
class ProviderSettings:
    """What the launcher's provider can be told (COBUILD_PROVIDER_*, COBUILD_CONSOLE_PUBLIC_URL)."""

    enabled: bool = True
    port: int = DEFAULT_PORT  # 0 = a free port
    # The issuer, as browsers reach it; "" = http://127.0.0.1:<port>. Origin only (Canaille
    # builds its issuer from a host name, never a path).
    public_url: str = ""
    # The console's public URL: its sign-in callback and post-logout page are registered.
    # "" = the console's loopback address (its port in the stack, else 8100).
    console_url: str = ""
    password_rounds: int | None = None  # None = the provider's default
    access_token_ttl_s: int = 300
    # Canaille's sign-in steps, in order: "password", "email" (a code by mail), "sms".
    factors: tuple[str, ...] = ("password",)
    language: str = ""  # "" = the browser's (ui_locales, then Accept-Language)
    name: str = "契约化共建平台"
    # A confidential client with the password grant, for the main job's simulated staff
    # only (cobuild_scenario.signin): one request a sign-in instead of the pages' eight.
    # Off everywhere else: people sign in on the provider's pages.
    driver_client: bool = False
    # Serving TLS itself at https://<public_host>:<port> on all interfaces (`cobuild run
    # --public-url ... --tls-cert ... --tls-key ...`, cobuild_stack.public), instead of plain
    # http on loopback behind a proxy.
    public_host: str = ""
    tls_cert_file: str = ""
    tls_key_file: str = ""

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert_file)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> ProviderSettings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {"enabled": _env_flag(env, "COBUILD_PROVIDER", True)}
        if (port := _env_int(env, "COBUILD_PROVIDER_PORT")) is not None:
            values["port"] = port
        if url := env.get("COBUILD_PROVIDER_PUBLIC_URL", "").strip():
            values["public_url"] = url
        if url := env.get("COBUILD_CONSOLE_PUBLIC_URL", "").strip():
            values["console_url"] = url
        if (rounds := _env_int(env, "COBUILD_PROVIDER_PASSWORD_ROUNDS")) is not None:
            values["password_rounds"] = rounds
        if (ttl := _env_int(env, "COBUILD_PROVIDER_ACCESS_TOKEN_TTL_S")) is not None:
            values["access_token_ttl_s"] = ttl
        if factors := env.get("COBUILD_PROVIDER_FACTORS", "").strip():
            values["factors"] = tuple(f.strip() for f in factors.split(",") if f.strip())
        if language := env.get("COBUILD_PROVIDER_LANGUAGE", "").strip():
            values["language"] = language
        if name := env.get("COBUILD_PROVIDER_NAME", "").strip():
            values["name"] = name
        settings = cls(**{**values, **overrides})
        settings.check()
        return settings

    def check(self) -> None:
        unknown = [f for f in self.factors if f not in FACTORS]
        if unknown or not self.factors:
            raise StackError(
                f"COBUILD_PROVIDER_FACTORS: {', '.join(unknown) or '(none)'} is not a sign-in "
                f"step; use a comma-separated list of {', '.join(FACTORS)}"
            )
        if self.access_token_ttl_s < 30:
            raise StackError("COBUILD_PROVIDER_ACCESS_TOKEN_TTL_S must be at least 30 seconds")
        for name, url in (
            ("COBUILD_PROVIDER_PUBLIC_URL", self.public_url),
            ("COBUILD_CONSOLE_PUBLIC_URL", self.console_url),
        ):
            if url:
                check_public_url(name, url)
        if self.public_url and urlsplit(self.public_url).path not in ("", "/"):
            raise StackError("COBUILD_PROVIDER_PUBLIC_URL must be an origin (no path)")


def check_public_url(name: str, url: str) -> None:
    """Plain http only on loopback: a sign-in page or callback anywhere else needs TLS."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StackError(f"{name} must be an http(s) URL, got {url!r}")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS:
        raise StackError(
            f"{name} is {url!r}: plain http is allowed only on loopback; "
            "put a TLS proxy in front and give its https URL"
        )


# -- files under var/provider ----------------------------------------------------------


def _kept_secret(path: Path, make: Any) -> Any:
    """A value generated once and kept (keys, secrets): a relaunch reuses it, so tokens,
    sessions and registered clients stay valid."""
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    value = make()
    write_private(path, json.dumps(value, indent=2) + "\n")
    return value


def _new_rsa_jwk() -> dict[str, Any]:
    from joserfc.jwk import RSAKey  # only when a key is made: it imports cryptography's RSA

    key = RSAKey.generate_key(2048, auto_kid=True)
    return dict(key.as_dict(private=True))


def compile_catalogues(source: Path, target: Path) -> list[Path]:
    """Every provider_locale/<lang>/LC_MESSAGES/*.po compiled to a .mo under `target`
    (Babel's compiler, as `pybabel compile` does); only when the .po is newer."""
    written = []
    for po in sorted(source.glob("*/LC_MESSAGES/*.po")):
        mo = target / po.relative_to(source).with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh)
        mo.parent.mkdir(parents=True, exist_ok=True)
        tmp = mo.with_suffix(".mo.tmp")
        with tmp.open("wb") as out:
            write_mo(out, catalog)
        os.replace(tmp, mo)
        written.append(mo)
    return written


def _canaille_translations() -> Path:
    import canaille  # located, not used: the catalogue is merged over its own

    return Path(canaille.__file__).parent / "translations"


@dataclass
class ProviderFiles:
    """var/provider/: the configuration Canaille reads, and what must survive a relaunch."""

    root: Path
    config: Path = field(init=False)
    translations: Path = field(init=False)

    def __post_init__(self) -> None:
        self.config = self.root / "canaille.toml"
        self.translations = self.root / "translations"

    def prepare(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)

    def secret_key(self) -> str:
        return str(_kept_secret(self.root / "secret-key.json", lambda: secrets.token_urlsafe(48)))

    def jwks(self) -> list[dict[str, Any]]:
        keys = _kept_secret(self.root / "jwks.json", lambda: [_new_rsa_jwk()])
        return list(keys)

    def client_secrets(self, clients: Sequence[ClientSpec]) -> dict[str, str]:
        path = self.root / "client-secrets.json"
        stored: dict[str, str] = _kept_secret(path, dict)
        missing = [c for c in clients if c.confidential and c.client_id not in stored]
        if missing:
            for client in missing:
                stored[client.client_id] = secrets.token_urlsafe(32)
            write_private(path, json.dumps(stored, indent=2) + "\n")
        return stored


# -- the configuration -----------------------------------------------------------------


def canaille_config(
    settings: ProviderSettings,
    *,
    issuer: str,
    listen_port: int,
    database_url: str,
    mail: MailInfo | None,
    files: ProviderFiles,
    console_url: str,
) -> dict[str, Any]:
    """Canaille's configuration (its TOML file's content)."""
    public = urlsplit(issuer)
    console_host = urlsplit(console_url).hostname or LOOPBACK
    sql: dict[str, Any] = {
        "DATABASE_URI": _sqlalchemy_url(database_url),
        "POOL_SIZE": 3,
        "POOL_PRE_PING": True,  # PostgreSQL restarts under the fault suite
    }
    if settings.password_rounds is not None:
        sql["PASSWORD_HASH_PARAMS"] = {"pbkdf2_sha512__rounds": settings.password_rounds}
    logo = "data:image/svg+xml;base64," + base64.b64encode(LOGO_FILE.read_bytes()).decode()
    core: dict[str, Any] = {
        # Behind the TLS proxy of a public issuer: http is redirected, cookies are Secure
        # (the proxy's X-Forwarded-Proto is believed, PROXY_MODE below).
        "FORCE_HTTPS": public.scheme == "https",
        "NAME": settings.name,
        "LOGO": logo,  # a data: URL: its CSP allows them for images, and no file to serve
        "FAVICON": logo,
        "TIMEZONE": "Asia/Shanghai",
        # A person signs in with the name an admin gave, or her phone number, or her address.
        "LOGIN_ATTRIBUTES": ["user_name", "phone_numbers", "emails"],
        "AUTHENTICATION_FACTORS": list(settings.factors),
        "HIDE_INVALID_LOGINS": True,
        "ENABLE_REGISTRATION": False,  # accounts come through SCIM (seeding, invitations)
        "ENABLE_INTRUDER_LOCKOUT": True,  # growing waits after failed passwords
        # Its image CAPTCHA needs the `captcha` extra and shows Latin letters; the lockout
        # above bounds guessing instead.
        "CAPTCHA_ENABLED": False,
        "OTP_LIFETIME": "PT5M",
        "ACL": {
            "DEFAULT": {"PERMISSIONS": ["edit_self", "use_oidc"]},
            "ADMIN": {
                "FILTER": [{"user_name": "admin"}, {"groups": "admin"}],
                "PERMISSIONS": [
                    "manage_oidc",
                    "manage_users",
                    "manage_all_groups",
                    "delete_account",
                ],
                "WRITE": ["groups", "lock_date"],
            },
        },
    }
    if settings.language:
        core["LANGUAGE"] = settings.language
    if mail is not None:
        core["SMTP"] = {
            "HOST": mail["smtp_host"],
            "PORT": mail["smtp_port"],
            "TLS": False,
            "SSL": False,
            "FROM_ADDR": "noreply@cobuild.localhost",  # Canaille adds the NAME
        }
        core["SMPP"] = {
            "HOST": mail["smtp_host"],
            "PORT": mail["smpp_port"],
            "LOGIN": "cobuild",
            "PASSWORD": "cobuild",
        }
    elif any(f in ("email", "sms") for f in settings.factors):
        raise StackError("one-time codes by mail or SMS need the mail catcher")
    ttl = settings.access_token_ttl_s
    return {
        "SECRET_KEY": files.secret_key(),
        "SERVER_NAME": public.netloc,
        "PREFERRED_URL_SCHEME": public.scheme,
        # The "remember me" session: a working day, not Canaille's 30 days.
        "PERMANENT_SESSION_LIFETIME": "PT12H",
        # Authlib's lifetimes by grant (its default: 10 days for all).
        "OAUTH2_TOKEN_EXPIRES_IN": {
            "authorization_code": ttl,
            "refresh_token": ttl,
            "client_credentials": ttl,
            "implicit": ttl,
            "password": ttl,
            "urn:ietf:params:oauth:grant-type:jwt-bearer": ttl,
        },
        # Later directories win: ours is merged over Canaille's own catalogue.
        "BABEL_TRANSLATION_DIRECTORIES": f"{_canaille_translations()};{files.translations}",
        "CANAILLE": core,
        "CANAILLE_SQL": sql,
        "CANAILLE_OIDC": {
            "ACTIVE_JWKS": files.jwks(),
            "REQUIRE_NONCE": True,
            "DYNAMIC_CLIENT_REGISTRATION_OPEN": False,
            # The console is Cobuild's own: no consent page for it.
            "TRUSTED_DOMAINS": [console_host],
        },
        "CANAILLE_SCIM": {"ENABLE_SERVER": True, "ENABLE_CLIENT": False},
        "CANAILLE_HYPERCORN": _listener(settings, listen_port, public.hostname or ""),
    }


def _listener(settings: ProviderSettings, port: int, public_host: str) -> dict[str, Any]:
    """Plain http on loopback (behind a TLS proxy when the issuer is public), or TLS on all
    interfaces with the given certificate (no proxy: its forwarded headers are not believed)."""
    common: dict[str, Any] = {
        "WORKERS": 0,  # served in the launched process itself: one pid to supervise
        "GRACEFUL_TIMEOUT": 3,
    }
    if settings.tls:
        return {
            **common,
            "BIND": [f"0.0.0.0:{port}"],
            "CERTFILE": settings.tls_cert_file,
            "KEYFILE": settings.tls_key_file,
        }
    return {
        **common,
        "BIND": [f"{LOOPBACK}:{port}"],
        "PROXY_MODE": "legacy" if public_host not in _LOOPBACK_HOSTS else None,
    }


def _sqlalchemy_url(dsn: str) -> str:
    return "postgresql+psycopg2://" + dsn.split("://", 1)[1]


def drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: drop_none(v) for k, v in value.items() if v is not None}
    return value
