"""The one place the application reads the time, so tests can move it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def now() -> datetime:
    """Current time as an aware UTC datetime."""
    return datetime.now(UTC)


def iso(moment: datetime | None = None) -> str:
    """UTC timestamp as stored in the database: ``2026-11-22T10:15:00.123456+00:00``."""
    return (moment or now()).astimezone(UTC).isoformat(timespec="microseconds")


def parse(value: str) -> datetime:
    """Parse a stored timestamp back into an aware UTC datetime."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def today(timezone: str) -> date:
    """Today in ``timezone`` (the clinic's): the day diary entries and sessions are for."""
    return now().astimezone(ZoneInfo(timezone)).date()


def local_day(value: str, timezone: str) -> date:
    """The day, in ``timezone``, of a stored UTC timestamp."""
    return parse(value).astimezone(ZoneInfo(timezone)).date()
