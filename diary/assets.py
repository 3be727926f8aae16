"""Static files for slow phone networks: content-hashed URLs, cached for a year, sent
compressed.

At start-up every file under ``static/`` gets a name with the first hex digits of its
SHA-256 (``css/patient.css`` -> ``css/patient.1a2b3c4d5e.css``); pages link to that name
through :func:`url` (``static_url`` in templates, and ``url_for('static', ...)``). A file's
name changes whenever its content does, so the hashed name is served with
``Cache-Control: public, max-age=31536000, immutable``: a phone that has it never asks
again, not even to revalidate. The plain name still answers, with ``no-cache`` and an
ETag, for pages cached before a release.

Text files (CSS, JavaScript, SVG) are compressed once, at start-up, with brotli (quality
11) and gzip (level 9), and sent in the best encoding the browser accepts, so no proxy is
needed for that. Pages are compressed per response by Flask-Compress (see
:func:`init_app`).

Fewer requests before a phone can paint: the patient stylesheet is put inline in every
page (minified, allowed by its SHA-256 in the CSP: :func:`inline_style`) until the phone
keeps the file (:func:`stylesheet_kept`), the diary's two
scripts are served as one file (:data:`BUNDLES`), JavaScript loses its comment lines and
indentation (:func:`slim_js`), and the tab icon is a ``data:`` URL.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import mimetypes
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import brotli
from flask import Flask, Response, abort, current_app, request, send_file
from flask_compress import Compress
from markupsafe import Markup

from .security import content_security_policy

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
HASH_DIGITS = 10
#: compressed at start-up; fonts and images are compressed already (or only used by PDFs)
COMPRESSIBLE = frozenset({".css", ".js", ".svg", ".json", ".txt", ".html"})
#: below this, compression saves less than the header it adds
MIN_COMPRESS = 256


@dataclass(frozen=True)
class Asset:
    """One static file: its hashed name, and its body compressed ahead of time."""

    name: str  # "css/patient.css", relative to static/, with forward slashes
    hashed: str  # "css/patient.1a2b3c4d5e.css"
    path: Path
    digest: str  # full SHA-256 hex of the file
    content_type: str
    body: bytes | None  # the file itself, kept in memory when it is compressible
    br: bytes | None
    gz: bytes | None


@dataclass(frozen=True)
class Manifest:
    """Every static file by plain and by hashed name."""

    by_name: dict[str, Asset]
    by_hashed: dict[str, Asset]

    @property
    def version(self) -> str:
        """A short hash of every file's hash: changes whenever any static file does."""
        joined = "".join(sorted(a.digest for a in self.by_name.values()))
        return hashlib.sha256(joined.encode()).hexdigest()[:HASH_DIGITS]


def hashed_name(name: str, digest: str) -> str:
    """``css/app.css`` -> ``css/app.<first 10 hex digits>.css``."""
    stem, dot, ext = name.rpartition(".")
    if not dot or "/" in ext:
        return f"{name}.{digest[:HASH_DIGITS]}"
    return f"{stem}.{digest[:HASH_DIGITS]}.{ext}"


def _content_type(name: str) -> str:
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/javascript", "image/svg+xml"):
        kind += "; charset=utf-8"
    return kind


#: files served as one (one request instead of two on a page's critical path), in order
BUNDLES = {"js/patient.js": ("js/queue.js", "js/diary.js")}


def slim_js(data: bytes) -> bytes:
    """JavaScript without its whole-line ``//`` comments and indentation: only lines are
    dropped or trimmed (our scripts have no template literals, so no string spans lines)."""
    lines = (line.strip() for line in data.decode("utf-8").splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("//")).encode()


def _asset(folder: Path, path: Path, name: str | None = None, data: bytes | None = None) -> Asset:
    data = path.read_bytes() if data is None else data
    if path.suffix == ".js":
        data = slim_js(data)
    digest = hashlib.sha256(data).hexdigest()
    name = name or path.relative_to(folder).as_posix()
    body = br = gz = None
    if path.suffix in COMPRESSIBLE:
        body = data
        if len(data) >= MIN_COMPRESS:
            br = brotli.compress(data, quality=11)
            gz = gzip.compress(data, compresslevel=9, mtime=0)
    return Asset(name, hashed_name(name, digest), path, digest, _content_type(name), body, br, gz)


