"""The audit trail (officials and auditors) and the raw event log (auditors) through HTTP."""
from __future__ import annotations


def test_the_round_audit_trail_says_who_did_what_and_why_but_keeps_ballots_out(api, rounds):
    driven = rounds.to("execution")
    payout = rounds.payout(driven, driven.winners[0], 10_000, until="requested")
    driven.post(
        f"payouts/{payout['payout_id']}/reject",
        {"reason": "duplicate invoice"},
        as_="second_official",
    )

    trail = driven.get("audit-trail", as_="auditor")

    assert driven.get("audit-trail", as_="official") == trail
    assert [e["position"] for e in trail] == sorted(e["position"] for e in trail)
    assert {e["round_id"] for e in trail} == {driven.round_id}
    assert "Ballot" not in {e["aggregate_type"] for e in trail}
    done = {(e["aggregate_type"], e["event_type"]): e for e in trail}
    assert done[("BudgetRound", "FundsDeposited")]["actor"] == "official:anna"
    assert done[("BudgetRound", "FundsDeposited")]["data"]["amount"] == rounds.DEPOSIT
    assert done[("BudgetRound", "TallyConfirmed")]["actor"] == "official:bram"
    assert done[("Proposal", "Submitted")]["actor"] == "resident"
    rejected = done[("BudgetRound", "PayoutRejected")]
    assert (rejected["actor"], rejected["reason"], rejected["payout_id"]) == (
        "official:bram",
        "duplicate invoice",
        payout["payout_id"],
    )
    assert {
        "Opened",
        "SubmissionsClosed",
        "VotingOpened",
        "VotingCodesIssued",
        "VotingClosed",
        "TallyRecorded",
        "Admitted",
        "Funded",
        "NotSelected",
    } <= {e["event_type"] for e in trail}

    page = driven.get(f"audit-trail?limit=2&after={trail[0]['position']}", as_="auditor")
    assert page == trail[1:3]


def test_the_proposal_audit_trail_follows_its_review_and_money(api, rounds):
    driven = rounds.to("execution")
    winner = driven.winners[0]
    rounds.payout(driven, winner, 10_000)

    trail = api.get(f"/proposals/{winner}/audit-trail", as_="official")

    assert {e["proposal_id"] for e in trail} == {winner}
    assert [e["event_type"] for e in trail] == [
        "ProposalReceived",
        "Submitted",
        "Admitted",
        "ProposalReviewed",
        "Funded",
        "PayoutRequested",
        "PayoutApproved",
        "PayoutPaid",
    ]


def test_audit_trails_are_for_officials_and_auditors_only(api, rounds):
    driven = rounds.to("submission", costs=(100_000,))
    for path in ("audit-trail", f"/proposals/{driven.proposal_ids[0]}/audit-trail"):
        driven.refused("GET", path, as_=None, status=401, message="bearer token")
        driven.refused("GET", path, as_="admin", status=403, message="not admin")
    for query in ("limit=0", "after=-1", "limit=many"):
        parameter = query.split("=")[0]
        driven.refused("GET", f"audit-trail?{query}", as_="auditor", status=400, message=parameter)


def test_the_event_log_is_paged_by_position_for_auditors(api, rounds):
    rounds.to("submission", costs=(100_000,))

    everything = api.get("/events", as_="auditor")
    head = everything["head"]
    page = api.get("/events?limit=2&after=1", as_="auditor")

    assert [e["id"] for e in everything["events"]] == list(range(1, head + 1))
    assert everything["next_after"] is None
    assert page["events"] == everything["events"][1:3] and page["next_after"] == 3
    assert page["head"] == head
    [submitted] = [e for e in everything["events"] if e["topic"] == "buurtbudget/Proposal.Submitted"]
    assert submitted["state"]["title"] == "Proposal 0"
    api.refused("GET", "/events", status=401)
    api.refused("GET", "/events", as_="official", status=403, message="needs the role auditor")
    api.refused("GET", "/events?limit=10001", as_="auditor", status=400, message="limit")
