"""The one way a view answers with a file: Werkzeug's ``send_file``, which names the file
in an ASCII ``filename=`` plus an RFC 5987 ``filename*=UTF-8''...`` (patient codes may be
in any script, and a non-latin-1 header is a 500 under gunicorn)."""

from __future__ import annotations

import io

from flask import Response, send_file


def send_download(body: bytes | str, mimetype: str, name: str, *, inline: bool = False) -> Response:
    """``body`` (str is sent as UTF-8) as a file called ``name``: a download, or shown in the
    browser when ``inline``. Text types keep ``charset=utf-8`` in the Content-Type. No
    ranges or conditional answers: every request gets the whole, freshly built file."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    return send_file(
        io.BytesIO(data),
        mimetype=mimetype,
        as_attachment=not inline,
        download_name=name,
        conditional=False,
        etag=False,
    )
