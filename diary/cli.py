"""Command line: ``flask --app diary COMMAND`` (see README.md, "Command line")."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from . import clock, demo, i18n, mfa, migrations
from .db import connect
from .names import has_hidden
from .queries import accounts, patients
from .queries import mfa as factors
from .security import hash_password, password_too_weak

MIN_PASSWORD = 10


def _db():
    return connect(current_app.config["DATABASE"])


def link_url(token: str) -> str:
    """A patient's personal link for a token (``DIARY_BASE_URL`` + ``/p/<token>``)."""
    return f"{current_app.config['BASE_URL'].rstrip('/')}/p/{token}"


def _locale_choice() -> click.Choice:
    return click.Choice(sorted(i18n.LANGUAGES))


@click.command("migrate")
@with_appcontext
def migrate_command() -> None:
    """Apply pending database migrations (safe to run again)."""
    applied = migrations.apply(_db())
    click.echo(f"applied: {', '.join(applied)}" if applied else "database is up to date")


@click.command("demo")
@with_appcontext
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), help="Pretend today is this date.")
def demo_command(today) -> None:
    """Load the demo clinic (Table 1 of paper 001) and print fresh credentials."""
    db = _db()
    migrations.apply(db)
    day = today.date() if today else clock.today("Europe/Rome")
    result = demo.build(db, day, current_app.config["SECRET_KEY"])
    counts = demo.summary(db, result.clinic_id)
    click.echo(
        f"Demo clinic #{result.clinic_id}: {counts['patients']} patients, "
        f"{counts['sessions']} sessions, {counts['entries']} diary entries "
        f"({result.created_courses} courses added now)."
    )
    click.echo("")
    click.echo("Clinician sign-in (a new password and authenticator key on every run):")
    click.echo(f"  {current_app.config['BASE_URL'].rstrip('/')}/login")
    click.echo(f"  email:    {result.email}")
    click.echo(f"  password: {result.password}")
    click.echo("  two-step sign-in (clinic admins need it): add this key to an authenticator")
    click.echo("  app (TOTP, 6 digits, 30 s), or type one of the single-use recovery codes")
    click.echo(f"  key:      {result.totp_secret}")
    uri = mfa.provisioning_uri(result.totp_secret, result.email, demo.CLINIC_NAME)
    click.echo(f"  uri:      {uri}")
    code_now = f"import pyotp; print(pyotp.TOTP('{result.totp_secret}').now())"
    click.echo(f'  code now: .venv/bin/python -c "{code_now}"')
    click.echo(f"  recovery: {' '.join(result.recovery_codes[:5])}")
    click.echo(f"            {' '.join(result.recovery_codes[5:])}")
    click.echo("")
    click.echo("Patient links (open on a phone or in a private window):")
    click.echo(f"  new patient, no entries yet ({demo.NEW_PATIENT_CODE}):")
    click.echo(f"    {link_url(result.links[demo.NEW_PATIENT_CODE])}")
    click.echo(f"  patient with a full course from Table 1 ({demo.HISTORY_PATIENT_CODE}):")
    click.echo(f"    {link_url(result.links[demo.HISTORY_PATIENT_CODE])}")


def _plain_name(value: str, hint: str) -> str:
    """A name without control or direction-override characters (:mod:`diary.names`)."""
    if has_hidden(value):
        raise click.BadParameter(
            "remove the control or direction-override characters", param_hint=hint
        )
    return value


clinic_cli = AppGroup("clinic", help="Manage clinics.")


@clinic_cli.command("create")
@click.option("--name", required=True)
@click.option("--phone", default="")
@click.option("--locale", type=_locale_choice(), default="en", show_default=True)
@click.option(
    "--timezone",
    required=True,
    help="The clinic's IANA time zone, e.g. Europe/Rome (it decides which day an entry is for).",
)
def clinic_create(name: str, phone: str, locale: str, timezone: str) -> None:
    """Create a clinic and print its id."""
    _plain_name(name, "--name")
    if timezone not in clock.timezones():
        raise click.BadParameter(
            f"not a canonical IANA time zone: {timezone!r} (e.g. Europe/Rome)",
            param_hint="--timezone",
        )
    clinic_id = accounts.create_clinic(_db(), name, phone=phone, locale=locale, timezone=timezone)
    click.echo(f"clinic {clinic_id} created")


clinician_cli = AppGroup("clinician", help="Manage clinician accounts.")


