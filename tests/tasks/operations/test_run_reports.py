"""Run summaries and progress bars in the Prefect UI (tasks.operations.run_reports), on a real Prefect API."""

import json

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


def test_descriptions_and_table_artifacts_show_sender_text_as_text():
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    from tasks.operations.run_reports import plain, publish_markdown, publish_table

    number = "[pay here](https://evil.example/pay) <img src=x>"

    @flow(name="report-escaping-test")
    def report() -> object:
        from prefect.runtime import flow_run

        publish_markdown("escaping-markdown", "# Payment recorded", f"{number}: paid")
        publish_table("escaping-table", [{"invoice <b>": number, "total": 5}], f"workbook {number}")
        return flow_run.id

    run_id = report()
    with get_client(sync_client=True) as client:
        of_the_run = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))  # the server holds many
        found = {a.key: a for a in client.read_artifacts(artifact_filter=of_the_run)}
    assert found["escaping-markdown"].description == plain(f"{number}: paid")
    assert found["escaping-table"].description == plain(f"workbook {number}")
    table = found["escaping-table"].data
    table = table if isinstance(table, list) else json.loads(table)
    assert table == [{"invoice &lt;b&gt;": plain(number), "total": 5}]  # numbers stay numbers
