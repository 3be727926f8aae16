"""Languages: which are supported, how one is chosen per request, text direction, formats."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import flask_babel
from babel import Locale, support
from babel import dates as babel_dates
from babel.dates import DateTimePattern
from babel.dates import parse_pattern as parse_date_pattern
from babel.numbers import NumberPattern, parse_pattern
from flask import Flask, current_app, g, request, session
from flask_babel import Babel, get_locale
from markupsafe import Markup
from wtforms.i18n import messages_path

from . import clock
from .labels import AREA_LABELS, area_label
from .outcomes import rounded
from .security import current_user

#: code -> the language's own name (shown in the switcher, in that language)
LANGUAGES: dict[str, str] = {
    "en": "English",
    "it": "Italiano",
    "es": "Español",
    "fr": "Français",
    "de": "Deutsch",
    "ar": "العربية",
    "pt": "Português",
    "zh_Hans": "简体中文",
}
RTL_LANGUAGES = frozenset({"ar"})


@lru_cache(maxsize=32)
def _wtforms_catalogue(locale: str) -> support.Translations:
    """WTForms' own catalogue for one locale, read once per process."""
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class WTFormsMessages:
    """WTForms' built-in messages ("Not a valid integer value.") in the page's language.

    Flask-WTF does the same but reads and parses the catalogue again on every request;
    this keeps one parsed catalogue per locale.
    """

    def gettext(self, string: str) -> str:
        return _wtforms_catalogue(str(get_locale())).ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return _wtforms_catalogue(str(get_locale())).ungettext(singular, plural, n)


WTFORMS_MESSAGES = WTFormsMessages()


def supported() -> list[str]:
    """Locale codes this instance serves (``LANGUAGES`` plus any the config adds)."""
    return list(current_app.config.get("LANGUAGES", LANGUAGES))


def valid(code: str | None) -> str | None:
    """``code`` if it is a supported locale, else None."""
    return code if code in supported() else None


def select_locale() -> str:
    """?lang= -> this device's choice -> saved on the user -> patient link -> Accept-Language."""
    user = current_user()
    return (
        valid(request.args.get("lang"))
        or valid(session.get("lang"))
        or valid(user.locale if user else None)
        or valid(g.get("link_locale"))
        or request.accept_languages.best_match(supported())
        or current_app.config["DEFAULT_LOCALE"]
    )


def select_timezone() -> str:
    """The clinic's time zone for signed-in users, else the configured default."""
    user = current_user()
    return user.timezone if user else current_app.config["DEFAULT_TIMEZONE"]


def direction(code: str | None = None) -> str:
    """``rtl`` or ``ltr`` for a locale (the current one by default)."""
    code = code or str(get_locale())
    return "rtl" if code.split("_")[0] in RTL_LANGUAGES else "ltr"


def lang_url(code: str) -> str:
    """The current page's URL with ``lang`` set to ``code`` (links to a page in a language)."""
    args = {k: v for k, v in request.args.items(multi=True) if k != "lang"}
    args["lang"] = code
    return f"{request.path}?{urlencode(args)}"


def here_without_lang() -> str:
    """The current page's path and query without ``lang`` (where the switcher returns)."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    return f"{request.path}?{urlencode(args)}" if args else request.path


# --- formatting filters (stored values are ISO strings) ---------------------------------


def format_day(value: str | date | None, fmt: str = "medium") -> str:
    """A calendar date in the user's locale (``2026-11-22`` -> ``22 nov 2026``)."""
    if not value:
        return ""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    locale = get_locale()
    return _date_pattern(str(locale), fmt).apply(day, locale)


@lru_cache(maxsize=128)
def _date_pattern(locale: str, fmt: str) -> DateTimePattern:
    """A date pattern parsed once per locale and format (Babel re-parses it every call)."""
    named = Locale.parse(locale).date_formats.get(fmt)
    return named if named is not None else parse_date_pattern(fmt)


