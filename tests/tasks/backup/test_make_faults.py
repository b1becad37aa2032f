"""Faults: a full backup disk, pg_dump missing, too old or failing, a backup damaged after it
was written. Each fails loudly, never leaves a backup marked verified that is not, and never
prunes the last good one."""

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import select

from db.models import Backup
from db.session import engine_for, session_scope
from tasks.backup import files as bf
from tasks.backup.database import DUMP_NAMES
from tasks.backup.make import make_backup
from tasks.backup.restore import restore_backup
from tasks.backup.retention import apply_retention
from tasks.backup.verify import verify_backup
from tasks.errors import BackupError
from tests.support.backup_fixtures import (
    fake_tool,
    fill_disk,
    flip_byte,
    real_tool,
    seed,
    use_settings,
)


def _statuses(settings) -> dict[str, str]:
    with session_scope(engine_for(settings.database.url)) as session:
        return {b.id: b.status for b in session.scalars(select(Backup))}


def _row(settings, backup_id) -> Backup:
    with session_scope(engine_for(settings.database.url)) as session:
        return session.get(Backup, backup_id)


def _assert_last_good_survives_pruning(settings, monkeypatch, good_id: str) -> None:
    settings = use_settings(monkeypatch, backup__keep_daily="1", backup__keep_weekly="0", backup__keep_monthly="0")
    outcome = apply_retention(settings)
    assert good_id in outcome.kept and good_id not in outcome.pruned
    assert _statuses(settings)[good_id] == "verified"
    assert bf.check_checksums(bf.backup_folder(settings.backup.backup_dir, good_id)) == []  # intact on disk


def test_a_full_backup_disk_fails_the_backup_and_keeps_the_last_good_one(settings, small_disk, monkeypatch):
    settings = use_settings(monkeypatch, backup__backup_dir=str(small_disk))
    seed(settings, 1, 2)
    good = make_backup(settings)
    assert verify_backup(settings, good.backup_id).verified
    seed(settings, 3, 1)
    filler = fill_disk(small_disk, leave_bytes=8 * 1024)  # too little for the database dump

    with pytest.raises(BackupError, match="is full") as caught:
        make_backup(settings)

    assert "No space left" in str(caught.value) or "disk is full" in str(caught.value)
    failed = [i for i, s in _statuses(settings).items() if s == "failed"]
    assert len(failed) == 1 and "full" in (_row(settings, failed[0]).error or "")
    assert not (small_disk / failed[0]).exists()  # the partial folder is removed, freeing the space
    _assert_last_good_survives_pruning(settings, monkeypatch, good.backup_id)

    filler.unlink()  # space again: the next backup works and copies only the new file
    recovered = make_backup(settings)
    assert recovered.new_file_count == 1
    assert verify_backup(settings, recovered.backup_id).verified


def test_new_files_larger_than_the_free_space_are_refused_before_writing(settings, small_disk, monkeypatch):
    settings = use_settings(monkeypatch, backup__backup_dir=str(small_disk))
    seed(settings, 1, 1)
    good = make_backup(settings)
    verify_backup(settings, good.backup_id)
    big = settings.documents_dir / "ab" / "cd" / "large-scan.tif"
    big.parent.mkdir(parents=True)
    big.write_bytes(os.urandom(3 * 1024 * 1024))

    with pytest.raises(BackupError, match="not enough space.*new files need 3.1 MB"):
        make_backup(settings)

    assert sorted(_statuses(settings).values()) == ["failed", "verified"]
    _assert_last_good_survives_pruning(settings, monkeypatch, good.backup_id)


def test_pg_dump_missing_is_reported_clearly(pg_settings, monkeypatch):
    seed(pg_settings, 1, 1)
    good = make_backup(pg_settings)
    verify_backup(pg_settings, good.backup_id)
    settings = use_settings(monkeypatch, backup__pg_dump="/nonexistent/bin/pg_dump")

    with pytest.raises(BackupError, match="/nonexistent/bin/pg_dump does not exist.*INVOICES_BACKUP__PG_DUMP"):
        make_backup(settings)

    assert sorted(_statuses(settings).values()) == ["failed", "verified"]
    _assert_last_good_survives_pruning(settings, monkeypatch, good.backup_id)


def test_a_pg_dump_older_than_the_server_is_refused(pg_settings, monkeypatch, tmp_path):
    old = fake_tool(tmp_path, "pg_dump", 'echo "pg_dump (PostgreSQL) 9.6.24"; exit 0')
    settings = use_settings(monkeypatch, backup__pg_dump=str(old))

    with pytest.raises(BackupError, match=r"pg_dump is version 9\.6\.24.*postgresql-client-1\d"):
        make_backup(settings)
    assert list(_statuses(settings).values()) == ["failed"]


