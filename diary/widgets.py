"""The entry form's repeated controls, written in one pass.

The 0-10 scales (11 radio buttons, twice, and the weekly PEG's three), the radio groups
and the check lists were Jinja loops with a dozen escaped expressions per option: about a
sixth of the entry page's rendering. These functions write the same HTML (byte for byte)
with each value escaped once; the fieldset, legend, hint and errors stay in
``templates/_macros.html``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup, escape

from .i18n import template_text as _  # the name pybabel extracts

_NRS_OPTION = (
    '\n    <label class="nrs-option" for="{id}-{n}">\n'
    '      <input type="radio" class="nrs-input" id="{id}-{n}" name="{name}" value="{n}"'
    "{checked} required>\n"
    '      <span class="nrs-number">{n}</span>\n'
    "      {words}\n"
    "    </label>\n  "
)
#: the weekly PEG's 0-10 items: optional, their anchors in the fieldset's hint
_SCALE_OPTION = (
    '\n    <label class="nrs-option" for="{id}-{n}">\n'
    '      <input type="radio" class="nrs-input" id="{id}-{n}" name="{name}" value="{n}"'
    "{checked}>\n"
    '      <span class="nrs-number">{n}</span>\n'
    "    </label>\n  "
)
_RADIO_OPTION = (
    '\n    <label class="option" for="{id}"><input{checked} class="option-input" id="{id}"'
    ' name="{name}" type="radio" value="{value}"> <span>{label}</span></label>\n  '
)
_CHECK_OPTION = (
    '\n    <label class="check-label" for="{id}-{key}">\n'
    '      <input type="checkbox" class="check-input" id="{id}-{key}" name="{name}"'
    ' value="{key}"{checked}>\n'
    "      <span>{label}</span>\n"
    "    </label>\n  "
)


def nrs_options(field: Any) -> Markup:
    """The 11 radio buttons of a 0-10 scale; 0 and 10 carry their words for screen readers."""
    ident, name = str(escape(field.id)), str(escape(field.name))
    chosen = None if field.data is None else str(field.data)
    texts = {0: _("no pain"), 10: _("worst pain imaginable")}  # outside f-strings: extracted
    words = {n: f'<span class="visually-hidden">{text}</span>' for n, text in texts.items()}
    return Markup(  # noqa: S704 - every value escaped above
        "".join(
            _NRS_OPTION.format(
                id=ident,
                n=n,
                name=name,
                checked=" checked" if chosen == str(n) else "",
                words=words.get(n, ""),
            )
            for n in range(11)
        )
    )


def scale_options(field: Any) -> Markup:
    """The 11 radio buttons of an optional 0-10 item (the PEG's), none required."""
    ident, name = str(escape(field.id)), str(escape(field.name))
    chosen = None if field.data is None else str(field.data)
    return Markup(  # noqa: S704 - every value escaped above
        "".join(
            _SCALE_OPTION.format(
                id=ident, n=n, name=name, checked=" checked" if chosen == str(n) else ""
            )
            for n in range(11)
        )
    )


#: what WTForms' input widgets may add from a field's validators (a superset of the radio
#: widget's ``validation_attrs``): a field with any of them is left to the widget
_VALIDATION_ATTRS = (
    "required",
    "disabled",
    "readonly",
    "maxlength",
    "minlength",
    "max",
    "min",
    "step",
    "pattern",
)


def radio_options(field: Any) -> Markup:
    """A WTForms ``RadioField``'s options, each in its label, as its own widget writes them
    (attributes in name order). Written here for a plain field; a field whose validators
    or ``render_kw`` add attributes is left to the widget."""
    plain = not field.render_kw and not any(
        getattr(field.flags, a, None) for a in _VALIDATION_ATTRS
    )
    return Markup(  # noqa: S704 - every value escaped here
        "".join(
            _RADIO_OPTION.format(
                id=escape(option.id),
                name=escape(option.name),
                value=escape(option._value()),
                checked=" checked" if option.checked else "",
                label=escape(option.label.text),
            )
            if plain
            else f'\n    <label class="option" for="{escape(option.id)}">'
            f"{option(class_='option-input')} <span>{escape(option.label.text)}</span></label>\n  "
            for option in field
        )
    )


def check_options(field: Any, options: Mapping[str, Any]) -> Markup:
    """One checkbox per option (key -> label), ticked when the field's data holds it."""
    ident, name = str(escape(field.id)), str(escape(field.name))
    data = field.data
    return Markup(  # noqa: S704 - every value escaped here
        "".join(
            _CHECK_OPTION.format(
                id=ident,
                key=escape(key),
                name=name,
                checked=" checked" if data and key in data else "",
                label=escape(label),
            )
            for key, label in options.items()
        )
    )
