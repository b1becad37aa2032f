"""Reminders at scale: select, render and send the digests for 10,000 overdue invoices of 4 users.

Baselines measured in the same run: the bare SQL selection of the same invoices (for the
selection), and bare smtplib sends of the same digests, pre-rendered (for the whole run).
On PostgreSQL the plan of the selection is printed: it must use an index, not scan invoices.

Environment: BENCH_REMINDERS_INVOICES (10000), BENCH_REMINDERS_PAID (40000 paid invoices
around them), BENCH_REMINDERS_BACKENDS ("postgresql,sqlite"), BENCH_POSTGRES_URL.
"""

from __future__ import annotations

import os
import smtplib
import tempfile
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from aiosmtpd.controller import Controller

from db.migrate import upgrade
from db.models import Invoice, User
from db.session import engine_for, make_engine
from tasks.invoices.records import counterparty_key
from tasks.reminders.plan import candidate_filter, candidates_query
from tasks.reminders.send import make_plan, run_reminders
from tasks.settings import Settings

TODAY = date(2026, 3, 2)  # a Monday
USERS = 4


class _Sink:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _fill(url: str, overdue: int, paid: int) -> None:
    engine = make_engine(url)
    vendors = [f"Vendor {n:03d} GmbH" for n in range(100)]
    rows = []
    for n in range(overdue + paid):
        name = vendors[n % len(vendors)]
        rows.append({
            "direction": "payable" if n % 3 else "receivable", "counterparty": name,
            "counterparty_key": counterparty_key(name), "number": f"INV-{n:07d}",
            "due_date": TODAY - timedelta(days=n % 60 - 3) if n < overdue else TODAY - timedelta(days=n % 400),
            "status": "open" if n < overdue else "paid", "currency": "EUR",
            "total": Decimal(100 + n % 900) + Decimal("0.5"), "source": "manual", "is_credit_note": False,
            "needs_review": False, "review_reasons": [], "field_sources": {},
        })
    with engine.begin() as connection:
        for start in range(0, len(rows), 5000):
            connection.execute(sa.insert(Invoice), rows[start : start + 5000])
        for k in range(USERS):
            mine = [v for i, v in enumerate(vendors) if i % USERS == k]
            connection.execute(sa.insert(User), [{
                "email": f"user{k}@example.com", "name": f"User Ünal {k}", "role": "member", "locale": "de_DE",
                "active": True, "reminder_preferences": {"counterparties": mine}}])
        if engine.dialect.name == "postgresql":
            connection.execute(sa.text("ANALYZE"))
    engine.dispose()


def _explain(url: str, settings: Settings) -> list[str]:
    engine = engine_for(url)
    lines = []
    with engine.connect() as connection:
        for label, query in (
            ("candidates", candidates_query(settings, TODAY)),
            ("ledger", sa.select(sa.text("1")).select_from(sa.table("reminders")).where(
                sa.column("invoice_id").in_(sa.select(Invoice.id).where(candidate_filter(settings, TODAY))))),
        ):
            sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
            plan = [r[0] for r in connection.execute(sa.text("EXPLAIN " + sql))]
            uses_index = not any("Seq Scan on invoices" in p for p in plan)
            lines.append(f"EXPLAIN {label} selection (index used, no sequential scan of invoices: {uses_index}):")
            lines += ["    " + p for p in plan]
    return lines


def _bench(backend: str, overdue: int, paid: int) -> list[str]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-reminders-"))
    admin = None
    if backend == "postgresql":
        admin_url = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
        admin = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
        name = f"bench_reminders_{uuid.uuid4().hex[:8]}"
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{workdir / 'bench.db'}"
    sink = _Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        upgrade(url)
        _fill(url, overdue, paid)
        settings = Settings(_env_file=None, data_dir=workdir, database={"url": url},
                            smtp={"transport": "smtp", "host": "127.0.0.1", "port": controller.port,
                                  "security": "plain", "sender": "invoices@example.com"})
        engine = engine_for(url)
        with engine.connect() as connection:  # open the pool first: time queries, not connecting
            connection.execute(sa.text("SELECT 1"))
        started = time.perf_counter()
        with engine.connect() as connection:
            bare = connection.execute(candidates_query(settings, TODAY)).all()
        bare_select = time.perf_counter() - started

        started = time.perf_counter()
        plan = make_plan(settings, TODAY)
        plan_time = time.perf_counter() - started
        reminders = sum(e.count for e in plan.envelopes)

        started = time.perf_counter()
        report = run_reminders(settings, TODAY)
        run_time = time.perf_counter() - started
        sent = [o for o in report.outcomes if o.status == "sent"]
        assert len(sent) == USERS and sum(o.reminders for o in sent) == reminders, report.outcomes

        digests = list(sink.messages)
        started = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", controller.port) as client:
            for mail_from, rcpt_tos, data in digests:
                client.sendmail(mail_from, rcpt_tos, data)
        bare_send = time.perf_counter() - started
        size = sum(len(d) for *_, d in digests) / len(digests) / 1024

        lines = [
            f"[{backend}] {len(bare)} candidate invoices among {overdue + paid}; {reminders} reminders in "
            f"{len(digests)} digests of {size:.0f} KiB on average",
            f"[{backend}] selection (plan): {plan_time * 1000:.0f} ms vs bare SQL {bare_select * 1000:.0f} ms "
            f"-> {plan_time / bare_select:.1f}x",
            f"[{backend}] select + claim + render + send + record: {run_time:.2f} s vs bare smtplib send of the same "
            f"pre-rendered digests {bare_send * 1000:.0f} ms -> {run_time / bare_send:.0f}x "
            f"({run_time / max(reminders, 1) * 1e6:.0f} µs per reminder)",
        ]
        if backend == "postgresql":
            lines += _explain(url, settings)
        return lines
    finally:
        controller.stop()
        engine_for.cache_clear()
        if admin is not None:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def run(argv: list[str]) -> list[str]:
    overdue = int(os.environ.get("BENCH_REMINDERS_INVOICES", "10000"))
    paid = int(os.environ.get("BENCH_REMINDERS_PAID", "40000"))
    backends = [b.strip() for b in os.environ.get("BENCH_REMINDERS_BACKENDS", "postgresql,sqlite").split(",") if b.strip()]
    lines: list[str] = []
    for backend in backends:
        lines += _bench(backend, overdue, paid)
    return lines
