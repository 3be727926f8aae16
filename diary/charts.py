"""The NRS trend chart as inline SVG, drawn on the server for the web pages and the PDF.

Only presentation attributes are used (no ``style``), so the strict CSP holds. Lines
differ by pattern and marker as well as colour, so the chart reads in black and white:
daily average = solid line with dots, worst = dashed line with squares, baseline =
dotted, goal lines = long dashes.

Two sizes: the clinician's chart (640 x 280, course page and PDF) and the patient's
phone chart (:data:`PHONE`, 320 x 220, drawn at its own size: its text stays 13 px or
more on a 360 px phone). The legend is drawn by :func:`legend_key`: each key is the line
itself, in the same pattern, so a key can only mean its own label.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any
from unicodedata import east_asian_width

from babel.dates import format_skeleton
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from markupsafe import Markup, escape

from . import outcomes
from .i18n import format_number

W, H = 640, 280
LEFT, RIGHT, TOP, BOTTOM = 34, 16, 26, 40
INK, AVG, WORST, GUIDE = "#1a1f24", "#0b5560", "#4a4a4a", "#8a5a00"
LABEL_SIZE, LABEL_GAP = 11, 13  # guide labels: font size and the least distance between them
BASELINE_DASH, GOAL_DASH, MODERATE_DASH, WORST_DASH = "1 4", "10 5", "6 3 1 3", "5 4"


@dataclass(frozen=True)
class Frame:
    """A chart's size and type sizes (SVG units)."""

    w: int = W
    h: int = H
    left: int = LEFT
    right: int = RIGHT
    top: int = TOP
    bottom: int = BOTTOM
    font: int = 12
    label: int = LABEL_SIZE
    gap: int = LABEL_GAP
    width_attr: bool = False  # draw at its own size (width/height attributes), not scaled up
    markers_up_to: int = 10_000  # dots and squares on each day while this many days show


CLINIC = Frame()
#: the patient's phone: drawn at 320 px wide at most, 14 px text (13 px at 300 px)
PHONE = Frame(
    w=320, h=230, left=26, right=6, top=24, bottom=30, font=14, label=14, gap=16,
    width_attr=True, markers_up_to=31,
)  # fmt: skip


@dataclass(frozen=True)
class ChartText:
    """Translated words the chart needs (title and summary for screen readers)."""

    title: str
    summary: str


def _x(day: date, start: date, span: int, f: Frame = CLINIC) -> float:
    return f.left + (day - start).days * (f.w - f.left - f.right) / max(span, 1)


def _y(nrs: float, f: Frame = CLINIC) -> float:
    return f.top + (10 - nrs) * (f.h - f.top - f.bottom) / 10


def _segments(points: list[tuple[date, float]]) -> list[list[tuple[date, float]]]:
    """Split a series where a day is missing, so gaps show as gaps."""
    runs: list[list[tuple[date, float]]] = []
    for day, value in points:
        if runs and (day - runs[-1][-1][0]).days == 1:
            runs[-1].append((day, value))
        else:
            runs.append([(day, value)])
    return runs


def trend_svg(
    entries: Sequence[dict[str, Any]],
    sessions: Sequence[dict[str, Any]],
    start: date,
    end: date,
    text: ChartText,
    **options: Any,
) -> Markup:
    """An accessible SVG of daily NRS from ``start`` to ``end`` with sessions and goal lines
    (options: see :func:`draw`). Drawn once for the same data, words and language: the
    patient's home shows the same chart on every visit until the data changes."""
    days = tuple((e["day"], e["avg_nrs"], e["worst_nrs"]) for e in entries)
    visits = tuple((s["date"], s["number"]) for s in sessions)
    key = tuple(sorted(options.items()))
    return _drawn(days, visits, start, end, text, key, str(get_locale()))


