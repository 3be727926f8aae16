"""Two-step sign-in for clinicians: the rules, the authenticator app's codes (TOTP, RFC 6238),
recovery codes, and the passkeys' relying party.

* **Who must**: clinic admins always; everyone when ``DIARY_REQUIRE_MFA=all``
  (:func:`required`). Anyone may turn it on from "My account".
* **The steps of a sign-in** (:func:`step_due`): after the password, a clinician with an
  authenticator app gives a code (or uses a recovery code or a passkey); then one with a
  one-time password chooses a new one; then one who must use two-step sign-in and has not
  set it up does so. Until no step is due the session reaches only the steps' pages.
* **Authenticator keys** are stored encrypted (AES-GCM, a key derived with HKDF from the
  app's secret key, the clinician's id as associated data): the database alone does not
  reveal them. A code is accepted for the 30-second step before, at and after now, and
  only for a step later than the last one used, so a code cannot be used twice.
* **Recovery codes**: ten, 80 random bits each, shown once; stored as SHA-256 of the
  clinician's id and the code; each works once.
* **Passkeys** (WebAuthn) are an optional second factor beside the app. The relying party
  is the host of ``DIARY_BASE_URL``, never the request's Host header; browsers refuse
  passkeys on an IP address, so they are offered only at a domain name (``localhost``
  included).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import pyotp
import segno
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

#: seconds per TOTP step, and digits per code (what every authenticator app uses)
STEP_SECONDS = 30
DIGITS = 6
RECOVERY_CODES = 10
#: Crockford's base32 alphabet: no I, L, O or U to misread
RECOVERY_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RECOVERY_LENGTH = 16  # 16 x 5 bits = 80 random bits
#: wrong codes a half-signed-in session may give before it ends
MAX_CODE_FAILURES = 5
#: minutes a session lasts while a step is still due
PENDING_MINUTES = 15

Step = str  # "verify", "password" or "enrol"


def required(is_admin: bool, setting: str) -> bool:
    """Whether this clinician must use two-step sign-in (``DIARY_REQUIRE_MFA``)."""
    return setting == "all" or is_admin


def step_due(
    *, is_admin: bool, setting: str, enrolled: bool, verified: bool, must_change_password: bool
) -> Step | None:
    """The next step of a clinician's sign-in, or None when it is complete."""
    if enrolled and not verified:
        return "verify"
    if must_change_password:
        return "password"
    if not enrolled and required(is_admin, setting):
        return "enrol"
    return None


# --- authenticator keys (TOTP) ------------------------------------------------------------


def new_totp_secret() -> str:
    """A new authenticator key: 160 random bits in base32, as authenticator apps expect."""
    return pyotp.random_base32(32)


def _aead(app_secret: str) -> AESGCM:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"mesodiary totp key v1"
    ).derive(app_secret.encode("utf-8"))
    return AESGCM(key)


def encrypt_secret(app_secret: str, clinician_id: int, secret: str) -> str:
    """The authenticator key as stored: ``v1:`` + base64url(nonce + AES-GCM ciphertext)."""
    nonce = os.urandom(12)
    sealed = _aead(app_secret).encrypt(nonce, secret.encode(), f"clinician:{clinician_id}".encode())
    return "v1:" + base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt_secret(app_secret: str, clinician_id: int, stored: str) -> str | None:
    """The authenticator key, or None when it cannot be read (another secret key, another
    row's ciphertext, or tampering)."""
    if not stored.startswith("v1:"):
        return None
    raw = base64.urlsafe_b64decode(stored[3:])
    try:
        plain = _aead(app_secret).decrypt(raw[:12], raw[12:], f"clinician:{clinician_id}".encode())
    except (InvalidTag, ValueError):
        return None
    return plain.decode()


def step_at(moment: datetime) -> int:
    """The TOTP step (30-second interval since 1970) of a moment."""
    return int(moment.timestamp()) // STEP_SECONDS


def matching_step(secret: str, code: str, moment: datetime, last_step: int) -> int | None:
    """The step whose code ``code`` is (one step of clock drift either way), if it is later
    than ``last_step``; else None."""
    code = "".join(code.split())
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    now = step_at(moment)
    for step in (now - 1, now, now + 1):
        if step > last_step and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The ``otpauth://`` address an authenticator app reads from the QR code."""
    issuer = issuer.replace(":", " ").strip() or "Pain diary"
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=account, issuer_name=issuer
    )


def qr_data_uri(uri: str) -> str:
    """A PNG QR code of ``uri`` as a ``data:`` address (allowed by the CSP's img-src)."""
    return segno.make(uri, error="m").png_data_uri(scale=5, border=2)


def grouped(secret: str) -> str:
    """The key in groups of four, for typing it into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


# --- recovery codes ---------------------------------------------------------------------


def new_recovery_codes(count: int = RECOVERY_CODES) -> list[str]:
    """Fresh recovery codes, shown as ``XXXX-XXXX-XXXX-XXXX``."""
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
        codes.append("-".join(raw[i : i + 4] for i in range(0, RECOVERY_LENGTH, 4)))
    return codes


def normalize_recovery_code(code: str) -> str | None:
    """The code's 16 characters (case, spaces and dashes ignored; O read as 0, I and L as
    1), or None when it cannot be a recovery code."""
    text = "".join(c for c in code.upper() if c not in " -\t")
    text = text.translate(str.maketrans("OIL", "011"))
    if len(text) != RECOVERY_LENGTH or any(c not in RECOVERY_ALPHABET for c in text):
        return None
    return text


def recovery_hash(clinician_id: int, code: str) -> str | None:
    """What is stored for a recovery code (None when ``code`` cannot be one)."""
    normal = normalize_recovery_code(code)
    if normal is None:
        return None
    return hashlib.sha256(f"recovery:{clinician_id}:{normal}".encode()).hexdigest()


# --- passkeys (WebAuthn) ----------------------------------------------------------------


@dataclass(frozen=True)
class RelyingParty:
    """Who the passkeys belong to: the host of ``DIARY_BASE_URL`` and its origin."""

    id: str
    origin: str


def relying_party(base_url: str) -> RelyingParty | None:
    """The relying party for ``DIARY_BASE_URL``, or None when passkeys cannot work there
    (an IP address: browsers refuse them)."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    if not host or parts.scheme not in ("http", "https"):
        return None
    return RelyingParty(host, f"{parts.scheme}://{parts.netloc}")


def user_handle(clinician_id: int) -> bytes:
    """The WebAuthn user handle of a clinician (stable, no personal data)."""
    return hashlib.sha256(f"mesodiary-clinician:{clinician_id}".encode()).digest()
