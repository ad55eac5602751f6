"""A whole round, from registering the municipality to closing the books, through HTTP only.

The server is a real gunicorn with several workers (see conftest.py), so consecutive requests land
on different processes: every read-after-write here also checks that the read models catch up
whichever worker served the write.

The numbers are chosen so the outcome is fixed whatever way the race for one code goes:
budget 5,000.00; on the ballot A 2,800.00 (adjusted from 3,000.00), B 2,000.00, C 2,500.00.
Approvals: A 5, B 3 or 4, C 2, so the greedy rule funds A and B (4,800.00) and C no longer fits.
"""
from __future__ import annotations

import threading
from typing import Any

import httpx

API = "/api/v1"
IBAN = "NL91ABNA0417164300"
DEPOSITS = (300_000, 200_000)
BUDGET = sum(DEPOSITS)


class Api:
    """A thin httpx wrapper: every call states the status it expects and returns the JSON."""

    def __init__(self, server: Any):
        self.server = server
        self.client = httpx.Client(base_url=server.base_url, timeout=30.0)

    def call(self, method: str, path: str, *, who: str | None = None, expect: int = 200,
             **kwargs: Any) -> Any:
        headers = self.server.headers(who) if who else {}
        response = self.client.request(method, API + path, headers=headers, **kwargs)
        assert response.status_code == expect, (
            f"{method} {path} as {who or 'the public'}: expected {expect}, "
            f"got {response.status_code}: {response.text}"
        )
        return response.json() if response.content else None

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.call("POST", path, json={} if json is None else json, **kwargs)


def proposal_body(title: str, *amounts: int) -> dict[str, Any]:
    return {
        "title": title,
        "summary": f"{title} for the neighbourhood",
        "category": "green",
        "cost_lines": [{"description": f"{title} part {i}", "amount": a} for i, a in enumerate(amounts)],
        "proposer_name": f"Resident {title}",
        "proposer_email": f"{title.lower().replace(' ', '.')}@example.nl",
    }


def assert_balances(api: Api, round_id: str, **expected: int) -> dict[str, Any]:
    state = api.get(f"/rounds/{round_id}")
    actual = {key: state[key] for key in expected}
    assert actual == expected, f"balances of round {round_id}"
    assert state["available"] == state["deposited"] - state["returned"] - state["reserved"]
    return state


