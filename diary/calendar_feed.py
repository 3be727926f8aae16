"""The daily reminder as iCalendar, following the course.

* One event a day at the chosen time, with an alarm, from today until the course's end
  date when it has one (``RRULE ... UNTIL``, in UTC as RFC 5545 asks); the time zone it
  uses is described in the file (``VTIMEZONE``), so calendars need not know it.
* The next expected visit (last session + the clinic's interval, today or later) as an
  all-day event.
* Nothing once the diary has stopped (consent withdrawn, course closed, no course): the
  subscribed feed then answers an empty calendar and the phone drops the events.
* No health data: the titles are :data:`TITLE` and :data:`VISIT_TITLE`, which the reminder
  page quotes; the only link goes to the diary.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from icalendar import Alarm, Calendar, Event

from . import clock


def parse_time(value: str) -> time:
    """``"19:30"`` -> ``time(19, 30)``."""
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


#: the daily event's title and the visit's: what the reminder page says they are
TITLE = _l("Daily diary")
VISIT_TITLE = _l("Visit")


def reminder_calendar(
    at: str,
    timezone: str,
    diary_url: str,
    *,
    uid_seed: str,
    locale: str | None = None,
    active: bool = True,
    until: date | None = None,
    visits: Sequence[date] = (),
) -> bytes:
    """The reminder calendar (see the module's docstring): ``at`` is HH:MM in the clinic's
    ``timezone``; ``active`` False gives a calendar without events."""
    with force_locale(locale) if locale else nullcontext():
        title, visit_title = str(TITLE), str(VISIT_TITLE)
        description = _("Open your diary: %(url)s", url=diary_url)
        alarm_text = _("Time to fill in your diary")
        calendar_name = _("Pain diary")
    zone = ZoneInfo(timezone)
    today = clock.today(timezone)
    cal = Calendar()
    cal.add("prodid", "-//mesodiary//pain diary reminder//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", calendar_name)
    cal.add("refresh-interval", timedelta(days=1), parameters={"VALUE": "DURATION"})
    if not active or (until is not None and until < today):
        return cal.to_ical()
    start = datetime.combine(today, parse_time(at), tzinfo=zone)
    event = Event()
    event.add("uid", f"reminder-{uid_seed}@mesodiary")
    event.add("dtstamp", clock.now())
    event.add("dtstart", start)
    event.add("duration", timedelta(minutes=5))
    rule: dict = {"freq": "daily"}
    if until is not None:
        rule["until"] = datetime.combine(until, parse_time(at), tzinfo=zone).astimezone(UTC)
    event.add("rrule", rule)
    event.add("summary", title)
    event.add("description", description)
    event.add("url", diary_url)
    event.add("transp", "TRANSPARENT")
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", alarm_text)
    alarm.add("trigger", timedelta(0))
    event.add_component(alarm)
    cal.add_component(event)
    for day in visits:
        if day < today or (until is not None and day > until):
            continue
        visit = Event()
        visit.add("uid", f"visit-{uid_seed}-{day.isoformat()}@mesodiary")
        visit.add("dtstamp", clock.now())
        visit.add("dtstart", day)
        visit.add("dtend", day + timedelta(days=1))
        visit.add("summary", visit_title)
        visit.add("transp", "TRANSPARENT")
        cal.add_component(visit)
    cal.add_missing_timezones()
    return cal.to_ical()
