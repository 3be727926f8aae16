"""Flask-WTF forms; every label and message goes through ``lazy_gettext``."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Regexp


class LoginForm(FlaskForm):
    """Clinician sign-in."""

    email = EmailField(
        _l("Email address"),
        validators=[
            DataRequired(message=_l("Enter your email address.")),
            Length(max=254, message=_l("This email address is too long.")),
            Regexp(
                r"^[^@\s]+@[^@\s]+$", message=_l("Enter an email address like name@clinic.org.")
            ),
        ],
        render_kw={"autocomplete": "username", "spellcheck": "false", "autocapitalize": "off"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[
            DataRequired(message=_l("Enter your password.")),
            Length(max=1024, message=_l("This password is too long.")),
        ],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField(_l("Sign in"))


class ContinueForm(FlaskForm):
    """The one button on a personal link's page; the POST signs the device in."""

    submit = SubmitField(_l("Continue"))


class SignOutForm(FlaskForm):
    """Sign out (a POST, so a link or image elsewhere cannot sign anyone out)."""

    submit = SubmitField(_l("Sign out"))


class SearchForm(FlaskForm):
    """Search the clinic's patients by code (GET, no CSRF needed)."""

    class Meta:
        csrf = False

    q = StringField(
        _l("Patient code"),
        validators=[Length(max=64, message=_l("Enter at most 64 characters."))],
        render_kw={"autocomplete": "off", "spellcheck": "false", "inputmode": "search"},
    )
