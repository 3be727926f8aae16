"""The files of ``deploy/`` that a clinic installs: the systemd units pass systemd's own
check, run commands the app has, and agree with the nginx site and the environment file;
the backup and purge units' commands run as written."""

from __future__ import annotations

import os
import re
import shlex
import sqlite3
import subprocess
from pathlib import Path

import pytest

from diary import create_app, migrations
from diary.db import connect

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service")) + sorted(
    (DEPLOY / "systemd").glob("*.timer")
)
CHECKOUT = "/srv/diary/app"  # where the units and the nginx site expect the checkout


def directives(unit: Path, name: str) -> list[str]:
    """Every value of ``name=`` in a unit, continuation lines joined."""
    text = unit.read_text().replace("\\\n", " ")
    return [m.group(1).strip() for m in re.finditer(rf"^{name}=(.*)$", text, re.M)]


def env_file() -> dict[str, str]:
    lines = (DEPLOY / "diary.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_the_units_pass_systemd_analyze_verify(tmp_path):
    # systemd checks that each command exists: the checkout's own .venv stands in for
    # /srv/diary/app/.venv
    for unit in UNITS:
        (tmp_path / unit.name).write_text(unit.read_text().replace(CHECKOUT, str(ROOT)))
    done = subprocess.run(
        ["systemd-analyze", "verify", *sorted(p.name for p in tmp_path.iterdir())],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    for timer in (DEPLOY / "systemd").glob("*.timer"):
        assert (timer.with_suffix(".service")).exists(), f"{timer.name} starts no service"
    assert {t.stem for t in (DEPLOY / "systemd").glob("*.timer")} == {
        "diary-purge",
        "diary-backup",
        "diary-reminders",
    }


def flask_commands() -> list[tuple[str, list[str]]]:
    """(unit, flask arguments) for every ``flask --app diary ...`` a unit runs."""
    found = []
    for unit in UNITS:
        for line in directives(unit, "ExecStart") + directives(unit, "ExecStartPre"):
            match = re.search(r"flask --app diary ([^'\"]*)", line)
            if match:
                args = [a for a in shlex.split(match.group(1)) if not a.startswith("/")]
                found.append((unit.name, args))
    return found


@pytest.mark.parametrize("unit, args", flask_commands())
def test_every_flask_command_in_the_units_exists(unit, args):
    app = create_app({"TESTING": True})
    result = app.test_cli_runner().invoke(args=[*args, "--help"])
    assert result.exit_code == 0, f"{unit}: flask {' '.join(args)}: {result.output}"


def test_units_nginx_and_the_environment_agree():
    gunicorn = directives(DEPLOY / "systemd" / "diary.service", "ExecStart")[0]
    assert "--bind 127.0.0.1:8000" in gunicorn  # loopback only
    site = (DEPLOY / "nginx" / "diary.conf").read_text()
    assert re.search(r"upstream diary_app \{\s*server 127\.0\.0\.1:8000;", site)
    # /static/ goes to the app too: the content-hashed names exist only there
    static = re.search(r"location /static/ \{(.*?)\}", site, re.S).group(1)
    assert "proxy_pass http://diary_app;" in static and "alias" not in static
    for unit in UNITS:
        for directory in directives(unit, "WorkingDirectory"):
            assert directory == CHECKOUT, unit.name
    env = env_file()
    assert env["DIARY_PROXY_COUNT"] == "1"  # nginx, the one proxy
    assert env["DIARY_DATABASE"].startswith("/var/lib/diary/")  # the units' ReadWritePaths
    litestream_unit = DEPLOY / "systemd" / "litestream.service"
    assert "-config /etc/litestream.yml" in directives(litestream_unit, "ExecStart")[0]
    config = (DEPLOY / "litestream.yml").read_text()
    assert "path: ${DIARY_DATABASE}" in config and "url: ${DIARY_REPLICA_URL}" in config


def run_unit(unit: str, tmp: Path, env: dict) -> None:
    """Run a oneshot unit's ExecStart (and ExecStartPost) as systemd would, with the
    checkout and the backup folder moved to this machine's paths."""
    path = DEPLOY / "systemd" / unit
    for line in directives(path, "ExecStart") + directives(path, "ExecStartPost"):
        line = line.replace("%%", "%").replace(CHECKOUT, str(ROOT))
        line = line.replace("/var/backups/diary", str(tmp / "backups"))
        done = subprocess.run(
            shlex.split(line), cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_backup_and_purge_units_run_as_written(tmp_path):
    database = tmp_path / "diary.sqlite"
    db = connect(database)
    migrations.apply(db)
    db.conn.close()
    (tmp_path / "backups").mkdir()
    env = {
        **os.environ,
        **env_file(),
        "DIARY_DATABASE": str(database),
        "DIARY_INSTANCE_PATH": str(tmp_path / "instance"),
        "DIARY_SECRET_KEY": "deploy-test",
    }
    run_unit("diary-backup.service", tmp_path, env)
    copies = list((tmp_path / "backups").glob("diary-*.sqlite"))
    assert len(copies) == 1 and re.fullmatch(
        r"diary-\d{4}-\d\d-\d\dT\d{6}Z\.sqlite", copies[0].name
    )
    conn = sqlite3.connect(copies[0])
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    run_unit("diary-purge.service", tmp_path, env)
