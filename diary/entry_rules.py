"""Rules for a daily diary entry: which day may be filled in, and what a valid entry is.

Pure functions (no database, no request), so they are tested directly.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

SITE_EFFECTS = {
    "site_pain": _l("Pain where the needle went in"),
    "bruising": _l("Bruise"),
    "redness": _l("Redness"),
    "swelling": _l("Swelling"),
    "itching": _l("Itching"),
    "wheals": _l("Small raised bumps (wheals)"),
    "other": _l("Something else (tell us in the note)"),
}
ALLERGY_SIGNS = {
    "hives": _l("Hives or an itchy rash on other parts of the body"),
    "face_swelling": _l("Swelling of the face, lips or tongue"),
    "breathing": _l("Trouble breathing or a tight throat"),
}
NOTE_MAX = 500
MEDICATION_MAX = 200
#: how far a phone's clock may run ahead of the server's and still be believed
CLOCK_SKEW = timedelta(minutes=10)
#: a queued entry is judged by the phone's time of saving if it is at most this old
MAX_QUEUE_AGE = timedelta(days=30)
#: a phone's time further than this before or after the server's is refused as wrong
DEVICE_TIME_PAST = timedelta(days=365)
DEVICE_TIME_FUTURE = timedelta(days=1)

Timing = Literal["on_time", "late"]


class EntryError(ValueError):
    """A refused entry: a translated message, and the field it concerns (if any)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass
class EntryInput:
    """A validated entry, as sent by the form or by the phone's offline queue."""

    day: date
    avg: int
    worst: int
    client_id: str
    site_effects: list[str] = field(default_factory=list)
    allergy_signs: list[str] = field(default_factory=list)
    medication_taken: bool | None = None
    medication: str = ""
    note: str = ""
    device_time: datetime | None = None
    peg: tuple[int, int, int] | None = None  # PEG-3 (pain, enjoyment, activity), optional
    pgic: int | None = None  # PGIC 1-7, optional


#: the PEG's three items as the form and the sync send them
PEG_FIELDS = ("peg_pain", "peg_enjoyment", "peg_activity")


def saved_at(server_now: datetime, device_time: datetime | None) -> datetime:
    """When an entry counts as saved: the phone's time if it is believable (not in the
    future, at most 30 days old), otherwise (and without a device time) the server's.

    The day rules use it, and it is stored as the entry's device time, which orders the
    saves of a day: a phone clock running ahead cannot make its save newer than later
    corrections.
    """
    if device_time is not None and server_now - MAX_QUEUE_AGE <= device_time <= (
        server_now + CLOCK_SKEW
    ):
        return device_time
    return server_now


def patient_today(server_now: datetime, device_time: datetime | None, timezone: str) -> date:
    """The "today" the rules use, in the clinic's time zone.

    An entry saved on the phone while offline is judged by when it was saved there
    (:func:`saved_at`); otherwise, and for entries without a device time, by the
    server's clock.
    """
    return saved_at(server_now, device_time).astimezone(ZoneInfo(timezone)).date()


def timing(day: date, today: date) -> Timing:
    """``on_time`` for today, ``late`` for yesterday; EntryError for any other day."""
    if day == today:
        return "on_time"
    if day == today - timedelta(days=1):
        return "late"
    if day > today:
        raise EntryError(_("You cannot fill in a day that has not come yet."), "day")
    raise EntryError(_("This day is too long ago. You can fill in today or yesterday only."), "day")


def can_change(day: date, today: date, existing: Mapping[str, Any] | None) -> bool:
    """Can this diary day still be filled in or corrected today?

    Today's entry: yes, as often as the patient likes. Yesterday's: when it has no entry
    yet, or when its entry was itself made late (that is, today). Any other day: no.
    """
    if day == today:
        return True
    return day == today - timedelta(days=1) and (existing is None or bool(existing["late"]))


def day_closed_error() -> EntryError:
    """The refusal for a day whose entry can no longer be changed."""
    return EntryError(_("This day's entry was already sent and can no longer be changed."), "day")


def diary_open(day: date, end_date: date | None) -> bool:
    """True while the course's diary takes entries for ``day`` (until the course's end)."""
    return end_date is None or day <= end_date


def course_ended_error() -> EntryError:
    """The refusal for a day after the course ended."""
    return EntryError(_("Your treatment course has ended, so the diary is closed."), "day")


