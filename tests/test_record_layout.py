"""Record views that read right in every script (issue 14, items 11 and 12): numbers and
Latin runs isolated on the Arabic course page and PDF, the summary boxes a clean grid in
both directions, chart labels above the data and apart from each other."""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest

from diary import charts, clock, outcomes, pdf, report
from diary.i18n import first_strong_direction, isolate
from diary.queries import patients, seed, treatments
from tests.factories import give_consent
from tests.helpers import login

NEEDLE = "4 mm 27 G"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    ("text", "direction"),
    [
        (NEEDLE, "ltr"),  # starts with a digit: the first strong letter decides
        ("مريض-1", "rtl"),
        ("1-مريض", "rtl"),
        ("李-1", "ltr"),  # Han is a left-to-right script
        ("2%", "ltr"),  # no strong letter: kept as typed
        ("", "ltr"),
        ("  Ñandú", "ltr"),
        ("עברית 3", "rtl"),
    ],
)
def test_isolation_takes_the_direction_of_the_first_strong_letter(text, direction):
    assert first_strong_direction(text) == direction
    assert str(isolate(text)) == f'<bdi dir="{direction}">{text}</bdi>'


def test_isolation_escapes_what_it_wraps():
    assert str(isolate("<b>x</b>")) == '<bdi dir="ltr">&lt;b&gt;x&lt;/b&gt;</bdi>'


@pytest.fixture
def arabic_course(db, world):
    """A consented course with a needle and drug doses that start with digits."""
    patient = patients.create_patient(db, world.clinic_a, "1-A", locale="ar")
    start = clock.today("Europe/Rome") - timedelta(days=14)
    course = patients.create_course(db, patient, "knee", start)
    give_consent(db, course, locale="ar")
    for k, nrs in enumerate((7, 5)):
        treatments.add_session(
            db,
            course,
            start + timedelta(days=7 * k),
            nrs_before=nrs,
            needle=NEEDLE,
            drugs=[{"name": "lidocaine", "dose": "2%", "volume_ml": 1.5}],
        )
    for k in range(14):
        day = (start + timedelta(days=k)).isoformat()
        seed.insert_entry(db, course, day, f"ar-{k}", 6 - k // 7, 7 - k // 7)
    return course


def test_the_arabic_course_page_isolates_needle_drugs_doses_and_code(
    client, db, world, arabic_course
):
    login(client, world.clinician_a)
    page = client.get(f"/clinic/courses/{arabic_course}?lang=ar").get_data(as_text=True)
    assert 'dir="rtl"' in page[:200]
    for value in (NEEDLE, "lidocaine", "2%", "1.5", "1-A"):
        assert f'<bdi dir="ltr">{value}</bdi>' in page, value
    # nothing of the needle or the drugs outside an isolate
    bare = re.sub(r"<bdi[^>]*>.*?</bdi>", "", page)
    assert NEEDLE not in bare and "lidocaine" not in bare


def test_the_arabic_pdf_prints_the_needle_left_to_right(app, db, arabic_course, tmp_path):
    """Where each word of the needle lands on page 2 of the Arabic PDF (poppler's word
    boxes): "4 mm 27 G" reads left to right, as typed (it printed "mm 27 G 4")."""
    with app.test_request_context():
        data = report.render_summary(db, arabic_course, "ar")
    path = tmp_path / "summary-ar.pdf"
    path.write_bytes(data)
    boxes = subprocess.run(
        ["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    words = [
        (float(x0), (float(y0) + float(y1)) / 2, word)
        for x0, y0, y1, word in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]*)</word>',
            boxes,
        )
    ]
    middle = next(
        (
            y
            for k, (_x, y, word) in enumerate(words)
            if word == "27" and words[k - 1][2] in ("mm", "4")
        ),
        None,
    )
    assert middle is not None, "the needle is not in the PDF"
    x = {
        word: x0 for x0, y, word in words if abs(y - middle) < 4 and word in ("4", "mm", "27", "G")
    }
    assert x["4"] < x["mm"] < x["27"] < x["G"], x


def _figure_boxes(document):
    """The outcome boxes of page 1 as (left, top, right, bottom) in CSS px."""
    found = []

    def walk(box):
        element = getattr(box, "element", None)
        classes = (element.get("class") or "").split() if element is not None else []
        if "figure" in classes and box.element_tag == "div":
            left, top = box.position_x + box.margin_left, box.position_y + box.margin_top
            found.append((left, top, left + box.border_width(), top + box.border_height()))
            return
        for child in getattr(box, "children", []):
            walk(child)

    walk(document.pages[0]._page_box)
    return found


