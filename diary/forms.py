"""Flask-WTF forms; every label and message goes through ``lazy_gettext``."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget
from wtforms.validators import DataRequired, InputRequired, Length, Regexp


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


class ActionForm(FlaskForm):
    """A CSRF-protected button with no fields (e.g. "Stop the reminders")."""


class SearchForm(FlaskForm):
    """Search the clinic's patients by code (GET, no CSRF needed)."""

    class Meta:
        csrf = False

    q = StringField(
        _l("Patient code"),
        validators=[Length(max=64, message=_l("Enter at most 64 characters."))],
        render_kw={"autocomplete": "off", "spellcheck": "false", "inputmode": "search"},
    )


# --- consent journey ------------------------------------------------------------------


class StepForm(FlaskForm):
    """A one-button step (e.g. "Next" on a sheet section): a POST so the step is recorded."""

    submit = SubmitField(_l("Next"))


def screening_form(questions: dict, answers: dict) -> FlaskForm:
    """A form with one yes / no / not sure question per screening item, plus details."""

    class ScreeningForm(FlaskForm):
        pass

    for key, label in questions.items():
        setattr(
            ScreeningForm,
            key,
            RadioField(
                label,
                choices=[SelectChoice(k, v) for k, v in answers.items()],
                validators=[InputRequired(message=_l("Please choose an answer."))],
            ),
        )
        setattr(
            ScreeningForm,
            f"{key}_detail",
            TextAreaField(
                _l("If yes or not sure, tell us more (optional)"),
                validators=[Length(max=300, message=_l("Please write at most 300 characters."))],
                render_kw={"rows": 2, "maxlength": 300},
            ),
        )
    return ScreeningForm()


def quiz_form(questions: list) -> FlaskForm:
    """A form with one multiple-choice field per comprehension question."""

    class QuizForm(FlaskForm):
        pass

    for question in questions:
        setattr(
            QuizForm,
            question.key,
            RadioField(
                question.text,
                choices=[SelectChoice(k, v) for k, v in question.options.items()],
                validators=[InputRequired(message=_l("Please choose an answer."))],
            ),
        )
    return QuizForm()


class ConsentForm(FlaskForm):
    """The agreements, the typed name and the optional drawn signature.

    The agreement labels are set per request (they name the clinic).
    """

    treatment = BooleanField(
        validators=[DataRequired(message=_l("Tick this box if you agree to the treatment."))]
    )
    data = BooleanField(
        validators=[DataRequired(message=_l("Tick this box if you agree to keep the diary."))]
    )
    evaluation = BooleanField()
    full_name = StringField(
        _l("Your full name"),
        validators=[
            DataRequired(message=_l("Please type your full name.")),
            Length(min=2, max=120, message=_l("Please type your name (2 to 120 characters).")),
        ],
        render_kw={"autocomplete": "name"},
    )
    signature = HiddenField()
    text_sha256 = HiddenField()


class WithdrawForm(FlaskForm):
    """Withdrawal: one confirmation box and a button."""

    confirm = BooleanField(
        _l("Yes, I want to take back my consent."),
        validators=[DataRequired(message=_l("Tick this box to confirm."))],
    )
    submit = SubmitField(_l("Take back my consent"))


# --- daily diary ----------------------------------------------------------------------


class MultiCheckboxField(SelectMultipleField):
    """Checkboxes for a multiple choice (rendered one by one in templates)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _nrs_choices() -> list[SelectChoice]:
    return [SelectChoice(str(n), str(n)) for n in range(11)]


class EntryForm(FlaskForm):
    """The daily entry. CSRF is checked here; every field is validated by entry_rules."""

    avg = RadioField(_l("Your average pain in the last 24 hours"), choices=_nrs_choices(),
                     validate_choice=False)
    worst = RadioField(_l("Your worst pain in the last 24 hours"), choices=_nrs_choices(),
                       validate_choice=False)
    site_effects = MultiCheckboxField(
        _l("Where the needle went in, did you notice any of these? (optional)"),
        validate_choice=False,
    )
    allergy_signs = MultiCheckboxField(
        _l("Since your last entry, have you had any of these? (optional)"), validate_choice=False
    )
    medication_taken = RadioField(
        _l("Did you take a medicine for pain today? (optional)"),
        choices=[SelectChoice("yes", _l("Yes")), SelectChoice("no", _l("No"))],
        validate_choice=False,
    )
    medication = StringField(_l("Which medicine, and how much?"), render_kw={"maxlength": 200})
    note = TextAreaField(_l("A short note (optional)"), render_kw={"maxlength": 500, "rows": 3})
    day = HiddenField()
    client_id = HiddenField()
    device_time = HiddenField()


class ReminderForm(FlaskForm):
    """The time of the daily reminder."""

    time = TimeField(
        _l("Remind me every day at"),
        validators=[InputRequired(message=_l("Please choose a time."))],
    )
