"""The one place the application reads the time, so tests can move it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from babel.core import get_global


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


#: old or system names that are not IANA's canonical zones (``localtime``, ``US/...``)
_NOT_CANONICAL = ("Etc/", "SystemV/", "US/", "posix", "right")


@cache
def timezones() -> tuple[str, ...]:
    """The canonical IANA time zones (``Europe/Rome``, ``UTC``), sorted: no aliases such
    as ``Asia/Calcutta`` (CLDR's alias list), no ``localtime`` or ``EST5EDT``."""
    aliases = get_global("zone_aliases")
    return tuple(
        sorted(
            {"UTC"}
            | {
                zone
                for zone in available_timezones()
                if "/" in zone and zone not in aliases and not zone.startswith(_NOT_CANONICAL)
            }
        )
    )
