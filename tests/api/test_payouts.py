"""Payouts and the money after the decision: four eyes, reservations, completion and closing."""
from __future__ import annotations

import uuid

import pytest


def test_a_payout_is_requested_approved_by_a_second_official_and_paid(api, rounds):
    driven = rounds.to("execution")
    winner = driven.winners[0]
    body = rounds.payout_body(winner, 80_000, iban="nl91 abna 0417 1643 00")

    requested = driven.post("payouts", body, status=201)
    url = f"payouts/{requested['payout_id']}"

    assert (requested["status"], requested["iban"], requested["requested_by"]) == (
        "requested",
        "NL91ABNA0417164300",
        "official:anna",
    )
    assert driven.balances()["pending"] == 80_000
    assert api.get(f"/proposals/{winner}")["pending_amount"] == 80_000
    assert driven.get("payouts", as_="official") == [requested]
    assert driven.get("payouts") == []
    driven.refused(
        "POST",
        f"{url}/approve",
        {},
        status=403,
        message="a different official than the one who requested it must approve",
    )
    approved = driven.post(f"{url}/approve", as_="second_official")
    assert (approved["status"], approved["decided_by"]) == ("approved", "official:bram")
    paid = driven.post(f"{url}/paid", {"bank_reference": "BANK-77"}, as_="third_official")

    assert (paid["status"], paid["bank_reference"], paid["paid_by"]) == (
        "paid",
        "BANK-77",
        "official:emre",
    )
    balances = driven.balances()
    assert (balances["pending"], balances["paid"], balances["reserved"]) == (0, 80_000, 500_000)
    assert api.get(f"/proposals/{winner}")["paid_amount"] == 80_000
    for role in ("official", "auditor"):
        assert driven.get("payouts", as_=role) == [paid]
    public = driven.get("payouts")
    assert [p["payout_id"] for p in public] == [paid["payout_id"]] and "iban" not in public[0]


def test_a_payout_never_exceeds_what_is_left_of_the_reservation(api, rounds):
    driven = rounds.to("execution")
    winner, not_selected = driven.winners[0], driven.proposal_ids[2]
    url = "payouts"
    rounds.payout(driven, winner, 150_000, until="requested")

    driven.refused(
        "POST",
        url,
        rounds.payout_body(winner, 50_001),
        status=422,
        message="the payout of €500.01 exceeds what is left of the proposal's reservation "
        "(€500.00)",
    )
    rounds.payout(driven, winner, 50_000)
    driven.refused(
        "POST", url, rounds.payout_body(winner, 1), status=422, message="reservation (€0.00)"
    )
    driven.refused(
        "POST",
        url,
        rounds.payout_body(not_selected, 100),
        status=409,
        message="this proposal has no funds reserved",
    )


def test_a_payout_request_is_checked_before_anything_is_stored(api, rounds):
    driven = rounds.to("decided")
    url = "payouts"
    proposal_id = driven.proposal_ids[0]

    def refused(body, message, status=422, as_="official"):
        return driven.refused("POST", url, body, as_=as_, status=status, message=message)

    payload = refused(
        rounds.payout_body(proposal_id, 100, iban="NL91ABNA0417164301"), "not a valid IBAN"
    )
    assert list(payload["errors"]["json"]) == ["iban"]
    refused(rounds.payout_body(proposal_id, 100.0), "json.amount: Not a valid integer")
    refused(rounds.payout_body(proposal_id, "100"), "json.amount: Not a valid integer")
    refused(rounds.payout_body(proposal_id, 100, kind="gift"), "json.kind")
    refused(rounds.payout_body(proposal_id, 100, bic="ABNANL2A"), "json.bic")
    refused(rounds.payout_body("benches", 100), "json.proposal_id")
    refused(rounds.payout_body(proposal_id, 100), "bearer token", status=401, as_=None)
    refused(
        rounds.payout_body(proposal_id, 100), "needs the role official", status=403, as_="auditor"
    )
    refused(
        rounds.payout_body(proposal_id, 100),
        "cannot request a payout while the round is in phase 'decided'",
        status=409,
    )


def test_a_rejected_or_reversed_payout_gives_its_amount_back_to_the_reservation(api, rounds):
    driven = rounds.to("execution")
    winner = driven.winners[0]
    requested = rounds.payout(driven, winner, 200_000, until="requested")
    url = f"payouts/{requested['payout_id']}"

    driven.refused(
        "POST",
        f"{url}/reject",
        {"reason": "wrong payee"},
        status=403,
        message="a different official",
    )
    rejected = driven.post(f"{url}/reject", {"reason": "wrong payee"}, as_="second_official")
    assert (rejected["status"], rejected["rejection_reason"]) == ("rejected", "wrong payee")
    driven.refused(
        "POST",
        f"{url}/approve",
        {},
        as_="second_official",
        status=409,
        message="cannot approve a payout that is rejected",
    )
    paid = rounds.payout(driven, winner, 200_000)
    reverse_url = f"payouts/{paid['payout_id']}/reverse"
    reversed_ = driven.post(reverse_url, {"reason": "returned by the bank"})

    assert (reversed_["status"], reversed_["reversal_reason"]) == (
        "reversed",
        "returned by the bank",
    )
    balances = driven.balances()
    assert (balances["pending"], balances["paid"], balances["reserved"]) == (0, 0, 500_000)
    assert api.get(f"/proposals/{winner}")["paid_amount"] == 0
    driven.refused(
        "POST",
        reverse_url,
        {"reason": "again"},
        status=409,
        message="cannot reverse a payout that is reversed",
    )
    assert rounds.payout(driven, winner, 200_000)["status"] == "paid"


