"""Browser tests: Playwright driving Debian's Chromium (never a downloaded browser) against the
app served by gunicorn, one server per database backend, one browser per test session.

Chromium is /usr/bin/chromium (`apt-get install chromium`; .ci/run installs it), or the path in
REFERRAL_CHROMIUM. Without it, or without the playwright package, these tests are skipped.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BACKENDS, USERS, empty_database
from tests.live import REPO, Server, production_env

CHROMIUM = os.environ.get("REFERRAL_CHROMIUM", "/usr/bin/chromium")
#: screenshots of every page the journeys visit (not committed: .gitignore)
RESULTS = REPO / "test-results" / "browser"
#: who signs in, or is named in a form (tests.referral.flows.data: lead professional, chair...)
PEOPLE = {"pc", "doc", "sw", "swsup", "swsm", "chair", "auditor"}
#: one viewport for every page, so the README's screenshots stay small
VIEWPORT: Any = {"width": 1000, "height": 800}

try:
    from playwright.sync_api import Browser, sync_playwright
except ImportError:  # pragma: no cover - the dev extras install it
    sync_playwright = None  # type: ignore[assignment]


@pytest.hookimpl(trylast=True)  # after tests/conftest.py's own ordering
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The browser tests first (the longest: parallel workers share out the rest after them),
    or skipped with the reason when there is no Chromium or no Playwright."""
    here = Path(__file__).parent
    ours = [item for item in items if here in item.path.parents]
    items[:] = ours + [item for item in items if here not in item.path.parents]
    reason = None
    if sync_playwright is None:
        reason = "playwright is not installed (pip install -e '.[dev]')"
    elif not (os.access(CHROMIUM, os.X_OK) or shutil.which(CHROMIUM)):
        reason = f"no Chromium at {CHROMIUM}: apt-get install chromium (or set REFERRAL_CHROMIUM)"
    if reason is None:
        return
    for item in ours:
        item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    assert sync_playwright is not None
    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=CHROMIUM,
            # a root container has no user namespaces for Chromium's sandbox
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Live:
    """The app served on one backend: its address, and where its screenshots go."""

    backend: str
    base_url: str
    shots: Path
    log: Path

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def _seed(url: str) -> None:
    """The test world's areas and users, through the services, as tests/conftest.py's `world`."""
    from referral import create_app
    from referral.db import unit_of_work
    from referral.services.people import add_area, create_user
    from tests.conftest import PASSWORD

    app = create_app({"REFERRAL_DATABASE_URL": url, "TESTING": True})
    try:
        with app.app_context(), unit_of_work() as session:
            add_area(session, "west-dunbartonshire", "West Dunbartonshire", "WD")
            add_area(session, "highland", "Highland", "HL")
            for username, agency, role, areas in USERS:
                if username in PEOPLE:  # each password hash takes a while: only who acts
                    create_user(session, username, agency, role, areas, PASSWORD)
    finally:
        app.extensions["referral.db"].engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    """A migrated, seeded database of one backend, served by gunicorn on 127.0.0.1."""
    from referral.migrate import upgrade

    folder = tmp_path_factory.mktemp(f"browser-{request.param}")
    with empty_database(request.param, folder, "browser") as url:
        upgrade(url)
        _seed(url)
        server = Server(production_env(url), folder / "gunicorn.log")
        try:
            server.wait_ready()
            shots = RESULTS / request.param
            shutil.rmtree(shots, ignore_errors=True)
            shots.mkdir(parents=True)
            yield Live(request.param, f"http://127.0.0.1:{server.port}", shots, server.log_path)
        finally:
            server.stop()


@pytest.fixture
def new_context(browser: Browser, live: Live) -> Iterator[Any]:
    """Make browser contexts (one per person signed in) that are closed after the test, which
    then fails on any script error, console error (a script the Content-Security-Policy
    refused, say) or stylesheet, script or image that failed to load."""
    made: list[Any] = []
    errors: list[str] = []

    def console(message: Any) -> None:
        # a page answered 4xx is the journey's to judge (a stale form is a 412 on purpose)
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(f"console: {message.text} ({message.location.get('url')})")

    def response(answer: Any) -> None:
        asset = answer.request.resource_type != "document"
        if asset and answer.status >= 400 and not answer.url.endswith("/favicon.ico"):
            errors.append(f"{answer.status} for {answer.url}")

    def make(**options: Any) -> Any:
        context = browser.new_context(base_url=live.base_url, viewport=VIEWPORT, **options)
        context.set_default_timeout(15_000)
        context.on("console", console)
        context.on("response", response)
        context.on("weberror", lambda e: errors.append(f"script error: {e.error}"))
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()
    assert not errors, "\n".join(errors)
    assert "Traceback" not in live.log.read_text(errors="replace"), live.log_tail()
