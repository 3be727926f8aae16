"""What a patient sees of the phones signed in to their diary: a short description of
each device from its User-Agent ("Chrome · Android"), never the User-Agent itself."""

from __future__ import annotations

import re

#: (pattern, name), first match wins: Edge and Samsung's browser also say "Chrome", and
#: Chrome also says "Safari"
BROWSERS = (
    (r"Edg(e|A|iOS)?/", "Edge"),
    (r"SamsungBrowser/", "Samsung Internet"),
    (r"OPR/|Opera", "Opera"),
    (r"Firefox/|FxiOS/", "Firefox"),
    (r"Chrome/|CriOS/|Chromium/", "Chrome"),
    (r"Safari/", "Safari"),
)
SYSTEMS = (
    (r"iPhone", "iPhone"),
    (r"iPad", "iPad"),
    (r"Android", "Android"),
    (r"Windows", "Windows"),
    (r"Mac OS X|Macintosh", "macOS"),
    (r"CrOS", "ChromeOS"),
    (r"Linux", "Linux"),
)


def describe(user_agent: str | None) -> str:
    """ "Browser · system" for a User-Agent string; "" when neither is recognised."""
    ua = user_agent or ""
    browser = next((name for pattern, name in BROWSERS if re.search(pattern, ua)), "")
    system = next((name for pattern, name in SYSTEMS if re.search(pattern, ua)), "")
    return " · ".join(part for part in (browser, system) if part)
