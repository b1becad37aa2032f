"""The send-reminders flow on a Prefect test server, and `invoices reminders`."""

import asyncio
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from deployments.cli import app
from flows.send_reminders import send_reminders
from tests.support.reminder_fixtures import (
    MONDAY,
    add_invoice,
    add_user,
    ledger,
    outbox,
)

pytestmark = pytest.mark.usefixtures("prefect_server")


def _artifact(key: str) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async def latest() -> str:
        async with get_client() as client:
            artifacts = await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
            return str(sorted(artifacts, key=lambda a: a.created)[-1].data)

    return asyncio.run(latest())


def test_dry_run_publishes_who_would_get_what_then_the_real_run_sends(settings):
    add_user("ann@example.com", "Ann")
    add_user(None, "Nobody")
    add_invoice("Acme <GmbH>", "A-1", MONDAY - timedelta(days=1))

    dry = send_reminders(dry_run=True, today=MONDAY)
    markdown = _artifact("send-reminders")
    assert dry["emails planned"] == 1 and dry["emails sent"] == 0
    assert "dry run" in markdown and "ann\\@example.com" in markdown and "Example: the email to" in markdown
    assert "'Nobody'" in markdown and "has no email address" in markdown
    assert ledger() == [] and not settings.smtp.outbox_dir.exists()

    real = send_reminders(today=MONDAY)
    assert real["emails sent"] == 1 and real["reminders sent"] == 1
    assert len(outbox(settings.smtp.outbox_dir)) == 1 and [s for *_, s in ledger()] == ["sent"]
    assert "| digest | ann\\@example.com | sent | 1 |" in _artifact("send-reminders")  # no mailto link


def test_cli_dry_run_prints_the_plan_and_rejects_a_bad_date(settings):
    add_user("ann@example.com", "Ann")
    add_invoice("Acme", "A-1", MONDAY - timedelta(days=1))
    runner = CliRunner()

    result = runner.invoke(app, ["reminders", "--dry-run", "--today", MONDAY.isoformat()])
    assert result.exit_code == 0, result.output
    assert "ann@example.com" in result.output and "Acme" in result.output and ledger() == []

    bad = runner.invoke(app, ["reminders", "--today", "31.03.2026"])
    assert bad.exit_code == 2 and "not a date" in bad.output
