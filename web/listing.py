"""The invoice list: filters, search, sorting, paging and the totals per currency of the view.

A view is its query string (``ListQuery.from_params`` reads one, ``ListQuery.params`` writes it
back), so a saved filter, a link, the export and the page all mean the same invoices.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Select, and_, func, nulls_last, select
from sqlalchemy.orm import Session

from db.models import Direction, Invoice, InvoiceAssignment, InvoiceStatus, User
from web.search import search_condition

SORTS = {
    "due": Invoice.due_date, "issued": Invoice.issue_date, "total": Invoice.total, "number": Invoice.number,
    "counterparty": Invoice.counterparty_key, "status": Invoice.status, "updated": Invoice.updated_at,
}
STATUSES = tuple(s.value for s in InvoiceStatus)
DIRECTIONS = tuple(d.value for d in Direction)
LISTED = (Invoice.id, Invoice.direction, Invoice.counterparty, Invoice.number, Invoice.issue_date, Invoice.due_date,
          Invoice.currency, Invoice.total, Invoice.paid_amount, Invoice.status, Invoice.needs_review)


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip()) if value.strip() else None
    except ValueError:
        return None


def _amount(value: str) -> Decimal | None:
    try:
        amount = Decimal(value.strip().replace(",", ".")) if value.strip() else None
    except InvalidOperation:
        return None
    return amount if amount is not None and amount.is_finite() and abs(amount) < Decimal("1e12") else None


@dataclass(frozen=True)
class ListQuery:
    status: tuple[str, ...] = ()
    direction: str = ""
    counterparty: str = ""
    due_from: date | None = None
    due_to: date | None = None
    issued_from: date | None = None
    issued_to: date | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    review: str = ""  # "yes", "no" or "" (any)
    assignee: str = ""  # a user id, "me", "none" or "" (anyone)
    q: str = ""
    sort: str = "-due"
    page: int = 1
    unknown: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> ListQuery:
        """Read a query string leniently: a value that means nothing is left out (and named in ``unknown``)."""
        def one(name: str) -> str:
            value = params.getlist(name)[-1] if hasattr(params, "getlist") and params.getlist(name) else params.get(name)
            return str(value or "")[:200]

        statuses = params.getlist("status") if hasattr(params, "getlist") else params.get("status") or []
        statuses = [statuses] if isinstance(statuses, str) else list(statuses)
        unknown = [s for s in statuses if s and s not in STATUSES]
        sort = one("sort") or "-due"
        if sort.lstrip("-") not in SORTS:
            unknown.append(sort)
            sort = "-due"
        try:
            page = max(1, min(int(one("page") or 1), 100_000))
        except ValueError:
            page = 1
        assignee = one("assignee")
        if assignee not in ("", "me", "none") and not assignee.isdigit():
            unknown.append(assignee)
            assignee = ""
        return cls(
            status=tuple(s for s in statuses if s in STATUSES),
            direction=one("direction") if one("direction") in DIRECTIONS else "",
            counterparty=one("counterparty").strip(),
            due_from=_day(one("due_from")), due_to=_day(one("due_to")),
            issued_from=_day(one("issued_from")), issued_to=_day(one("issued_to")),
            amount_min=_amount(one("amount_min")), amount_max=_amount(one("amount_max")),
            review=one("review") if one("review") in ("yes", "no") else "",
            assignee=assignee, q=one("q").strip(), sort=sort, page=page, unknown=tuple(unknown),
        )

    def params(self, **changes: Any) -> list[tuple[str, str]]:
        """The query string of this view (with ``changes``), without defaults."""
        view = replace(self, **changes)
        pairs: list[tuple[str, str]] = [("status", s) for s in view.status]
        for name in (f.name for f in fields(view)):
            if name in ("status", "unknown"):
                continue
            value = getattr(view, name)
            if value in (None, "", ()) or (name == "sort" and value == "-due") or (name == "page" and value == 1):
                continue
            pairs.append((name, value.isoformat() if isinstance(value, date) else str(value)))
        return pairs


def conditions(query: ListQuery, dialect: str, person_id: int | None) -> list[Any]:
    found: list[Any] = []
    if query.status:
        found.append(Invoice.status.in_(query.status))
    if query.direction:
        found.append(Invoice.direction == query.direction)
    if query.counterparty:
        found.append(Invoice.counterparty.icontains(query.counterparty, autoescape=True))
    for column, low, high in ((Invoice.due_date, query.due_from, query.due_to),
                              (Invoice.issue_date, query.issued_from, query.issued_to),
                              (Invoice.total, query.amount_min, query.amount_max)):
        if low is not None:
            found.append(column >= low)
        if high is not None:
            found.append(column <= high)
    if query.review:
        found.append(Invoice.needs_review.is_(query.review == "yes"))
    if query.assignee == "none":
        found.append(~Invoice.id.in_(select(InvoiceAssignment.invoice_id)))
    elif query.assignee:
        user_id = person_id if query.assignee == "me" else int(query.assignee)
        found.append(Invoice.id.in_(select(InvoiceAssignment.invoice_id).where(InvoiceAssignment.user_id == user_id)))
    if query.q:
        searched = search_condition(dialect, query.q)
        if searched is not None:
            found.append(searched)
    return found


def _ordered(statement: Select[Any], query: ListQuery) -> Select[Any]:
    column = SORTS[query.sort.lstrip("-")]
    order = column.desc() if query.sort.startswith("-") else column.asc()
    return statement.order_by(nulls_last(order), Invoice.id.desc())


@dataclass
class Page:
    rows: list[dict[str, Any]]
    count: int
    totals: list[dict[str, Any]]  # per currency: count, total, balance
    page: int
    pages: int


def filtered(query: ListQuery, dialect: str, person_id: int | None) -> Any:
    where = conditions(query, dialect, person_id)
    return and_(True, *where)


def list_page(session: Session, query: ListQuery, page_size: int, person_id: int | None = None) -> Page:
    """One page of the view, how many invoices it holds in all, and their totals per currency."""
    where = filtered(query, session.get_bind().dialect.name, person_id)
    totals = [
        {"currency": currency, "count": count, "total": total or Decimal(0), "balance": balance or Decimal(0)}
        for currency, count, total, balance in session.execute(
            select(Invoice.currency, func.count(Invoice.id), func.sum(Invoice.total),
                   func.sum(Invoice.total - func.coalesce(Invoice.paid_amount, 0)))
            .where(where).group_by(Invoice.currency).order_by(Invoice.currency))
    ]
    count = sum(t["count"] for t in totals)
    pages = max(1, -(-count // page_size))
    page = min(query.page, pages)
    statement = (select(*LISTED, User.name.label("assignee"))
                 .outerjoin(InvoiceAssignment, InvoiceAssignment.invoice_id == Invoice.id)
                 .outerjoin(User, User.id == InvoiceAssignment.user_id).where(where))
    rows = [dict(row._mapping) for row in session.execute(
        _ordered(statement, query).limit(page_size).offset((page - 1) * page_size))]
    for row in rows:
        row["balance"] = None if row["total"] is None else row["total"] - (row["paid_amount"] or Decimal(0))
    return Page(rows, count, totals, page, pages)


def filtered_ids(session: Session, query: ListQuery, person_id: int | None = None) -> list[int]:
    """Every invoice id of the view, in its order (for the export)."""
    where = filtered(query, session.get_bind().dialect.name, person_id)
    return list(session.scalars(_ordered(select(Invoice.id).where(where), query)))
