"""Daily reminders sent by ``flask --app diary reminders send`` (a timer every few
minutes; README.md, "Reminders"). :data:`SENDERS` is the list that command runs; each
sender is ``send(db, now, config) -> dict`` of counts, idempotent per patient and day.

Web Push (:func:`send_due`): at the patient's reminder time in the clinic's time zone, when
the diary is open (consent active, course started and not ended) and today's entry is
missing, one message to each phone the patient turned notifications on from and that is
still signed in. The day is claimed first in ``reminders_sent`` (UNIQUE patient and
day), so two runs at once send once. The message holds a fixed title and text in the
patient's language and the diary's address: no health data. A push service answering
404 or 410 has dropped the subscription: it is removed.

Server-side request forgery: a subscription's endpoint is a URL the phone gave us and the
server posts to. It must be ``https`` to a host name (no IP address, no ``localhost``)
that resolves to public addresses only, and redirects are not followed. Plain
``http://127.0.0.1`` is allowed only for tests (``TESTING`` or ``PUSH_ALLOW_LOOPBACK``).
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Callable, Mapping
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import requests
import sqlite_utils
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from . import calendar_feed, digest, entry_rules
from . import config as settings
from .queries import consents, entries, patients
from .queries import push as subscriptions
from .sheet import SHEET_VERSION

#: the notification, in the patient's language; nothing about their pain or treatment
TITLE = _l("Your pain diary")
BODY = _l("How was your pain today? It takes a minute.")
#: where a tap on the notification leads (the service worker opens it on our origin)
ENTRY_PATH = "/diary/entry"
#: the longest endpoint accepted, and phones (subscriptions) kept per patient
MAX_ENDPOINT = 1024
MAX_SUBSCRIPTIONS = 5
#: seconds to wait for a push service
TIMEOUT = 10


def loopback_allowed(config: Mapping[str, Any]) -> bool:
    """Plain HTTP to 127.0.0.1 is accepted for the tests' local push service only."""
    return bool(config.get("TESTING") or config.get("PUSH_ALLOW_LOOPBACK"))


def valid_endpoint(url: str, *, allow_loopback: bool = False) -> bool:
    """True for an endpoint the server may post to (see the module's docstring); the
    address the name resolves to is checked at sending time (:func:`_public_host`)."""
    if not isinstance(url, str) or not url or len(url) > MAX_ENDPOINT:
        return False
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        return False
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    if parts.username is not None or parts.password is not None or not host:
        return False
    if allow_loopback and parts.scheme == "http" and host == "127.0.0.1" and port:
        return True
    if parts.scheme != "https" or port not in (None, 443):
        return False
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        return False  # push services have names; an address literal is someone's machine
    internal = host == "localhost" or host.endswith((".localhost", ".local", ".internal"))
    return "." in host and not internal


def _public_host(url: str, allow_loopback: bool) -> bool:
    """True when every address the endpoint's host resolves to is a public one."""
    host = urlsplit(url).hostname or ""
    if allow_loopback and host == "127.0.0.1":
        return True
    try:
        found = socket.getaddrinfo(host, 443, proto=socket.IPPROTO_TCP)
    except OSError:
        return False
    addresses = {ipaddress.ip_address(info[4][0].split("%")[0]) for info in found}
    return bool(addresses) and all(a.is_global for a in addresses)


def vapid_private_pem(config: Mapping[str, Any]) -> str:
    """The server's VAPID private key (PEM), generated once into the instance folder."""
    return settings.load_or_create_vapid_key(config["INSTANCE_PATH"])


def application_server_key(config: Mapping[str, Any]) -> str:
    """The VAPID public key as the browser's ``applicationServerKey`` wants it: the
    uncompressed P-256 point, base64url without padding."""
    from base64 import urlsafe_b64encode

    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(vapid_private_pem(config).encode(), None)
    raw = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return urlsafe_b64encode(raw).rstrip(b"=").decode()


def payload(locale: str | None) -> bytes:
    """The message: fixed words in the patient's language and the diary's address."""
    with force_locale(locale or "en"):
        body = {"title": str(TITLE), "body": str(BODY), "url": ENTRY_PATH}
    return json.dumps(body, ensure_ascii=False).encode()


