import re
from pathlib import Path

import pytest

from tests.helpers import login, open_link

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


@pytest.mark.parametrize(
    "path",
    ["/", "/login", "/healthz", "/nowhere", "/static/css/app.css", "/p/unknown", "/cal/x.ics"],
)
def test_security_headers_on_every_response(client, path):
    response = client.get(path)
    assert response.headers["Content-Security-Policy"] == CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    secret = path.startswith(("/p/", "/cal/"))  # a personal link's path never leaves in Referer
    assert response.headers["Referrer-Policy"] == ("no-referrer" if secret else "same-origin")
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_pages_are_never_cached_static_files_may_be(client, world):
    login(client, world.clinician_a)
    assert client.get("/clinic/").headers["Cache-Control"] == "no-store"
    assert client.get("/").headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/static/css/app.css").headers.get("Cache-Control", "")


def test_patient_pages_are_not_cached(client, world):
    open_link(client, world.token_a)
    assert client.get("/home").headers["Cache-Control"] == "no-store"


def test_session_cookie_flags(app, client):
    app.config["SESSION_COOKIE_SECURE"] = True  # as in production
    response = client.get("/login", base_url="https://localhost")  # sets the CSRF session
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_templates_have_no_inline_script_or_style():
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        assert not re.search(r"\sstyle\s*=", text), f"style attribute in {path}"
        assert not re.search(r"<style", text), f"<style> in {path}"
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), f"inline script in {path}"
        assert not re.search(r"\son[a-z]+\s*=", text), f"event handler attribute in {path}"


def test_rendered_pages_have_no_inline_style_or_script(client, world):
    login(client, world.admin_a)
    for path in ["/", "/login", "/clinic/", "/clinic/team", "/nowhere"]:
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"\sstyle\s*=", html), f"style attribute in {path}"
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), f"inline script in {path}"


def test_pages_link_static_files_by_a_digest_of_their_content(app, client, tmp_path):
    """Static URLs carry ``?v=<digest>``, so the proxy may cache them as immutable; a file
    whose content changes gets a new URL."""
    import hashlib

    from diary import assets

    page = client.get("/login").get_data(as_text=True)
    css = (Path(app.static_folder) / "css" / "app.css").read_bytes()
    digest = hashlib.sha256(css).hexdigest()[:12]
    assert f'href="/static/css/app.css?v={digest}"' in page
    assert re.search(r'href="/static/icons/icon\.svg\?v=[0-9a-f]{12}"', page)
    assert client.get(f"/static/css/app.css?v={digest}").data == css
    copy = tmp_path / "app.css"
    copy.write_bytes(css)
    before = assets.version_of(str(tmp_path), "app.css")
    copy.write_bytes(css + b"\n/* changed */\n")
    assert assets.version_of(str(tmp_path), "app.css") not in (before, None)
    assert assets.version_of(str(tmp_path), "missing.css") is None
