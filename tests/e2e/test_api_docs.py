"""``/api/docs``: the OpenAPI description rendered by Swagger UI in a real browser (Debian's Chromium driven by
Playwright), served from this app only, under a Content Security Policy the page keeps to."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.conftest import require
from tests.e2e.conftest import Stack

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""Without the background-networking flags Chromium keeps trying Google's hosts, which a closed network refuses."""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require(shutil.which(CHROMIUM) is not None, "install Debian's Chromium: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


def test_the_api_page_renders_every_operation_from_this_app_alone(stack: Stack, browser: Any) -> None:
    page = browser.new_page()
    refused: list[str] = []
    elsewhere: list[str] = []
    page.on(
        "console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None
    )
    page.on(
        "request",
        lambda request: (
            elsewhere.append(request.url)
            if not request.url.startswith(stack.url) and not request.url.startswith("data:")
            else None
        ),
    )
    page.goto(f"{stack.url}/api/docs")
    page.wait_for_selector(".opblock", timeout=30000)
    shown = page.inner_text("#swagger-ui")
    assert "Hybrid Calendar" in shown
    for path in ("/api/me/meetings", "/api/tenants/{tenant}/scheduling", "/api/rooms/{room}/meetings"):
        assert path in shown, path
    assert page.locator(".opblock").count() >= 30
    page.locator(".opblock-summary-path", has_text="/api/me/availability").first.click()
    page.locator(".parameter__name", has_text="schedules").first.wait_for(timeout=10000)
    assert refused == [] and elsewhere == [], (refused, elsewhere)
    page.close()


def test_the_page_and_its_assets_are_served_with_their_types_and_policy(stack: Stack) -> None:
    page = requests.get(f"{stack.url}/api/docs", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy and "unsafe-eval" not in policy
    assert page.headers["X-Frame-Options"] == "DENY" and "<script>" not in page.text
    for name, kind in (
        ("swagger-ui.css", "text/css"),
        ("swagger-ui-bundle.js", "text/javascript"),
        ("init.js", "text/javascript"),
    ):
        answer = requests.get(f"{stack.url}/api/docs/{name}", timeout=10)
        assert answer.status_code == 200 and answer.headers["Content-Type"].startswith(kind), name
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    for hostile in (
        "package.json",
        "..%2Fpackage.json",
        "%2e%2e%2f%2e%2e%2fREADME.md",
        "index.html",
        "swagger-ui.css%00.js",
        "SWAGGER-UI.CSS",
        "%F0%9F%98%80",
    ):
        answer = requests.get(f"{stack.url}/api/docs/{hostile}", timeout=10)
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found", hostile
