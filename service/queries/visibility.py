"""Who may see what: the one place where reads are narrowed to what their principal may see.

- Personal data (a proposer's e-mail, a payee's IBAN) only for officials and auditors.
- Proposals the public sees: those that reached the ballot; rejected, withdrawn and merely
  submitted proposals only for officials and auditors. A proposer (who holds the proposal's key)
  sees their own in any status; the answer to a submission echoes everything that was sent.
- Rejected proposals: anyone sees their title, summary, requested cost and the reason they were
  not admitted (the municipality answers for what it kept off the ballot); who proposed them
  only officials and auditors.
- Payouts the public sees: the paid ones.
- Votes per proposal, and the receipts of the ballots that count: only once voting closed.
- A ballot's choices: only for the resident holding its voting code; no query lists them by ballot.
- Audit trails: officials and auditors; the raw event log: auditors; tokens: admins.
- The ledger, payment batches and a municipality's paying account: officials and auditors.
"""
from __future__ import annotations

from typing import Any

from domain.budget_round import AFTER_VOTING
from domain.errors import NotFound
from service.principal import Principal

SEES_PERSONAL_DATA = ("official", "auditor")
AUDIT_TRAIL_READERS = ("official", "auditor")
EVENT_LOG_READERS = ("auditor",)
TOKEN_READERS = ("admin",)
# The ledger names payees and the paying account; batches carry IBANs.
LEDGER_READERS = ("official", "auditor")
PAYMENT_BATCH_READERS = ("official", "auditor")
PAPER_BATCH_READERS = ("official", "auditor")
PAYING_ACCOUNT_READERS = ("official", "auditor")

# The proposals that reached the ballot, whatever the vote made of them.
ON_THE_BALLOT = ("admitted", "funded", "not_selected", "completed")
PUBLIC_PROPOSAL_STATUSES = ON_THE_BALLOT
PUBLIC_PAYOUT_STATUSES = ("paid",)
PROPOSAL_PERSONAL_FIELDS = ("proposer_email",)
PAYOUT_PERSONAL_FIELDS = ("iban",)


def sees_everything(principal: Principal) -> bool:
    """Officials and auditors see every proposal and payout, with personal data."""
    return principal.role in SEES_PERSONAL_DATA


def votes_are_public(phase: str) -> bool:
    """Counts and receipts are published only once no ballot can change any more."""
    return phase in AFTER_VOTING


def visible_proposal_statuses(
    principal: Principal, wanted: tuple[str, ...] | None
) -> tuple[str, ...] | None:
    """The statuses a proposal listing may show (None: all of them)."""
    if sees_everything(principal):
        return wanted
    return tuple(s for s in (wanted or PUBLIC_PROPOSAL_STATUSES) if s in PUBLIC_PROPOSAL_STATUSES)


def proposal_as_seen(principal: Principal, item: dict[str, Any]) -> dict[str, Any]:
    """A proposal row without what `principal` may not see; NotFound if it may not see it at all."""
    if sees_everything(principal):
        return item
    if item["status"] not in PUBLIC_PROPOSAL_STATUSES:
        raise NotFound(f"proposal {item['proposal_id']} not found")
    return without(item, PROPOSAL_PERSONAL_FIELDS)


REJECTION_PUBLIC_FIELDS = (
    "proposal_id", "round_id", "title", "summary", "requested_amount", "status",
    "rejection_reason",
)


def rejections_as_seen(principal: Principal, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rejected proposals with what `principal` may see of them: for the public, what and why."""
    if sees_everything(principal):
        return items
    return [{k: item[k] for k in REJECTION_PUBLIC_FIELDS} for item in items]


def submission_as_echoed(item: dict[str, Any]) -> dict[str, Any]:
    """The answer to a submission: everything its proposer just sent, their e-mail included."""
    return item


def proposal_as_its_proposer_sees(principal: Principal, item: dict[str, Any]) -> dict[str, Any]:
    """A proposal in any status, as its proposer sees it after acting on it with its key."""
    if sees_everything(principal):
        return item
    return without(item, PROPOSAL_PERSONAL_FIELDS)


def payouts_as_seen(principal: Principal, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The payout rows `principal` may see, without what it may not see."""
    if sees_everything(principal):
        return items
    return [
        without(item, PAYOUT_PERSONAL_FIELDS)
        for item in items if item["status"] in PUBLIC_PAYOUT_STATUSES
    ]


def payout_as_seen(principal: Principal, item: dict[str, Any]) -> dict[str, Any]:
    """A payout row without what `principal` may not see; NotFound if it may not see it at all."""
    seen = payouts_as_seen(principal, [item])
    if not seen:
        raise NotFound(f"payout {item['payout_id']} not found")
    return seen[0]


def without(item: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in fields}
