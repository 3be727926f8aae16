"""The clinician's PDF summary: content, layout, language, tagging and safe rendering."""

import io
import re
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from flask_babel import force_locale, gettext
from pypdf import PdfReader

from diary import clock, pdf, report
from diary.queries import patients, seed, treatments
from tests.factories import give_consent
from tests.helpers import login


def pdf_text(data: bytes) -> tuple[str, PdfReader]:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages), reader


@pytest.fixture
def known_course(db, world):
    """Baseline 8, weekly sessions, pain halving after session 2, a consented course."""
    course = patients.current_course(db, world.patient_a)["id"]
    start = clock.now().date() - timedelta(days=20)
    db.execute("UPDATE courses SET start_date = ? WHERE id = ?", [start.isoformat(), course])
    consent_id = give_consent(db, course, locale="it")
    for number, nrs in ((1, 8), (2, 6), (3, 4)):
        day = start + timedelta(days=7 * (number - 1))
        treatments.add_session(
            db,
            course,
            day.isoformat(),
            nrs_before=nrs,
            drugs=[{"name": "lidocaine", "dose": "20 mg", "volume_ml": 2}],
            adverse_events="small bruise" if number == 2 else "",
        )
    values = [7] * 7 + [4] * 7 + [3] * 7
    for k, value in enumerate(values):
        seed.insert_entry(
            db,
            course,
            (start + timedelta(days=k)).isoformat(),
            f"r-{k}",
            value,
            value + 1,
            site_effects=["redness"] if k == 3 else [],
        )
    return course, consent_id


def render(app, db, course, locale="en"):
    with app.test_request_context():
        return report.render_summary(db, course, locale)


def test_summary_holds_the_figures_of_a_known_course(app, db, known_course):
    course, consent_id = known_course
    text, reader = pdf_text(render(app, db, course))
    flat = re.sub(r"\s+", " ", text)
    assert "Pain summary" in flat and "A-001" in flat and "Clinic A" in flat
    assert re.search(r"\b8 ?Baseline NRS", flat)
    assert "63%" in flat  # (8 - 3) / 8 = 62.5 %: now is the latest measurement, a 3
    # one date style in the whole document: Babel's medium dates ("Nov 23, 2026")
    assert not re.search(r"\b\d{1,2}/\d{1,2}/\d{2}\b", flat)
    assert re.search(r"Generated [A-Z][a-z]{2} \d{1,2}, \d{4}, ", flat)
    assert "Session 2" in flat  # the interval after session 2 averaged 4 = half of 8
    assert "3.5 ± 1.7" in flat  # the reference from paper 001
    consent = db.execute(
        "SELECT sheet_version, text_sha256 FROM consents WHERE id = ?", [consent_id]
    ).fetchone()
    assert f"version {consent[0]}" in flat and consent[1][:16] in flat
    assert "small bruise" in flat and "Redness ×1" in flat
    assert len(reader.pages) == 2
    assert "1 / 2" in flat and "2 / 2" in flat and "Patient A-001" in flat


def test_pdf_is_tagged_with_title_language_and_paper_size(app, db, known_course, world):
    course, _ = known_course
    _text, reader = pdf_text(render(app, db, course))
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root and root["/Lang"] == "en"
    assert "Pain summary" in reader.metadata.title
    width, height = float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)
    assert (round(width), round(height)) == (595, 842)  # A4
    db.execute("UPDATE clinics SET paper_size = 'Letter' WHERE id = ?", [world.clinic_a])
    _text, letter = pdf_text(render(app, db, course))
    assert (
        round(float(letter.pages[0].mediabox.width)),
        round(float(letter.pages[0].mediabox.height)),
    ) == (612, 792)


def test_arabic_summary_is_right_to_left_with_arabic_text(app, db, known_course):
    course, _ = known_course
    data = render(app, db, course, "ar")
    text, reader = pdf_text(data)
    assert any("\u0600" <= ch <= "\u06ff" for ch in text)
    assert reader.trailer["/Root"]["/Lang"] == "ar"


class CountingHandler(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802
        CountingHandler.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *_args):
        return