def _due_day(row: dict[str, Any], now: datetime) -> tuple[Any, int] | None:
    """(the clinic's day, seconds left in it) when the patient's reminder time has come
    today, else None."""
    local = now.astimezone(ZoneInfo(row["timezone"]))
    try:
        at = calendar_feed.parse_time(row["reminder_time"])
    except ValueError:
        return None
    if local.time().replace(tzinfo=None) < at:
        return None
    midnight = datetime.combine(local.date() + timedelta(days=1), time(), local.tzinfo)
    return local.date(), max(60, int((midnight - local).total_seconds()))


def _diary_waits(db: sqlite_utils.Database, patient_id: int, day: Any) -> bool:
    """True when the diary takes an entry for ``day`` and has none: consent active,
    course started and not ended."""
    course = patients.current_course(db, patient_id)
    if course is None or course["start_date"] > day:
        return False
    if not entry_rules.diary_open(day, course["end_date"]):
        return False
    if not consents.is_active(db, course["id"], SHEET_VERSION):
        return False
    return entries.get_for_day(db, course["id"], day) is None


def _push(
    subscription: dict[str, Any],
    data: bytes,
    ttl: int,
    config: Mapping[str, Any],
    session: requests.Session,
) -> int:
    """Post one encrypted message; return the push service's status (0: no answer)."""
    from py_vapid import Vapid02
    from pywebpush import WebPushException, webpush

    info = {
        "endpoint": subscription["endpoint"],
        "keys": {"p256dh": subscription["p256dh"], "auth": subscription["auth"]},
    }
    try:
        response = webpush(
            info,
            data=data.decode(),
            vapid_private_key=Vapid02.from_pem(vapid_private_pem(config).encode()),
            vapid_claims={"sub": config["VAPID_SUBJECT"]},  # a new dict: webpush adds to it
            ttl=ttl,
            timeout=TIMEOUT,
            headers={"Urgency": "normal"},
            requests_session=session,
        )
    except WebPushException as exc:
        return exc.response.status_code if exc.response is not None else 0
    except (requests.RequestException, ValueError):
        return 0
    return response.status_code  # type: ignore[union-attr]


def send_due(db: sqlite_utils.Database, now: datetime, config: Mapping[str, Any]) -> dict:
    """Send every Web Push reminder due at ``now`` (see the module's docstring); returns
    counts: ``patients`` reminded, ``delivered`` messages accepted, ``removed``
    subscriptions (gone or refused), ``failed`` messages (tried again next run when no
    phone of the patient got one)."""
    counts = {"patients": 0, "delivered": 0, "removed": 0, "failed": 0}
    loopback = loopback_allowed(config)
    session = requests.Session()
    session.max_redirects = 0  # a redirect could point anywhere: never followed
    try:
        for row in subscriptions.candidates(db, now):
            due = _due_day(row, now)
            if due is None or not _diary_waits(db, row["patient_id"], due[0]):
                continue
            day, ttl = due
            if not subscriptions.claim_day(db, row["patient_id"], day, now):
                continue  # sent already today (or being sent by another run)
            delivered = failed = 0
            data = payload(row["locale"])
            for sub in subscriptions.open_subscriptions(db, row["patient_id"], now):
                if not valid_endpoint(sub["endpoint"], allow_loopback=loopback) or not (
                    _public_host(sub["endpoint"], loopback)
                ):
                    subscriptions.remove(db, sub["id"])
                    counts["removed"] += 1
                    continue
                status = _push(sub, data, ttl, config, session)
                if 200 <= status < 300:
                    delivered += 1
                elif status in (404, 410):  # the subscription expired or was withdrawn
                    subscriptions.remove(db, sub["id"])
                    counts["removed"] += 1
                else:
                    failed += 1
            counts["delivered"] += delivered
            counts["failed"] += failed
            if delivered:
                subscriptions.finish_day(db, row["patient_id"], day, delivered)
                counts["patients"] += 1
            else:
                subscriptions.release_day(db, row["patient_id"], day)
    finally:
        session.close()
    return counts


#: what ``reminders send`` runs, in order: name -> ``send(db, now, config) -> dict``
SENDERS: list[tuple[str, Callable[[sqlite_utils.Database, datetime, Mapping[str, Any]], dict]]] = [
    ("push", send_due),
    ("digest", digest.send_due),  # the clinicians' daily email (README, "Daily digest")
]
