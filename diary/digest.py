"""The daily email digest (issue 18 item 4): how many patients need attention, per reason.

A clinician who turned it on (My account) gets one email per clinic-local day, at or after
``DIARY_DIGEST_HOUR`` (default 7) in the clinic's time zone, in their own language. It
holds counts per reason of the follow-up list (:func:`diary.attention.open_items`, the
same rows as the page: nothing is counted twice in two ways) and a link to the list; never
a patient code, a pain score or a note.

Rules:

* off while ``DIARY_SMTP_HOST`` or ``DIARY_SMTP_FROM`` is unset (the account page says so);
* the connection is protected as :func:`diary.config.smtp_tls` says, the server's
  certificate checked against the system's authorities; a login (``DIARY_SMTP_USER``) on
  a connection without TLS is refused at start-up and again here, before the password
  leaves (:class:`CleartextLogin`);
* only active clinicians who opted in;
* an empty list sends nothing: the day is recorded as ``empty`` and no mail goes out that
  day, even if something comes up later (the page is there for that);
* claim first, then send (:mod:`diary.queries.digests`): two runs at once send once; a
  failed send gives the day back, so the next run (the CLI or the 5-minute reminders
  timer) tries again. A run that dies between claim and send loses that day's mail: at
  most once beats twice.

Call :func:`send_due` inside an application context (for the translations).
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from typing import Any
from zoneinfo import ZoneInfo

import sqlite_utils
from flask import current_app
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _

from . import attention, i18n
from . import config as settings
from .labels import REASON_LABELS
from .queries import accounts, digests

log = logging.getLogger(__name__)

#: seconds to wait for the mail server at each step
SMTP_TIMEOUT = 30


class CleartextLogin(smtplib.SMTPException):
    """A login asked for on a connection without TLS: refused before the password is sent."""


def enabled(config: Mapping[str, Any]) -> bool:
    """Whether this server can send the digest (a mail server and a From address)."""
    return bool(config.get("SMTP_HOST") and config.get("SMTP_FROM"))


def tally(rows: Sequence[tuple[Mapping[str, Any], attention.Item]]) -> dict[str, int]:
    """Courses per reason (in the list's order of urgency, reasons with none left out)."""
    counts = Counter(item.reason for _course, item in rows)
    return {reason: counts[reason] for reason in attention.REASONS if counts[reason]}


def _locale(clinician: Mapping[str, Any], config: Mapping[str, Any]) -> str:
    for code in (clinician["locale"], clinician["clinic_locale"]):
        if i18n.valid(code):
            return code
    return config.get("DEFAULT_LOCALE") or "en"


def compose(
    clinician: Mapping[str, Any],
    day: date,
    rows: Sequence[tuple[Mapping[str, Any], attention.Item]],
    now: datetime,
    config: Mapping[str, Any],
) -> EmailMessage:
    """The digest for one clinician: plain text and HTML, in their language."""
    base = config["BASE_URL"].rstrip("/")
    list_url, account_url = f"{base}/clinic/attention", f"{base}/clinic/account"
    patients = len({course["patient_id"] for course, _item in rows})
    locale = _locale(clinician, config)
    with force_locale(locale):
        subject = ngettext(
            "Pain diary: %(num)d patient needs attention",
            "Pain diary: %(num)d patients need attention",
            patients,
        )
        text = {
            "greeting": _("Hello %(name)s,", name=clinician["name"]),
            "intro": _(
                "The follow-up list of %(clinic)s on %(day)s:",
                clinic=clinician["clinic_name"],
                day=i18n.format_day(day, "long"),
            ),
            "lines": [
                ngettext(
                    "%(reason)s: %(num)d patient",
                    "%(reason)s: %(num)d patients",
                    count,
                    reason=str(REASON_LABELS[reason]),
                )
                for reason, count in tally(rows).items()
            ],
            "open": _("Open the list"),
            "open_at": _("Open the list: %(url)s", url=list_url),
            "privacy": _("For privacy, this email names no patient and holds no health data."),
            "why": _(
                "You get this email because you turned on the daily summary on your"
                " account page, where you can turn it off: %(url)s",
                url=account_url,
            ),
        }
        html = current_app.jinja_env.get_template("email/digest.html").render(
            subject=subject,
            text=text,
            list_url=list_url,
            lang=i18n.bcp47(locale),
            dir=i18n.direction(locale),
        )
    plain = "\n\n".join(
        [text["greeting"], text["intro"] + "\n" + "\n".join(f"- {line}" for line in text["lines"])]
        + [text["open_at"], text["privacy"], text["why"]]
    )
    sender = config["SMTP_FROM"]
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = formataddr((clinician["name"], clinician["email"]))
    message["Date"] = format_datetime(now)
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    message["Message-ID"] = make_msgid("digest", domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(plain + "\n")
    message.add_alternative(html, subtype="html")
    message["Content-Language"] = i18n.bcp47(locale)  # after: parts take Content-* headers
    return message


def deliver(message: EmailMessage, config: Mapping[str, Any]) -> None:
    """Hand one message to the mail server (TLS as :func:`diary.config.smtp_tls` says,
    login as configured)."""
    mode = settings.smtp_tls(config)
    if settings.login_in_clear(config):
        raise CleartextLogin("a login needs DIARY_SMTP_SSL or DIARY_SMTP_STARTTLS")
    host, port = config["SMTP_HOST"], config["SMTP_PORT"]
    context = ssl.create_default_context()
    if mode == "ssl":
        smtp = smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT)
    with smtp:
        if mode == "starttls":
            smtp.starttls(context=context)
        if config.get("SMTP_USER"):
            smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
        smtp.send_message(message)


def _event(name: str, **fields: object) -> None:
    log.info(json.dumps({"event": name, **fields}, sort_keys=True))


def send_due(db: sqlite_utils.Database, now: datetime, config: Mapping[str, Any]) -> dict:
    """Send every digest that is due at ``now`` (aware) and not sent yet; safe to run at
    any time and from several processes at once. Returns counts: ``sent``, ``empty``
    (nothing needed attention: no mail), ``failed`` (given back for a later run),
    ``waiting`` (before the hour in the clinic), and ``enabled``."""
    result: dict[str, Any] = {"enabled": enabled(config), "sent": 0, "empty": 0}
    result.update(failed=0, waiting=0)
    if not result["enabled"]:
        return result
    hour = config.get("DIGEST_HOUR", 7)
    lists: dict[tuple[int, date], list] = {}  # one follow-up list per clinic and day
    for clinician in digests.subscribers(db):
        local = now.astimezone(ZoneInfo(clinician["timezone"]))
        if local.hour < hour:
            result["waiting"] += 1
            continue
        day = local.date()
        if digests.has_day(db, clinician["id"], day):
            continue
        key = (clinician["clinic_id"], day)
        if key not in lists:
            clinic = accounts.get_clinic(db, clinician["clinic_id"])
            lists[key] = attention.open_items(db, clinic, day)
        rows = lists[key]
        if not digests.claim(db, clinician["id"], day, "sending" if rows else "empty", now):
            continue  # another run has it
        if not rows:
            result["empty"] += 1
            continue
        try:
            deliver(compose(clinician, day, rows, now, config), config)
        except (OSError, smtplib.SMTPException) as exc:
            digests.release(db, clinician["id"], day)
            result["failed"] += 1
            code = getattr(exc, "smtp_code", None)
            _event("digest.failed", clinician=clinician["id"], error=type(exc).__name__, code=code)
            continue
        digests.mark_sent(db, clinician["id"], day, now)
        result["sent"] += 1
        _event("digest.sent", clinician=clinician["id"], day=day.isoformat())
    return result
