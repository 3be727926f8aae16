"""Issue 17, part 1: what a phone on a poor network downloads. Pages come compressed from
the app itself; static files have content-hashed URLs, are kept for a year and come
precompressed; the service worker precaches those URLs; the manifest is versioned."""

import gzip
import hashlib
import json
import re

import brotli

from diary import assets
from tests.factories import give_consent
from tests.helpers import csrf_from, login, logout, open_link

PHONE = {"Accept-Encoding": "gzip, deflate, br"}


def _patient(client, db, world):
    from diary.queries import patients

    db.execute("UPDATE patients SET locale = 'en' WHERE id = ?", [world.patient_a])
    give_consent(db, patients.current_course(db, world.patient_a)["id"])
    open_link(client, world.token_a)


def test_pages_come_compressed(client, db, world):
    _patient(client, db, world)
    for path in ["/", "/home", "/diary/entry", "/diary/history", "/offline"]:
        plain = client.get(path)
        packed = client.get(path, headers=PHONE)
        assert packed.headers["Content-Encoding"] == "br", path
        assert "Accept-Encoding" in packed.headers["Vary"] and "Cookie" in packed.headers["Vary"]
        assert packed.headers["Cache-Control"] == "no-store", path
        body = brotli.decompress(packed.data)
        # the same page (the CSRF token differs between two renders)
        strip = re.compile(rb'value="[^"]{40,}"')
        assert strip.sub(b"", body) == strip.sub(b"", plain.data), path
        assert len(packed.data) < len(plain.data) / 3, path
    only_gzip = client.get("/home", headers={"Accept-Encoding": "gzip"})
    assert only_gzip.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(only_gzip.data).startswith(b"<!doctype html>")


def test_static_files_have_hashed_urls_kept_for_a_year(client, db, world, app):
    _patient(client, db, world)
    html = client.get("/home").get_data(as_text=True)
    [script] = re.findall(r'<script src="(/static/js/patient\.([0-9a-f]{10})\.js)" async>', html)
    url, digest = script
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert hashlib.sha256(response.data).hexdigest()[:10] == digest  # the name is the content
    assert b"DiaryQueue" in response.data and b"setUpForm" in response.data  # one bundle
    # precompressed: brotli, else gzip, else the file
    br = client.get(url, headers=PHONE)
    assert br.headers["Content-Encoding"] == "br" and brotli.decompress(br.data) == response.data
    gz = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert gz.headers["Content-Encoding"] == "gzip" and gzip.decompress(gz.data) == response.data
    assert "Accept-Encoding" in br.headers["Vary"] and "Cookie" not in br.headers["Vary"]
    # revalidated by ETag
    again = client.get(url, headers={**PHONE, "If-None-Match": br.headers["ETag"]})
    assert again.status_code == 304
    # the plain name still answers, for pages cached before a release, but is revalidated
    plain = client.get("/static/js/diary.js")
    assert plain.status_code == 200 and plain.headers["Cache-Control"] == "no-cache"
    assert client.get("/static/js/diary.0123456789.js").status_code == 404
    assert client.get("/static/js/nothing.js").status_code == 404
    # url_for("static") gives the hashed name too
    with app.test_request_context():
        from flask import url_for

        assert re.fullmatch(
            r"/static/css/clinic\.[0-9a-f]{10}\.css", url_for("static", filename="css/clinic.css")
        )


