"""Translated labels for stored codes (areas treated, roles, ...)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

AREA_LABELS = {
    "neck": _l("Neck and shoulder-arm (cervicobrachial)"),
    "low_back": _l("Low back"),
    "shoulder": _l("Shoulder"),
    "knee": _l("Knee"),
    "hip": _l("Hip"),
    "tendon": _l("Tendon"),
    "other": _l("Other area"),
}


def area_label(code: str | None) -> str:
    """The translated name of an area treated."""
    return str(AREA_LABELS.get(code or "", code or ""))