@clinician_cli.command("create")
@click.option("--clinic", "clinic_id", type=int, required=True)
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--admin", is_flag=True, help="Make this clinician a clinic admin.")
@click.option("--locale", type=_locale_choice(), default=None)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def clinician_create(
    clinic_id: int, email: str, name: str, admin: bool, locale: str | None, password_stdin: bool
) -> None:
    """Create a clinician; the password is prompted for (or read from stdin)."""
    db = _db()
    if accounts.get_clinic(db, clinic_id) is None:
        raise click.BadParameter(f"no clinic {clinic_id}", param_hint="--clinic")
    if "@" not in email:
        raise click.BadParameter("not an email address", param_hint="--email")
    if accounts.get_clinician_by_email(db, email):
        raise click.BadParameter("a clinician with this email exists", param_hint="--email")
    _plain_name(name, "--name")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD:
        raise click.UsageError(f"the password needs at least {MIN_PASSWORD} characters")
    clinic_name = accounts.get_clinic(db, clinic_id)["name"]
    if password_too_weak(password, (email, email.split("@")[0], *name.split(), clinic_name)):
        raise click.UsageError(
            "the password is too easy to guess: avoid names, dates, common words and"
            " keyboard patterns; a few unrelated words make a strong password"
        )
    clinician_id = accounts.create_clinician(
        db, clinic_id, email, name, hash_password(password), is_admin=admin, locale=locale
    )
    click.echo(f"clinician {clinician_id} created")


@clinician_cli.command("reset-two-step")
@click.option("--email", required=True)
def clinician_reset_two_step(email: str) -> None:
    """Remove a clinician's two-step sign-in (lost phone and recovery codes, and no other
    admin to reset it on the team page): they set it up again at their next sign-in."""
    db = _db()
    clinician = accounts.get_clinician_by_email(db, email)
    if clinician is None:
        raise click.BadParameter("no clinician with this email", param_hint="--email")
    factors.reset(db, clinician, actor="system", actor_id=None)
    click.echo(f"two-step sign-in of clinician {clinician['id']} removed; sessions ended")


patient_cli = AppGroup("patient", help="Manage patients.")


@patient_cli.command("enroll")
@click.option("--clinic", "clinic_id", type=int, required=True)
@click.option("--code", required=True, help="Pseudonymous code (never a name).")
@click.option(
    "--locale",
    type=_locale_choice(),
    default=None,
    help="Patient's language (default: the clinic's).",
)
@click.option("--area", type=click.Choice(patients.AREAS), required=True)
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), help="Course start (default today).")
def patient_enroll(clinic_id: int, code: str, locale: str | None, area: str, start) -> None:
    """Add a patient with a treatment course and print their personal link."""
    db = _db()
    clinic = accounts.get_clinic(db, clinic_id)
    if clinic is None:
        raise click.BadParameter(f"no clinic {clinic_id}", param_hint="--clinic")
    try:
        enrolled = patients.enrol(
            db,
            clinic_id,
            code,
            area=area,
            start=start.date() if start else clock.today(clinic["timezone"]),
            locale=locale or clinic["locale"],
        )
    except patients.InvalidCode:
        raise click.BadParameter(
            f"1 to {patients.CODE_MAX} letters, digits, spaces and . - / only",
            param_hint="--code",
        ) from None
    except patients.CodeTaken:
        raise click.BadParameter(
            "this code is already used in the clinic", param_hint="--code"
        ) from None
    click.echo(link_url(enrolled.token))


token_cli = AppGroup("token", help="Manage patients' personal links.")


@token_cli.command("revoke")
@click.option("--clinic", "clinic_id", type=int, required=True)
@click.option("--code", required=True)
@click.option("--reissue", is_flag=True, help="Print a new link after revoking.")
def token_revoke(clinic_id: int, code: str, reissue: bool) -> None:
    """Revoke a patient's links now (their devices are signed out)."""
    db = _db()
    patient = patients.find_patient(db, clinic_id, code)
    if patient is None:
        raise click.BadParameter("no such patient in this clinic", param_hint="--code")
    if reissue:
        click.echo(link_url(patients.issue_link(db, patient["id"])))
    else:
        count = patients.revoke_links(db, patient["id"])
        click.echo(f"revoked {count} link(s)")


@click.command("backup")
@with_appcontext
@click.argument("dest", type=click.Path(dir_okay=False, writable=True))
def backup_command(dest: str) -> None:
    """Copy the database to DEST with SQLite's online backup (safe while serving)."""
    target = Path(dest)
    if target.exists():
        raise click.BadParameter("refusing to overwrite an existing file", param_hint="DEST")
    source = connect(current_app.config["DATABASE"])
    partial = target.with_name(target.name + ".partial")
    copy = sqlite3.connect(partial)
    try:
        source.conn.backup(copy, pages=-1)  # one step: a consistent snapshot
        copy.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
        result = copy.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        copy.close()
        source.conn.close()
    if result != "ok":
        partial.unlink(missing_ok=True)
        raise click.ClickException(f"integrity check of the copy failed: {result}")
    partial.rename(target)
    click.echo(f"backup written to {target}")