def test_patient_pages_make_no_render_blocking_request(client, db, world):
    """The patient stylesheet is inline (allowed by its hash), the script async, the tab
    icon a data: URL, and the manifest (installing only) linked by the script once the page
    has painted; clinic pages add their own stylesheet."""
    _patient(client, db, world)
    for path in ["/", "/home", "/diary/entry", "/offline"]:
        html = client.get(path).get_data(as_text=True)
        assert '<link rel="stylesheet"' not in html, path
        assert "<style>" in html and ".nrs-scale{" in html
        assert re.findall(r"<script [^>]*>", html) in ([], [f'<script src="{_url(html)}" async>'])
        assert 'rel="icon" href="data:image/svg+xml;base64,' in html
        linked = re.findall(r'<link rel="manifest" href="([^"]+)"', html)
        held = re.findall(r'<template data-manifest="([^"]+)"></template>', html)
        # pages with the script hold its address for the script (test_browser_diary)
        assert (len(linked), len(held)) == ((1, 0) if path == "/" else (0, 1)), path
        assert re.fullmatch(
            r"/manifest\.webmanifest\?lang=en&amp;v=[0-9a-f]{10}", (linked + held)[0]
        )
    staff = client.application.test_client()
    login(staff, world.clinician_a)
    clinic = staff.get("/clinic/").get_data(as_text=True)
    assert re.search(
        r'<link rel="stylesheet" href="/static/css/clinic\.[0-9a-f]{10}\.css">', clinic
    )


def _href(html: str) -> str:
    return re.search(r'<link rel="manifest" href="([^"]+)"', html).group(1)


def _url(html: str) -> str:
    found = re.search(r'<script src="([^"]+)"', html)
    return found.group(1) if found else ""


def test_the_service_worker_precaches_the_hashed_shell(client, app):
    response = client.get("/sw.js")
    assert response.headers["Service-Worker-Allowed"] == "/"
    first = response.get_data(as_text=True).split("\n", 1)[0]
    build = json.loads(first.removeprefix("var BUILD = ").removesuffix(";"))
    with app.app_context():
        assert build["version"] == assets.manifest().version
    assert build["shell"][0] == "/offline"
    assert re.fullmatch(r"/static/js/queue\.[0-9a-f]{10}\.js", build["queue"])
    for url in build["shell"][1:]:
        assert re.fullmatch(r"/static/[a-z0-9/-]+\.[0-9a-f]{10}\.[a-z0-9]+", url), url
        assert client.get(url).headers["Cache-Control"].endswith("immutable")
    assert any("/static/js/patient." in url for url in build["shell"])
    assert any("/static/css/patient." in url for url in build["shell"])