def _fingerprint(folder: Path) -> tuple[tuple[str, int, int], ...]:
    found = []
    for root, _dirs, files in os.walk(folder):
        for file in files:
            st = os.stat(os.path.join(root, file))
            found.append((os.path.join(root, file), st.st_mtime_ns, st.st_size))
    return tuple(sorted(found))


@lru_cache(maxsize=4)
def _build(folder: str, fingerprint: tuple[tuple[str, int, int], ...]) -> Manifest:
    root = Path(folder)
    assets = [_asset(root, Path(path)) for path, _mtime, _size in fingerprint]
    for bundle, parts in BUNDLES.items():
        data = b"\n".join((root / part).read_bytes() for part in parts)
        assets.append(_asset(root, root / parts[-1], bundle, data))
    return Manifest({a.name: a for a in assets}, {a.hashed: a for a in assets})


def build(folder: str | Path) -> Manifest:
    """The manifest of a static folder (built once per process while the files stay the
    same: the test suite creates many apps)."""
    return _build(str(folder), _fingerprint(Path(folder)))


def manifest() -> Manifest:
    """The current app's manifest."""
    return current_app.extensions["diary_assets"]


def release() -> str:
    """A short hash of every static file and every compiled catalogue: what a cached page
    resource that holds translated words (the web app manifest) is keyed on."""
    return current_app.extensions["diary_release"]


def _catalogues_hash(folders: str) -> str:
    digest = hashlib.sha256()
    for folder in folders.split(";"):
        for path in sorted(Path(folder).glob("*/LC_MESSAGES/*.mo")):
            digest.update(path.as_posix().encode() + path.read_bytes())
    return digest.hexdigest()


def url(filename: str) -> str:
    """The URL of a static file under its hashed name (``/static/css/patient.1a2b….css``)."""
    asset = manifest().by_name.get(filename)
    name = asset.hashed if asset else filename
    return f"{request.script_root if request else ''}/static/{name}"


def _encoding(asset: Asset) -> str | None:
    accepted = request.accept_encodings
    if asset.br is not None and accepted["br"]:
        return "br"
    if asset.gz is not None and accepted["gzip"]:
        return "gzip"
    return None


def static_view(filename: str) -> Response:
    """Serve a static file: hashed names for a year, plain names revalidated; compressed
    when the browser accepts it."""
    found = manifest()
    asset = found.by_hashed.get(filename)
    cache = IMMUTABLE
    if asset is None:
        asset = found.by_name.get(filename)
        cache = REVALIDATE
    if asset is None:
        abort(404)
    if asset.body is None:  # a binary file: Flask sends it from disk (never a bundle)
        response = send_file(asset.path, mimetype=asset.content_type, etag=asset.digest[:32])
    else:
        encoding = _encoding(asset)
        body = {"br": asset.br, "gzip": asset.gz}.get(encoding or "", asset.body)
        response = Response(body, content_type=asset.content_type)
        if encoding:
            response.headers["Content-Encoding"] = encoding
        if asset.br is not None:
            response.vary.add("Accept-Encoding")
        response.set_etag(f"{asset.digest[:32]}-{encoding or 'identity'}")
        response.make_conditional(request)
    response.headers["Cache-Control"] = cache
    return response


#: the stylesheet every page carries inline, so that nothing blocks the first paint
INLINE_CSS = "css/patient.css"


