"""One round, the same every time, for comparing two ways of running it (the console and the
JSON API): its inputs, the API side of it, and what of its events must be equal."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from tests.bank_statements import IBAN, camt053

TITLE, SUBMISSIONS_FROM = "Plein 2027", "2027-02-01"
DEPOSIT, COSTS, BALLOTS = 1_000_000, (200_000, 300_000, 600_000), ((0, 1), (0,), (1,))
ADJUSTED, NOTE, REASON = 150_000, "Goedkoper", "Lopende kosten"
PAYOUT, PAYEE, INVOICE = 100_000, "Houtwerk BV", "INV-1"
REPORT, DESTINATION = "Klaar", "Algemene middelen"
# Fields of event data that differ between two runs of the same round: ids, moments, hashes,
# and the tally's result, whose amounts the Funded events carry.
OWN_KEYS = ("id", "result", "reservations", "ballot", "lot_seed", "software_version")
OWN_SUFFIXES = ("_id", "_ids", "_at", "_hash", "_digest")


class Api(Protocol):
    """JSON calls as a role ("official", "second_official", "auditor") or the public (None)."""

    def post(self, path: str, body: Any = None, *, as_: str | None = "official",
             status: int = 200) -> Any: ...

    def get(self, path: str, *, as_: str | None = None) -> Any: ...


def proposal(cost: int, number: int) -> dict[str, Any]:
    return {"title": f"Plan {number}", "summary": "Six benches along the water",
            "cost_lines": [{"description": "benches", "amount": cost}],
            "proposer_name": "Fatima", "proposer_email": "fatima@example.org"}


def submit(api: Api, round_id: str) -> list[str]:
    """The residents' proposals, through the API."""
    return [api.post(f"/rounds/{round_id}/proposals", proposal(cost, n), as_=None,
                     status=201)["proposal_id"] for n, cost in enumerate(COSTS)]


def cast(api: Api, round_id: str, codes: list[str], ids: list[str]) -> None:
    """The residents' ballots, through the API."""
    for code, chosen in zip(codes, BALLOTS):
        api.post(f"/rounds/{round_id}/ballots",
                 {"code": code, "proposals": [ids[i] for i in chosen]}, as_=None, status=201)


def statement_for(payout_id: str) -> bytes:
    return camt053({"e2e": payout_id.replace("-", ""), "amount": PAYOUT, "iban": IBAN})


def through_the_api(api: Api, neighbourhood_id: str,
                    upload_statement: Callable[[bytes], None]) -> str:
    """The round run by two officials through the JSON API; its id."""
    round_id = api.post("/rounds", {"neighbourhood_id": neighbourhood_id, "title": TITLE,
                                    "schedule": {"submission": SUBMISSIONS_FROM},
                                    "voting": {"method": "approval", "rule": "greedy"}},
                        status=201)["round_id"]
    url = f"/rounds/{round_id}"
    api.post(f"{url}/deposits", {"amount": DEPOSIT, "source": "Gemeente", "reference": "R-1"},
             status=201)
    ids = submit(api, round_id)
    api.post(f"{url}/close-submissions")
    api.post(f"/proposals/{ids[0]}/admit", {"amount": ADJUSTED, "note": NOTE})
    api.post(f"/proposals/{ids[1]}/admit")
    api.post(f"/proposals/{ids[2]}/reject", {"reason": REASON})
    api.post(f"{url}/open-voting")
    codes = api.post(f"{url}/voting-codes", {"count": 3}, status=201)["codes"]
    cast(api, round_id, codes, ids)
    api.post(f"{url}/close-voting")
    tally = api.post(f"{url}/tallies", status=201)
    api.post(f"{url}/tallies/{tally['tally_id']}/confirm", as_="second_official")
    payout = api.post(f"{url}/payouts", {
        "proposal_id": ids[0], "amount": PAYOUT, "payee_name": PAYEE, "iban": IBAN,
        "reference": INVOICE}, status=201)
    api.post(f"{url}/payouts/{payout['payout_id']}/approve", as_="second_official")
    upload_statement(statement_for(payout["payout_id"]))
    for proposal_id in ids[:2]:
        api.post(f"/proposals/{proposal_id}/complete", {"report": REPORT})
    api.post(f"{url}/close", {"destination": DESTINATION})
    return round_id


def comparable(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What must be equal between two runs of the round: type, actor, reason and the amounts."""
    def kept(data: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in sorted(data.items())
                if k not in OWN_KEYS and not k.endswith(OWN_SUFFIXES)}
    return [(e["aggregate_type"], e["event_type"], e["actor"], e["reason"], kept(e["data"]))
            for e in events]
