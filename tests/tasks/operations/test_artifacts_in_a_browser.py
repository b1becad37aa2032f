"""Run summaries of hostile documents, opened in the Prefect UI in a real browser: nothing a
sender wrote is fetched, linked, or turned into a heading or a table cell of its own (the intake's
Markdown summary and its table of the documents read)."""

from __future__ import annotations

import contextlib
import re
from datetime import datetime, timedelta, timezone
from xml.sax.saxutils import escape

import pytest

from flows.ingest_folder import ingest_folder
from tests.support.browser import chromium, origin, visit
from tests.support.einvoices import CII

# 127.0.0.9 is this machine: what the page would fetch from it is recorded, and goes nowhere.
VENDOR = '<img src="http://127.0.0.9:9/vendor.png"> Lumen [pay here](https://evil.example/pay)'
NUMBER = "![n](http://127.0.0.9:9/number.png) https://evil.example/number"
REFERENCE = "<a href=https://evil.example/ref>ref</a> pay@evil.example www.evil.example"
XML_NAME = "rechnung|extra cell\n# Pay now <img src=http:127.0.0.9:9>.xml"
EMPTY_NAME = "![x](http:127.0.0.9:9) [pay here](https:evil.example)\n## Heading.pdf"
OUR_HEADINGS = r"Drop folder intake|Needs attention \(\d+\)|Document \d+: .*"

# Whether the database is SQLite or PostgreSQL makes no difference to what the UI renders.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@contextlib.contextmanager
def _api(env: dict[str, str]):  # type: ignore[no-untyped-def]
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: env["PREFECT_API_URL"]}):
        yield


def _artifacts_since(started: datetime) -> list:  # type: ignore[type-arg]
    from prefect.client.orchestration import get_client

    from prefect.client.schemas.sorting import ArtifactSort

    with get_client(sync_client=True) as client:  # newest first: the session's server holds others' too
        newest = client.read_artifacts(sort=ArtifactSort.CREATED_DESC, limit=200)
        return [a for a in newest if a.type in {"markdown", "table"} and a.created >= started]


_LINKS = """container => ({
    images: [...container.querySelectorAll('img, picture, video, audio, iframe, object, embed')].map(e => e.outerHTML),
    links: [...container.querySelectorAll('a[href], area[href]')].map(e => e.getAttribute('href')),
    headings: [...container.querySelectorAll('h1, h2, h3, h4, h5, h6')].map(e => e.textContent.trim()),
    tables: [...container.querySelectorAll('table')].map(t => [...t.rows].map(r => r.cells.length)),
})"""


def test_hostile_documents_in_run_summaries_fetch_nothing_and_link_nowhere(live_prefect, settings):
    inbox = settings.inbox_dir
    inbox.mkdir(parents=True)
    xml = CII.replace("Lumen Werkstatt GmbH", escape(VENDOR)).replace("FX-2024-001", escape(NUMBER))
    (inbox / XML_NAME).write_text(xml.replace("PO-7", escape(REFERENCE)), encoding="utf-8")
    (inbox / EMPTY_NAME).write_bytes(b"")
    started = datetime.now(timezone.utc) - timedelta(seconds=1)

    with _api(live_prefect):
        state = ingest_folder(return_state=True)
        assert state.is_completed(), state.message
        artifacts = _artifacts_since(started)
    assert sorted(a.key for a in artifacts) == ["documents-read", "ingest-folder"]

    server = origin(live_prefect["PREFECT_UI_URL"])
    shown = ""
    with chromium() as browser:
        pages = [(f"{server}/artifacts/artifact/{a.id}", None) for a in artifacts]
        url_keys = {f"{server}/artifacts/artifact/{a.id}": a.key for a in artifacts}
        pages += [(f"{server}/artifacts/key/{a.key}", a.key) for a in artifacts]  # its timeline
        pages.append((f"{server}/artifacts", "ingest-folder"))  # every artifact, with its description
        for url, key in pages:
            with visit(browser, url) as seen:
                if key:
                    seen.page.get_by_text(key).first.wait_for()
                elif "documents-read" in url_keys.get(url, ""):  # the table of the documents read
                    table = seen.page.locator("table").first
                    table.wait_for()
                    seen.page.wait_for_load_state("networkidle")
                    assert table.locator("img, a[href]").count() == 0, url
                    shown += " " + table.inner_text()
                else:  # a page of one artifact: its Markdown rendered
                    body = seen.page.locator(".artifact-data-markdown").first
                    body.locator("h1").first.wait_for()
                    seen.page.wait_for_load_state("networkidle")
                    found = body.evaluate(_LINKS)
                    assert found["images"] == [] and found["links"] == [], (url, found)
                    for heading in found["headings"]:  # only the summary's own
                        assert re.fullmatch(OUR_HEADINGS, heading), heading
                    for table in found["tables"]:
                        assert len(set(table)) == 1, (url, table)  # every row has as many cells as the header
                    shown += " " + body.inner_text()
                seen.page.wait_for_load_state("networkidle")
                hrefs = seen.page.evaluate("() => [...document.querySelectorAll('[href], [src]')]"
                                           ".map(e => e.getAttribute('href') || e.getAttribute('src'))")
                assert not [h for h in hrefs if "evil.example" in h or "127.0.0.9" in h], (url, hrefs)
                assert seen.outside(server) == [], url

    text = " ".join(shown.split())
    for written in (VENDOR, NUMBER, " ".join(XML_NAME.split()), " ".join(EMPTY_NAME.split())):
        assert written in text  # shown as the text it is (the reference is in no summary of a batch)
