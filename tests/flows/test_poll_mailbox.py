"""The poll-mailbox flow on a real Prefect server: accounts, artifact, CLI."""

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from db.models import MailMessage
from db.session import session_scope
from deployments.cli import app
from flows.poll_mailbox import poll_mailbox
from tests.support.dovecot import configure
from tests.support.mails import invoice_mail

pytestmark = pytest.mark.usefixtures("prefect_server")


def _artifact_markdown(flow_run_id) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=["poll-mailbox"]), flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    [artifact] = artifacts
    return artifact.data


def test_a_wrong_password_fails_the_run_naming_the_account_and_the_others_are_still_polled(
        settings, dovecot, monkeypatch):
    good, other = dovecot.add_user(), dovecot.add_user()
    configure(monkeypatch, [dovecot.account("broken", other, password="not-the-password-42"),
                            dovecot.account("billing", good)])
    with dovecot.mailbox(good) as box:
        box.append(invoice_mail("Invoice 1"), "INBOX")
        box.append(invoice_mail("Hello", []), "INBOX")

    state = poll_mailbox(return_state=True)

    assert state.is_failed()
    assert "'broken'" in state.message and "login refused" in state.message
    with session_scope() as session:
        rows = {m.subject: (m.account, m.status) for m in session.scalars(select(MailMessage))}
    assert rows == {"Invoice 1": ("billing", "processed"), "Hello": ("billing", "no_documents")}
    markdown = _artifact_markdown(state.state_details.flow_run_id)
    assert "billing" in markdown and "broken" in markdown and "login refused" in markdown
    assert "Hello" in markdown and "no attachment" in markdown  # a message that needs a person
    assert "not-the-password-42" not in markdown

    status = CliRunner().invoke(app, ["mailbox", "status"], env={"COLUMNS": "200"})
    assert status.exit_code == 0, status.output
    assert "billing" in status.output and "broken" in status.output and "never" in status.output


def test_the_cli_polls_the_chosen_account(settings, dovecot, monkeypatch):
    user = dovecot.add_user()
    configure(monkeypatch, [dovecot.account("billing", user), dovecot.account("other", user, password="x")])
    with dovecot.mailbox(user) as box:
        box.append(invoice_mail("Invoice 9"), "INBOX")

    result = CliRunner().invoke(app, ["mailbox", "poll", "--account", "billing"])

    assert result.exit_code == 0, result.output
    with session_scope() as session:
        assert [m.status for m in session.scalars(select(MailMessage))] == ["processed"]
    unknown = CliRunner().invoke(app, ["mailbox", "poll", "--account", "nope"])
    assert unknown.exit_code == 1 and "nope" in unknown.output
