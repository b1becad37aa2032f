"""Debian's chromium, driven by playwright, for tests that look at the Prefect UI as a person
does: which requests a page makes, and what it shows. `make test` installs chromium
(deployments/install-system-packages.sh) and playwright (the dev dependencies); playwright's
own browser downloads are never used."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A headless chromium browser (playwright's sync API)."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: `make setup` installs it (deployments/install-system-packages.sh)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def origin(url: str) -> str:
    """scheme://host:port of ``url``; a blob: URL has the origin of the page that made it."""
    parts = urlsplit(url[len("blob:"):] if url.startswith("blob:") else url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass
class Visit:
    page: Any
    requests: list[str] = field(default_factory=list)

    def outside(self, allowed_origin: str) -> list[str]:
        """Every request that went anywhere but ``allowed_origin`` (data: URLs stay in the page)."""
        return [u for u in self.requests if not u.startswith("data:") and origin(u) != allowed_origin]


@contextlib.contextmanager
def visit(browser: Any, url: str) -> Iterator[Visit]:
    """Open ``url`` in a fresh page, recording every request the page makes from the start."""
    page = browser.new_page()
    seen = Visit(page)
    page.on("request", lambda request: seen.requests.append(request.url))
    try:
        page.goto(url, wait_until="networkidle")
        yield seen
    finally:
        page.close()
