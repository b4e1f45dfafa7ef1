"""Helpers for the page tests: sign in through the form, read CSRF tokens, fill forms."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any

from flask.testing import FlaskClient

from tests.conftest import PASSWORD

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/sign-in") -> str:
    page = client.get(path).get_data(as_text=True)
    found = _TOKEN.search(page)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD) -> Any:
    token = csrf_token(client)
    return client.post(
        "/sign-in", data={"username": username, "password": password, "csrf_token": token}
    )


def hidden_fields(page: str) -> dict[str, str]:
    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)
    return {name: html.unescape(value) for name, value in found}


class Outline(HTMLParser):
    """What every page must have: its title, its h1s, a skip link to the main content."""

    def __init__(self) -> None:
        super().__init__()
        self.titles: list[str] = []
        self.h1s = 0
        self.skip_links = 0
        self.main_ids: list[str] = []
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "title":
            self._in_title = True
            self.titles.append("")
        if tag == "h1":
            self.h1s += 1
        if tag == "a" and "govuk-skip-link" in (a.get("class") or ""):
            self.skip_links += a.get("href") == "#main-content"
        if tag == "main" and a.get("id"):
            self.main_ids.append(a["id"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.titles[-1] += data


def outline(page: str) -> Outline:
    parsed = Outline()
    parsed.feed(page)
    return parsed


LONDON = "Europe/London"


def form_fields(data: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """An API `data` body as the fields a person fills in on the trigger's form."""
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    fields: list[tuple[str, str]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, bool):
            fields.append((name, "yes" if value else "no"))
        elif isinstance(value, dict):
            fields += form_fields(value, f"{name}-")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for i, item in enumerate(value):
                fields += form_fields(item, f"{name}-{i}-")
        elif isinstance(value, list):
            fields += [(name, str(v)) for v in value]
        elif isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}T.*", value):
            local = datetime.fromisoformat(value).astimezone(ZoneInfo(LONDON))
            for part in ("day", "month", "year", "hour", "minute"):
                fields.append((f"{name}-{part}", str(getattr(local, part))))
        elif isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            day = date.fromisoformat(value)
            for part in ("day", "month", "year"):
                fields.append((f"{name}-{part}", str(getattr(day, part))))
        else:
            fields.append((name, str(value)))
    return fields