def race_ballots(base_url: str, path: str, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    """Send the bodies at the same moment, one thread and one connection each."""
    barrier = threading.Barrier(len(bodies))
    responses: list[httpx.Response | BaseException | None] = [None] * len(bodies)

    def send(index: int) -> None:
        with httpx.Client(base_url=base_url, timeout=30.0) as client:
            client.get("/healthz")  # connect first, so the barrier releases two ready requests
            barrier.wait(timeout=10)
            try:
                responses[index] = client.post(API + path, json=bodies[index])
            except BaseException as error:  # noqa: BLE001 - reported by the main thread
                responses[index] = error

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for response in responses:
        if not isinstance(response, httpx.Response):
            raise AssertionError(f"a racing request failed: {response!r}")
    return responses  # type: ignore[return-value]


def read_models_seen_through_the_api(api: Api, ids: dict[str, Any]) -> dict[str, Any]:
    """Every read model, as GET responses; lists keep their order (each query orders them)."""
    round_id = ids["round_id"]
    seen = {
        "municipalities": api.get("/municipalities"),
        "neighbourhoods": api.get("/neighbourhoods"),
        "rounds": api.get("/rounds"),
        "round": api.get(f"/rounds/{round_id}"),
        "deposits": api.get(f"/rounds/{round_id}/deposits"),
        "tallies": api.get(f"/rounds/{round_id}/tallies"),
        "results": api.get(f"/rounds/{round_id}/results"),
        "receipts": api.get(f"/rounds/{round_id}/receipts"),
        "proposals (official)": api.get(f"/rounds/{round_id}/proposals", who="anna"),
        "proposals (public)": api.get(f"/rounds/{round_id}/proposals"),
        "payouts (official)": api.get(f"/rounds/{round_id}/payouts", who="anna"),
        "payouts (public)": api.get(f"/rounds/{round_id}/payouts"),
        "audit trail": api.get(f"/rounds/{round_id}/audit-trail", who="audit"),
    }
    for name, pid in ids["proposals"].items():
        seen[f"proposal {name}"] = api.get(f"/proposals/{pid}", who="audit")
        seen[f"proposal {name} audit trail"] = api.get(f"/proposals/{pid}/audit-trail", who="audit")
    for code in ids["codes"]:
        seen[f"ballot {code}"] = api.post(f"/rounds/{round_id}/ballots/lookup", {"code": code})
    return seen


def test_a_whole_round_through_http(server):
    api = Api(server)
    health = api.client.get("/healthz").json()
    assert health["status"] == "ok" and health["store"] == server.backend

    # -- places and the round ------------------------------------------------------------------
    municipality = api.post("/municipalities", {"name": "Utrecht", "cbs_code": "GM0344"},
                            who="anna", expect=201)
    api.post("/municipalities", {"name": "Nowhere"}, expect=401)
    neighbourhood = api.post(
        "/neighbourhoods",
        {"municipality_id": municipality["municipality_id"], "name": "Lombok", "cbs_code": "WK034401"},
        who="anna", expect=201,
    )
    budget_round = api.post("/rounds", {
        "neighbourhood_id": neighbourhood["neighbourhood_id"],
        "title": "Lombok 2026",
        "description": "Ideas for the neighbourhood",
        "voting": {"method": "approval", "max_choices": 2, "rule": "greedy"},
    }, who="anna", expect=201)
    round_id = budget_round["round_id"]
    assert budget_round["phase"] == "submission"
    rounds_path = f"/rounds/{round_id}"

    api.post(f"{rounds_path}/deposits", {"amount": DEPOSITS[0], "source": "Gemeente Utrecht",
                                         "reference": "BB-2026-1"}, who="anna", expect=201)
    api.post(f"{rounds_path}/deposits", {"amount": 12.5, "source": "typo"}, who="anna", expect=422)
    after_deposits = api.post(f"{rounds_path}/deposits", {"amount": DEPOSITS[1], "source": "Fonds"},
                              who="bram", expect=201)
    assert after_deposits["deposited"] == BUDGET

    # -- submissions and review ----------------------------------------------------------------
    submitted = {
        "A": api.post(f"{rounds_path}/proposals", proposal_body("Tree pits", 200_000, 100_000), expect=201),
        "B": api.post(f"{rounds_path}/proposals", proposal_body("Benches", 200_000), expect=201),
        "C": api.post(f"{rounds_path}/proposals", proposal_body("Mural", 250_000), expect=201),
        "D": api.post(f"{rounds_path}/proposals", proposal_body("Helipad", 100_000), expect=201),
    }
    pid = {name: item["proposal_id"] for name, item in submitted.items()}
    assert all(item["proposer_key"] for item in submitted.values())
    assert submitted["A"]["proposal"]["requested_amount"] == 300_000

    api.post(f"{rounds_path}/close-submissions", who="anna")
    api.post(f"{rounds_path}/proposals", proposal_body("Too late", 1_000), expect=409)
    api.post(f"/proposals/{pid['A']}/admit", {"amount": 280_000}, who="anna", expect=422)  # no note
    admitted = api.post(f"/proposals/{pid['A']}/admit",
                        {"amount": 280_000, "note": "the municipality plants the trees itself"},
                        who="anna")
    assert admitted["status"] == "admitted"
    assert (admitted["amount"], admitted["requested_amount"]) == (280_000, 300_000)
    assert admitted["review_note"] == "the municipality plants the trees itself"
    api.post(f"/proposals/{pid['B']}/admit", who="bram")
    api.post(f"/proposals/{pid['C']}/admit", who="anna")
    rejected = api.post(f"/proposals/{pid['D']}/reject", {"reason": "not allowed in a residential area"},
                        who="bram")
    assert rejected["status"] == "rejected"
    assert rejected["rejection_reason"] == "not allowed in a residential area"
    api.get(f"/proposals/{pid['D']}", expect=404)  # the public does not see rejected proposals

    # -- voting ---------------------------------------------------------------------------------
    voting = api.post(f"{rounds_path}/open-voting", who="anna")
    assert voting["phase"] == "voting"
    assert voting["ballot"] == {pid["A"]: 280_000, pid["B"]: 200_000, pid["C"]: 250_000}
    issued = api.post(f"{rounds_path}/voting-codes", {"count": 8}, who="anna", expect=201)
    codes = issued["codes"]
    assert len(codes) == 8 == len(set(codes))
    api.post(f"{rounds_path}/voting-codes", {"count": 8}, expect=401)

    ballots_path = f"{rounds_path}/ballots"
    first = api.post(ballots_path, {"code": codes[0], "proposals": [pid["A"], pid["B"]]}, expect=201)
    assert first["ballot_version"] == 1
    changed = api.post(ballots_path, {"code": codes[0].lower().replace("-", " "),
                                      "proposals": [pid["A"], pid["C"]]}, expect=201)
    assert changed["ballot_version"] == 2 and changed["receipt"] != first["receipt"]
    receipts = {codes[0]: changed["receipt"]}
    for code, names in ((codes[1], "A"), (codes[2], "AB"), (codes[3], "B"), (codes[4], "BC"),
                        (codes[6], "A")):
        cast = api.post(ballots_path, {"code": code, "proposals": [pid[n] for n in names]}, expect=201)
        receipts[code] = cast["receipt"]
    api.post(ballots_path, {"code": codes[7], "proposals": [pid["D"]]}, expect=422)  # not on the ballot
    api.post(ballots_path, {"code": codes[7], "proposals": [pid["A"], pid["B"], pid["C"]]}, expect=422)
    api.post(ballots_path, {"code": "AAAA-BBBB-CCCC", "proposals": [pid["A"]]}, expect=403)

    # Two ballots for one code at the same moment, on (most likely) two workers.
    racing = [{"code": codes[5], "proposals": [pid["A"]]},
              {"code": codes[5], "proposals": [pid["A"], pid["B"]]}]
    responses = race_ballots(server.base_url, ballots_path, racing)
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, [r.text for r in responses]
    assert 201 in statuses, [r.text for r in responses]
    lookup = api.post(f"{ballots_path}/lookup", {"code": codes[5]})
    assert lookup["cast"] is True
    race_choices = [{p: 1 for p in body["proposals"]} for body in racing]
    assert lookup["choices"] in race_choices
    winner_of_race = race_choices.index(lookup["choices"])
    accepted = [r.json() for r in responses if r.status_code == 201]
    assert lookup["receipt"] in {a["receipt"] for a in accepted}
    versions = [a["ballot_version"] for a in accepted]
    assert len(set(versions)) == len(versions)  # never two casts written as the same version
    assert lookup["ballot_version"] == max(versions)
    receipts[codes[5]] = lookup["receipt"]

    unused = api.post(f"{ballots_path}/lookup", {"code": codes[7]})
    assert unused["cast"] is False
    assert api.get(rounds_path)["ballots_cast"] == 7

    # -- decision ------------------------------------------------------------------------------
    assert api.get(f"{rounds_path}/receipts")["receipts"] == []  # nothing published while voting
    api.post(f"{rounds_path}/close-voting", who="bram")
    api.post(ballots_path, {"code": codes[7], "proposals": [pid["A"]]}, expect=409)
    tally = api.post(f"{rounds_path}/tallies", who="anna", expect=201)
    result = tally["result"]
    votes_b = 4 if winner_of_race == 1 else 3
    assert result["ballots_counted"] == 7
    assert result["scores"] == {pid["A"]: 5, pid["B"]: votes_b, pid["C"]: 2}
    assert [w["proposal_id"] for w in result["winners"]] == [pid["A"], pid["B"]]
    assert result["total_cost"] == 480_000 and result["budget"] == BUDGET
    assert tally["recorded_by"] == "official:anna" and tally["confirmed_by"] is None

    verification = api.get(f"{rounds_path}/tallies/{tally['tally_id']}/verify")
    assert verification["matches"] is True and verification["differences"] == []

    api.post(f"{rounds_path}/tallies/{tally['tally_id']}/confirm", who="anna", expect=403)
    confirmed = api.post(f"{rounds_path}/tallies/{tally['tally_id']}/confirm", who="bram")
    assert confirmed["phase"] == "execution"
    assert_balances(api, round_id, deposited=BUDGET, reserved=480_000, pending=0, paid=0,
                    returned=0, available=20_000)
    assert api.get(f"/proposals/{pid['A']}")["status"] == "funded"
    assert api.get(f"/proposals/{pid['C']}")["status"] == "not_selected"

    # -- payouts: four eyes, a reversal and the payment again --------------------------------
    payouts_path = f"{rounds_path}/payouts"

    def request(proposal: str, amount: int, reference: str) -> dict[str, Any]:
        return api.post(payouts_path, {
            "proposal_id": pid[proposal], "amount": amount, "payee_name": "Hovenier De Linde",
            "iban": "NL91 ABNA 0417 1643 00", "reference": reference,
        }, who="anna", expect=201)

    api.post(payouts_path, {"proposal_id": pid["A"], "amount": 1_000, "payee_name": "X",
                            "iban": "NL91ABNA0417164301", "reference": "F-0"}, who="anna", expect=422)
    api.post(payouts_path, {"proposal_id": pid["C"], "amount": 1_000, "payee_name": "X",
                            "iban": IBAN, "reference": "F-0"}, who="anna", expect=409)
    payout = request("A", 150_000, "F-2026-001")
    assert (payout["status"], payout["iban"], payout["requested_by"]) == ("requested", IBAN, "official:anna")
    api.post(f"{payouts_path}/{payout['payout_id']}/approve", who="anna", expect=403)
    api.post(f"{payouts_path}/{payout['payout_id']}/approve", who="audit", expect=403)
    approved = api.post(f"{payouts_path}/{payout['payout_id']}/approve", who="bram")
    assert (approved["status"], approved["decided_by"]) == ("approved", "official:bram")
    for requester_or_approver in ("anna", "bram"):
        api.post(f"{payouts_path}/{payout['payout_id']}/paid", {"bank_reference": "BANK-1"},
                 who=requester_or_approver, expect=403)
    paid = api.post(f"{payouts_path}/{payout['payout_id']}/paid", {"bank_reference": "BANK-1"},
                    who="cas")
    assert (paid["status"], paid["paid_by"]) == ("paid", "official:cas")
    assert_balances(api, round_id, reserved=480_000, pending=0, paid=150_000)

    reversed_ = api.post(f"{payouts_path}/{payout['payout_id']}/reverse",
                         {"reason": "the bank returned it: account closed"}, who="bram")
    assert reversed_["status"] == "reversed"
    assert reversed_["reversal_reason"] == "the bank returned it: account closed"
    assert_balances(api, round_id, reserved=480_000, pending=0, paid=0)

    again = request("A", 150_000, "F-2026-001")
    assert_balances(api, round_id, pending=150_000, paid=0)
    api.post(f"{payouts_path}/{again['payout_id']}/approve", who="bram")
    api.post(f"{payouts_path}/{again['payout_id']}/paid", {"bank_reference": "BANK-2"}, who="cas")
    for_b = request("B", 200_000, "F-2026-002")
    api.post(f"{payouts_path}/{for_b['payout_id']}/reject", {"reason": "wrong invoice"}, who="anna",
             expect=403)
    api.post(f"{payouts_path}/{for_b['payout_id']}/approve", who="bram")
    api.post(f"{payouts_path}/{for_b['payout_id']}/paid", {"bank_reference": "BANK-3"}, who="cas")
    # B's reservation is used up:
    api.post(payouts_path, {"proposal_id": pid["B"], "amount": 1, "payee_name": "X", "iban": IBAN,
                            "reference": "F-9"}, who="anna", expect=422)
    assert_balances(api, round_id, deposited=BUDGET, reserved=480_000, pending=0, paid=350_000,
                    returned=0, available=20_000)
    public_payouts = api.get(payouts_path)
    assert sorted(p["reference"] for p in public_payouts) == ["F-2026-001", "F-2026-002"]
    assert all("iban" not in p for p in public_payouts)

    # -- completion and closing ----------------------------------------------------------------
    api.post(f"{rounds_path}/close", {"destination": "municipal budget"}, who="anna", expect=409)
    completed_a = api.post(f"/proposals/{pid['A']}/complete", {"report": "120 trees planted"}, who="anna")
    assert (completed_a["status"], completed_a["unspent_returned"]) == ("completed", 130_000)
    api.post(f"/proposals/{pid['B']}/complete", {"report": "6 benches placed"}, who="bram")
    api.post(f"{payouts_path}/{again['payout_id']}/reverse", {"reason": "too late"}, who="bram",
             expect=409)
    assert_balances(api, round_id, reserved=350_000, paid=350_000, returned=0, available=150_000)
    closed = api.post(f"{rounds_path}/close", {"destination": "municipal budget 2027"}, who="anna")
    assert closed["phase"] == "closed"
    assert_balances(api, round_id, deposited=BUDGET, reserved=350_000, pending=0, paid=350_000,
                    returned=150_000, available=0)

    # -- results, receipts, audit trail --------------------------------------------------------
    results = api.get(f"{rounds_path}/results")
    assert results["confirmed"] is True and results["tally"]["tally_id"] == tally["tally_id"]
    assert results["tally"]["confirmed_by"] == "official:bram"
    shown = {p["proposal_id"]: p for p in results["proposals"]}
    assert set(shown) == {pid["A"], pid["B"], pid["C"]}  # the rejected one was never on the ballot
    assert {p: (s["winner"], s["votes"], s["status"]) for p, s in shown.items()} == {
        pid["A"]: (True, 5, "completed"),
        pid["B"]: (True, votes_b, "completed"),
        pid["C"]: (False, 2, "not_selected"),
    }
    assert shown[pid["A"]]["cost"] == 280_000

    published = api.get(f"{rounds_path}/receipts")
    assert published["ballot_digest"] == result["ballot_digest"]
    assert sorted(published["receipts"]) == published["receipts"]
    assert set(published["receipts"]) == set(receipts.values())
    assert first["receipt"] not in published["receipts"]  # replaced, so not counted

    trail = api.get(f"{rounds_path}/audit-trail", who="audit")
    api.get(f"{rounds_path}/audit-trail", expect=401)
    positions = [e["position"] for e in trail]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    round_events = [e["event_type"] for e in trail if e["aggregate_type"] == "BudgetRound"]
    assert round_events == [
        "Opened", "FundsDeposited", "FundsDeposited",
        "ProposalReceived", "ProposalReceived", "ProposalReceived", "ProposalReceived",
        "SubmissionsClosed", "ProposalReviewed", "ProposalReviewed", "ProposalReviewed",
        "ProposalReviewed", "VotingOpened", "VotingCodesIssued", "VotingClosed", "TallyRecorded",
        "TallyConfirmed",
        "PayoutRequested", "PayoutApproved", "PayoutPaid", "PayoutReversed",
        "PayoutRequested", "PayoutApproved", "PayoutPaid",
        "PayoutRequested", "PayoutApproved", "PayoutPaid",
        "UnspentReleased", "UnspentReleased", "Closed",
    ]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for item in trail:
        by_type.setdefault(f"{item['aggregate_type']}.{item['event_type']}", []).append(item)
    actors = {key: [e["actor"] for e in items] for key, items in by_type.items()}
    assert actors["BudgetRound.Opened"] == ["official:anna"]
    assert actors["BudgetRound.FundsDeposited"] == ["official:anna", "official:bram"]
    assert actors["BudgetRound.VotingClosed"] == ["official:bram"]
    assert actors["BudgetRound.TallyRecorded"] == ["official:anna"]
    assert actors["BudgetRound.TallyConfirmed"] == ["official:bram"]
    assert actors["BudgetRound.PayoutRequested"] == ["official:anna"] * 3
    assert actors["BudgetRound.PayoutApproved"] == ["official:bram"] * 3
    assert actors["BudgetRound.PayoutPaid"] == ["official:cas"] * 3
    assert actors["BudgetRound.PayoutReversed"] == ["official:bram"]
    assert actors["Proposal.Admitted"] == ["official:anna", "official:bram", "official:anna"]
    assert actors["Proposal.Rejected"] == ["official:bram"]
    assert actors["BudgetRound.Closed"] == ["official:anna"]
    assert [e["reason"] for e in by_type["Proposal.Rejected"]] == ["not allowed in a residential area"]
    assert [e["reason"] for e in by_type["BudgetRound.PayoutReversed"]] == [
        "the bank returned it: account closed"]
    assert by_type["Proposal.Admitted"][0]["data"]["note"] == "the municipality plants the trees itself"
    assert by_type["Proposal.Admitted"][0]["data"]["amount"] == 280_000
    official_events = [e for e in trail if e["event_type"] not in
                       ("Submitted", "ProposalReceived", "ProposalReviewed")]
    assert all(e["actor"] for e in official_events), [e for e in official_events if not e["actor"]]
    assert all(e["round_id"] == round_id for e in trail)
    assert not any(e["aggregate_type"] == "Ballot" for e in trail)  # ballots are anonymous
    proposal_trail = api.get(f"/proposals/{pid['A']}/audit-trail", who="anna")
    assert [e["event_type"] for e in proposal_trail if e["aggregate_type"] == "Proposal"] == [
        "Submitted", "Admitted", "Funded", "Completed"]

    # -- the read models are what the log says: rebuild them and compare -----------------------
    ids = {"round_id": round_id, "proposals": pid, "codes": codes}
    before = read_models_seen_through_the_api(api, ids)
    output = server.cli("projections", "rebuild")
    assert "rebuilt all read models" in output
    status = server.cli("projections", "status")
    assert all(line.split()[-1] == "0" for line in status.splitlines() if line.strip()), status
    after = read_models_seen_through_the_api(api, ids)
    assert after.keys() == before.keys()
    for name in before:
        assert after[name] == before[name], f"{name} differs after `buurtbudget projections rebuild`"
    api.client.close()
