"""Sender text in run summaries (tasks.operations.run_reports.plain): shown as text, never as
an image, a link, HTML, a heading or a table cell of its own."""

from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt

from tasks.operations.run_reports import fenced, markdown_table, plain, summary_markdown

HOSTILE = [
    '<img src="http://127.0.0.9:9/beacon.png">',
    "![x](http://127.0.0.9:9/image.png)",
    "[pay here](https://evil.example/pay)",
    "<https://evil.example/auto>",
    "[ref]: https://evil.example/ref",
    '<a href="https://evil.example/a">open</a>',
    "rechnung.pdf\n# Pay now\n| a | b |",
    "# heading",
    "  ## indented heading",
    "- a list",
    "12. a numbered list",
    "> a quote",
    "=== ",
    "**bold** _emphasis_ ~~struck~~ `code`",
    "a\\[b](https://evil.example/escaped)",
    "&lt;img src=x&gt; &amp;",
    "tab\tand\rcarriage return",
]


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.text = ""

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        self.tags.append(tag)
        self.attributes += attrs

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        self.text += data


def _render(markdown: str) -> _Html:
    html = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).render(markdown)
    parsed = _Html()
    parsed.feed(html)
    return parsed


@pytest.mark.parametrize("text", HOSTILE)
def test_plain_text_renders_as_exactly_that_text_and_nothing_else(text):
    rendered = _render(plain(text))
    assert rendered.tags in ([], ["p"]) and rendered.attributes == []
    assert rendered.text.strip() == text.replace("\n", " ").replace("\t", " ").replace("\r", " ").strip()


def test_a_table_of_hostile_rows_keeps_its_columns_and_shows_every_value():
    rows = [{"name": text, "reason": text} for text in HOSTILE]
    rendered = _render(summary_markdown("Drop folder intake", {"files": len(rows)}, rows, ["name", "reason"]))
    assert set(rendered.tags) == {"h1", "h2", "table", "thead", "tbody", "tr", "th", "td"}
    assert rendered.tags.count("h1") == 1 and rendered.tags.count("h2") == 1  # the title and "Needs attention"
    assert rendered.tags.count("td") == 1 + 2 * len(rows)  # no pipe made a cell, no newline a row
    assert not [a for a in rendered.attributes if a[0] in {"src", "href"}]


def test_bare_links_and_addresses_are_not_left_for_autolinking():
    assert "https://" not in plain("see https://evil.example/pay")
    assert "www." not in plain("www.evil.example") and "WWW." not in plain("WWW.evil.example")
    assert "@" not in plain("pay@evil.example").replace("\\@", "")


def test_ordinary_text_stays_readable_in_the_stored_markdown():
    for text in ("invoices_verify_12", "RE-2024-003", "2026-11-21", "1 to review, 1 documents not read",
                 "'Nobody' has no email address", "Müller Söhne (Zürich)", "-15.00"):
        assert plain(text, line_start=False) == text


def test_a_file_name_that_was_not_utf8_and_a_hidden_reordering_are_shown_not_applied():
    assert plain("rechnung-\udcff.pdf") == "rechnung-\\\\xff.pdf"  # renders as rechnung-\xff.pdf
    assert "\u202e" not in plain("invoice\u202efdp.exe")
    assert _render(plain("leer-\\xfe\\\\.pdf")).text.strip() == "leer-\\xfe\\\\.pdf"  # backslashes kept


def test_a_long_value_is_cut_before_it_is_escaped():
    cell = markdown_table([{"name": "<" * 400}], ["name"]).splitlines()[-1]
    assert cell.count("&lt;") == 299 and "\u2026" in cell and "&l\u2026" not in cell


def test_a_fenced_block_cannot_be_closed_from_inside():
    text = "Dear customer\n```\n<img src=x>\n````"
    rendered = _render(fenced(text))
    assert rendered.tags == ["pre", "code"] and rendered.text.rstrip("\n") == text
