"""The daily reminder as iCalendar: one event a day at the chosen time, with an alarm.

It holds no health data: a title, a link to the diary, a time.
"""

from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from flask_babel import gettext as _
from icalendar import Alarm, Calendar, Event

from . import clock


def parse_time(value: str) -> time:
    """``"19:30"`` -> ``time(19, 30)``."""
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def reminder_calendar(
    at: str, timezone: str, diary_url: str, *, uid_seed: str, locale: str | None = None
) -> bytes:
    """A calendar with a daily event at ``at`` (HH:MM, clinic time zone) and an alarm."""
    with force_locale(locale) if locale else nullcontext():
        title = _("Pain diary: rate your pain today")
        description = _("Open your diary: %(url)s", url=diary_url)
        alarm_text = _("Time to fill in your pain diary")
        calendar_name = _("Pain diary")
    zone = ZoneInfo(timezone)
    today = clock.today(timezone)
    start = datetime.combine(today, parse_time(at), tzinfo=zone)
    cal = Calendar()
    cal.add("prodid", "-//mesodiary//pain diary reminder//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", calendar_name)
    cal.add("refresh-interval", timedelta(days=1), parameters={"VALUE": "DURATION"})
    event = Event()
    event.add("uid", f"reminder-{uid_seed}@mesodiary")
    event.add("dtstamp", clock.now())
    event.add("dtstart", start)
    event.add("duration", timedelta(minutes=5))
    event.add("rrule", {"freq": "daily"})
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
    return cal.to_ical()
