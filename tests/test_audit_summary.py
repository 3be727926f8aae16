"""`make audit`'s summary of pip-audit: a vulnerability fails it, an unchecked package is
never reported as clean."""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / ".ci" / "audit_summary.py"


def summary(tmp_path, dependencies):
    report = tmp_path / "audit.json"
    report.write_text(json.dumps({"dependencies": dependencies, "fixes": []}))
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(report)], capture_output=True, text=True
    )
    return done.returncode, done.stdout


def test_a_known_vulnerability_fails_the_audit(tmp_path):
    code, out = summary(
        tmp_path,
        [
            {"name": "flask", "version": "3.1.0", "vulns": []},
            {
                "name": "werkzeug",
                "version": "3.0.0",
                "vulns": [{"id": "PYSEC-2099-1", "fix_versions": ["3.0.6"]}],
            },
        ],
    )
    assert code == 1
    assert "VULNERABLE werkzeug 3.0.0: PYSEC-2099-1 (fixed in: 3.0.6)" in out
    assert "2 of 2 locked packages checked, 1 known vulnerabilities" in out


def test_unchecked_packages_are_reported_as_unchecked(tmp_path):
    code, out = summary(
        tmp_path,
        [
            {"name": "flask", "version": "3.1.0", "vulns": []},
            {"name": "segno", "skip_reason": "Dependency not found on PyPI: segno (1.6.6)"},
        ],
    )
    assert code == 0
    assert "1 of 2 locked packages checked, 0 known vulnerabilities" in out
    assert "NOT CHECKED: 1 packages" in out