def test_patient_text_is_escaped_and_nothing_is_fetched(app, db, known_course):
    course, _ = known_course
    server = HTTPServer(("127.0.0.1", 0), CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    CountingHandler.hits.clear()
    nasty = (
        f'<img src="file:///etc/passwd"> <img src="http://127.0.0.1:{port}/img.png"> '
        f"<style>body{{background:url(http://127.0.0.1:{port}/css)}}</style>"
    )
    seed.insert_entry(
        db,
        course,
        "2020-01-01",
        "nasty-1",
        5,
        6,
        note=nasty,
        medication=f"url(http://127.0.0.1:{port}/med)",
    )
    try:
        text, _reader = pdf_text(render(app, db, course))
    finally:
        server.shutdown()
    assert CountingHandler.hits == []
    flat = re.sub(r"\s+", "", text)
    assert re.sub(r"\s+", "", '<img src="file:///etc/passwd">') in flat
    assert f"http://127.0.0.1:{port}/img.png" in flat
    assert "root:x:0:0" not in text


def test_fetcher_serves_static_and_data_only(app):
    fetcher = pdf.StaticOnlyFetcher(app.static_folder)
    css = fetcher.fetch(pdf.STATIC_BASE + "css/pdf.css")
    assert b"@font-face" in css.read()
    assert fetcher.fetch("data:text/plain;base64,aGk=").read() == b"hi"
    for url in (
        "file:///etc/passwd",
        "http://127.0.0.1:9/",
        "https://example.org/x.png",
        pdf.STATIC_BASE + "../diary/__init__.py",
        pdf.STATIC_BASE + "css/missing.css",
        "ftp://example.org/x",
    ):
        with pytest.raises(ValueError, match="refused"):
            fetcher.fetch(url)
    assert len(fetcher.refused) == 6


def test_button_on_the_course_page_and_download(app, db, known_course, world):
    course, _ = known_course
    staff = app.test_client()
    login(staff, world.clinician_a)
    page = staff.get(f"/clinic/courses/{course}").get_data(as_text=True)
    assert f"/clinic/courses/{course}/summary.pdf" in page
    inline = staff.get(f"/clinic/courses/{course}/summary.pdf")
    assert inline.mimetype == "application/pdf" and inline.headers[
        "Content-Disposition"
    ].startswith("inline")
    saved = staff.get(f"/clinic/courses/{course}/summary.pdf?download=1")
    assert saved.headers["Content-Disposition"].startswith("attachment")
    italian = staff.get(f"/clinic/courses/{course}/summary.pdf?lang=it")
    with app.test_request_context(), force_locale("it"):
        title = gettext("Pain summary")
    assert title != "Pain summary" and title in pdf_text(italian.data)[0]
    other = app.test_client()
    login(other, world.clinician_b)
    assert other.get(f"/clinic/courses/{course}/summary.pdf").status_code == 404


def test_render_slots_limit_concurrent_renders(app):
    app.config["PDF_CONCURRENCY"] = 1
    with (
        app.app_context(),
        pdf.render_slot(),
        pytest.raises(pdf.Busy),
        pdf.render_slot(timeout=0.05),
    ):
        pass


def test_cli_report(runner, tmp_path, known_course):
    course, _ = known_course
    out = runner.invoke(args=["report", str(course), str(tmp_path / "s.pdf"), "--lang", "de"])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "s.pdf").read_bytes()[:5] == b"%PDF-"
    missing = runner.invoke(args=["report", "999", str(tmp_path / "x.pdf")])
    assert missing.exit_code != 0


def test_chinese_summary_renders_cjk_glyphs(app, db, known_course):
    """The zh PDF carries Chinese text drawn with a CJK font (Noto CJK, installed by make)."""
    course, _ = known_course
    data = render(app, db, course, "zh_Hans")
    text, reader = pdf_text(data)
    assert sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff") > 20
    fonts = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            fonts.add(str(font.get_object()["/BaseFont"]))
    assert any("CJK" in name for name in fonts), fonts
    assert reader.trailer["/Root"]["/Lang"] == "zh-Hans"


def test_rtl_pdf_chart_keeps_its_text_to_digits(app, db, known_course, monkeypatch):
    """WeasyPrint draws SVG text without bidi or shaping: the Arabic PDF's chart carries
    digits only, and its caption (HTML, shaped) explains the lines."""
    from diary import charts

    seen = {}
    real = charts.trend_svg

    def spy(*args, **kwargs):
        seen.update(kwargs)
        svg = real(*args, **kwargs)
        seen["svg"] = str(svg)
        return svg

    monkeypatch.setattr(charts, "trend_svg", spy)
    course, _ = known_course
    render(app, db, course, "ar")
    assert seen["plain_labels"] is True
    drawn = re.sub(r"<title.*?</desc>", "", seen["svg"], flags=re.S)
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", drawn)
    assert texts and all(not any("\u0600" <= ch <= "\u06ff" for ch in t) for t in texts)
    render(app, db, course, "en")
    assert seen["plain_labels"] is False
