"""Flask-WTF forms; every label and message goes through ``lazy_gettext``."""

from __future__ import annotations

from collections.abc import Iterator

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields import Field
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    StopValidation,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from .function_outcomes import PGIC_LABELS
from .i18n import LANGUAGES, WTFORMS_MESSAGES, WTFormsMessages, direction
from .names import has_control, has_hidden
from .security import password_too_weak
from .sheet import COUNTERSIGN_STATEMENT


class Form(FlaskForm):
    """Every form of the app: WTForms' own messages come from a cached catalogue, and no
    text field (of the form or of its sub-forms) accepts a control character such as NUL."""

    class Meta:
        def get_translations(self, form: FlaskForm) -> WTFormsMessages:
            return WTFORMS_MESSAGES

    def validate(self, extra_validators: dict | None = None) -> bool:
        valid = super().validate(extra_validators)
        for field in _text_fields(self):
            if isinstance(field.data, str) and has_control(field.data):
                field.errors = [*field.errors, CONTROL_MESSAGE]
                valid = False
        return valid


CONTROL_MESSAGE = _l("Remove the control characters (invisible characters such as NUL).")


def _text_fields(form) -> Iterator[Field]:
    """Every text field of ``form``, those of sub-forms and field lists included."""
    for field in form:
        if isinstance(field, FormField):
            yield from _text_fields(field.form)
        elif isinstance(field, FieldList):
            for entry in field.entries:
                yield from _text_fields(entry.form) if isinstance(entry, FormField) else [entry]
        elif isinstance(field, StringField):
            yield field


class NoHiddenCharacters:
    """Refuse control and direction-override characters; ``lines`` allows line breaks
    (a list with one item a line)."""

    def __init__(self, *, lines: bool = False) -> None:
        self.lines = lines

    def __call__(self, form: FlaskForm, field) -> None:
        if has_hidden(str(field.data or ""), lines=self.lines):
            raise ValidationError(
                _l("Remove the hidden characters (line breaks, control or direction marks).")
            )


def email_field(autocomplete: str) -> EmailField:
    """An email address field with the checks every form uses."""
    return EmailField(
        _l("Email address"),
        validators=[
            DataRequired(message=_l("Enter your email address.")),
            Length(max=254, message=_l("This email address is too long.")),
            Regexp(  # no spaces or control characters, one @ with text on both sides
                r"^[^@\s\x00-\x1f\x7f-\x9f]+@[^@\s\x00-\x1f\x7f-\x9f]+$",
                message=_l("Enter an email address like name@clinic.org."),
            ),
        ],
        render_kw={"autocomplete": autocomplete, "spellcheck": "false", "autocapitalize": "off"},
    )


class LoginForm(Form):
    """Clinician sign-in."""

    email = email_field(autocomplete="username")
    password = PasswordField(
        _l("Password"),
        validators=[
            DataRequired(message=_l("Enter your password.")),
            Length(max=1024, message=_l("This password is too long.")),
        ],
        render_kw={"autocomplete": "current-password"},
    )
    #: shown only while the account is throttled: with a code, the right password still
    #: signs in (see diary/views/auth.py)
    code = StringField(
        _l("Code from your authenticator app, or a recovery code"),
        validators=[Optional(), Length(max=64, message=_l("Enter at most 64 characters."))],
        render_kw={
            "autocomplete": "one-time-code",
            "spellcheck": "false",
            "autocapitalize": "characters",
        },
    )


def code_field() -> StringField:
    """A second-factor code: six digits from the app, or a recovery code."""
    return StringField(
        _l("Code"),
        validators=[
            DataRequired(message=_l("Enter the code.")),
            Length(max=64, message=_l("Enter at most 64 characters.")),
        ],
        render_kw={
            "autocomplete": "one-time-code",
            "spellcheck": "false",
            "autocapitalize": "characters",
        },
    )


class SecondFactorForm(Form):
    """The second step of a sign-in: a code from the app or a recovery code."""

    code = code_field()


