"""A verification killed with SIGKILL leaves its scratch copy of the data (a database on
PostgreSQL, a file on SQLite). The next backup and `invoices backups verify` drop it and say so;
the scratch of a verification still running is left alone."""

import shutil
from pathlib import Path

from typer.testing import CliRunner

from deployments.cli import app
from tasks.backup.make import make_backup
from tests.support.backup_fixtures import (
    kill_hard,
    scratch_exists,
    seed,
    start_held_verification,
    wait_until_released,
)


def _named(lines: list[str], scratch: str) -> bool:
    name = Path(scratch).parent.name if "/" in scratch else scratch
    return any(name in line for line in lines)


def test_the_next_backup_drops_the_scratch_of_a_killed_verification_and_not_a_running_ones(settings, tmp_path):
    seed(settings, 1, 3)
    first = make_backup(settings)
    process, scratch = start_held_verification(first.backup_id, tmp_path / "verify.log")
    try:
        assert scratch_exists(settings, scratch)
        running = make_backup(settings)  # the verification is still going: its scratch is kept
        assert not _named(running.scratch_dropped, scratch) and scratch_exists(settings, scratch)
        kill_hard(process)
    finally:
        kill_hard(process)
    wait_until_released(settings, scratch)
    assert scratch_exists(settings, scratch)  # the kill left the full copy behind

    after = make_backup(settings)

    assert _named(after.scratch_dropped, scratch), after.scratch_dropped
    assert any("left by a verification that stopped" in line for line in after.scratch_dropped)
    assert not scratch_exists(settings, scratch)
    assert not _named(make_backup(settings).scratch_dropped, scratch)  # dropped once, reported once


def test_invoices_backups_verify_drops_the_scratch_of_a_killed_verification(settings, tmp_path):
    seed(settings, 1, 2)
    made = make_backup(settings)
    process, scratch = start_held_verification(made.backup_id, tmp_path / "verify.log")
    kill_hard(process)
    wait_until_released(settings, scratch)
    assert scratch_exists(settings, scratch)

    done = CliRunner().invoke(app, ["backups", "verify", made.backup_id])

    assert done.exit_code == 0, done.output
    assert _named([done.output.replace("\n", "")], scratch) and "verified" in done.output
    assert not scratch_exists(settings, scratch)


def test_a_killed_restore_leaves_its_temporary_files_to_the_next_clean_up(settings, tmp_path):
    from tasks.backup.scratch import drop_leftovers, file_scratch

    backup_dir = Path(settings.backup.backup_dir or settings.data_dir / "backups")
    target = tmp_path / "restored" / "invoices.db"
    temporary = target.with_name(f".{target.name}.restoring")
    store = tmp_path / "store"
    copying, kept = store / "ab" / ".copying-x1", store / "ab" / "kept.pdf"
    copying.parent.mkdir(parents=True)
    target.parent.mkdir()
    kept.write_bytes(b"stored")
    dead = backup_dir / ".scratch" / ("restore-" + "0" * 16)
    with file_scratch(backup_dir, "restore", [temporary], store) as held:
        temporary.write_bytes(b"half a database")
        copying.write_bytes(b"half a file")
        assert not any(held.folder.name in line for line in drop_leftovers(settings))  # in use: kept
        assert temporary.exists() and copying.exists()
        shutil.copytree(held.folder, dead)  # what SIGKILL leaves: the record, its lock held by nobody
    temporary.write_bytes(b"half a database")
    copying.write_bytes(b"half a file")

    lines = drop_leftovers(settings)

    assert any("left by a restore that stopped" in line and str(temporary) in line for line in lines), lines
    assert not temporary.exists() and not copying.exists() and kept.exists() and not dead.exists()