def test_the_manifest_is_versioned_and_cached(client):
    html = client.get("/").get_data(as_text=True)
    href = re.search(r'<link rel="manifest" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert re.fullmatch(r"/manifest\.webmanifest\?lang=en&v=[0-9a-f]{10}", href)
    cached = client.get(href)
    assert cached.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert cached.json["lang"] == "en"
    assert client.get("/manifest.webmanifest").headers["Cache-Control"] == "no-store"
    assert client.get("/manifest.webmanifest?v=old").headers["Cache-Control"] == "no-store"
    # iOS looks for its home-screen icon at the root
    icon = client.get("/apple-touch-icon.png")
    assert icon.status_code == 302
    assert re.fullmatch(r"/static/icons/icon-192\.[0-9a-f]{10}\.png", icon.headers["Location"])


def test_a_phone_that_keeps_the_stylesheet_gets_it_linked(client, db, world):
    """Once a phone keeps patient.css (diary.js sets a cookie naming this release's, when
    the service worker's cache holds it), pages link the file instead of carrying it
    inline; an older release's cookie, none, the offline page or a sign-out: inline."""
    _patient(client, db, world)
    first = client.get("/home", headers=PHONE)
    html = brotli.decompress(first.data).decode()
    url, version = re.search(
        r'<template data-stylesheet="([^"]+)" data-version="([0-9a-f]{10})"></template>', html
    ).groups()
    assert re.fullmatch(rf"/static/css/patient\.{version}\.css", url)
    inline = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
    # the file is what the pages carry inline, kept for a year, and precached
    css = client.get(url)
    assert css.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert assets.minify_css(css.get_data(as_text=True)) == inline
    assert url in client.get("/sw.js").get_data(as_text=True).split("\n", 1)[0]

    client.set_cookie("diary_css", version)
    for path in ["/home", "/diary/entry", "/diary/history", "/diary/reminder", "/"]:
        kept = brotli.decompress(client.get(path, headers=PHONE).data).decode()
        assert f'<link rel="stylesheet" href="{url}">' in kept, path
        assert "<style>" not in kept and "data-stylesheet" not in kept, path
    assert len(client.get("/home", headers=PHONE).data) < len(first.data) - 3000
    offline = client.get("/offline").get_data(as_text=True)  # shown without a network
    assert "<style>" in offline and 'rel="stylesheet"' not in offline
    client.set_cookie("diary_css", "0123456789")  # an older release's stylesheet
    assert "<style>" in client.get("/home").get_data(as_text=True)
    client.set_cookie("diary_css", version)
    signed_out = logout(client, "/home")
    cookies = signed_out.headers.getlist("Set-Cookie")
    assert any(c.startswith("diary_css=; Expires=Thu, 01 Jan 1970") for c in cookies)
    assert "<style>" in client.get("/").get_data(as_text=True)


def test_the_manifest_sets_no_cookie_and_leaves_the_language_alone(client):
    """The manifest is cached by anyone for a year: its ?lang= picks its own language but
    must not stick to the device (it did, with a Set-Cookie on a public response)."""
    html = client.get("/").get_data(as_text=True)
    arabic = _href(html).replace("&amp;", "&").replace("lang=en", "lang=ar")
    for fresh in (False, True):
        visitor = client.application.test_client() if fresh else client
        response = visitor.get(arabic)
        assert response.json["lang"] == "ar"
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert "Set-Cookie" not in response.headers
    assert 'lang="en"' in client.get("/").get_data(as_text=True)
    assert 'lang="ar"' in client.get("/?lang=ar").get_data(as_text=True)  # a page's does


def test_the_manifest_does_not_vary_with_the_cookie(client, world):
    """Signed in or not, the manifest at its release URL is the same for everyone who asks
    in that language, so a cache may share it: no ``Vary: Cookie`` (a signed-in phone's
    request made the app read the session, and say so). Without ``?lang=`` it follows the
    device's language, and says it varies."""
    url = _href(client.get("/").get_data(as_text=True)).replace("&amp;", "&")
    anonymous = client.get(url)
    open_link(client, world.token_a)
    signed_in = client.get(url)
    for response in (anonymous, signed_in):
        assert "cookie" not in response.headers.get("Vary", "").lower()
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert signed_in.json == anonymous.json
    client.get("/?lang=fr")
    unnamed = client.get("/manifest.webmanifest")
    assert unnamed.json["lang"] == "fr"
    assert "Cookie" in unnamed.headers["Vary"] and unnamed.headers["Cache-Control"] == "no-store"


def test_the_consent_error_summary_reads_as_sentences(client, db, world):
    """A consent box's label is a sentence ending "...Demo Pain Clinic."; the summary said
    "...Clinic.: Tick this box"."""
    from diary import sheet
    from diary.queries import consents, patients

    db.execute("UPDATE patients SET locale = 'en' WHERE id = ?", [world.patient_a])
    course = patients.current_course(db, world.patient_a)["id"]
    consents.record_screening(
        db, course, sheet.SHEET_VERSION, {key: ("no", "") for key in sheet.SCREENING}
    )
    consents.record_quiz(db, course, sheet.SHEET_VERSION, {}, [])
    open_link(client, world.token_a)
    page = client.get("/consent/agree").get_data(as_text=True)
    response = client.post("/consent/agree", data={"csrf_token": csrf_from(page)})
    html = response.get_data(as_text=True)
    summary = re.search(r'<div class="error-summary".*?</div>', html, flags=re.S).group(0)
    lines = re.findall(r'<li><a href="#[^"]+">(.*?)</a></li>', summary)
    assert "Tick this box if you agree to the treatment." in lines
    assert not any(".:" in line for line in lines), lines
    assert any(line.startswith("Full name") or ": " in line for line in lines), lines
