"""poll-mailbox: take every new email of every IMAP account into the document store."""

from __future__ import annotations

from prefect import flow, get_run_logger, task

from flows._handoff import hand_over
from tasks.errors import MailboxError
from tasks.mail.imap_poll import AccountReport, poll_account
from tasks.operations.run_alerts import ALERT_HOOKS
from tasks.operations.run_reports import (
    markdown_table,
    plain,
    publish_markdown,
    summary_markdown,
)
from tasks.settings import get_settings

ATTENTION_COLUMNS = ["account", "uid", "subject", "status", "reason"]


@task(name="poll-account", task_run_name="poll-account-{account_name}")
def poll_account_task(account_name: str) -> AccountReport:
    """Poll one configured account (by name); a failure is reported, never hides the other accounts."""
    settings = get_settings()
    account = next(a for a in settings.imap.accounts if a.name == account_name)
    report = poll_account(account, settings)
    get_run_logger().info("%s: %s", account_name, report.counts())
    return report


@flow(name="poll-mailbox", log_prints=False, **ALERT_HOOKS)
def poll_mailbox(accounts: list[str] | None = None) -> dict[str, dict[str, int]]:
    """Fetch new messages of each IMAP account, store them and their attachments, hand documents on.

    Args:
        accounts: names of the accounts to poll; empty for every configured account.
    """
    settings = get_settings()
    logger = get_run_logger()
    configured = [a.name for a in settings.imap.accounts]
    unknown = sorted(set(accounts or []) - set(configured))
    if unknown:
        raise MailboxError(f"unknown IMAP account(s) {unknown}; configured: {configured}")
    names = [n for n in configured if not accounts or n in accounts]
    if not names:
        logger.info("no IMAP accounts configured (INVOICES_IMAP__ACCOUNTS); nothing to poll")

    reports: list[AccountReport] = []
    for name in names:
        state = poll_account_task(name, return_state=True)
        if state.is_completed():
            reports.append(state.result())
            continue
        try:
            state.result()
        except Exception as err:  # noqa: BLE001 - reported below; the other accounts go on
            message = str(err) or type(err).__name__
        else:
            message = state.message or "failed"
        logger.error("%s", message)
        reports.append(AccountReport(account=name, error=message))

    handed: dict[str, int] = {}
    handoff_error = None
    new_documents = [d for r in reports for d in r.new_document_ids]
    try:
        handed = hand_over(new_documents)
    except Exception as err:  # noqa: BLE001 - the documents are stored; the next intake run reads them
        handoff_error = f"handing documents on failed: {type(err).__name__}: {err}"
        logger.error(handoff_error)

    _publish(reports, handed, handoff_error)
    failed = [r for r in reports if r.error]
    if failed:
        raise MailboxError(f"{len(failed)} of {len(reports)} IMAP account(s) could not be polled: "
                           + "; ".join(r.error or "" for r in failed))
    return {r.account: r.counts() for r in reports}


def _publish(reports: list[AccountReport], handed: dict[str, int], handoff_error: str | None) -> None:
    attention = [row for r in reports for row in r.attention]
    attention += [{"account": r.account, "uid": "", "subject": "", "status": "account failed", "reason": r.error}
                  for r in reports if r.error]
    totals = {key: sum(int(r.counts()[key]) for r in reports)
              for key in ("new", "processed", "no_documents", "skipped", "resynced", "failed", "gave_up", "documents")}
    notes = []
    if reports:
        notes.append("## Accounts\n\n" + markdown_table([r.counts() | {"error": r.error or ""} for r in reports],
                                                       [*reports[0].counts(), "error"]))
    for r in reports:
        if r.uidvalidity_changed_from is not None:
            notes.append(f"{plain(r.account)}: the folder was recreated (UIDVALIDITY {r.uidvalidity_changed_from} -> "
                         f"{r.uidvalidity}); messages already taken were recognised by their content.")
    if handed:
        notes.append("Handed on: " + ", ".join(f"{n} {kind}" for kind, n in sorted(handed.items())))
    if handoff_error:
        notes.append(plain(handoff_error))
    publish_markdown(
        "poll-mailbox",
        summary_markdown("Mailbox intake", totals, attention, ATTENTION_COLUMNS, note="\n\n".join(notes) or None),
        f"{totals['processed']} messages taken, {totals['documents']} new documents, "
        f"{len(attention)} need attention",
    )
