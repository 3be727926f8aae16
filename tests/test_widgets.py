"""The controls diary/widgets.py writes in one pass are the HTML the WTForms widgets and
the former Jinja loops wrote (byte for byte), hostile labels and values escaped."""

from __future__ import annotations

import pytest
from markupsafe import escape
from wtforms import Form, IntegerField, RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional

from diary import widgets

PAIRS = [("1", 'Much <b>"better"</b>'), ("x' onfocus='alert(1)", "Tom & Jerry"), ("3", "三")]
CHOICES = [SelectChoice(value, label) for value, label in PAIRS]


def widget_html(field) -> str:
    """The former macro: each option through its WTForms widget."""
    return "".join(
        f'\n    <label class="option" for="{option.id}">{option(class_="option-input")}'
        f" <span>{escape(option.label.text)}</span></label>\n  "
        for option in field
    )


@pytest.mark.parametrize("validator", [Optional(), InputRequired()])
@pytest.mark.parametrize("data", [None, "1", "x' onfocus='alert(1)", "3", "nope"])
def test_radio_options_are_what_the_widget_writes(validator, data):
    class Ask(Form):
        answer = RadioField("Q", choices=CHOICES, validators=[validator])

    form = Ask(data={"answer": data})
    written = str(widgets.radio_options(form.answer))
    assert written == widget_html(form.answer)
    assert "<b>" not in written and "onfocus='" not in written
    assert written.count(" checked") == (1 if data in dict(PAIRS) else 0)
    assert (" required " in written) == isinstance(validator, InputRequired)


def test_radio_options_leave_attributes_from_render_kw_to_the_widget():
    class Ask(Form):
        answer = RadioField("Q", choices=CHOICES, render_kw={"data-x": '"y"'})

    form = Ask()
    assert str(widgets.radio_options(form.answer)) == widget_html(form.answer)
    assert 'data-x="&#34;y&#34;"' in widget_html(form.answer)


@pytest.mark.parametrize("data", [None, 0, 7, 10])
def test_scale_options_are_eleven_optional_radios(data):
    class Week(Form):
        peg_pain = IntegerField("Pain", validators=[Optional()])

    field = Week(data={"peg_pain": data}).peg_pain
    expected = "".join(
        f'\n    <label class="nrs-option" for="peg_pain-{n}">\n'
        f'      <input type="radio" class="nrs-input" id="peg_pain-{n}" name="peg_pain"'
        f' value="{n}"{" checked" if data == n else ""}>\n'
        f'      <span class="nrs-number">{n}</span>\n'
        "    </label>\n  "
        for n in range(11)
    )
    assert str(widgets.scale_options(field)) == expected