def test_completion_releases_what_was_not_spent_and_closing_returns_what_was_not_paid(api, rounds):
    driven = rounds.to("execution")
    first, second = driven.winners
    paid = rounds.payout(driven, first, 120_000)
    pending = rounds.payout(driven, second, 50_000, until="requested")

    driven.refused(
        "POST",
        f"/proposals/{second}/complete",
        {"report": "done"},
        status=409,
        message="decide on its pending payouts first",
    )
    driven.refused(
        "POST",
        f"/proposals/{first}/complete",
        {"report": "   "},
        status=422,
        message="report: must not be empty",
    )
    driven.refused(
        "POST",
        f"/proposals/{driven.proposal_ids[2]}/complete",
        {"report": "done"},
        status=409,
        message="only funded proposals can be completed; this one is not_selected",
    )
    completed = api.post(f"/proposals/{first}/complete", {"report": "benches placed"})

    assert (completed["status"], completed["unspent_returned"]) == ("completed", 80_000)
    assert completed["completion_report"] == "benches placed"
    assert driven.balances()["available"] == 500_000 + 80_000
    driven.refused(
        "POST",
        "payouts",
        rounds.payout_body(first, 100),
        status=409,
        message="this proposal is completed",
    )
    driven.refused(
        "POST",
        f"payouts/{paid['payout_id']}/reverse",
        {"reason": "late"},
        status=409,
        message="reverse payouts before completing it",
    )
    driven.post(
        f"payouts/{pending['payout_id']}/reject",
        {"reason": "no invoice"},
        as_="second_official",
    )
    api.post(f"/proposals/{second}/complete", {"report": "mural cancelled"})
    closed = driven.post("close", {"destination": "municipal budget 2027"})

    assert {
        k: closed[k] for k in ("phase", "deposited", "paid", "returned", "reserved", "available")
    } == {
        "phase": "closed",
        "deposited": 1_000_000,
        "paid": 120_000,
        "returned": 1_000_000 - 120_000,
        "reserved": 120_000,
        "available": 0,
    }


@pytest.mark.parametrize("who", ["official", "second_official"])  # requested, approved
def test_the_officials_who_requested_or_approved_a_payout_may_not_mark_it_paid(api, rounds, who):
    driven = rounds.to("execution")
    payout = rounds.payout(driven, driven.winners[0], 80_000, until="approved")

    driven.refused(
        "POST",
        f"payouts/{payout['payout_id']}/paid",
        {"bank_reference": "BANK-77"},
        as_=who,
        status=403,
        message="a payout must be marked paid by a different official than the ones who "
        "requested and approved it",
    )
    assert [p["status"] for p in driven.get("payouts", as_="official")] == ["approved"]


def test_the_bank_booking_date_of_a_payment_is_stored_with_it(api, rounds):
    driven = rounds.to("execution")
    payout = rounds.payout(driven, driven.winners[0], 80_000, until="approved")
    driven.post(
        f"payouts/{payout['payout_id']}/paid",
        {"bank_reference": "BANK-77", "paid_on": "2026-06-01"},
        as_="third_official",
    )

    [paid] = [
        e for e in api.get("/events", as_="auditor")["events"]
        if e["topic"] == "buurtbudget/BudgetRound.PayoutPaid"
    ]
    assert paid["state"]["paid_on"] == "2026-06-01"
    driven.refused(
        "POST",
        f"payouts/{payout['payout_id']}/paid",
        {"bank_reference": "BANK-78", "paid_on": "1 June"},
        as_="third_official",
        status=422,
        message="paid_on",
    )


def test_unknown_payouts_are_not_found(api, rounds):
    driven = rounds.to("execution")
    for payout_id in (uuid.uuid4(), "payout-1"):
        driven.refused(
            "POST",
            f"payouts/{payout_id}/approve",
            {},
            as_="second_official",
            status=404,
            message="not found",
        )
        driven.refused(
            "POST",
            f"payouts/{payout_id}/paid",
            {"bank_reference": "B"},
            status=404,
            message="not found",
        )


def test_a_round_id_in_capitals_requests_a_payout_fully_or_not_at_all(api, rounds):
    driven = rounds.to("execution")

    api.all_or_nothing(
        "POST",
        f"/rounds/{driven.round_id.upper()}/payouts",
        rounds.payout_body(driven.winners[0], 100),
        as_="official",
        status=201,
    )


def test_payouts_as_of_a_log_position_are_those_replayed_up_to_it(api, rounds):
    driven = rounds.to("execution")
    winner = driven.winners[0]
    approved = rounds.payout(driven, winner, 10_000, until="approved")
    approved_at = api.get("/audit/checkpoints")["tree_size"] - 1
    driven.post(f"payouts/{approved['payout_id']}/paid", {"bank_reference": "BANK-1"},
                as_="third_official")
    paid_at = api.get("/audit/checkpoints")["tree_size"] - 1

    then = driven.get(f"payouts?as_of_position={approved_at}", as_="official")
    assert [(p["payout_id"], p["amount"], p["status"]) for p in then] == [
        (approved["payout_id"], 10_000, "approved")
    ]
    assert driven.get(f"payouts?as_of_position={approved_at}") == []  # the public sees paid ones
    public_now = driven.get(f"payouts?as_of_position={paid_at}&status=paid")
    assert [(p["amount"], p["status"]) for p in public_now] == [(10_000, "paid")]
    assert "iban" not in public_now[0]
    driven.refused("GET", "payouts?as_of_position=-1", status=400, message="as_of_position")
