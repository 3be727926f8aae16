"""Security plumbing: passwords, link tokens, who is signed in, access rules, headers."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, Response, abort, current_app, g, redirect, request, session, url_for
from werkzeug.exceptions import Forbidden

from .logs import event

Role = Literal["anonymous", "patient", "signing_in", "clinician", "admin"]
ROLES: tuple[Role, ...] = ("anonymous", "patient", "signing_in", "clinician", "admin")
#: the page of each step of a clinician's sign-in (see :func:`diary.mfa.step_due`)
STEP_ENDPOINTS = {
    "verify": "auth.second_factor",
    "password": "auth.new_password",
    "enrol": "mfa.enrol",
}

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def content_security_policy(style_sources: str = "") -> str:
    """:data:`CSP` with more style sources: the hash of the one ``<style>`` element that
    every page carries (:mod:`diary.assets`). Style attributes stay forbidden."""
    if not style_sources:
        return CSP
    return CSP.replace("style-src 'self';", f"style-src 'self' {style_sources};")


PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)

# --- passwords (argon2id) -------------------------------------------------------------

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile
#: verified when the email is unknown, so a wrong email costs as long as a wrong password
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; always spends the same work, even with no hash."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(stored_hash)


#: words every clinic's staff might build a password on
APP_WORDS = ("mesotherapy", "mesoterapia", "diary", "pain", "clinic", "clinica", "nrs")
#: zxcvbn's score from 0 (guessed at once) to 4; 3 resists an offline attack on a slow hash
MIN_STRENGTH = 3


def password_too_weak(password: str, personal: tuple[str, ...] = ()) -> bool:
    """True when zxcvbn scores the password below :data:`MIN_STRENGTH`; ``personal`` are the
    account's own words (email, name, clinic), which count as easy to guess."""
    from zxcvbn import zxcvbn  # loads its dictionaries on first use

    words = [w for w in (*APP_WORDS, *personal) if w]
    # zxcvbn refuses more than 72 characters (its time grows with length); the first 72
    # decide: a password that is strong there stays strong with more after it
    return zxcvbn(password[:72], user_inputs=words)["score"] < MIN_STRENGTH


# --- opaque tokens (patient links, session ids) -------------------------------------


def new_token() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """SHA-256 hex digest: the only form in which tokens are stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def queue_id(patient_id: int) -> str:
    """The patient's queue id: which diary an entry queued on a phone belongs to.

    An HMAC of the patient id with the app's secret key: stable across re-issued links,
    opaque (it reveals neither the id nor any token) and not a secret (it signs nothing
    in). Pages put it in ``data-queue-id``; the sync endpoint refuses an entry whose
    queue id is not the signed-in patient's.
    """
    key = current_app.secret_key
    key_bytes = key if isinstance(key, bytes) else str(key).encode("utf-8")
    message = f"diary-queue:{patient_id}".encode()
    return hmac.new(key_bytes, message, hashlib.sha256).hexdigest()[:32]


# --- who is signed in -----------------------------------------------------------------


@dataclass(frozen=True)
class User:
    """The signed-in clinician or patient device, as loaded for this request."""

    kind: Literal["clinician", "patient"]
    id: int
    clinic_id: int
    locale: str | None
    is_admin: bool = False
    session_id: int = 0
    name: str = ""
    timezone: str = "UTC"
    #: a clinician's sign-in step still due ("verify", "password", "enrol"), or None
    pending: str | None = None

    @property
    def role(self) -> Role:
        if self.kind == "patient":
            return "patient"
        return "admin" if self.is_admin else "clinician"


def current_user() -> User | None:
    """The user loaded by the ``before_request`` hook in :mod:`diary.views.auth`."""
    return g.get("user")


# --- access rules ---------------------------------------------------------------------


def access(role: Role) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare who may use a view, and enforce it.

    ``anonymous``: anyone. ``patient``: a signed-in patient device. ``signing_in``: a
    clinician part-way through signing in (a second factor, a new password or setting up
    two-step sign-in still due) or fully signed in: the steps' own pages. ``clinician``:
    any signed-in clinician (admins included) with no step due. ``admin``: a clinic admin
    with no step due. The declared role is kept on the view as ``view.access`` so a test
    can check every route declares one.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if role != "anonymous":
                require(role)
            return view(*args, **kwargs)

        wrapped.access = role  # type: ignore[attr-defined]
        return wrapped

    return decorate


class PatientSignedOut(Forbidden):
    """A patient page was opened on a device that is not (or no longer) signed in."""


def require(role: Role) -> User:
    """Abort unless the signed-in user has ``role``; return the user. Refusals are logged."""
    user = current_user()
    if user is None or not _allowed(user, role):
        event(
            current_app,
            "access.refused",
            endpoint=request.endpoint,
            needs=role,
            user=f"{user.kind}:{user.id}" if user else None,
        )
        if user is None and role == "patient":
            raise PatientSignedOut()
        if user is None:
            abort(redirect(url_for("auth.login", next=request.full_path.rstrip("?"))))
        if user.kind == "clinician" and user.pending and role in ("clinician", "admin"):
            abort(redirect(url_for(STEP_ENDPOINTS[user.pending])))
        abort(403)
    return user


def _allowed(user: User, role: Role) -> bool:
    if role == "patient":
        return user.kind == "patient"
    if role == "signing_in":
        return user.kind == "clinician"
    if user.pending:
        return False
    if role == "clinician":
        return user.kind == "clinician"
    return user.role == "admin"


def same_clinic_or_404(row: dict[str, Any] | None) -> dict[str, Any]:
    """Return ``row`` if it belongs to the signed-in clinician's clinic, else 404."""
    user = current_user()
    if row is None or user is None or row.get("clinic_id") != user.clinic_id:
        abort(404)
    return row


