"""Rows as they leave ``diary/queries``: finished, one small decoder per table.

SQLite stores dates as ISO text, flags as 0/1 and lists or mappings as JSON text. Every
query function passes its rows through the decoder of its table, so callers get
``datetime.date`` for day columns, ``bool`` for flags and decoded JSON, and never parse a
stored value themselves. A decoder converts the columns a row has and leaves the others
(a query may select a subset, or join columns of other tables). Timestamps (``*_at``,
``device_time``) stay ISO 8601 text in UTC: that is their exchange format (exports,
FHIR) and :func:`diary.clock.parse` reads them where a time is compared.

Writes go the other way through :func:`encode_date` and :func:`encode_json`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

Row = dict[str, Any]


def _date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _list(value: str | None) -> list[Any]:
    return [] if not value or value == "[]" else json.loads(value)


def _dict(value: str | None) -> dict[str, Any]:
    return {} if not value or value == "{}" else json.loads(value)


def _flag(value: int | None) -> bool:
    return bool(value)


def _maybe_flag(value: int | None) -> bool | None:
    return None if value is None else bool(value)


Decoder = dict[str, Callable[[Any], Any]]

CLINIC: Decoder = {"drugs": _list, "drug_names": _dict}
CLINICIAN: Decoder = {
    "is_admin": _flag,
    "active": _flag,
    "must_change_password": _flag,
    "digest": _flag,
}
COURSE: Decoder = {
    "start_date": _date,
    "end_date": _date,
    "flagged": _flag,
    "countersigned": _flag,
}
ENTRY: Decoder = {
    "day": _date,
    "site_effects": _list,
    "allergy_signs": _list,
    "medication_taken": _maybe_flag,
    "late": _flag,
}
SESSION: Decoder = {
    "date": _date,
    "drugs": _list,
    "ultrasound": _flag,
    "nrs_not_measured": _flag,
    "no_drug": _flag,
}
ANSWER: Decoder = {"day": _date}  # peg_answers, pgic_answers
CONSENT: Decoder = {"agreements": _dict, "signed": _flag}
QUIZ: Decoder = {"answers": _dict, "wrong": _list, "passed": _flag}
AUDIT: Decoder = {"detail": _dict}
COUNTERSIGNATURE: Decoder = {}
TOKEN: Decoder = {}
AUTH_SESSION: Decoder = {}  # auth_sessions (timestamps stay ISO text)
PASSKEY: Decoder = {"transports": _list}


def decode(row: Row | None, decoder: Decoder) -> Row | None:
    """The row with each column the decoder names converted (in place); None stays None."""
    if row is not None:
        for key, convert in decoder.items():
            if key in row:
                row[key] = convert(row[key])
    return row


def decode_all(rows: Iterable[Row], decoder: Decoder) -> list[Row]:
    """Every row decoded, as a list."""
    return [decode(row, decoder) for row in rows]  # type: ignore[misc]


def first(rows: Iterable[Row], decoder: Decoder) -> Row | None:
    """The first row decoded, or None."""
    return decode(next(iter(rows), None), decoder)


def encode_date(value: date | str | None) -> str | None:
    """A date as stored (ISO ``YYYY-MM-DD``); text must already be a valid ISO date."""
    if value is None:
        return None
    if isinstance(value, str):
        value = date.fromisoformat(value)  # ValueError for anything else
    return value.isoformat()


def encode_json(value: Any) -> str:
    """A list or mapping as stored (JSON, keys sorted so equal values store equal text)."""
    return json.dumps(value, sort_keys=True)
