from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select

from db.models import Backup
from db.session import engine_for, session_scope
from tasks.backup import files as bf
from tasks.backup.make import make_backup
from tasks.backup.retention import Candidate, apply_retention, plan_retention
from tasks.backup.verify import verify_backup
from tests.support.backup_fixtures import seed, use_settings

UTC = ZoneInfo("UTC")
LIMITS = {"keep_daily": 3, "keep_weekly": 2, "keep_monthly": 2}


def _daily(first: datetime, days: int, status: str = "verified") -> list[Candidate]:
    return [Candidate(f"b{n:03d}", first + timedelta(days=n), status, None, frozenset()) for n in range(days)]


def _id_on(candidates: list[Candidate], day: str) -> str:
    return next(c.id for c in candidates if c.created_at.date().isoformat() == day)


def test_the_newest_of_each_day_week_and_month_are_kept():
    candidates = _daily(datetime(2025, 1, 1, 2, tzinfo=timezone.utc), 59)  # Jan 1 .. Feb 28, 2025

    kept = plan_retention(candidates, LIMITS, UTC)

    expected = {_id_on(candidates, d) for d in ("2025-02-28", "2025-02-27", "2025-02-26",  # days
                                                "2025-02-23",  # the week before (Mon 17 - Sun 23)
                                                "2025-01-31")}  # January
    assert set(kept) == expected
    assert kept[_id_on(candidates, "2025-02-28")] == "newest verified"


def test_days_are_counted_in_the_business_time_zone():
    late = [Candidate("late", datetime(2025, 3, 1, 23, 30, tzinfo=timezone.utc), "verified", None, frozenset()),
            Candidate("early", datetime(2025, 3, 1, 1, 0, tzinfo=timezone.utc), "verified", None, frozenset())]
    limits = {"keep_daily": 2, "keep_weekly": 0, "keep_monthly": 0}

    assert set(plan_retention(late, limits, UTC)) == {"late"}  # one UTC day
    assert set(plan_retention(late, limits, ZoneInfo("Europe/Berlin"))) == {"late", "early"}  # two Berlin days


def test_failed_backups_never_displace_the_newest_verified_one():
    start = datetime(2025, 1, 1, 2, tzinfo=timezone.utc)
    candidates = _daily(start, 3) + [Candidate(f"f{n}", start + timedelta(days=3 + n), "failed", None, frozenset())
                                     for n in range(5)]
    kept = plan_retention(candidates, {"keep_daily": 1, "keep_weekly": 0, "keep_monthly": 0}, UTC)
    assert kept["b002"] == "newest verified"
    assert {"f0", "f4"} <= set(kept)  # newer than the newest verified: left for a person to look at
    assert "b000" not in kept and "b001" not in kept


def test_a_backup_a_kept_one_depends_on_is_kept_and_nothing_is_pruned_before_one_is_verified():
    start = datetime(2025, 1, 1, 2, tzinfo=timezone.utc)
    candidates = [Candidate("full", start, "verified", None, frozenset()),
                  Candidate("mid", start + timedelta(days=1), "verified", "full", frozenset({"full"})),
                  Candidate("new", start + timedelta(days=2), "verified", "mid", frozenset({"mid", "full"})),
                  Candidate("odd", start + timedelta(days=3), "failed", "new", None)]  # unreadable manifest
    limits = {"keep_daily": 1, "keep_weekly": 0, "keep_monthly": 0}
    kept = plan_retention(candidates, limits, UTC)
    assert set(kept) == {"full", "mid", "new", "odd"}
    assert "needs" in kept["full"]

    unproven = [Candidate(c.id, c.created_at, "created", None, frozenset()) for c in candidates]
    assert set(plan_retention(unproven, limits, UTC)) == {c.id for c in candidates}


def test_pruning_deletes_what_is_not_needed_and_the_chain_still_restores(settings, monkeypatch):
    seed(settings, 1, 2)
    ids = []
    for _ in range(3):
        made = make_backup(settings)
        assert verify_backup(settings, made.backup_id).verified
        ids.append(made.backup_id)
    settings = use_settings(monkeypatch, backup__keep_daily="1", backup__keep_weekly="0", backup__keep_monthly="0")

    outcome = apply_retention(settings)

    assert outcome.pruned == [ids[1]]  # ids[0] holds the files ids[2] points to
    assert "needs" in outcome.kept[ids[0]] and outcome.kept[ids[2]] == "newest verified"
    assert not bf.backup_folder(settings.backup.backup_dir, ids[1]).exists()
    with session_scope(engine_for(settings.database.url)) as session:
        statuses = {b.id: b.status for b in session.scalars(select(Backup))}
    assert statuses == {ids[0]: "verified", ids[1]: "pruned", ids[2]: "verified"}
    assert verify_backup(settings, ids[2]).verified
    assert apply_retention(settings).pruned == []  # idempotent
