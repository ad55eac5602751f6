"""Ledger reads for officials and auditors: exports, trial balances and account statements.

Every function takes the process's runtime and the caller's principal; only officials and
auditors read the ledger (it names payees). An export reads the lines up to one pinned position
of the read model, so the passes a format makes over them see the same lines.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from domain.errors import NotFound, RuleViolation
from domain.ledger import ACCOUNTS
from projections import ledger as ledger_model
from projections.ledger import LedgerScope, ledger_lines

__all__ = ["LedgerScope", "account_statement", "export_ledger", "scope_for", "trial_balance"]
from projections.places import get_municipality, get_neighbourhood
from projections.rounds import get_round
from projections.tracking import tracking
from service.ledger_export import FORMATS, ExportHeader
from service.principal import Principal
from service.queries.visibility import LEDGER_READERS
from service.runtime import Runtime

OPENED_PER_QUERY = 1000  # lines whose payees are opened with one query of the key store


@dataclass(frozen=True)
class LedgerExport:
    """A ledger export ready to send: its bytes as a stream, media type and file name."""

    chunks: Iterator[bytes]
    media_type: str
    filename: str


def scope_for(
    *,
    municipality_id: str | None = None,
    neighbourhood_id: str | None = None,
    round_id: str | None = None,
    proposal_id: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> LedgerScope:
    """A ledger scope, refusing a period that ends before it starts."""
    if date_from and date_to and date_to < date_from:
        raise RuleViolation(f"'to' ({date_to}) is before 'from' ({date_from})", field="to")
    return LedgerScope(
        municipality_id=municipality_id, neighbourhood_id=neighbourhood_id, round_id=round_id,
        proposal_id=proposal_id, date_from=date_from, date_to=date_to,
    )


def _organisation(conn: sa.Connection, scope: LedgerScope) -> str:
    """Whose books these are, by name; raises NotFound for a place or round that is not there."""
    municipality_id = scope.municipality_id
    if scope.round_id is not None:
        found = get_round(conn, scope.round_id)
        if found is None:
            raise NotFound(f"round {scope.round_id} not found")
        municipality_id = municipality_id or found["municipality_id"]
    if scope.neighbourhood_id is not None and get_neighbourhood(conn, scope.neighbourhood_id) is None:
        raise NotFound(f"neighbourhood {scope.neighbourhood_id} not found")
    if municipality_id is None:
        return "Buurtbudget"
    municipality = get_municipality(conn, municipality_id)
    if municipality is None:
        raise NotFound(f"municipality {municipality_id} not found")
    return str(municipality["name"])


def export_ledger(rt: Runtime, principal: Principal, fmt: str, scope: LedgerScope) -> LedgerExport:
    """The scope's ledger lines in one of `FORMATS`, streamed."""
    principal.require(*LEDGER_READERS)
    if fmt not in FORMATS:
        raise RuleViolation(f"format must be one of {', '.join(FORMATS)}", field="format")
    with rt.reading() as conn:
        organisation = _organisation(conn, scope)
        pinned = conn.execute(
            sa.select(tracking.c.position).where(tracking.c.name == "ledger")
        ).scalar_one()
    header = ExportHeader(
        organisation=organisation, created=datetime.now(UTC).date(),
        date_from=scope.date_from, date_to=scope.date_to,
        filters={k: str(v) for k, v in scope.__dict__.items() if v is not None},
    )

    def lines() -> Iterator[dict[str, Any]]:
        with rt.engine.connect() as conn:
            chunk: list[dict[str, Any]] = []
            for line in ledger_model.iter_lines(
                conn, scope, extra=(ledger_lines.c.position <= pinned,)
            ):
                chunk.append(line)
                if len(chunk) == OPENED_PER_QUERY:
                    yield from _payees_opened(rt, chunk)
                    chunk = []
            yield from _payees_opened(rt, chunk)

    chosen = FORMATS[fmt]
    period = "-".join(str(d) for d in (scope.date_from, scope.date_to) if d) or "all"
    return LedgerExport(
        chunks=chosen.write(lines, header),
        media_type=chosen.media_type,
        filename=f"ledger-{period}.{chosen.extension}",
    )


def _payees_opened(
    rt: Runtime, lines: list[dict[str, Any]], conn: sa.Connection | None = None
) -> list[dict[str, Any]]:
    """The lines with the payee of each payout line opened (the read model keeps it sealed)."""
    payout_lines = [line for line in lines if line["payout_id"]]
    if conn is not None:
        rt.personal_data.open_rows(conn, payout_lines, ("counterparty",))
    else:  # beside a connection that is streaming lines: the keys are read on another
        with rt.engine.connect() as keys:
            rt.personal_data.open_rows(keys, payout_lines, ("counterparty",))
    return lines


def trial_balance(rt: Runtime, principal: Principal, scope: LedgerScope) -> dict[str, Any]:
    """Opening, debit, credit and closing per account of the chart, and the totals."""
    principal.require(*LEDGER_READERS)
    with rt.reading() as conn:
        organisation = _organisation(conn, scope)
        accounts = ledger_model.trial_balance(conn, scope)
    return {
        "organisation": organisation,
        "from": scope.date_from,
        "to": scope.date_to,
        "accounts": accounts,
        "total_debit": sum(row["debit"] for row in accounts),
        "total_credit": sum(row["credit"] for row in accounts),
    }


def account_statement(
    rt: Runtime, principal: Principal, scope: LedgerScope, account: str
) -> dict[str, Any]:
    """One account's lines in the scope with a running balance."""
    principal.require(*LEDGER_READERS)
    if account not in ACCOUNTS:
        raise NotFound(f"account {account} is not in the chart of accounts")
    with rt.reading() as conn:
        _organisation(conn, scope)
        statement = ledger_model.account_statement(conn, scope, account)
        _payees_opened(rt, statement["lines"], conn)
        return statement
