"""Settings, read from ``DIARY_*`` environment variables.

Every setting has a safe default so that ``make run`` works on a fresh machine; a
deployment sets at least ``DIARY_SECRET_KEY`` (or lets one be generated into the
instance folder), ``DIARY_DATABASE`` and ``DIARY_BASE_URL``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

#: name -> (type, default). The Flask config key is the name without ``DIARY_``.
SETTINGS: dict[str, tuple[type, Any]] = {
    "DIARY_INSTANCE_PATH": (str, None),  # default: ./instance beside the package
    "DIARY_DATABASE": (str, None),  # default: <instance>/diary.sqlite
    "DIARY_SECRET_KEY": (str, None),  # default: generated into <instance>/secret_key
    "DIARY_BASE_URL": (str, "http://127.0.0.1:5000"),  # used for links printed by the CLI
    "DIARY_SECURE_COOKIES": (bool, True),  # off automatically in debug and tests
    "DIARY_DEFAULT_LOCALE": (str, "en"),
    "DIARY_DEFAULT_TIMEZONE": (str, "UTC"),
    "DIARY_IDLE_MINUTES": (int, 30),  # clinician idle timeout
    "DIARY_ABSOLUTE_HOURS": (int, 12),  # clinician absolute session lifetime
    "DIARY_PATIENT_SESSION_DAYS": (int, 365),  # a patient's device stays signed in this long
    "DIARY_LOGIN_WINDOW_MINUTES": (int, 15),
    "DIARY_LOGIN_MAX_PER_ACCOUNT": (int, 5),
    "DIARY_LOGIN_MAX_PER_ADDRESS": (int, 20),
    "DIARY_PROXY_COUNT": (int, 0),  # reverse proxies in front that set X-Forwarded-*
    "DIARY_PDF_CONCURRENCY": (int, 1),  # PDF renders at once per server process
    # per user (signed-in account, else client address), Flask-Limiter notation
    "DIARY_RATE_LIMIT_PDF": (str, "20 per minute"),
    "DIARY_RATE_LIMIT_EXPORT": (str, "20 per minute"),
    "DIARY_RATE_LIMIT_SIGNIN": (str, "30 per minute"),  # per address: sign-in, patient links
    "DIARY_RATE_LIMIT_VERIFY": (str, "30 per 15 minutes"),  # per address: consent checks
    "DIARY_LINK_UNUSED_DAYS": (int, 30),  # a patient link not used this long stops working
    "DIARY_REQUIRE_MFA": (str, "admins"),  # who must use two-step sign-in: admins / all
    # the daily email digest (diary.digest): off while DIARY_SMTP_HOST or _FROM is unset
    "DIARY_SMTP_HOST": (str, None),
    "DIARY_SMTP_PORT": (int, 587),
    "DIARY_SMTP_USER": (str, None),  # no login when unset
    "DIARY_SMTP_PASSWORD": (str, None),  # never logged
    "DIARY_SMTP_STARTTLS": (bool, True),
    "DIARY_SMTP_SSL": (bool, None),  # TLS from the first byte; default: on for port 465
    "DIARY_SMTP_FROM": (str, None),  # the digest's From address
    "DIARY_DIGEST_HOUR": (int, 7),  # clinic-local hour from which the day's digest goes out
    # who runs the server, for the push services (VAPID "sub"): a mailto: or https: address
    "DIARY_VAPID_SUBJECT": (str, "mailto:admin@localhost"),
}

#: settings that take one of a few words
CHOICES: dict[str, tuple[str, ...]] = {"DIARY_REQUIRE_MFA": ("admins", "all")}

#: whole-number settings with bounds (inclusive)
RANGES: dict[str, tuple[int, int]] = {"DIARY_DIGEST_HOUR": (0, 23), "DIARY_SMTP_PORT": (1, 65535)}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _parse(kind: type, raw: str, name: str) -> Any:
    if kind is bool:
        value = raw.strip().lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise ValueError(f"{name} must be one of 1/0, true/false, yes/no, on/off")
    if name in CHOICES:
        value = raw.strip().lower()
        if value not in CHOICES[name]:
            raise ValueError(f"{name} must be one of {', '.join(CHOICES[name])}")
        return value
    if kind is int:
        try:
            number = int(raw)
        except ValueError:
            raise ValueError(f"{name} must be a whole number") from None
        low, high = RANGES.get(name, (number, number))
        if not low <= number <= high:
            raise ValueError(f"{name} must be between {low} and {high}")
        return number
    return raw


def from_environ(environ: os._Environ | dict[str, str] | None = None) -> dict[str, Any]:
    """Return the Flask config keys set by ``DIARY_*`` variables (defaults included)."""
    environ = os.environ if environ is None else environ
    config: dict[str, Any] = {}
    for name, (kind, default) in SETTINGS.items():
        key = name.removeprefix("DIARY_")
        config[key] = _parse(kind, environ[name], name) if name in environ else default
    if login_in_clear(config):
        raise ValueError(
            "DIARY_SMTP_USER is set but DIARY_SMTP_STARTTLS and DIARY_SMTP_SSL are off:"
            " the mail password would travel in clear"
        )
    return config


def smtp_tls(config: Mapping[str, Any]) -> str:
    """How the connection to the mail server is protected: ``"ssl"`` (TLS from the first
    byte: ``DIARY_SMTP_SSL``, on by default for port 465), else ``"starttls"``
    (``DIARY_SMTP_STARTTLS``, on by default), else ``"none"``."""
    implicit = config.get("SMTP_SSL")
    if implicit is None:
        implicit = config.get("SMTP_PORT") == 465
    if implicit:
        return "ssl"
    return "starttls" if config.get("SMTP_STARTTLS", True) else "none"


def login_in_clear(config: Mapping[str, Any]) -> bool:
    """Whether these settings would send the mail login on a connection without TLS
    (refused: at start-up, and again by the digest before it signs in)."""
    return bool(config.get("SMTP_USER")) and smtp_tls(config) == "none"


def load_or_create_secret(instance_path: str | Path) -> str:
    """Return the secret key kept in ``<instance>/secret_key``, creating it once (mode 0600).

    Creation is atomic (write a private temporary file, then hard-link it into place), so
    several gunicorn workers starting together agree on one key.
    """
    return _load_or_create(Path(instance_path) / "secret_key", lambda: secrets.token_hex(32))


def load_or_create_vapid_key(instance_path: str | Path) -> str:
    """Return the Web Push (VAPID) private key kept in ``<instance>/vapid_private.pem``,
    creating it once (mode 0600, atomically, as :func:`load_or_create_secret`): the phones'
    subscriptions are bound to its public half, so it must not change."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    def make() -> str:
        key = ec.generate_private_key(ec.SECP256R1())
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    return _load_or_create(Path(instance_path) / "vapid_private.pem", make)


def _load_or_create(path: Path, make: Callable[[], str]) -> str:
    """The text kept in ``path``, written once from ``make()`` by whichever process comes
    first (a private temporary file hard-linked into place: never half a file)."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(make())
        with contextlib.suppress(FileExistsError):  # another process won: use its key
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()