def format_moment(
    value: str | datetime | None, fmt: str = "medium", timezone: str | None = None
) -> str:
    """A stored UTC timestamp as a person says it: the day in the locale's ``fmt`` style
    and the time to the minute, in the user's time zone or in ``timezone`` (a clinic's, for
    a page anyone can open): "November 23, 2026, 10:05 AM", "23 novembre 2026, 10:05".
    No seconds and no UTC offset ("+0100"): the zone is the clinic's, as everywhere."""
    if not value:
        return ""
    moment = clock.parse(value) if isinstance(value, str) else value
    zone = ZoneInfo(timezone) if timezone else flask_babel.get_timezone()
    local = moment.astimezone(zone)
    locale = get_locale()
    # Babel's format_date, format_time and get_datetime_format, with the patterns looked
    # up once per locale and format (a tenth of the patient's home was spent here)
    day = _date_pattern(str(locale), fmt).apply(local.date(), locale)
    time = _time_pattern(str(locale)).apply(local.timetz(), locale, reference_date=local.date())
    return _moment_pattern(str(locale), fmt).replace("{0}", time).replace("{1}", day)


@lru_cache(maxsize=64)
def _time_pattern(locale: str) -> DateTimePattern:
    """The locale's short time pattern (hours and minutes), parsed once."""
    return Locale.parse(locale).time_formats["short"]


@lru_cache(maxsize=64)
def _moment_pattern(locale: str, fmt: str) -> str:
    """How the locale joins a date (``{1}``) and a time (``{0}``), quotes removed."""
    return str(babel_dates.get_datetime_format(fmt, locale=locale)).replace("'", "")


def format_number(value: float | int | None, digits: int = 1) -> str:
    """A number in the user's locale with at most ``digits`` decimals."""
    if value is None:
        return "–"
    value = rounded(value, digits)  # half away from zero, as people expect: 62.5 -> 63
    return _number_pattern(digits).apply(value, get_locale())


@lru_cache(maxsize=8)
def _number_pattern(digits: int) -> NumberPattern:
    """Parsed once: Babel's format_decimal parses its pattern on every call (slow in tables)."""
    return parse_pattern("#,##0." + "#" * digits if digits else "#,##0")


def ltr(value: str) -> Markup:
    """Isolate a left-to-right value (phone number, code) so it keeps its order in RTL text."""
    return Markup('<bdi dir="ltr">%s</bdi>') % value


def first_strong_direction(text: str) -> str:
    """``rtl`` or ``ltr`` by the first strong character (HTML's ``dir="auto"`` rule);
    ``ltr`` for text without one (numbers, signs: kept in the order typed)."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind == "L":
            return "ltr"
        if kind in ("R", "AL"):
            return "rtl"
    return "ltr"


def isolate(value: object) -> Markup:
    """Isolate a value of unknown script (drug, needle, patient code) in ``<bdi>`` with its
    direction worked out here, so a Latin run and its numbers keep their order inside
    right-to-left text. Explicit, because WeasyPrint ignores ``dir="auto"`` in PDFs."""
    return Markup('<bdi dir="%s">%s</bdi>') % (first_strong_direction(str(value)), value)


def bcp47(code: str) -> str:
    """A locale code as an HTML ``lang`` value: ``zh_Hans`` -> ``zh-Hans``."""
    return code.replace("_", "-")


def language_name(code: str) -> str:
    """A language's own name, e.g. ``Deutsch``."""
    names = current_app.config.get("LANGUAGES", LANGUAGES) if current_app else LANGUAGES
    return names.get(code) or Locale.parse(code).get_display_name(code) or code


def translations() -> support.NullTranslations:
    """The current locale's catalogue (see :func:`_keep_per_request`): one look at the
    request's globals when it is kept already (templates call this 40 times a page)."""
    try:
        babel_context = g._get_current_object().__dict__.get("_flask_babel")
    except RuntimeError:  # no application context
        return flask_babel.get_translations()
    if babel_context is not None:
        kept = babel_context.__dict__.get("diary_translations")
        if kept is not None and kept[0] is babel_context.__dict__.get("babel_locale"):
            return kept[1]
    return flask_babel.get_domain().get_translations()