def _rating(value: Any, name: str) -> int:
    """A whole number 0-10, given as an int or as ASCII digits."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"\d{1,2}", value.strip(), re.ASCII):
        number = int(value.strip())
    else:
        number = -1
    if not 0 <= number <= 10:
        raise EntryError(_("Please choose a number from 0 to 10."), name)
    return number


def _peg(data: Mapping[str, Any]) -> tuple[int, int, int] | None:
    """The PEG's three ratings, or None when none was given (it is optional); a PEG with
    one or two answers is refused, naming the first one missing."""
    given = [data.get(name) not in (None, "") for name in PEG_FIELDS]
    if not any(given):
        return None
    if not all(given):
        missing = PEG_FIELDS[given.index(False)]
        raise EntryError(_("Please answer all three questions about the past week."), missing)
    pain, enjoyment, activity = (_rating(data.get(name), name) for name in PEG_FIELDS)
    return pain, enjoyment, activity


def _pgic(value: Any) -> int | None:
    """The PGIC answer 1-7 (as an int or ASCII digit), or None when not given."""
    if value in (None, ""):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"\d", value.strip(), re.ASCII):
        number = int(value.strip())
    else:
        number = 0
    if not 1 <= number <= 7:
        raise EntryError(_("Please choose from the list."), "pgic")
    return number


def _choices(values: Any, allowed: Mapping[str, Any], name: str) -> list[str]:
    if values in (None, ""):
        return []
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
        raise EntryError(_("Please choose from the list."), name)
    if any(v not in allowed for v in values):
        raise EntryError(_("Please choose from the list."), name)
    return [key for key in allowed if key in values]


def _text(value: Any, limit: int, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise EntryError(_("Please write text only."), name)
    text = value.replace("\r\n", "\n").strip()
    if "\x00" in text:
        raise EntryError(_("Please write text only."), name)
    if len(text) > limit:
        raise EntryError(_("Please write at most %(num)d characters.", num=limit), name)
    return text


def _device_time(value: Any, now: datetime) -> datetime | None:
    """The phone's time of saving: ISO 8601 with a UTC offset, within a year before and a
    day after the server's ``now`` (a phone set to year 1 or 9999 is refused)."""
    if not value:
        return None
    unreadable = EntryError(_("This entry could not be read. Please try again."), "device_time")
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise unreadable from None
    if moment.tzinfo is None:
        raise unreadable
    try:
        believable = now - DEVICE_TIME_PAST <= moment <= now + DEVICE_TIME_FUTURE
    except OverflowError:
        believable = False
    if not believable:
        raise EntryError(
            _(
                "The date and time on this phone seem to be wrong. Please correct them"
                " in the phone's settings, then save this entry again."
            ),
            "device_time",
        )
    return moment


CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def parse(data: Mapping[str, Any], *, default_day: date, now: datetime) -> EntryInput:
    """Validate the fields of an entry (form or JSON); raise EntryError on the first problem.

    ``now`` is the server's time, against which the phone's time of saving is checked.
    """
    day_value = data.get("day")
    if day_value in (None, ""):
        day = default_day
    else:
        try:
            day = date.fromisoformat(str(day_value))
        except ValueError:
            raise EntryError(_("Please choose a valid day."), "day") from None
    avg = _rating(data.get("avg"), "avg")
    worst = _rating(data.get("worst"), "worst")
    if worst < avg:
        raise EntryError(_("Your worst pain cannot be lower than your average pain."), "worst")
    taken = data.get("medication_taken")
    if taken in (None, ""):
        medication_taken = None
    elif taken in ("yes", True):
        medication_taken = True
    elif taken in ("no", False):
        medication_taken = False
    else:
        raise EntryError(_("Please choose yes or no."), "medication_taken")
    client_id = data.get("client_id") or ""
    if not isinstance(client_id, str) or (client_id and not CLIENT_ID.match(client_id)):
        raise EntryError(_("This entry could not be read. Please try again."), "client_id")
    device_time = _device_time(data.get("device_time"), now)
    medication = _text(data.get("medication"), MEDICATION_MAX, "medication")
    return EntryInput(
        day=day,
        avg=avg,
        worst=worst,
        client_id=client_id or uuid.uuid4().hex,
        site_effects=_choices(data.get("site_effects"), SITE_EFFECTS, "site_effects"),
        allergy_signs=_choices(data.get("allergy_signs"), ALLERGY_SIGNS, "allergy_signs"),
        medication_taken=medication_taken,
        medication=medication if medication_taken else "",
        note=_text(data.get("note"), NOTE_MAX, "note"),
        device_time=device_time,
        peg=_peg(data),
        pgic=_pgic(data.get("pgic")),
    )
