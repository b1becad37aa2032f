"""Run summaries and progress bars in the Prefect UI (tasks.operations.run_reports), on a real Prefect API."""

import pytest
from prefect import flow

from tasks.operations.run_reports import Progress

pytestmark = pytest.mark.usefixtures("prefect_server")


def test_a_progress_bar_is_sent_at_most_once_a_second_and_always_at_the_end(monkeypatch):
    import prefect.artifacts
    from prefect.client.orchestration import get_client

    sent = []
    update = prefect.artifacts.update_progress_artifact

    def spy(artifact_id, progress, description=None):  # type: ignore[no-untyped-def]
        sent.append(progress)
        return update(artifact_id, progress, description)

    monkeypatch.setattr(prefect.artifacts, "update_progress_artifact", spy)

    @flow(name="progress-test")
    def count_files() -> object:
        progress = Progress(50, "files taken")
        for _ in range(50):
            progress.advance()
        return progress._id

    artifact_id = count_files()
    assert sent == [100.0]  # fifty steps of 2% in well under a second: only the end is sent
    with get_client(sync_client=True) as client:
        artifact = client.request("GET", "/artifacts/{id}", path_params={"id": artifact_id}).json()
    assert artifact["data"] == 100.0 and artifact["description"] == "files taken: 50 of 50"
