"""Run summaries as Prefect artifacts: what a run did, counts, and what needs a person.

Much of what a summary shows comes from senders: file names, e-mail subjects, vendor names,
invoice numbers, reasons that quote a document. The Prefect UI renders artifacts as Markdown
with HTML, so such text could bring an image (fetched by whoever looks at the run: a beacon),
a link, a heading or a broken table. `plain` turns any value into Markdown that shows exactly
that text and nothing else; the helpers here apply it to every title, cell and description,
and a flow that writes sender text into Markdown of its own passes it through `plain` too.
"""

from __future__ import annotations

import logging
import re
import string
import time
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

logger = logging.getLogger(__name__)

CELL_CHARS = 300
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_BACKSLASHED = frozenset("[]`*~|@")
# Characters that reorder or hide what is shown (a file "invoice\u202efdp.exe" shows as "invoiceexe.pdf").
_HIDING = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# What starts a heading, list, rule or setext underline when it begins a line.
_BLOCK_START = re.compile(r"^( *)(?:([#+=-])|(\d{1,9})([.)]))")
_PUNCTUATION = frozenset(string.punctuation)


def _shown(text: str, at: int) -> str:
    char = text[at]
    if char in _ENTITIES:
        return _ENTITIES[char]
    if char in _BACKSLASHED:
        return "\\" + char
    after = text[at + 1: at + 2]
    if char == "\\":  # literal, unless it would escape what follows
        return "\\\\" if not after or after in _PUNCTUATION else char
    if char == "_":  # emphasis, unless between two letters or digits (snake_case stays as it is)
        before = text[at - 1: at] if at else ""
        return char if before.isalnum() and after.isalnum() else "\\_"
    if char == ":" and text.startswith("//", at + 1):  # http:// and the like: a bare link
        return "\\:"
    if char == "." and at >= 3 and text[at - 3: at].lower() == "www":  # www.example: a bare link
        return "\\."
    if char.isascii():
        return " " if char < " " or char == "\x7f" else char
    category = unicodedata.category(char)
    if category == "Cs":  # a byte of a file name that was not UTF-8, kept by surrogateescape
        return f"\\\\x{ord(char) - 0xDC00:02x}" if 0xDC80 <= ord(char) <= 0xDCFF else "\ufffd"
    if category in {"Cc", "Zl", "Zp"}:
        return " "
    return "\ufffd" if char in _HIDING else char


def plain(value: Any, limit: int | None = None, line_start: bool = True) -> str:
    """``value`` as Markdown that renders as exactly its text, on one line, and nothing else.

    ``& < >`` become entities (no HTML tag can form), ``[ ] ` * ~ | @`` and, where they would
    mean something, ``\\ _ : .`` are backslash-escaped (no link, image, autolink, code,
    emphasis or table cell can start), as is what would begin a heading or a list at the start
    (unless ``line_start`` is false: in a table cell, say); line breaks and other control
    characters become spaces. The rest is left as it is, so the stored artifact stays readable.
    ``limit`` cuts the text (before escaping, so an escape is never cut in half), marking the cut
    with an ellipsis.
    """
    text = "" if value is None else str(value)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "\u2026"
    shown = "".join(_shown(text, at) for at in range(len(text)))
    if not line_start:
        return shown
    return _BLOCK_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[2] else f"{m[1]}{m[3]}\\{m[4]}", shown, count=1)


def markdown_table(rows: Iterable[Mapping[str, Any]], columns: list[str]) -> str:
    """A Markdown table of ``rows`` (one column per name in ``columns``); every cell is `plain`."""
    lines = ["| " + " | ".join(plain(c, line_start=False) for c in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(plain(row.get(c), CELL_CHARS, line_start=False) for c in columns) + " |"
              for row in rows]
    return "\n".join(lines)


def fenced(text: str, info: str = "text") -> str:
    """``text`` as a fenced code block that nothing in it can close (the fence is longer than any
    run of backticks in it); shown as it is, line breaks kept."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text}\n{fence}"


def summary_markdown(
    title: str,
    counts: Mapping[str, Any],
    attention: list[Mapping[str, Any]] | None = None,
    attention_columns: list[str] | None = None,
    note: str | None = None,
) -> str:
    """A run summary: ``title`` and ``counts`` (both `plain`), the Markdown ``note`` as it is (a
    caller puts sender text in it only through `plain`), then the rows that need attention."""
    parts = [f"# {plain(title)}", "", markdown_table([counts], list(counts))]
    if note:
        parts += ["", note]
    if attention:
        columns = attention_columns or list(attention[0])
        parts += ["", f"## Needs attention ({len(attention)})", "", markdown_table(attention, columns)]
    elif attention is not None:
        parts += ["", "Nothing needs attention."]
    return "\n".join(parts)


def artifact_key(name: str) -> str:
    """Prefect artifact keys allow lowercase letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-") or "summary"


def publish_markdown(key: str, markdown: str, description: str) -> None:
    """Publish ``markdown`` as an artifact of the current flow run (a no-op outside a run).

    ``description`` is plain text (it is escaped here: callers put invoice numbers in it)."""
    from prefect.artifacts import create_markdown_artifact
    from prefect.context import FlowRunContext

    if FlowRunContext.get() is None:
        logger.debug("not in a flow run; artifact %s not published", key)
        return
    create_markdown_artifact(key=artifact_key(key), markdown=markdown, description=plain(description))


def publish_table(key: str, rows: list[Mapping[str, Any]], description: str) -> None:
    """Publish ``rows`` as a table artifact of the current flow run (a no-op outside a run).

    The UI renders each header, text cell and the description as Markdown, so each is `plain`
    here; numbers stay numbers (nothing in them can be Markdown).
    """
    from prefect.artifacts import create_table_artifact
    from prefect.context import FlowRunContext

    if FlowRunContext.get() is None:
        logger.debug("not in a flow run; artifact %s not published", key)
        return
    table = [{plain(name, line_start=False): value if isinstance(value, (int, float)) and not isinstance(value, bool)
              else plain(value, CELL_CHARS, line_start=False) for name, value in row.items()} for row in rows]
    create_table_artifact(key=artifact_key(key), table=table, description=plain(description))


class Progress:
    """A progress bar on the current flow run (shown in the UI while a long run works).

    Updates are sent at most every ``step_percent`` percent and every ``every_seconds`` (each is
    an API call, tens of milliseconds), and at the end; outside a flow run it does nothing.
    """

    def __init__(self, total: int, description: str, step_percent: float = 5.0, every_seconds: float = 1.0) -> None:
        from prefect.artifacts import create_progress_artifact
        from prefect.context import FlowRunContext

        self.total, self.done, self.step, self.every = max(total, 1), 0, step_percent, every_seconds
        self.description = description
        self._shown = 0.0
        self._shown_at = time.monotonic()
        self._id = None
        if FlowRunContext.get() is not None and total > 0:
            self._id = create_progress_artifact(progress=0.0, description=description)

    def advance(self, count: int = 1) -> None:
        from prefect.artifacts import update_progress_artifact

        self.done += count
        percent = min(100.0, 100.0 * self.done / self.total)
        due = percent - self._shown >= self.step and time.monotonic() - self._shown_at >= self.every
        if self._id is not None and (due or percent >= 100.0):
            update_progress_artifact(self._id, percent, f"{self.description}: {self.done} of {self.total}")
            self._shown, self._shown_at = percent, time.monotonic()
