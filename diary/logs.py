"""Logging: one structured line per request, and nothing secret in any line.

Each request gets an id (also sent back as ``X-Request-Id``); the line names the route
pattern (``/p/<token>``), never the concrete path, so tokens and other values in URLs
stay out of the logs. Werkzeug's own access lines (the development server) are redacted
the same way. Log lines never carry names, notes, passwords or tokens.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time

from flask import Flask, Response, g, has_request_context, request
from flask.logging import default_handler

SECRET_PATHS = re.compile(r"/(p|cal)/[^\s\"?/]+")


class RedactPaths(logging.Filter):
    """Replace personal-link and calendar tokens in log records with ``<token>``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(
                SECRET_PATHS.sub(r"/\1/<token>", a) if isinstance(a, str) else a
                for a in (record.args if isinstance(record.args, tuple) else (record.args,))
            )
        if isinstance(record.msg, str):
            record.msg = SECRET_PATHS.sub(r"/\1/<token>", record.msg)
        return True


class JsonLines(logging.Formatter):
    """Every line a JSON object with the time and level first.

    Event lines (whose message is already a JSON object) get ``at`` and ``level`` added;
    other records (an unhandled error's traceback, werkzeug's lines) are wrapped whole.
    """

    def format(self, record: logging.LogRecord) -> str:
        at = self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z"
        message = record.getMessage()
        if message.startswith("{") and not record.exc_info:
            return f'{{"at": "{at}", "level": "{record.levelname}", {message[1:]}'
        line: dict[str, object] = {
            "at": at,
            "level": record.levelname,
            "logger": record.name,
            "message": message,
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line)


JsonLines.converter = time.gmtime  # type: ignore[assignment]


#: events an investigation needs the client's address for (failed and throttled sign-ins,
#: refused access, rate limits, expired links); other lines do not carry it
SECURITY_EVENTS = ("signin.", "access.", "ratelimit.", "link.", "mfa.", "csrf.")


def event(app: Flask, name: str, **fields: object) -> None:
    """Log one structured event line (JSON) with the request id; security events also
    carry the client address (after ``DIARY_PROXY_COUNT`` proxies)."""
    if name.startswith(SECURITY_EVENTS) and has_request_context():
        fields.setdefault("address", request.remote_addr or "unknown")
    app.logger.info(
        json.dumps({"event": name, "request_id": g.get("request_id"), **fields}, sort_keys=True)
    )


def init_app(app: Flask) -> None:
    """Request ids, one line per request, redaction of werkzeug's access lines."""
    if app.logger.level == logging.NOTSET:
        app.logger.setLevel(logging.INFO)
    default_handler.setFormatter(JsonLines())
    logging.getLogger("werkzeug").addFilter(RedactPaths())

    @app.before_request
    def start_request() -> None:
        g.request_id = secrets.token_hex(8)
        g.request_started = time.perf_counter()

    @app.after_request
    def log_request(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "")
        if request.endpoint != "static":
            user = g.get("user")
            event(
                app,
                "request",
                method=request.method,
                route=request.url_rule.rule if request.url_rule else None,
                status=response.status_code,
                ms=round((time.perf_counter() - g.get("request_started", 0)) * 1000, 1),
                user=f"{user.kind}:{user.id}" if user else None,
            )
        return response
