import json
import shutil

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from db.models import Backup
from db.session import engine_for, make_engine, session_scope
from deployments.cli import app
from tasks.backup import files as bf
from tasks.backup.make import make_backup
from tasks.backup.restore import restore_backup
from tasks.backup.verify import verify_backup
from tasks.errors import BackupError
from tests.support.backup_fixtures import seed, snapshot, wipe


def _backups(url: str) -> dict[str, Backup]:
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            return {b.id: b for b in session.scalars(select(Backup))}
    finally:
        engine.dispose()


def test_round_trip_restores_every_invoice_document_and_file_from_the_chain(settings):
    seed(settings, 1, 4)
    first = make_backup(settings)
    assert verify_backup(settings, first.backup_id).verified
    seed(settings, 5, 2)
    second = make_backup(settings)
    assert verify_backup(settings, second.backup_id).verified
    before = snapshot(settings)
    assert before["invoices"][0] == 6 and len(before["files"]) == 6

    # the second backup copied only the two new files and points to the first for the rest
    assert (first.new_file_count, second.new_file_count, second.file_count) == (4, 2, 6)
    manifest = bf.read_manifest(settings.backup.backup_dir, second.backup_id)
    assert {e["in"] for e in manifest["files"]} == {first.backup_id, second.backup_id}

    wipe(settings)
    outcome = restore_backup(settings, second.backup_id)
    engine_for.cache_clear()

    assert snapshot(settings) == before
    assert outcome.files_restored == 6 and outcome.extra_files_left == 0
    # the dump said its own backup was "running"; the restored table says what the folders say
    rows = _backups(settings.database.url)
    assert rows[second.backup_id].status == "verified" and rows[first.backup_id].status == "verified"
    assert rows[second.backup_id].parent_id == first.backup_id


def test_an_unchanged_store_copies_no_file_and_the_checksum_file_checks_with_sha256sum(settings):
    seed(settings, 1, 3)
    first = make_backup(settings)
    second = make_backup(settings)

    assert second.new_file_count == 0 and second.file_count == 3 and second.parent_id == first.backup_id
    folder = bf.backup_folder(settings.backup.backup_dir, second.backup_id)
    assert not (folder / bf.FILES).exists()
    import subprocess

    done = subprocess.run(["sha256sum", "--quiet", "-c", bf.CHECKSUMS], cwd=folder, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert verify_backup(settings, second.backup_id).verified


def test_restore_refuses_a_target_with_data_unless_forced(settings, tmp_path):
    seed(settings, 1, 2)
    made = make_backup(settings)
    seed(settings, 3, 1)  # the live database now differs from the backup

    with pytest.raises(BackupError, match="not empty.*invoices.*--force"):
        restore_backup(settings, made.backup_id)
    assert snapshot(settings)["invoices"][0] == 3  # untouched

    outcome = restore_backup(settings, made.backup_id, force=True)
    engine_for.cache_clear()
    after = snapshot(settings)
    assert after["invoices"][0] == 2
    assert outcome.extra_files_left == 1  # the newer document's file is kept, not deleted
    assert len(after["files"]) == 3


def test_restore_into_another_database_and_folder_leaves_the_live_one_alone(settings, tmp_path, postgres):
    seed(settings, 1, 2)
    made = make_backup(settings)
    before = snapshot(settings)
    if settings.database.url.startswith("sqlite"):
        target = f"sqlite:///{tmp_path / 'copy' / 'restored.db'}"
    else:
        target = postgres.url_for(f"{postgres.prefix}_restored")
        postgres.created.append(f"{postgres.prefix}_restored")  # dropped at the end of the session
    documents = tmp_path / "copy" / "documents"

    restore_backup(settings, made.backup_id, target_url=target, documents_dir=documents)

    assert snapshot(settings, target, documents) == before
    assert snapshot(settings) == before


def test_the_command_line_lists_and_restores_backups(settings, tmp_path):
    seed(settings, 1, 1)
    made = make_backup(settings)
    verify_backup(settings, made.backup_id)
    runner = CliRunner()

    listed = runner.invoke(app, ["backups", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    [row] = [json.loads(line) for line in listed.output.splitlines()]
    assert row["id"] == made.backup_id and row["status"] == "verified" and row["invoices"] == 1

    refused = runner.invoke(app, ["restore", made.backup_id])
    assert refused.exit_code == 1 and "--force" in refused.output
    bad_id = runner.invoke(app, ["restore", "../../etc"])
    assert bad_id.exit_code == 1 and "not a backup id" in bad_id.output

    documents = tmp_path / "elsewhere"
    target = (f"sqlite:///{tmp_path / 'elsewhere.db'}" if settings.database.url.startswith("sqlite")
              else settings.database.url)
    restored = runner.invoke(app, ["restore", made.backup_id, "--target-url", target, "--documents", str(documents),
                                   "--force"])
    assert restored.exit_code == 0, restored.output
    assert len(list(bf.store_files(documents))) == 1


def test_backups_are_listed_from_their_folders_when_the_database_is_lost(settings):
    seed(settings, 1, 1)
    made = make_backup(settings)
    verify_backup(settings, made.backup_id)
    wipe(settings)

    from tasks.backup.make import list_backups

    [row] = list_backups(settings)
    assert row["id"] == made.backup_id and row["status"] == "verified (folder only)"


def test_a_damaged_store_file_is_reported_and_the_good_copy_is_kept(settings):
    seed(settings, 1, 2)
    first = make_backup(settings)
    victim = next(p for _rel, p, _s in bf.store_files(settings.documents_dir))
    good = victim.read_bytes()
    victim.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))  # bit rot in the store

    second = make_backup(settings)

    assert second.new_file_count == 0
    assert len(second.damaged) == 1 and first.backup_id in second.damaged[0]
    outcome = verify_backup(settings, second.backup_id)
    assert outcome.verified and any("no longer match" in w for w in outcome.warnings)
    shutil.rmtree(settings.documents_dir)
    restore_backup(settings, second.backup_id, target_url=settings.database.url, force=True)
    assert victim.read_bytes() == good
