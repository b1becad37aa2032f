"""Run summaries as Prefect artifacts: what a run did, counts, and what needs a person."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

logger = logging.getLogger(__name__)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")[:300]


def markdown_table(rows: Iterable[Mapping[str, Any]], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def summary_markdown(
    title: str,
    counts: Mapping[str, Any],
    attention: list[Mapping[str, Any]] | None = None,
    attention_columns: list[str] | None = None,
    note: str | None = None,
) -> str:
    parts = [f"# {title}", "", markdown_table([counts], list(counts))]
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
    """Publish ``markdown`` as an artifact of the current flow run (a no-op outside a run)."""
    from prefect.artifacts import create_markdown_artifact
    from prefect.context import FlowRunContext

    if FlowRunContext.get() is None:
        logger.debug("not in a flow run; artifact %s not published", key)
        return
    create_markdown_artifact(key=artifact_key(key), markdown=markdown, description=description)


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
