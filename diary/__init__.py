"""Mesotherapy consent and pain diary: the Flask application factory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from . import (
    assets,
    charts,
    config,
    db,
    forms,
    i18n,
    logs,
    outcomes,
    ratelimit,
    security,
    sheet,
    widgets,
)

__version__ = "0.1.0"

ROOT = Path(__file__).resolve().parent.parent
csrf = CSRFProtect()


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, reading two kinds of valid-looking JSON as bad JSON like any other
    (``ValueError``: ``request.get_json(silent=True)`` gives None and the view its 400)
    on every JSON route, instead of a 500 with a traceback:

    * nested deeper than the parser goes (a ``RecursionError``);
    * holding a lone UTF-16 surrogate (``"\\ud800"``), which is not text: SQLite refused
      it on storing, and a 500 stops the phone's queue, so every later entry waited
      behind it for good.
    """

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            value = super().loads(s, **kwargs)
            json.dumps(value, ensure_ascii=False).encode("utf-8")  # every string is text
        except (RecursionError, UnicodeEncodeError):
            raise ValueError("JSON nested too deeply, or not text") from None
        return value


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the application; ``test_config`` overrides settings read from ``DIARY_*``."""
    settings = config.from_environ()
    if test_config:
        settings.update(test_config)
    app = Flask(
        __name__,
        instance_path=settings["INSTANCE_PATH"],
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.json = JSONProvider(app)
    app.config.from_mapping(settings)
    app.config.update(
        LANGUAGES=dict(i18n.LANGUAGES),
        WTF_CSRF_TIME_LIMIT=None,  # tokens live as long as the signed session cookie
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        VERSION=__version__,
    )
    if test_config:
        app.config.update(test_config)  # tests may override the fixed settings above too
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("DATABASE"):
        app.config["DATABASE"] = str(Path(app.instance_path) / "diary.sqlite")
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config.load_or_create_secret(app.instance_path)

    if app.config["PROXY_COUNT"]:
        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    logs.init_app(app)
    security.configure_cookies(app)
    csrf.init_app(app)
    i18n.init_app(app)
    app.teardown_appcontext(db.close_db)
    # once only (Flask-Compress's after_request and the hashed-URL default would run twice),
    # after i18n (the release hash covers the catalogues) and before the headers: its
    # after_request must run after theirs
    assets.init_app(app)
    app.after_request(security.set_security_headers)
    app.jinja_env.globals["printed_percent"] = outcomes.printed_percent
    app.jinja_env.globals["error_list"] = forms.error_list
    app.jinja_env.globals["needs_new_consent"] = sheet.needs_new_consent
    app.jinja_env.globals["standard_drug_name"] = sheet.standard_drug_name
    app.jinja_env.globals["chart_key"] = charts.legend_key
    app.jinja_env.globals["nrs_options"] = widgets.nrs_options
    app.jinja_env.globals["check_options"] = widgets.check_options
    app.jinja_env.globals["scale_options"] = widgets.scale_options
    app.jinja_env.globals["radio_options"] = widgets.radio_options

    from .cli import register_cli
    from .views import admin, auth, clinic, consent, diary, mfa, pages, patient

    for view in (pages, auth, patient, consent, diary, clinic, admin, mfa):
        app.register_blueprint(view.bp)
    csrf.exempt(diary.sync)  # session + same-origin check instead; see views/diary.py
    csrf.exempt(diary.push_renew)  # the same, for the service worker
    ratelimit.init_app(app)  # after the blueprints: the signed-in user is known by then
    pages.register_error_handlers(app)
    register_cli(app)
    return app
