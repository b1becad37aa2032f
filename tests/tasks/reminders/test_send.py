"""Reminder policy, selection and digests, through the default outbox transport."""

from datetime import timedelta

import pytest

from tasks.reminders.policy import due_level, level_offset
from tasks.reminders.send import run_reminders
from tasks.settings import ReminderSettings, get_settings
from tests.support.reminder_fixtures import (
    MONDAY,
    add_invoice,
    add_user,
    ledger,
    outbox,
    parts,
    to_address,
)


def test_levels_follow_the_policy_and_repeat_while_unpaid():
    policy = ReminderSettings()
    assert [due_level(policy, d) for d in (-4, -3, 0, 1, 6, 7, 13, 14, 27, 28, 42)] == [None, 0, 0, 1, 1, 2, 2, 3, 3, 4, 5]
    assert [level_offset(policy, n) for n in range(6)] == [-3, 1, 7, 14, 28, 42]
    no_repeat = ReminderSettings(levels_days=[5, 1], repeat_every_days=0)
    assert [due_level(no_repeat, d) for d in (0, 1, 5, 400)] == [None, 0, 1, 1]


def test_one_digest_per_user_by_preferences_and_only_once(settings):
    today = MONDAY
    add_user("ann@example.com", "Ann", locale="de_DE")  # everything
    add_user("rob@example.com", "Rob", preferences={"directions": ["receivable"]})
    add_user("cy@example.com", "Cy", preferences={"counterparties": ["ACME GmbH"]})
    acme = add_invoice("Acme", "A-1", today - timedelta(days=1), total="1234.56", with_document=True)
    glob = add_invoice("Globex", "G-7", today + timedelta(days=3), direction="receivable", total="50.00")
    part = add_invoice("Initech", "I-2", today - timedelta(days=7), total="300.00", paid="120.00", status="partially_paid")
    for status in ("paid", "cancelled", "disputed"):
        add_invoice(f"Skip {status}", status, today - timedelta(days=7), status=status)
    add_invoice("Too early", "E-1", today + timedelta(days=4))
    add_invoice("Credit", "C-1", today - timedelta(days=7), is_credit_note=True)

    report = run_reminders(settings, today)

    assert [o.status for o in report.outcomes] == ["sent"] * 3
    mails = {to_address(m): m for m in outbox(settings.smtp.outbox_dir)}
    assert set(mails) == {"ann@example.com", "rob@example.com", "cy@example.com"}
    text, html = parts(mails["ann@example.com"])
    assert "Acme" in text and "Globex" in text and "Initech" in text and "Skip" not in text and "Too early" not in text
    assert "1.234,56\xa0€" in text  # German formatting for a de_DE user
    assert "180,00\xa0€" in text and "300,00\xa0€" in text  # partially paid: the balance, of the total
    assert f"file://{settings.documents_dir.resolve()}/ab/A-1.pdf" in html
    assert "davon 2 überfällig" in text and "Zu zahlen" in text and "seit 1 Tag überfällig" in text  # in German
    assert "Erinnerungen an Rechnungen" in html and "Offener Betrag" in html
    assert mails["ann@example.com"]["Subject"].startswith("Rechnungen 02.03.2026:")
    rob_text, _ = parts(mails["rob@example.com"])
    assert "Globex" in rob_text and "Acme" not in rob_text and "in 3 days" in rob_text
    cy_text, _ = parts(mails["cy@example.com"])
    assert "Acme" in cy_text and "Globex" not in cy_text and "€1,234.56" in cy_text
    assert mails["cy@example.com"]["Subject"].startswith("Invoices Mar 2, 2026: 1 to pay (1 overdue)")
    rows = ledger()
    assert {(i, level) for i, level, r, _ in rows if r == "ann@example.com"} == {(acme, 1), (glob, 0), (part, 2)}
    assert {status for *_, status in rows} == {"sent"}

    again = run_reminders(settings, today)
    assert again.outcomes == [] and len(outbox(settings.smtp.outbox_dir)) == 3 and ledger() == rows


def test_missed_days_are_caught_up_once_at_the_highest_level(settings):
    start = MONDAY
    add_user("ann@example.com")
    a = add_invoice("A", "1", start + timedelta(days=3))  # level 0 (3 days before) on Monday, level 1 on Friday
    b = add_invoice("B", "2", start + timedelta(days=1))
    c = add_invoice("C", "3", start - timedelta(days=6))  # level 1 on Monday, level 2 (7 days after) on Tuesday
    d = add_invoice("D", "4", start + timedelta(days=5))  # no level on Monday; level 0 on Wednesday

    run_reminders(settings, start)  # Monday runs; Tuesday, Wednesday and Thursday are missed
    assert {(i, level) for i, level, *_ in ledger()} == {(a, 0), (b, 0), (c, 1)}
    friday = run_reminders(settings, start + timedelta(days=4))
    again = run_reminders(settings, start + timedelta(days=4))  # a second run the same day doubles nothing

    assert [o.reminders for o in friday.outcomes] == [4] and again.outcomes == []
    assert {(i, level) for i, level, *_ in ledger()} == {(a, 0), (a, 1), (b, 0), (b, 1), (c, 1), (c, 2), (d, 0)}

    # ten days without a run: D passed levels 1 (day 1) and 2 (day 7); one reminder, at level 2
    run_reminders(settings, start + timedelta(days=14))
    assert {level for i, level, *_ in ledger() if i == d} == {0, 2}
    assert {level for i, level, *_ in ledger() if i == c} == {1, 2, 3}
    assert len(outbox(settings.smtp.outbox_dir)) == 3


