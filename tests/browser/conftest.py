"""A real browser (Debian's Chromium through Playwright) against the app served by a real
HTTP server, with the test SMTP server beside it.

Chromium is never downloaded: the tests use /usr/bin/chromium (``.ci/run`` installs the
``chromium`` package when it is missing). Without it the tests skip, saying so; with
``CI=true`` they fail instead. Screenshots of each page go to ``artifacts/browser/``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError
from werkzeug.serving import make_server

from surveyapp.paths import PROJECT_ROOT
from tests.conftest import free_port

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = PROJECT_ROOT / "artifacts" / "browser"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium from Debian, for the whole run."""
    if not CHROMIUM.exists():
        reason = f"Chromium not found at {CHROMIUM}: install Debian's chromium package"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=FLAGS
        )
        yield launched
        launched.close()


@pytest.fixture
def live_server(app, mailbox, monkeypatch) -> Iterator[str]:
    """The app on a free local port in a thread; emails link to it. Returns its address."""
    port = free_port()
    address = f"http://127.0.0.1:{port}"
    monkeypatch.setitem(app.config, "SITE_URL", address)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield address
    server.shutdown()
    thread.join(timeout=10)


# The tallest page shot whole (see Shots).
FULL_PAGE_MAX_PX = 6000


class Shots:
    """Numbered screenshots of a journey, in artifacts/browser/<test>/."""

    def __init__(self, name: str) -> None:
        self.folder = ARTIFACTS / name
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.count = 0

    def __call__(self, page: Any, label: str) -> None:
        self.count += 1
        # A full-page shot of the long questionnaire on an emulated phone is rendered in
        # software: on this 2-core machine it took over two minutes in CI, failing a journey
        # that had passed every check. The shot is for people to look at, not an assertion:
        # a page taller than FULL_PAGE_MAX_PX is shot as the person sees it at that moment.
        height = self._height(page)
        page.screenshot(
            path=str(self.folder / f"{self.count:02d}-{label}.png"),
            full_page=height <= FULL_PAGE_MAX_PX,
            timeout=120_000,
        )

    @staticmethod
    def _height(page: Any) -> int:
        """The page's height; a shot right after a click may meet a navigation under way,
        and then the page it leads to is measured."""
        for _attempt in range(3):
            try:
                return int(page.evaluate("document.documentElement.scrollHeight"))
            except PlaywrightError:
                page.wait_for_load_state()
        return FULL_PAGE_MAX_PX + 1


@pytest.fixture
def shots(request) -> Shots:
    return Shots(request.node.name)
