"""Real-browser tests: Debian's chromium driven by Playwright (never a downloaded browser)."""

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from django.test import Client

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Under `make test` (SCHEDKIT_REQUIRE_SERVICES) a missing chromium fails instead of skipping.
BROWSER_TEST_MARKS = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM) and not os.environ.get("SCHEDKIT_REQUIRE_SERVICES"),
        reason=f"chromium not found at {CHROMIUM} (apt-get install chromium)",
    ),
]


def off_loop(fn, *args):
    """Playwright's sync API runs an event loop on the test thread, so Django's ORM is used
    from a worker thread that closes its connection afterwards."""
    from django.db import connection

    def call():
        try:
            return fn(*args)
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(call).result(timeout=30)


SCREENSHOTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "var", "screenshots")


def screenshot(page, name: str) -> str:
    """Keep a full-page screenshot as a test artifact under var/screenshots/ (gitignored)."""
    os.makedirs(SCREENSHOTS, exist_ok=True)
    path = os.path.join(SCREENSHOTS, f"{name}.png")
    page.screenshot(path=path, full_page=True)
    return path


@contextmanager
def browsing(server, user=None, **context_options):
    """A headless chromium page on `server`, signed in as `user` when one is given (a session
    made by Django's test client, so no sign-in form on the way): yields (context, page,
    errors), `errors` collecting the page's uncaught exceptions; `context.browser` makes more
    contexts. Call it before anything else starts Playwright's loop on this thread (the sign-in
    uses the ORM)."""
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    cookies = []
    if user is not None:
        client = Client()
        client.force_login(user)
        cookies = [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": server.base_url}]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context = browser.new_context(**context_options)
            if cookies:
                context.add_cookies(cookies)
            page = context.new_page()
            errors = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            yield context, page, errors
        finally:
            browser.close()
