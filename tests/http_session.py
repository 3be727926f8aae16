"""A tiny keep-alive HTTP client with a cookie, for tests that talk to a real gunicorn."""

from __future__ import annotations

import re
from http.client import HTTPConnection
from urllib.parse import urlencode


class Session:
    """One browser-like user: a connection and the session cookie."""

    def __init__(self, port: int, timeout: float = 10) -> None:
        self.port = port
        self.timeout = timeout
        self.conn = HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.cookie = ""

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, bytes]:
        h = {"Cookie": self.cookie, **(headers or {})}
        try:
            self.conn.request(method, path, body=body, headers=h)
            res = self.conn.getresponse()
        except (ConnectionError, OSError):
            self.conn = HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            raise
        data = res.read()
        for value in res.headers.get_all("Set-Cookie") or []:
            self.cookie = value.split(";", 1)[0]
        return res.status, data

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def form(self, path: str, fields: dict) -> tuple[int, bytes]:
        """GET a form page, then POST it with its CSRF token."""
        _status, page = self.request("GET", path)
        token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        body = urlencode({**fields, "csrf_token": token.decode()}).encode()
        return self.request(
            "POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"}
        )