def _keep_per_request(
    find: Callable[[], support.NullTranslations],
) -> Callable[[], support.NullTranslations]:
    """Flask-Babel finds the catalogue again on every call (context, domain, locale,
    cache: about 20 us), and a page makes 40 to 60 calls, lazy labels included. This keeps
    it for the request beside Flask-Babel's own locale, so ``force_locale`` (a PDF in the
    patient's language) still gets its own catalogue."""

    def get_translations() -> support.NullTranslations:
        try:
            babel_context = getattr(g, "_flask_babel", None)
        except RuntimeError:  # no application context
            return find()
        locale = getattr(babel_context, "babel_locale", None)
        kept = getattr(babel_context, "diary_translations", None)
        if kept is not None and locale is not None and kept[0] is locale:
            return kept[1]
        found = find()
        babel_context = getattr(g, "_flask_babel", None)
        if babel_context is not None:
            babel_context.diary_translations = (getattr(babel_context, "babel_locale", None), found)
        return found

    return get_translations


def _template_gettext(string: str, **variables: object) -> Markup:
    if variables:
        return Markup(translations().ugettext(string)) % variables  # noqa: S704 - our catalogue
    return _plain_text(translations(), string)


#: at most this many texts kept per catalogue (there are about 1,000 msgids)
PLAIN_TEXT_KEPT = 4096


def _plain_text(catalogue: support.NullTranslations, string: str) -> Markup:
    """A template's ``_("...")`` without placeholders, kept as Markup per catalogue: the
    same text as ``Markup(text) % {}`` (which only turns ``%%`` into ``%``), without
    the lookup, the copy and the formatting on every call (40 to 60 calls a page)."""
    kept = catalogue.__dict__.get("_diary_plain")
    if kept is None:
        kept = catalogue.__dict__["_diary_plain"] = {}
    text = kept.get(string)
    if text is None:
        text = Markup(catalogue.ugettext(string)) % {}  # noqa: S704 - our catalogue
        if len(kept) < PLAIN_TEXT_KEPT:  # templates pass literals; a variable never fills it
            kept[string] = text
    return text


def template_text(string: str) -> Markup:
    """A template's ``_("...")`` from Python (the same Markup a template gets)."""
    return _template_gettext(string)


def _template_ngettext(singular: str, plural: str, num: int, **variables: object) -> Markup:
    variables.setdefault("num", num)
    text = translations().ungettext(singular, plural, num)
    return Markup(text) % variables  # noqa: S704 - our catalogue


def language_menu() -> tuple[tuple[str, str, str], ...]:
    """The switcher's languages as (code, HTML lang value, own name), built once."""
    names = current_app.config.get("LANGUAGES", LANGUAGES)
    return _language_menu(tuple(names.items()))


@lru_cache(maxsize=8)
def _language_menu(items: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str, str], ...]:
    return tuple(
        (code, bcp47(code), name or Locale.parse(code).get_display_name(code) or code)
        for code, name in items
    )


def init_app(app: Flask) -> None:
    """Configure Flask-Babel with the top-level ``translations/`` folder and the filters."""
    root = Path(app.root_path).parent
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(root / "translations"))
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    babel = Babel(app, locale_selector=select_locale, timezone_selector=select_timezone)
    with app.app_context():  # the domain is made on first use, from the app's settings
        domain = babel.domain_instance
    domain.get_translations = _keep_per_request(domain.get_translations)  # type: ignore[method-assign]
    # Templates' gettext without a context: Jinja's (newstyle) is context-bound, and in a
    # block with {% set %} variables every call copied the whole context (27 copies on
    # the patient's home). Same results: the catalogue's text marked safe (autoescape is
    # on for every template), placeholders filled and escaped by Markup's %.
    app.jinja_env.globals.update(_=_template_gettext, gettext=_template_gettext)
    app.jinja_env.globals.update(ngettext=_template_ngettext)
    app.jinja_env.filters.update(
        day=format_day,
        moment=format_moment,
        number=format_number,
        ltr=ltr,
        isolate=isolate,
        choice_label=lambda key, options: str(options.get(key, key)),
        bcp47=bcp47,
    )
    app.jinja_env.globals.update(
        supported_languages=supported,
        language_menu=language_menu,
        lang_url=lang_url,
        here_without_lang=here_without_lang,
        language_name=language_name,
        text_direction=direction,
        area_label=area_label,
        area_labels=AREA_LABELS,
    )

    @app.context_processor
    def locale_context() -> dict[str, str]:
        locale = str(get_locale())
        return {"locale": locale, "dir": direction(locale)}
