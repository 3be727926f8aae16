"""Bytes a phone downloads per diary page view, as the app serves them: the HTML (with its
inline stylesheet) compressed per response, linked CSS and JS precompressed (brotli).

Target (issue 4): the diary home and entry pages each under 30 KB per page view; issue
17's first-visit figure with headers and every request is Lighthouse's
(bench/lighthouse_bench.py).
Runs the app on a temporary database through the Flask test client; prints a table.
"""

from __future__ import annotations

import re
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import brotli  # noqa: E402

from diary import clock, create_app, migrations  # noqa: E402
from diary.db import connect  # noqa: E402
from diary.queries import accounts, consents, patients, seed, treatments  # noqa: E402
from diary.sheet import SHEET_VERSION  # noqa: E402

LIMIT = 30 * 1024


def main() -> int:
    tmp = Path(tempfile.mkdtemp())
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench",
            "DATABASE": str(tmp / "d.sqlite"),
            "INSTANCE_PATH": str(tmp / "instance"),
        }
    )
    app.logger.setLevel("WARNING")  # the figures, not the request log
    db = connect(app.config["DATABASE"])
    migrations.apply(db)
    clinic = accounts.create_clinic(db, "Bench Clinic", phone="+39 06 1", timezone="UTC")
    patient = patients.create_patient(db, clinic, "BENCH-1")
    today = clock.now().date()
    course = patients.create_course(db, patient, "neck", (today - timedelta(days=84)).isoformat())
    consents.give(
        db,
        course,
        sheet_version=SHEET_VERSION,
        locale="en",
        text="## t",
        agreements={},
        full_name="B",
        signature_png=None,
        user_agent="bench",
    )
    for k in range(84):
        day = today - timedelta(days=84 - k)
        seed.insert_entry(db, course, day.isoformat(), f"b-{k}", 8 - k // 12, 9 - k // 12)
        if k % 7 == 0:
            treatments.add_session(db, course, day.isoformat(), nrs_before=8 - k // 12)
    token = patients.issue_link(db, patient)
    client = app.test_client()
    page = client.get(f"/p/{token}").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post(f"/p/{token}", data={"csrf_token": csrf})

    head = f"{'page':<16}{'html':>8}{'css':>8}{'js':>8}{'total':>8}"
    print(f"{head}  (bytes sent, brotli; limit {LIMIT})")
    phone = {"Accept-Encoding": "br, gzip"}
    worst = 0
    for name, path in [
        ("diary home", "/home"),
        ("diary entry", "/diary/entry"),
        ("offline page", "/offline"),
    ]:
        response = client.get(path, headers=phone)
        assert response.headers.get("Content-Encoding") == "br", path  # the app compresses
        html = brotli.decompress(response.data)
        assets = re.findall(rb'(?:href|src)="(/static/[^"]+\.(?:css|js))"', html)
        sizes = {"html": len(response.data), "css": 0, "js": 0}
        for asset in assets:
            body = client.get(asset.decode(), headers=phone).data
            kind = "css" if asset.endswith(b".css") else "js"
            sizes[kind] += len(body)
        total = sum(sizes.values())
        worst = max(worst, total)
        print(f"{name:<16}{sizes['html']:>8}{sizes['css']:>8}{sizes['js']:>8}{total:>8}")
    print(f"largest page view: {worst} bytes ({'OK' if worst < LIMIT else 'OVER'} the limit)")
    return 0 if worst < LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())