@click.command("report")
@click.argument("course_id", metavar="COURSE", type=int)
@click.argument("outfile", type=click.Path(dir_okay=False, writable=True))
@click.option(
    "--lang",
    type=_locale_choice(),
    default=None,
    help="Language of the PDF (default: the clinic's).",
)
@with_appcontext
def report_command(course_id: int, outfile: str, lang: str | None) -> None:
    """Write the PDF summary of treatment course COURSE to OUTFILE."""
    from . import report

    db = _db()
    course = patients.get_course(db, course_id)
    if course is None:
        raise click.BadParameter(f"no course {course_id}", param_hint="COURSE")
    locale = lang or accounts.get_clinic(db, course["clinic_id"])["locale"]
    with current_app.test_request_context():
        body = report.render_summary(db, course_id, locale)
    Path(outfile).write_bytes(body)
    click.echo(f"wrote {outfile} ({len(body)} bytes)")


@click.command("purge")
@click.option(
    "--older-than",
    "older_than",
    type=click.IntRange(min=0),
    default=None,
    help="Days since a course was closed (default: each clinic's retention period).",
)
@click.option("--dry-run", is_flag=True, help="List what would be removed; change nothing.")
@with_appcontext
def purge_command(older_than: int | None, dry_run: bool) -> None:
    """Remove closed courses past the retention period (consents and audit stay)."""
    from .queries import retention

    db = _db()
    found = retention.purgeable(db, clock.now().date(), older_than)
    for row in found:
        click.echo(
            f"{'would purge' if dry_run else 'purging'} course {row['id']} "
            f"(clinic {row['clinic_id']}, closed {row['end_date']})"
        )
        if not dry_run:
            retention.purge_course(db, row["id"])
    click.echo(f"{len(found)} course(s) {'would be ' if dry_run else ''}purged")


audit_cli = AppGroup("audit", help="The audit trail.")


@audit_cli.command("verify")
def audit_verify() -> None:
    """Walk the audit trail's hash chain; exit 1 at the first broken link."""
    from .queries import audit

    checked, broken = audit.verify(_db())
    if broken is None:
        click.echo(f"audit trail intact: {checked} event(s), every link verified")
        return
    click.echo(
        f"audit trail BROKEN at event {broken}: it does not follow from the {checked} "
        "event(s) before it (edited, removed or inserted)",
        err=True,
    )
    raise SystemExit(1)


digest_cli = AppGroup("digest", help="The daily email digest.")


@digest_cli.command("send")
def digest_send() -> None:
    """Send the daily digests that are due now (safe to run often: each clinician gets one
    a day, at or after DIARY_DIGEST_HOUR in their clinic)."""
    from . import digest

    result = digest.send_due(_db(), clock.now(), current_app.config)
    if not result["enabled"]:
        click.echo("digest off: set DIARY_SMTP_HOST and DIARY_SMTP_FROM to send it")
        return
    click.echo(
        f"digests sent: {result['sent']}, nothing to report: {result['empty']}, "
        f"failed (retried later): {result['failed']}, before the hour: {result['waiting']}"
    )
    if result["failed"]:
        raise SystemExit(1)


reminders_cli = AppGroup("reminders", help="Daily reminders (Web Push).")


def _send_reminders() -> dict[str, dict]:
    """Run every sender of :data:`diary.reminders.SENDERS` once; their counts by name."""
    from . import reminders

    db = _db()
    now = clock.now()
    return {name: send(db, now, current_app.config) for name, send in reminders.SENDERS}


def _report(results: dict[str, dict]) -> str:
    return "; ".join(
        f"{name}: " + ", ".join(f"{key} {value}" for key, value in counts.items())
        for name, counts in results.items()
    )


@reminders_cli.command("send")
def reminders_send() -> None:
    """Send the reminders due now (idempotent per patient and day: run it every few
    minutes from a timer)."""
    click.echo(_report(_send_reminders()))


@reminders_cli.command("run")
@click.option(
    "--every", type=click.IntRange(min=30), default=300, show_default=True, help="Seconds."
)
def reminders_run(every: int) -> None:
    """Send the due reminders every few minutes until stopped (instead of a timer)."""
    import time

    while True:
        try:
            click.echo(_report(_send_reminders()))
        except Exception as exc:  # noqa: BLE001 - a failed round must not stop the loop
            click.echo(f"reminders: round failed: {exc!r}", err=True)
        time.sleep(every)


def register_cli(app: Flask) -> None:
    """Attach every command to ``app.cli``."""
    for command in (
        migrate_command,
        demo_command,
        clinic_cli,
        clinician_cli,
        patient_cli,
        token_cli,
        backup_command,
        report_command,
        purge_command,
        audit_cli,
        digest_cli,
        reminders_cli,
    ):
        app.cli.add_command(command)
