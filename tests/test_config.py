import os
import stat
from pathlib import Path

import pytest

from diary import config, create_app


def test_secret_key_generated_once_with_private_mode(tmp_path, monkeypatch):
    monkeypatch.delenv("DIARY_SECRET_KEY", raising=False)
    settings = {"DATABASE": str(tmp_path / "d.sqlite"), "INSTANCE_PATH": str(tmp_path / "inst")}
    first = create_app(settings)
    key_file = str(tmp_path / "inst" / "secret_key")
    if first.config["SECRET_KEY"] != Path(key_file).read_text().strip():
        pytest.fail("the app does not use the key kept in the instance folder")
    assert len(first.config["SECRET_KEY"]) >= 64
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    second = create_app(settings)
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]


def test_load_or_create_secret_in_fresh_folder(tmp_path):
    key = config.load_or_create_secret(tmp_path / "inst")
    assert (tmp_path / "inst" / "secret_key").read_text() == key
    assert stat.S_IMODE((tmp_path / "inst" / "secret_key").stat().st_mode) == 0o600
    assert config.load_or_create_secret(tmp_path / "inst") == key
    assert not [p for p in (tmp_path / "inst").iterdir() if p.name.startswith(".secret_key")]


def test_environment_variables_are_read(tmp_path, monkeypatch):
    monkeypatch.setenv("DIARY_DATABASE", str(tmp_path / "x.sqlite"))
    monkeypatch.setenv("DIARY_SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("DIARY_IDLE_MINUTES", "5")
    monkeypatch.setenv("DIARY_SECURE_COOKIES", "no")
    app = create_app()
    assert app.config["DATABASE"] == str(tmp_path / "x.sqlite")
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert app.config["IDLE_MINUTES"] == 5
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_bad_values_are_refused():
    with pytest.raises(ValueError, match="DIARY_IDLE_MINUTES"):
        config.from_environ({"DIARY_IDLE_MINUTES": "soon"})
    with pytest.raises(ValueError, match="DIARY_SECURE_COOKIES"):
        config.from_environ({"DIARY_SECURE_COOKIES": "maybe"})


def test_a_mail_login_without_tls_is_refused_at_start():
    """A server set to sign in to its mail server in clear does not start (it would fail
    every day, or worse, send the password); every way with TLS, or without a login,
    starts."""
    clear = {"DIARY_SMTP_HOST": "mail.example.org", "DIARY_SMTP_USER": "diary",
             "DIARY_SMTP_STARTTLS": "off"}  # fmt: skip
    with pytest.raises(ValueError, match="DIARY_SMTP_USER .* in clear"):
        config.from_environ(clear)
    with pytest.raises(ValueError, match="in clear"):
        config.from_environ({**clear, "DIARY_SMTP_PORT": "465", "DIARY_SMTP_SSL": "off"})
    for fine in (
        {**clear, "DIARY_SMTP_STARTTLS": "on"},
        {**clear, "DIARY_SMTP_SSL": "on"},
        {**clear, "DIARY_SMTP_PORT": "465"},  # SMTPS's port: TLS unless said otherwise
        {k: v for k, v in clear.items() if k != "DIARY_SMTP_USER"},  # a local relay
    ):
        assert config.from_environ(fine)["SMTP_HOST"] == "mail.example.org"


def test_cookies_secure_in_production_not_in_tests(tmp_path):
    prod = create_app({"DATABASE": str(tmp_path / "p.sqlite"), "SECRET_KEY": "k"})
    assert prod.config["SESSION_COOKIE_SECURE"] is True
    assert prod.config["SESSION_COOKIE_HTTPONLY"] is True
    assert prod.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    test = create_app({"DATABASE": str(tmp_path / "t.sqlite"), "SECRET_KEY": "k", "TESTING": True})
    assert test.config["SESSION_COOKIE_SECURE"] is False


def test_no_hard_coded_secret_in_source():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "diary"
    for path in root.rglob("*.py"):
        text = path.read_text()
        assert 'SECRET_KEY="' not in text and 'SECRET_KEY = "' not in text, path
