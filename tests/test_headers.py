import re
from pathlib import Path

import pytest

from tests.helpers import login, open_link

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
#: the strict policy; styles: our own files and the one <style> element, by its hash
CSP = re.compile(
    re.escape("default-src 'self'; script-src 'self'; style-src 'self' ")
    + r"'sha256-[A-Za-z0-9+/]{43}='"
    + re.escape(
        "; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none';"
        " form-action 'self'"
    )
)


@pytest.mark.parametrize(
    "path",
    ["/", "/login", "/healthz", "/nowhere", "/static/icons/icon.svg", "/p/unknown", "/cal/x.ics"],
)
def test_security_headers_on_every_response(client, path):
    response = client.get(path)
    assert CSP.fullmatch(response.headers["Content-Security-Policy"])
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    secret = path.startswith(("/p/", "/cal/"))  # a personal link's path never leaves in Referer
    assert response.headers["Referrer-Policy"] == ("no-referrer" if secret else "same-origin")
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize(
    "path", ["/static/css/patient.css", "/static/js/diary.js", "/manifest.webmanifest?v=x"]
)
def test_files_that_are_never_documents_carry_only_what_applies(client, path):
    """A stylesheet, a script, the manifest: no document-only headers (CSP, frames,
    permissions, opener), which would cost a slow phone 550 bytes each; never sniffed."""
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    for header in (
        "Content-Security-Policy",
        "Permissions-Policy",
        "X-Frame-Options",
        "Cross-Origin-Opener-Policy",
    ):
        assert header not in response.headers, (path, header)


def test_pages_are_never_cached_static_files_may_be(client, world):
    login(client, world.clinician_a)
    assert client.get("/clinic/").headers["Cache-Control"] == "no-store"
    assert client.get("/").headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/static/css/patient.css").headers.get("Cache-Control", "")


def test_patient_pages_are_not_cached(client, world):
    open_link(client, world.token_a)
    assert client.get("/home").headers["Cache-Control"] == "no-store"


def test_session_cookie_flags(app, client):
    app.config["SESSION_COOKIE_SECURE"] = True  # as in production
    response = client.get("/login", base_url="https://localhost")  # sets the CSRF session
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_templates_have_no_inline_script_or_style():
    """No inline script, style attribute or event handler; one <style> element, in
    base.html, holding the patient stylesheet that the CSP allows by its hash."""
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        assert not re.search(r"\sstyle\s*=", text), f"style attribute in {path}"
        styles = re.findall(r"<style[^>]*>(.*?)</style>", text, flags=re.S)
        if path.name == "base.html" and path.parent == TEMPLATES:
            assert styles == ["{{ inline_css }}"]
        else:
            assert not re.search(r"<style", text), f"<style> in {path}"
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), f"inline script in {path}"
        assert not re.search(r"\son[a-z]+\s*=", text), f"event handler attribute in {path}"


def test_rendered_pages_have_no_inline_style_or_script(client, world):
    import base64
    import hashlib

    login(client, world.admin_a)
    for path in ["/", "/login", "/clinic/", "/clinic/team", "/nowhere"]:
        response = client.get(path)
        html = response.get_data(as_text=True)
        # the one <style> element is exactly what the CSP's hash allows
        [style] = re.findall(r"<style>(.*?)</style>", html, flags=re.S)
        digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in response.headers["Content-Security-Policy"], path
        assert not re.search(r"\sstyle\s*=", html), f"style attribute in {path}"
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), f"inline script in {path}"