class AuthenticatorForm(Form):
    """Confirm a new authenticator app with its first code."""

    code = StringField(
        _l("The 6-digit code the app shows"),
        validators=[
            DataRequired(message=_l("Enter the code.")),
            Length(max=16, message=_l("Enter the 6 digits.")),
        ],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class ActionForm(Form):
    """A CSRF-protected button with no fields (e.g. "Stop the reminders")."""


class LanguageForm(Form):
    """The language switcher: a language and the page to return to."""

    lang = SelectField(choices=[SelectChoice(code, name) for code, name in LANGUAGES.items()])
    next = HiddenField()


class VerifyFileForm(FlaskForm):
    """Check a PDF copy of a consent by uploading it (POST, with CSRF)."""

    copy = FileField(
        _l("PDF copy of the consent"),
        validators=[FileRequired(message=_l("Choose the PDF file of the consent copy."))],
        render_kw={"accept": "application/pdf,.pdf"},
    )


class VerifyForm(Form):
    """Check a consent's verification code (GET from the PDF's QR code, no CSRF needed:
    nothing changes)."""

    class Meta:
        csrf = False

    code = StringField(
        _l("Verification code"),
        validators=[
            DataRequired(message=_l("Enter the code printed on the consent.")),
            Length(max=32, message=_l("Enter at most 32 characters.")),
        ],
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"},
    )


class SearchForm(Form):
    """Search the clinic's patients by code (GET, no CSRF needed)."""

    class Meta:
        csrf = False

    q = StringField(
        _l("Patient code"),
        validators=[Length(max=64, message=_l("Enter at most 64 characters."))],
        render_kw={"autocomplete": "off", "spellcheck": "false", "inputmode": "search"},
    )


# --- consent journey ------------------------------------------------------------------


def screening_form(questions: dict, answers: dict) -> Form:
    """A form with one yes / no / not sure question per screening item, plus details."""

    class ScreeningForm(Form):
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


def quiz_form(questions: list) -> Form:
    """A form with one multiple-choice field per comprehension question."""

    class QuizForm(Form):
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


class ConsentForm(Form):
    """The agreements, the typed name and the optional drawn signature.

    The agreement labels are set per request (they name the clinic).
    """

    treatment = BooleanField(
        validators=[DataRequired(message=_l("Tick this box if you agree to the treatment."))]
    )
    data = BooleanField(
        validators=[
            DataRequired(
                message=_l("Tick this box if you agree that your diary answers are kept and used.")
            )
        ]
    )
    evaluation = BooleanField()
    full_name = StringField(
        _l("Your full name"),
        validators=[
            DataRequired(message=_l("Please type your full name.")),
            Length(min=2, max=120, message=_l("Please type your name (2 to 120 characters).")),
            NoHiddenCharacters(),
        ],
        render_kw={"autocomplete": "name"},
    )
    signature = HiddenField()
    text_sha256 = HiddenField()


def _person(label) -> StringField:
    return StringField(
        label,
        validators=[
            Length(max=120, message=_l("Use at most 120 characters.")),
            NoHiddenCharacters(),
        ],
    )


class CountersignForm(Form):
    """The clinician's countersignature of a consent, with who else took part."""

    confirm = BooleanField(
        COUNTERSIGN_STATEMENT,
        validators=[DataRequired(message=_l("Tick this box to countersign."))],
    )
    interpreter_name = _person(_l("Interpreter's name (if there was one)"))
    interpreter_language = _person(_l("Language interpreted"))
    witness_name = _person(_l("Witness's name (if there was one)"))
    representative_name = _person(_l("Legal representative who consented for the patient (if any)"))
    representative_relationship = _person(_l("Their relationship to the patient"))

    def validate_interpreter_language(self, field: StringField) -> None:
        """An interpreter comes with the language they interpreted."""
        if (self.interpreter_name.data or "").strip() and not (field.data or "").strip():
            raise ValidationError(_l("Enter the language the interpreter used."))

    def validate_representative_relationship(self, field: StringField) -> None:
        """A legal representative comes with their relationship to the patient."""
        if (self.representative_name.data or "").strip() and not (field.data or "").strip():
            raise ValidationError(_l("Enter the representative's relationship to the patient."))


class WithdrawForm(Form):
    """Withdrawal: one confirmation box and a button."""

    confirm = BooleanField(
        _l("Yes, I want to take back my consent."),
        validators=[DataRequired(message=_l("Tick this box to confirm."))],
    )


# --- daily diary ----------------------------------------------------------------------


class MultiCheckboxField(SelectMultipleField):
    """Checkboxes for a multiple choice (rendered one by one in templates)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _nrs_choices() -> list[SelectChoice]:
    return [SelectChoice(str(n), str(n)) for n in range(11)]


class EntryForm(Form):
    """The daily entry. CSRF is checked here; every field is validated by entry_rules."""

    avg = RadioField(
        _l("Your average pain in the last 24 hours"), choices=_nrs_choices(), validate_choice=False
    )
    worst = RadioField(
        _l("Your worst pain in the last 24 hours"), choices=_nrs_choices(), validate_choice=False
    )
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
    # PEG-3 (Krebs et al. 2009), asked once a course week; optional (entry_rules.parse)
    peg_pain = RadioField(
        # Translators: an item of the PEG-3 questionnaire (Krebs et al. 2009). Use a
        # published validated translation if there is one; the app marks others
        # "unvalidated translation" (diary/function_outcomes.py VALIDATED_LANGUAGES).
        _l("What number best describes your pain on average in the past week?"),
        choices=_nrs_choices(),
        validate_choice=False,
    )
    peg_enjoyment = RadioField(
        _l(
            "What number best describes how, during the past week, pain has interfered"
            " with your enjoyment of life?"
        ),
        choices=_nrs_choices(),
        validate_choice=False,
    )
    peg_activity = RadioField(
        _l(
            "What number best describes how, during the past week, pain has interfered"
            " with your general activity?"
        ),
        choices=_nrs_choices(),
        validate_choice=False,
    )
    # PGIC, asked from each session from the second on and at the course's end; optional
    pgic = RadioField(
        # Translators: the PGIC question (Patient Global Impression of Change); as for the
        # PEG, a published validated translation if there is one.
        _l(
            "Since the start of the treatment, how would you describe the change in your"
            " pain and daily life?"
        ),
        choices=[SelectChoice(str(k), label) for k, label in PGIC_LABELS.items()],
        validate_choice=False,
    )


class ReminderForm(Form):
    """The time of the daily reminder."""

    time = TimeField(
        _l("Remind me every day at"),
        validators=[InputRequired(message=_l("Please choose a time."))],
    )


# --- clinic workspace -----------------------------------------------------------------


def _language_choices() -> list[SelectChoice]:
    from .i18n import language_name, supported

    return [SelectChoice(code, language_name(code)) for code in supported()]


def _area_choices() -> list[SelectChoice]:
    from .labels import AREA_LABELS

    return [SelectChoice(code, label) for code, label in AREA_LABELS.items()]


class EnrolForm(Form):
    """A new patient with their first treatment course."""

    code = StringField(
        _l("Patient code"),
        validators=[
            DataRequired(message=_l("Enter a code for the patient.")),
            Length(max=40, message=_l("Use at most 40 characters.")),
            Regexp(r"^[\w.\-/ ]+$", message=_l("Use letters, digits, spaces and . - / only.")),
        ],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    locale = SelectField(_l("Patient's language"), choices=_language_choices)
    birth_year = IntegerField(
        _l("Year of birth (optional)"),
        validators=[
            Optional(),
            NumberRange(min=1900, max=2100, message=_l("Enter a year such as 1960.")),
        ],
    )
    contact_note = TextAreaField(
        _l("Contact note (optional)"),
        validators=[Length(max=300, message=_l("Use at most 300 characters."))],
        render_kw={"rows": 2},
    )
    area = SelectField(_l("Area treated"), choices=_area_choices)
    start_date = DateField(
        _l("Course start"), validators=[InputRequired(message=_l("Enter a date."))]
    )


class CourseForm(Form):
    """A new treatment course for an existing patient."""

    area = SelectField(_l("Area treated"), choices=_area_choices)
    start_date = DateField(
        _l("Course start"), validators=[InputRequired(message=_l("Enter a date."))]
    )


class PatientLanguageForm(Form):
    """Change a patient's language (pages, PDFs, reminders)."""

    locale = SelectField(_l("Patient's language"), choices=_language_choices)


class DrugForm(Form):
    """One drug row of a session (no CSRF of its own: it sits inside SessionForm)."""

    class Meta:
        csrf = False

    name = StringField(
        _l("Drug"),
        validators=[Length(max=80, message=_l("Use at most 80 characters.")), NoHiddenCharacters()],
    )
    dose = StringField(
        _l("Dose"),
        validators=[Length(max=40, message=_l("Use at most 40 characters.")), NoHiddenCharacters()],
    )
    volume_ml = DecimalField(
        _l("Volume (ml)"),
        places=None,
        validators=[Optional(), NumberRange(min=0, max=50, message=_l("Enter 0 to 50 ml."))],
    )


class ValueOrTicked:
    """A field is filled in, or the named "not measured" / "none" box is ticked: one of
    the two, never neither and never both (an empty field is then left to ``Optional``)."""

    def __init__(self, box: str, missing: str, both: str) -> None:
        self.box, self.missing, self.both = box, missing, both

    def __call__(self, form: FlaskForm, field) -> None:
        given = any(str(v).strip() for v in field.raw_data or ())
        ticked = bool(form[self.box].data)
        if not given and not ticked:
            field.errors[:] = []
            raise StopValidation(self.missing)
        if given and ticked:
            raise StopValidation(self.both)


class SessionForm(Form):
    """A treatment session as recorded by the clinician.

    The pain before the session is a number or explicitly "not measured"; the drugs are at
    least one row or explicitly "no drug". ``paper_consent`` and its note are read only
    when the patient has no active consent in the app (the view decides).
    """

    date = DateField(_l("Date"), validators=[InputRequired(message=_l("Enter a date."))])
    nrs_before = IntegerField(
        _l("Pain before the session (NRS 0-10)"),
        validators=[
            ValueOrTicked(
                "nrs_not_measured",
                _l("Enter the pain before the session, or tick “Not measured”."),
                _l("Enter the pain or tick “Not measured”, not both."),
            ),
            Optional(),
            NumberRange(min=0, max=10, message=_l("Enter a number from 0 to 10.")),
        ],
    )
    nrs_not_measured = BooleanField(_l("Not measured"))
    area = SelectField(_l("Area treated"), choices=_area_choices)
    drugs = FieldList(FormField(DrugForm), min_entries=4, max_entries=12)
    no_drug = BooleanField(_l("No drug was given at this session"))
    needle = StringField(
        _l("Needle"),
        validators=[Length(max=80, message=_l("Use at most 80 characters.")), NoHiddenCharacters()],
    )
    ultrasound = BooleanField(_l("Ultrasound-guided"))
    same_day = BooleanField(_l("Yes, record another session on this day"))
    adverse_events = TextAreaField(
        _l("Adverse events observed"),
        validators=[Length(max=1000, message=_l("Use at most 1000 characters."))],
        render_kw={"rows": 2},
    )
    notes = TextAreaField(
        _l("Notes"),
        validators=[Length(max=2000, message=_l("Use at most 2000 characters."))],
        render_kw={"rows": 3},
    )
    paper_consent = BooleanField(
        _l("The patient gave consent on paper for this treatment, and the signed form is filed")
    )
    paper_consent_note = TextAreaField(
        _l("Note on the paper consent"),
        validators=[Length(max=1000, message=_l("Use at most 1000 characters."))],
        render_kw={"rows": 2},
    )

    def validate_drugs(self, field: FieldList) -> None:
        """A dose or volume needs the drug's name; at least one drug or "no drug"."""
        for row in field:
            if not (row.form.name.data or "").strip() and (
                (row.form.dose.data or "").strip() or row.form.volume_ml.data is not None
            ):
                row.form.name.errors = [*row.form.name.errors, _l("Enter the drug's name.")]
                raise ValidationError(_l("Each dose needs the drug's name."))
        if not self.drug_rows() and not self.no_drug.data:
            raise ValidationError(_l("Enter at least one drug, or tick “No drug was given”."))
        if self.drug_rows() and self.no_drug.data:
            raise ValidationError(_l("Enter drugs or tick “No drug was given”, not both."))

    def paper_consent_given(self) -> bool:
        """True when the paper-consent box is ticked with a note; else says what is missing
        on the box (for a patient without an active consent in the app)."""
        if self.paper_consent.data and (self.paper_consent_note.data or "").strip():
            return True
        self.paper_consent.errors = [
            *self.paper_consent.errors,
            _l(
                "This patient has no valid consent in the app. Record the session only if "
                "consent was given on paper: tick the box and write a note."
            )
            if not self.paper_consent.data
            else _l("Write a note: who explained the treatment, and where the form is filed."),
        ]
        return False

    def values(self) -> dict:
        """The session as stored (:data:`diary.queries.treatments.FIELDS`, decoded)."""
        return {
            "date": self.date.data,
            "nrs_before": self.nrs_before.data,
            "nrs_not_measured": bool(self.nrs_not_measured.data),
            "area": self.area.data,
            "drugs": self.drug_rows(),
            "no_drug": bool(self.no_drug.data),
            "needle": self.needle.data or "",
            "ultrasound": bool(self.ultrasound.data),
            "adverse_events": self.adverse_events.data or "",
            "notes": self.notes.data or "",
        }

    def fill(self, session: dict, *, default_area: str) -> None:
        """Show a recorded session for editing."""
        for name in (
            "date",
            "nrs_before",
            "nrs_not_measured",
            "no_drug",
            "needle",
            "ultrasound",
            "adverse_events",
            "notes",
        ):
            self[name].data = session[name]
        self.area.data = session["area"] or default_area
        for drug, row in zip(session["drugs"], self.drugs, strict=False):
            row.form.name.data = drug["name"]
            row.form.dose.data = drug.get("dose", "")
            row.form.volume_ml.data = drug.get("volume_ml")

    def drug_rows(self) -> list[dict]:
        """The filled-in drug rows as stored."""
        rows = []
        for row in self.drugs:
            name = (row.form.name.data or "").strip()
            if name:
                volume = row.form.volume_ml.data
                rows.append(
                    {
                        "name": name,
                        "dose": (row.form.dose.data or "").strip(),
                        "volume_ml": float(volume) if volume is not None else None,
                    }
                )
        return rows


class DrugNamesForm(Form):
    """One drug's names in the other languages, inside the clinic settings (no CSRF of its
    own). Empty: the standard translation of a known drug, else the name as typed."""

    class Meta:
        csrf = False

    drug = HiddenField()


for _code, _language in LANGUAGES.items():
    if _code != "en":
        setattr(
            DrugNamesForm,
            _code,
            StringField(
                _language,
                validators=[
                    Length(max=80, message=_l("Use at most 80 characters.")),
                    NoHiddenCharacters(),
                ],
                render_kw={"lang": _code, "dir": direction(_code)},
            ),
        )


class ClinicSettingsForm(Form):
    """The clinic's own details, used across the app and in the information sheet."""

    name = StringField(
        _l("Clinic name"),
        validators=[
            DataRequired(message=_l("Enter the clinic's name.")),
            Length(max=120, message=_l("Use at most 120 characters.")),
            NoHiddenCharacters(),
        ],
    )
    phone = StringField(
        _l("Contact phone"),
        validators=[
            Length(max=40, message=_l("Use at most 40 characters.")),
            Regexp(r"^[0-9+() .\-/]*$", message=_l("Use digits, spaces and + ( ) - . / only.")),
        ],
    )
    locale = SelectField(_l("Clinic language"), choices=_language_choices)
    timezone = SelectField(_l("Time zone"), choices=[], render_kw={"translate": "no"})
    session_interval_days = IntegerField(
        _l("Days between sessions"),
        validators=[
            InputRequired(message=_l("Enter a number of days.")),
            NumberRange(min=1, max=60, message=_l("Enter 1 to 60 days.")),
        ],
    )
    paper_size = SelectField(
        _l("Paper size for PDFs"),
        choices=[SelectChoice("A4", "A4"), SelectChoice("Letter", _l("Letter (US)"))],
    )
    drugs = TextAreaField(
        _l("Drugs the clinic uses (one per line)"),
        validators=[
            Length(max=1000, message=_l("Use at most 1000 characters.")),
            NoHiddenCharacters(lines=True),
        ],
        render_kw={"rows": 4},
    )
    drug_names = FieldList(FormField(DrugNamesForm), max_entries=40)
    needle = StringField(
        _l("Needle"),
        validators=[
            Length(max=80, message=_l("Use at most 80 characters.")),
            NoHiddenCharacters(),
        ],
    )
    no_entry_days = IntegerField(
        _l("Days without a diary entry before a course needs attention"),
        validators=[
            InputRequired(message=_l("Enter a number of days.")),
            NumberRange(min=1, max=30, message=_l("Enter 1 to 30 days.")),
        ],
    )
    retention_days = IntegerField(
        _l("Keep closed courses for (days; empty: no automatic purge)"),
        validators=[
            Optional(),
            NumberRange(min=30, max=36500, message=_l("Enter 30 to 36500 days.")),
        ],
    )


class EraseForm(Form):
    """Confirm an erasure by typing the patient's code."""

    code = StringField(
        _l("Type the patient's code to confirm"),
        validators=[DataRequired(message=_l("Type the patient's code exactly to confirm."))],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )


class ClinicianForm(Form):
    """A new team member (a one-time password is generated)."""

    name = StringField(
        _l("Name"),
        validators=[
            DataRequired(message=_l("Enter a name.")),
            Length(max=120, message=_l("Use at most 120 characters.")),
            NoHiddenCharacters(),
        ],
    )
    email = email_field(autocomplete="off")
    is_admin = BooleanField(_l("Clinic admin (can change settings and the team)"))


class StrongPassword:
    """Refuse a password zxcvbn finds easy to guess (:func:`diary.security.password_too_weak`);
    the form's ``personal_words`` (email, name, clinic) count as easy too."""

    def __call__(self, form: FlaskForm, field) -> None:
        if password_too_weak(field.data or "", tuple(getattr(form, "personal_words", ()))):
            raise StopValidation(
                _l(
                    "This password is too easy to guess. Avoid names, dates, common words"
                    " and keyboard patterns: a few unrelated words make a strong password."
                )
            )


def new_password_field() -> PasswordField:
    """A new password: at least 10 characters, and hard to guess."""
    return PasswordField(
        _l("New password"),
        validators=[
            DataRequired(message=_l("Enter a new password.")),
            Length(min=10, max=1024, message=_l("Use at least 10 characters.")),
            StrongPassword(),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class NewPasswordForm(Form):
    """Choose one's own password in place of a one-time password (first sign-in)."""

    personal_words: tuple[str, ...] = ()
    new = new_password_field()
    confirm = PasswordField(
        _l("New password again"),
        validators=[EqualTo("new", message=_l("The two new passwords are not the same."))],
        render_kw={"autocomplete": "new-password"},
    )


class PasswordForm(Form):
    """Change one's own password."""

    personal_words: tuple[str, ...] = ()
    current = PasswordField(
        _l("Current password"),
        validators=[DataRequired(message=_l("Enter your password."))],
        render_kw={"autocomplete": "current-password"},
    )
    new = new_password_field()
    confirm = PasswordField(
        _l("New password again"),
        validators=[EqualTo("new", message=_l("The two new passwords are not the same."))],
        render_kw={"autocomplete": "new-password"},
    )


class DigestForm(Form):
    """One's own choice of the daily email digest (off by default)."""

    digest = BooleanField(_l("Send me a daily summary by email"))


#: what ends a sentence, in the languages we write
SENTENCE_END = tuple(".!?。！？؟…")


def _sentence(label: str, errors: list) -> str:
    """One line of the error summary. A label that is a sentence of its own (a consent
    box: "I agree ... Demo Pain Clinic.") is not followed by ": message", which read
    ".: Tick this box"; its message says which box, and the line links to it."""
    message = " ".join(map(str, errors))
    if str(label).rstrip().endswith(SENTENCE_END):
        return message
    # Translators: a line of a form's error summary: the field's name, then what is wrong
    return str(_l("%(field)s: %(error)s", field=label, error=message))


def error_list(form: FlaskForm) -> list[tuple[str, str]]:
    """Every error of a form as (id of the field to focus, sentence), for the error summary.

    Rows of a field list (the drugs of a session) are named by their row, e.g. "Volume (ml),
    row 2: Enter 0 to 50 ml." (WTForms would give the raw ``{'volume_ml': [...]}``).
    """
    found: list[tuple[str, str]] = []
    for field in form:
        if field.name == "csrf_token" or not field.errors:
            continue
        if not isinstance(field, FieldList):
            found.append((field.id, _sentence(field.label.text, field.errors)))
            continue
        for row, entry in enumerate(field.entries, start=1):
            for sub in entry.form:
                for message in sub.errors:
                    label = _l("%(field)s, row %(row)d", field=sub.label.text, row=row)
                    found.append((sub.id, f"{label}: {message}"))
        rows = [e for e in field.errors if not isinstance(e, dict)]  # str or lazy string
        if rows:
            first_id = field.entries[0].form.name.id if field.entries else field.id
            found.append((first_id, " ".join(map(str, rows))))
    return found