def minify_css(text: str) -> str:
    """Comments and layout whitespace out (strings keep their single spaces; a space
    before ``:`` is kept, as it separates ``.a :focus`` from ``.a:focus``)."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s*([{};,>])\s*", r"\1", text)
    text = re.sub(r":\s+", ":", text)
    return text.replace(";}", "}").strip()


@dataclass(frozen=True)
class InlineStyle:
    """A stylesheet to put in a ``<style>`` element, and its CSP source (a hash)."""

    css: Markup
    csp_source: str  # "'sha256-...'"


@lru_cache(maxsize=4)
def _inline(text: str) -> InlineStyle:
    css = minify_css(text)
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    return InlineStyle(Markup(css), f"'sha256-{digest}'")  # noqa: S704 - our own file


def inline_style(found: Manifest) -> InlineStyle:
    """The inline stylesheet of a manifest (:data:`INLINE_CSS`, minified)."""
    return _inline((found.by_name[INLINE_CSS].body or b"").decode())


#: the cookie by which a phone says it keeps the stylesheet: the hashed name's digest part.
#: Set by diary.js once the service worker's cache holds the stylesheet; not a secret.
KEPT_COOKIE = "diary_css"
#: pages that always carry the stylesheet inline: the offline page is kept by the service
#: worker and shown without a network
ALWAYS_INLINE = frozenset({"diary.offline"})


def kept_version(found: Manifest) -> str:
    """The value :data:`KEPT_COOKIE` has on a phone that keeps this release's stylesheet."""
    return found.by_name[INLINE_CSS].hashed.rsplit(".", 2)[-2]


def stylesheet_kept() -> bool:
    """Does this phone keep the stylesheet (its cookie names this release's)? Then the page
    links it instead of carrying it inline: about 3.7 KB less on every page after the
    first. A phone whose cache lost the file fetches it once (a year in the HTTP cache)."""
    return request.endpoint not in ALWAYS_INLINE and request.cookies.get(
        KEPT_COOKIE
    ) == kept_version(manifest())


def init_app(app: Flask) -> None:
    """Hashed static URLs, the static view, and compressed pages (Flask-Compress)."""
    found = app.extensions["diary_assets"] = build(app.static_folder or "static")
    catalogues = _catalogues_hash(app.config.get("BABEL_TRANSLATION_DIRECTORIES", ""))
    app.extensions["diary_release"] = hashlib.sha256(
        (found.version + catalogues).encode()
    ).hexdigest()[:HASH_DIGITS]
    app.jinja_env.globals["asset_release"] = release
    app.view_functions["static"] = static_view
    style = inline_style(found)
    app.config["CONTENT_SECURITY_POLICY"] = content_security_policy(style.csp_source)
    app.jinja_env.globals["inline_css"] = style.css
    app.jinja_env.globals["stylesheet_kept"] = stylesheet_kept
    app.jinja_env.globals["stylesheet_version"] = kept_version(found)
    # the tab's icon as a data: URL (200 bytes): one request less before the first paint
    icon = found.by_name["icons/icon.svg"].body or b""
    app.jinja_env.globals["icon_data_url"] = "data:image/svg+xml;base64," + base64.b64encode(
        icon
    ).decode("ascii")

    @app.url_defaults
    def hashed_static(endpoint: str, values: dict) -> None:
        # url_for("static", filename=...) gives the hashed name too
        if endpoint == "static" and "filename" in values:
            asset = manifest().by_name.get(values["filename"])
            if asset is not None:
                values["filename"] = asset.hashed

    app.jinja_env.globals["static_url"] = url
    # Pages: brotli or gzip by what the browser accepts, at a level that costs the server
    # little (HTML compresses about 5:1 even so). Static files are skipped (sent as files
    # or compressed already).
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    # level 4: a 30 KB page in 0.25 ms, 7 % smaller than level 3 (0.12 ms); a first visit
    # to the patient home stays under 15 KB with it
    app.config.setdefault("COMPRESS_BR_LEVEL", 4)
    app.config.setdefault("COMPRESS_BR_WINDOW", 18)  # pages are far below 256 KB
    app.config.setdefault("COMPRESS_LEVEL", 6)
    app.config.setdefault("COMPRESS_MIN_SIZE", 500)
    app.config.setdefault(
        "COMPRESS_MIMETYPES",
        [
            "text/html",
            "text/css",
            "text/javascript",
            "application/javascript",
            "application/json",
            "application/manifest+json",
            "text/calendar",
            "text/csv",
        ],
    )
    Compress(app)