def test_quiet_days_send_nothing_and_the_next_day_catches_up(settings):
    saturday = MONDAY - timedelta(days=2)
    add_user("ann@example.com")
    add_invoice("A", "1", saturday - timedelta(days=1))

    quiet = run_reminders(settings, saturday)
    assert quiet.quiet and quiet.outcomes == [] and ledger() == []
    monday = run_reminders(settings, MONDAY)
    assert [o.status for o in monday.outcomes] == ["sent"] and len(ledger()) == 1


def test_dry_run_shows_who_gets_what_and_records_nothing(settings):
    add_user("ann@example.com", "Ann")
    add_invoice("Acme", "A-1", MONDAY - timedelta(days=1))

    report = run_reminders(settings, MONDAY, dry_run=True)

    assert report.planned == [{"to": "ann@example.com", "kind": "digest", "reminders": 1, "name": "Ann"}]
    assert report.example and "Acme" in report.example["text"] and "1 to pay" in report.example["subject"]
    assert ledger() == [] and not settings.smtp.outbox_dir.exists()


def test_bad_names_and_addresses_are_escaped_or_reported(settings):
    add_user(None, "No Address")
    add_user("not-an-address", "Broken")
    add_user("jörg@example.com", "Jörg \"Ünal\"\r\nBcc: eve@evil.example")
    add_invoice("<script>alert('x')</script> & Söhne", "<b>7</b>", MONDAY - timedelta(days=1))

    report = run_reminders(settings, MONDAY)

    assert [o.status for o in report.outcomes] == ["sent"]
    problems = " ".join(p["problem"] for p in report.problems)
    assert "'No Address'" in problems and "has no email address" in problems
    assert "invalid email address 'not-an-address'" in problems
    [mail] = outbox(settings.smtp.outbox_dir)
    assert mail["Bcc"] is None and [a.addr_spec for a in mail["To"].addresses] == ["jörg@example.com"]
    assert mail["To"].addresses[0].display_name.startswith("Jörg \"Ünal\"")
    text, html = parts(mail)
    assert "<script>" not in html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Söhne" in html
    assert "&lt;b&gt;7&lt;/b&gt;" in html
    assert "<script>alert('x')</script> & Söhne" in text  # plain text stays as written


def test_templates_can_be_overridden_and_a_broken_one_sends_nothing(settings, tmp_path, monkeypatch):
    folder = tmp_path / "my-templates"
    folder.mkdir()
    (folder / "reminder_digest.subject.txt").write_text("Zahlungen: {{ count }} Rechnung(en)")
    monkeypatch.setenv("INVOICES_REMINDERS__TEMPLATES_DIR", str(folder))
    get_settings.cache_clear()
    add_user("ann@example.com")
    add_invoice("Acme", "A-1", MONDAY - timedelta(days=1))
    add_invoice("Acme", "A-2", MONDAY - timedelta(days=1))

    (folder / "reminder_digest.txt").write_text("{{ no_such_variable }}")
    broken = run_reminders(get_settings(), MONDAY)
    assert [o.status for o in broken.outcomes] == ["not_rendered"]
    assert "no_such_variable" in broken.outcomes[0].detail and ledger() == []

    (folder / "reminder_digest.txt").unlink()
    fixed = run_reminders(get_settings(), MONDAY)
    [mail] = outbox(settings.smtp.outbox_dir)
    assert [o.status for o in fixed.outcomes] == ["sent"] and mail["Subject"] == "Zahlungen: 2 Rechnung(en)"


@pytest.mark.parametrize("contact", ["billing@customer.example", None])
def test_customers_are_emailed_only_when_enabled_and_overdue(settings, monkeypatch, contact):
    monkeypatch.setenv("INVOICES_REMINDERS__EMAIL_CUSTOMERS", "true")
    monkeypatch.setenv("INVOICES_REMINDERS__BUSINESS_NAME", "Müller & Co")
    get_settings.cache_clear()
    add_invoice("Globex", "R-1", MONDAY - timedelta(days=1), direction="receivable", total="80.00", paid="30.00",
                contact=contact)
    add_invoice("Globex", "R-2", MONDAY + timedelta(days=3), direction="receivable", contact=contact)  # not overdue

    report = run_reminders(get_settings(), MONDAY)

    mails = outbox(settings.smtp.outbox_dir)
    if contact is None:
        assert mails == [] and "has no email address" in report.problems[0]["problem"]
        return
    [mail] = mails
    assert to_address(mail) == contact and mail["Subject"] == "Payment reminder: invoice R-1 from Müller & Co"
    text, _ = parts(mail)
    assert "€50.00 remain open" in text