@pytest.mark.parametrize("locale", ["ar", "en", "zh_Hans"])
def test_the_summary_boxes_form_a_clean_grid(app, db, arabic_course, locale):
    """Seven boxes in two rows, none overlapping, every row spanning the same width (the
    Arabic second row overlapped, so adjacent borders doubled)."""
    with app.test_request_context():
        document = pdf.layout(report.summary_html(db, arabic_course, locale))
    boxes = _figure_boxes(document)
    assert len(boxes) == 7
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            overlap_x = min(a[2], b[2]) - max(a[0], b[0])
            overlap_y = min(a[3], b[3]) - max(a[1], b[1])
            assert overlap_x <= 0.01 or overlap_y <= 0.01, (a, b)
    rows: dict[float, list] = {}
    for box in boxes:
        rows.setdefault(round(box[1], 1), []).append(box)
    assert sorted(len(r) for r in rows.values()) == [3, 4]
    spans = {
        (round(min(b[0] for b in r), 1), round(max(b[2] for b in r), 1)) for r in rows.values()
    }
    assert len(spans) == 1, spans  # both rows start and end at the same edges
    page = document.pages[0]._page_box
    content = (page.content_box_x(), page.content_box_x() + page.width)
    (left, right) = spans.pop()
    assert content[0] - 0.5 <= left and right <= content[1] + 0.5


# --- chart labels --------------------------------------------------------------------------


def _chart(app, baseline, values, *, plain=False):
    start = clock.today("UTC") - timedelta(days=len(values))
    entries = [
        {"day": start + timedelta(days=k), "avg_nrs": v, "worst_nrs": v, "late": False}
        for k, v in enumerate(values)
    ]
    sessions = [{"number": 1, "date": start, "nrs_before": baseline}]
    result = outcomes.course_outcome(sessions, entries, start, start + timedelta(days=len(values)))
    course = {"start_date": start, "patient_code": "李-1"}
    with app.test_request_context("/?lang=en"):
        svg = charts.course_chart(
            course, entries, sessions, result, start + timedelta(days=len(values)),
            plain_labels=plain,
        )  # fmt: skip
    return ET.fromstring(str(svg))  # noqa: S314 - our own SVG


@pytest.mark.parametrize("baseline", [10, 8, 5, 3, 2, 1])
@pytest.mark.parametrize("plain", [False, True])
def test_chart_labels_sit_above_the_data_and_apart(app, baseline, plain):
    """Baseline, 30 % and 50 % labels: drawn after every data line (so on top), each on a
    white box, never overlapping one another, inside the plot (at baseline 2 the 30 % and
    50 % lines are 0.4 points apart and their labels collided)."""
    root = _chart(app, baseline, [baseline, max(baseline - 1, 0), 1, 0, 1] * 3, plain=plain)
    children = list(root)
    labels = [c for c in children if c.get("class") == "guide-label"]
    assert len(labels) == 3
    data_tags = (f"{SVG}polyline", f"{SVG}circle", f"{SVG}rect")
    last_data = max(
        k for k, c in enumerate(children) if c.tag in data_tags and c.get("class") != "label-box"
    )
    assert all(children.index(label) > last_data for label in labels)
    boxes = [c for c in children if c.get("class") == "label-box"]
    assert len(boxes) == 3
    spans = []
    for label, box in zip(labels, boxes, strict=True):
        assert children.index(box) == children.index(label) - 1  # the box right under it
        top, height = float(box.get("y")), float(box.get("height"))
        y = float(label.get("y"))
        assert top <= y - charts.LABEL_SIZE + 0.01 and y <= top + height
        assert float(box.get("width")) >= charts.text_width(label.text, charts.LABEL_SIZE)
        spans.append((y - charts.LABEL_SIZE, y))
        assert y - charts.LABEL_SIZE >= charts.TOP and y <= charts.H - charts.BOTTOM
    spans.sort()
    for (_a_top, a_bottom), (b_top, _b_bottom) in zip(spans, spans[1:], strict=False):
        assert b_top >= a_bottom, spans
    texts = [label.text for label in labels]
    if plain:
        assert all(re.fullmatch(r"[\d.]+", t) for t in texts), texts
    else:
        assert texts[0].startswith("Baseline") and "50%" in texts[1] and "30%" in texts[2]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        # y of three lines -> label baselines, by hand: 4 above each line, 13 apart at least
        ([100.0, 200.0, 150.0], [96.0, 196.0, 146.0]),
        ([200.0, 209.0, 204.0], [196.0, 222.0, 209.0]),  # stacked in line order
        ([238.0, 239.0, 240.0], [212.0, 225.0, 238.0]),  # pushed up from the plot's bottom
        ([26.0, 30.0], [37.0, 50.0]),  # no higher than the plot's top
    ],
)
def test_label_positions_by_hand(lines, expected):
    assert charts.label_positions(lines) == pytest.approx(expected)


def test_axis_dates_carry_no_bidi_marks(app):
    """Babel's Arabic dates hold right-to-left marks ("17\u200f/11\u200f/2026"); in the SVG,
    laid out left to right, they swapped the parts ("172026/11/")."""
    day = clock.today("UTC")
    entries = [{"day": day, "avg_nrs": 5, "worst_nrs": 6, "late": False}]
    with app.test_request_context("/?lang=ar"):
        svg = charts.trend_svg(entries, [], day, day, charts.ChartText("t", "d"))
    root = ET.fromstring(str(svg))  # noqa: S314 - our own SVG
    axis = [t.text for t in root if t.get("y") == str(charts.H - 12)]
    assert len(axis) == 2
    for label in axis:
        assert not set(label) & set("\u200e\u200f\u061c\u2066\u2067\u2068\u2069"), repr(label)
    assert axis[0] == f"{day:%d/%m/%Y}"  # Arabic medium style, dd/MM/y