@lru_cache(maxsize=512)
def _drawn(
    days: tuple[tuple[date, int, int], ...],
    visits: tuple[tuple[date, int], ...],
    start: date,
    end: date,
    text: ChartText,
    options: tuple[tuple[str, Any], ...],
    _locale: str,  # part of the key: the words and dates are in it
) -> Markup:
    entries = [{"day": d, "avg_nrs": a, "worst_nrs": w} for d, a, w in days]
    sessions = [{"date": d, "number": n} for d, n in visits]
    return draw(entries, sessions, start, end, text, **dict(options))


def draw(
    entries: Sequence[dict[str, Any]],
    sessions: Sequence[dict[str, Any]],
    start: date,
    end: date,
    text: ChartText,
    *,
    baseline: float | None = None,
    show_worst: bool = True,
    show_30: bool = False,
    chart_id: str = "trend",
    plain_labels: bool = False,
    frame: Frame = CLINIC,
) -> Markup:
    """An accessible SVG of daily NRS from ``start`` to ``end`` with sessions and goal lines.

    ``plain_labels`` keeps the text inside the chart to digits (for PDFs in right-to-left
    languages: WeasyPrint's SVG text has no bidi or shaping; the caption explains the lines).
    ``frame`` is its size (:data:`CLINIC` or :data:`PHONE`).
    """
    f = frame
    span = max((end - start).days, 6)
    end = start + timedelta(days=span)
    parts: list[str] = []
    add = parts.append
    size = f' width="{f.w}" height="{f.h}"' if f.width_attr else ""
    add(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {f.w} {f.h}"{size} '
        f'class="chart{" chart-phone" if f.width_attr else ""}" '
        f'role="img" aria-labelledby="{chart_id}-t {chart_id}-d" direction="ltr" '
        f'font-family="system-ui, Noto Sans, Noto Sans Arabic, Noto Sans CJK SC, sans-serif" '
        f'font-size="{f.font}">'
    )
    add(f'<title id="{chart_id}-t">{escape(text.title)}</title>')
    add(f'<desc id="{chart_id}-d">{escape(text.summary)}</desc>')
    add(f'<rect x="0" y="0" width="{f.w}" height="{f.h}" fill="#ffffff"/>')
    # grid and y axis: 0, 2, ..., 10
    for value in range(0, 11, 2):
        y = _y(value, f)
        add(
            f'<line x1="{f.left}" y1="{y:.1f}" x2="{f.w - f.right}" y2="{y:.1f}" stroke="#d5dbde" '
            f'stroke-width="1"/>'
        )
        add(
            f'<text x="{f.left - 5}" y="{y + f.font / 3:.1f}" text-anchor="end" '
            f'fill="{INK}">{value}</text>'
        )
    # x axis labels: first and last day
    for day, anchor in ((start, "start"), (end, "end")):
        add(
            f'<text x="{_x(day, start, span, f):.1f}" y="{f.h - 12 if f is CLINIC else f.h - 8}" '
            f'text-anchor="{anchor}" fill="{INK}">'
            f"{escape(_axis_date(day, plain_labels, short=f is not CLINIC))}</text>"
        )
    # sessions: vertical lines numbered at the top (on a phone, a number that would touch
    # the one before it is left out; the line stays)
    label_end = -1.0
    for session in sessions:
        day = session["date"]
        if not start <= day <= end:
            continue
        x = _x(day, start, span, f)
        # Translators: a very short session marker on the chart, e.g. "S1"
        label = _("S%(number)d", number=session["number"])
        if plain_labels:
            label = str(session["number"])
        add(
            f'<line x1="{x:.1f}" y1="{f.top - 4}" x2="{x:.1f}" y2="{f.h - f.bottom}" '
            f'stroke="{INK}" stroke-width="1" stroke-dasharray="2 3"/>'
        )
        half = text_width(label, f.font) / 2
        if x - half < label_end + 3:
            continue
        x_text = min(max(x, f.left + half), f.w - f.right - half)
        label_end = x_text + half
        add(
            f'<text x="{x_text:.1f}" y="{f.top - 8}" text-anchor="middle" font-weight="700" '
            f'fill="{INK}">{escape(label)}</text>'
        )
    # baseline and goal lines
    guides = []
    if baseline is not None:
        guides.append((baseline, BASELINE_DASH, _("Baseline %(value)s", value=_fmt(baseline))))
        guides.append(
            (
                outcomes.goal_line(baseline),
                GOAL_DASH,
                _("Goal: 50%% less (%(value)s)", value=_fmt(outcomes.goal_line(baseline))),
            )
        )
        if show_30:
            guides.append(
                (
                    outcomes.goal_line(baseline, outcomes.MODERATE),
                    MODERATE_DASH,
                    _(
                        "30%% less (%(value)s)",
                        value=_fmt(outcomes.goal_line(baseline, outcomes.MODERATE)),
                    ),
                )
            )
    for value, dash, _label in guides:
        y = _y(value, f)
        add(
            f'<line x1="{f.left}" y1="{y:.1f}" x2="{f.w - f.right}" y2="{y:.1f}" '
            f'stroke="{GUIDE}" stroke-width="1.5" stroke-dasharray="{dash}"/>'
        )
    # series
    series = [("avg_nrs", AVG, None, "circle")]
    if show_worst:
        series.append(("worst_nrs", WORST, WORST_DASH, "square"))
    ordered = sorted(entries, key=lambda e: e["day"])
    markers = span < f.markers_up_to
    for key, colour, dash, marker in series:
        points = [(e["day"], float(e[key])) for e in ordered if start <= e["day"] <= end]
        for run in _segments(points):
            coords = " ".join(f"{_x(d, start, span, f):.1f},{_y(v, f):.1f}" for d, v in run)
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            add(
                f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2.5"'
                f'{dash_attr} stroke-linejoin="round"/>'
            )
        for d, v in points if markers else ():
            add(_marker(marker, _x(d, start, span, f), _y(v, f), colour))
    # the guide labels last, each on a white box, so no data or guide line crosses them
    labels = [(_fmt(value) if plain_labels else label) for value, _dash, label in guides]
    positions = label_positions([_y(v, f) for v, _d, _l in guides], f)
    for label, y in zip(labels, positions, strict=True):
        width = text_width(label, f.label) + 4
        add(
            f'<rect x="{f.w - f.right - width:.1f}" y="{y - f.label:.1f}" width="{width:.1f}" '
            f'height="{f.label + 3}" fill="#ffffff" fill-opacity="0.9" class="label-box"/>'
        )
        add(
            f'<text x="{f.w - f.right - 2}" y="{y:.1f}" text-anchor="end" font-size="{f.label}" '
            f'class="guide-label" fill="{GUIDE}">{escape(label)}</text>'
        )
    add("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value inserted above is escaped or a number


def _marker(kind: str, x: float, y: float, colour: str) -> str:
    if kind == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.2" fill="{colour}"/>'
    return (
        f'<rect x="{x - 2.8:.1f}" y="{y - 2.8:.1f}" width="5.6" height="5.6" '
        f'fill="#ffffff" stroke="{colour}" stroke-width="1.5"/>'
    )


#: what the legend shows: line colour, dash pattern, marker (or none), stroke width
KEYS = {
    "avg": (AVG, None, "circle", 2.5),
    "worst": (WORST, WORST_DASH, "square", 2.5),
    "baseline": (GUIDE, BASELINE_DASH, None, 1.5),
    "goal": (GUIDE, GOAL_DASH, None, 1.5),
    "session": (INK, "2 3", None, 1),
}


def legend_key(kind: str) -> Markup:
    """A legend key: a short piece of the chart's own line (same colour, pattern and
    marker), 32 x 14 px, for the label beside it. Hidden from screen readers (the label is
    the text)."""
    colour, dash, marker, width = KEYS[kind]
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    if kind == "session":
        line = f'<line x1="16" y1="0" x2="16" y2="14" stroke="{colour}" stroke-width="{width}"'
    else:
        line = f'<line x1="1" y1="7" x2="31" y2="7" stroke="{colour}" stroke-width="{width}"'
    body = line + dash_attr + "/>" + (_marker(marker, 16, 7, colour) if marker else "")
    return Markup(  # noqa: S704 - fixed values only
        '<svg class="key" viewBox="0 0 32 14" width="32" height="14" aria-hidden="true" '
        f'focusable="false">{body}</svg>'
    )


#: bidi marks Babel puts in dates of right-to-left locales (e.g. Arabic "17‏/11‏/2026"): SVG
#: text is laid out left to right here, and with the marks the parts swap ("172026/11/")
BIDI_MARKS = dict.fromkeys(map(ord, "\u200e\u200f\u061c\u2066\u2067\u2068\u2069"))


def _axis_date(day: date, plain: bool, *, short: bool = False) -> str:
    """A day on the x axis in the locale's medium style (``d/M`` when text must stay
    digits; day and month in the locale's own order when ``short``: "Nov 23", "23 nov",
    "11月23日"), without bidi marks."""
    if plain:
        return format_date(day, "d/M").translate(BIDI_MARKS)
    if short:
        return format_skeleton("MMMd", day, locale=get_locale()).translate(BIDI_MARKS)
    return format_date(day, "medium").translate(BIDI_MARKS)


def text_width(text: str, size: float) -> float:
    """A generous estimate of a label's width: wide (CJK) characters 1 em, others 0.62 em
    (Noto Sans averages about 0.55 em), so the white box behind a label covers it."""
    return sum(size if east_asian_width(c) in "WF" else 0.62 * size for c in text)


def label_positions(lines: Sequence[float], f: Frame = CLINIC) -> list[float]:
    """Baselines (y) for the labels of horizontal lines at ``lines``: each just above its
    line, at least :data:`LABEL_GAP` apart (lines closer than that, e.g. the 30 % and 50 %
    lines of a low baseline, get their labels stacked), inside the plot area."""
    order = sorted(range(len(lines)), key=lambda k: lines[k])
    placed: dict[int, float] = {}
    previous = None
    for k in order:
        y = max(lines[k] - 4, f.top + f.label)
        if previous is not None:
            y = max(y, previous + f.gap)
        placed[k] = previous = y
    overflow = (previous or 0) - (f.h - f.bottom - 2)
    if overflow > 0:  # pushed below the plot: move the stack up, keeping the gaps
        placed = {k: y - overflow for k, y in placed.items()}
    return [placed[k] for k in range(len(lines))]


def _fmt(value: float | None) -> str:
    return format_number(value, 1)


def summary_text(result: outcomes.CourseOutcome) -> str:
    """The one-sentence summary of a course (chart description, PDF caption)."""
    if result.baseline is None or result.current is None:
        return _("Not enough data yet.")
    return _(
        "Average pain went from %(start)s to %(now)s.",
        start=format_number(result.baseline),
        now=format_number(result.current),
    )


def course_chart(
    course: dict[str, Any],
    entries: Sequence[dict[str, Any]],
    sessions: Sequence[dict[str, Any]],
    result: outcomes.CourseOutcome,
    end: date,
    *,
    chart_id: str = "trend",
    plain_labels: bool = False,
) -> Markup:
    """The clinician's chart of one course (the course page and the PDF summary): daily
    average and worst pain, sessions, baseline, the 30 % and 50 % lines."""
    return trend_svg(
        entries,
        sessions,
        outcomes.chart_start(course["start_date"], entries, sessions),
        end,
        ChartText(
            _("Daily pain of patient %(code)s", code=course["patient_code"]), summary_text(result)
        ),
        baseline=result.baseline,
        show_30=True,
        chart_id=chart_id,
        plain_labels=plain_labels,
    )


def data_url(svg: Markup) -> str:
    """The SVG as a ``data:`` URL. The PDF embeds the chart this way: WeasyPrint then draws
    it as one image instead of styling hundreds of SVG elements as HTML (4x faster)."""
    return "data:image/svg+xml;base64," + base64.b64encode(str(svg).encode("utf-8")).decode()