# --- headers --------------------------------------------------------------------------


#: responses that may say how long to keep them (static files; the web app manifest at
#: its versioned URL); every other response is ``no-store``
CACHEABLE_ENDPOINTS = frozenset({"static", "diary.manifest"})


def set_security_headers(response: Response) -> Response:
    """Headers every response carries (``after_request``). A script, stylesheet, PNG or
    the manifest is never a document, so it goes without the document-only headers (CSP,
    frames, permissions, opener): 550 bytes less per file on a slow phone network. An SVG
    can be opened as a document and keeps them."""
    h = response.headers
    h["X-Content-Type-Options"] = "nosniff"
    # a personal link's path is a secret: pages under it send no Referer at all
    h["Referrer-Policy"] = "no-referrer" if is_secret_path(request.path) else "same-origin"
    if request.endpoint not in CACHEABLE_ENDPOINTS or response.mimetype == "image/svg+xml":
        h.setdefault("Content-Security-Policy", current_app.config["CONTENT_SECURITY_POLICY"])
        h["Permissions-Policy"] = PERMISSIONS_POLICY
        h["X-Frame-Options"] = "DENY"
        h["Cross-Origin-Opener-Policy"] = "same-origin"
    if request.is_secure:
        h["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if request.endpoint not in CACHEABLE_ENDPOINTS or "Cache-Control" not in h:
        # Pages carry CSRF tokens and, once signed in, health data: never store them.
        h["Cache-Control"] = "no-store"
        h["Vary"] = "Cookie"
    return response


#: paths that carry a patient's secret token (personal links, calendar feeds)
SECRET_PATH_PREFIXES = ("/p/", "/cal/")


def is_secret_path(path: str) -> bool:
    """True for a path whose text is a credential: never in a Referer, a log or a URL
    shown to anyone."""
    return path.startswith(SECRET_PATH_PREFIXES)


def configure_cookies(app: Flask) -> None:
    """HttpOnly, SameSite=Lax, and Secure except in debug or tests."""
    secure = bool(app.config["SECURE_COOKIES"]) and not (app.debug or app.testing)
    app.config.update(
        SESSION_COOKIE_NAME="diary_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        # The signed cookie only carries a random session id and the language; the
        # server-side auth_sessions row decides how long it is valid.
        PERMANENT_SESSION_LIFETIME=60 * 60 * 24 * app.config["PATIENT_SESSION_DAYS"],
        # No new cookie on every response: its lifetime is the session's absolute limit.
        SESSION_REFRESH_EACH_REQUEST=False,
    )


def clear_session_keep_locale() -> None:
    """Drop everything in the cookie session (new CSRF token too), keeping the language."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def client_address() -> str:
    """The client's address (behind ``DIARY_PROXY_COUNT`` proxies, via ProxyFix)."""
    return request.remote_addr or "unknown"


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute URL on ``DIARY_BASE_URL``: never built from the request's Host header,
    which a client (or a misconfigured proxy) can set to anything."""
    return current_app.config["BASE_URL"].rstrip("/") + url_for(endpoint, **values)


def is_safe_next(target: str | None) -> bool:
    """True for a same-site relative path: no scheme, no host, no backslash, and no
    control character or space anywhere (browsers drop tabs and line breaks from URLs, so
    "/<tab>/evil.example" would become "//evil.example")."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    return "\\" not in target and not any(ord(c) <= 0x20 or ord(c) == 0x7F for c in target)
