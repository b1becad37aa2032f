import pytest
from prefect.client.orchestration import get_client
from sqlalchemy import select
from typer.testing import CliRunner

from db.models import Backup
from db.session import engine_for, session_scope
from deployments.cli import app
from flows.backup import backup
from tasks.backup import files as bf
from tests.support.backup_fixtures import (
    flip_byte,
    kill_hard,
    scratch_exists,
    seed,
    start_held_verification,
    use_settings,
    wait_until_released,
)

pytestmark = pytest.mark.usefixtures("prefect_server")


def _statuses(settings) -> dict[str, str]:
    with session_scope(engine_for(settings.database.url)) as session:
        return {b.id: b.status for b in session.scalars(select(Backup).order_by(Backup.id))}


def _artifact(flow_run_id) -> str:
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    return "\n".join(a.data for a in artifacts if isinstance(a.data, str))


def test_a_run_backs_up_verifies_prunes_and_reports(settings, monkeypatch):
    seed(settings, 1, 2)
    state = backup(return_state=True)
    assert state.is_completed()
    result = state.result()
    assert result["status"] == "verified" and result["new_files"] == 2
    markdown = _artifact(state.state_details.flow_run_id)
    assert result["backup_id"] in markdown and "verified" in markdown and "Pruned: nothing" in markdown
    assert "size MB" in markdown and "new files" in markdown


def test_a_backup_that_does_not_verify_fails_the_run_and_alerts_the_admins(settings, monkeypatch):
    settings = use_settings(monkeypatch, admin_emails='["admin@example.com"]')
    seed(settings, 1, 2)
    good = (backup(return_state=True).result())["backup_id"]
    copy = next(p for p in sorted((bf.backup_folder(settings.backup.backup_dir, good) / bf.FILES).rglob("*"))
                if p.is_file())
    flip_byte(copy)  # damaged after it was written; the next backup points at it

    state = backup(return_state=True)

    assert state.is_failed()
    statuses = _statuses(settings)
    assert "verified" not in statuses.values() and len(statuses) == 2
    markdown = _artifact(state.state_details.flow_run_id)
    assert "damaged" in markdown and "nothing was pruned" in markdown
    [alert] = list(settings.smtp.outbox_dir.rglob("*.eml"))
    text = alert.read_text()
    assert "admin@example.com" in text and "failed verification" in text

    healed = backup(return_state=True).result()  # copies the file again and verifies
    assert healed["status"] == "verified" and healed["new_files"] >= 1


def test_invoices_backup_runs_the_flow(settings):
    seed(settings, 1, 1)
    done = CliRunner().invoke(app, ["backup", "--no-prune"])
    assert done.exit_code == 0, done.output
    assert "verified" in done.output and "1 new files" in done.output


def test_a_run_drops_the_scratch_a_killed_verification_left_and_says_so(settings, tmp_path):
    seed(settings, 1, 2)
    first = backup(verify=False, return_state=True).result()["backup_id"]
    process, scratch = start_held_verification(first, tmp_path / "verify.log")
    kill_hard(process)
    wait_until_released(settings, scratch)
    assert scratch_exists(settings, scratch)

    state = backup(return_state=True)

    assert state.is_completed()
    markdown = _artifact(state.state_details.flow_run_id)
    name = scratch.split("/")[-2] if "/" in scratch else scratch
    assert "Leftover scratch copies" in markdown and name in markdown
    assert not scratch_exists(settings, scratch)