def test_a_failing_pg_dump_fails_the_backup_with_its_message(pg_settings, monkeypatch, tmp_path):
    seed(pg_settings, 1, 1)
    good = make_backup(pg_settings)
    verify_backup(pg_settings, good.backup_id)
    real = real_tool("pg_dump")
    broken = fake_tool(tmp_path, "pg_dump", f'case "$1" in --version) exec {real} --version;; esac\n'
                                            f'echo partial > "${{2#--file=}}"\nexec {real} "$@" --no-such-option')
    settings = use_settings(monkeypatch, backup__pg_dump=str(broken))

    with pytest.raises(BackupError, match=r"pg_dump failed \(exit 1\).*no-such-option"):
        make_backup(settings)

    assert sorted(_statuses(settings).values()) == ["failed", "verified"]
    _assert_last_good_survives_pruning(settings, monkeypatch, good.backup_id)


def test_the_password_reaches_pg_dump_through_the_environment_only(pg_settings, monkeypatch, tmp_path):
    real = real_tool("pg_dump")
    record = tmp_path / "pg_dump.calls"
    spy = fake_tool(tmp_path, "pg_dump", f'echo "ARGS $*" >> {record}\necho "ENV $PGPASSWORD" >> {record}\n'
                                         f'exec {real} "$@"')
    url = pg_settings.database.url.replace("postgres@", "postgres:s3cret-pw@")
    settings = use_settings(monkeypatch, database__url=url, backup__pg_dump=str(spy))
    seed(settings, 1, 1)

    made = make_backup(settings)

    calls = record.read_text()
    args = [line for line in calls.splitlines() if line.startswith("ARGS") and "--format=custom" in line]
    assert args and all("s3cret-pw" not in line for line in args)
    assert "ENV s3cret-pw" in calls
    assert "s3cret-pw" not in bf.backup_folder(settings.backup.backup_dir, made.backup_id).joinpath(bf.MANIFEST).read_text()


def test_a_dump_damaged_after_it_was_written_fails_verification_and_the_older_one_is_kept(settings, monkeypatch):
    seed(settings, 1, 2)
    good = make_backup(settings)
    assert verify_backup(settings, good.backup_id).verified
    newer = make_backup(settings)
    assert verify_backup(settings, newer.backup_id).verified
    dump = bf.backup_folder(settings.backup.backup_dir, newer.backup_id) / DUMP_NAMES[_kind(settings)]
    flip_byte(dump)

    outcome = verify_backup(settings, newer.backup_id)

    assert not outcome.verified
    assert any(DUMP_NAMES[_kind(settings)] in p and "damaged" in p for p in outcome.problems)
    row = _row(settings, newer.backup_id)
    assert row.status == "failed" and "FAILED" in row.error
    with pytest.raises(BackupError, match="is damaged, nothing was restored"):
        restore_backup(settings, newer.backup_id, force=True)
    _assert_last_good_survives_pruning(settings, monkeypatch, good.backup_id)
    assert _statuses(settings)[newer.backup_id] == "failed"  # newer than the last good one: kept to look at


def test_a_damaged_file_copy_fails_every_backup_that_needs_it_until_a_new_copy_is_made(settings):
    seed(settings, 1, 2)
    first = make_backup(settings)
    verify_backup(settings, first.backup_id)
    second = make_backup(settings)
    verify_backup(settings, second.backup_id)
    files = bf.backup_folder(settings.backup.backup_dir, first.backup_id) / bf.FILES
    copy = next(p for p in sorted(files.rglob("*")) if p.is_file())
    flip_byte(copy)  # same size: only a checksum notices

    outcome = verify_backup(settings, second.backup_id)

    assert not outcome.verified and any("damaged" in p and first.backup_id in p for p in outcome.problems)
    assert _statuses(settings) == {first.backup_id: "failed", second.backup_id: "failed"}
    assert not any(s == "verified" for s in _statuses(settings).values())
    third = make_backup(settings)  # copies the file again from the store instead of pointing at the bad copy
    assert third.new_file_count >= 1
    assert verify_backup(settings, third.backup_id).verified
    assert stat.S_ISREG(copy.stat().st_mode)


def _kind(settings) -> str:
    return "sqlite" if settings.database.url.startswith("sqlite") else "postgresql"


def test_store_path_names_never_leave_the_backup_folder(settings):
    with pytest.raises(BackupError, match="not a backup id"):
        bf.backup_folder(Path(settings.backup.backup_dir), "../outside")
