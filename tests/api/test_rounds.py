"""Budget rounds through HTTP: opening, settings, deposits, phases, the tally, its confirmation."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from urllib.parse import urlencode


import service.application

# What is listed under a round; an unknown round has none of them.
ROUND_LISTS = ("/deposits", "/tallies", "/results", "/receipts", "/proposals", "/payouts")


def test_an_opened_round_is_read_back_with_its_rules_and_empty_balances(api, rounds):
    neighbourhood_id = rounds.neighbourhood()
    created = api.post(
        "/rounds",
        {
            "neighbourhood_id": neighbourhood_id,
            "title": "Oosterpark 2026",
            "schedule": {"submission": "2026-03-01", "voting": "2026-05-01"},
            "voting": {"method": "knapsack", "max_total_cost": 500_000},
        },
        status=201,
    )

    assert created["phase"] == "submission"
    assert created["schedule"] == {"submission": "2026-03-01", "voting": "2026-05-01"}
    assert created["voting"]["method"] == "knapsack"
    assert created["voting"]["max_total_cost"] == 500_000
    assert {k: created[k] for k in ("deposited", "reserved", "paid", "returned", "available")} == {
        "deposited": 0,
        "reserved": 0,
        "paid": 0,
        "returned": 0,
        "available": 0,
    }
    assert api.get(f"/rounds/{created['round_id']}") == created


def test_rounds_are_listed_by_neighbourhood_and_phase(api, rounds):
    in_review = rounds.to("review", costs=(100_000,))
    submitting = rounds.to("submission", costs=())
    other = api.post(
        "/neighbourhoods",
        {"municipality_id": api.get("/municipalities")[0]["municipality_id"], "name": "West"},
        status=201,
    )["neighbourhood_id"]

    assert [r["round_id"] for r in api.get("/rounds?phase=review")] == [in_review.round_id]
    assert [r["round_id"] for r in api.get("/rounds?phase=submission")] == [submitting.round_id]
    assert api.get(f"/rounds?neighbourhood_id={other}") == []
    assert len(api.get(f"/rounds?neighbourhood_id={rounds.neighbourhood()}")) == 2
    api.refused("GET", "/rounds?phase=finished", status=400, message="phase")


def test_opening_a_round_checks_the_neighbourhood_and_the_rules(api, rounds):
    neighbourhood_id = rounds.neighbourhood()
    payload = api.refused(
        "POST",
        "/rounds",
        {"neighbourhood_id": neighbourhood_id, "title": "R", "voting": {"method": "knapsack"}},
        as_="official",
        status=422,
        message="a knapsack vote needs max_total_cost",
    )
    assert payload["errors"] == {"voting.max_total_cost": ["a knapsack vote needs max_total_cost"]}
    api.refused(
        "POST",
        "/rounds",
        {
            "neighbourhood_id": neighbourhood_id,
            "title": "R",
            "schedule": {"submission": "2026-05-01", "voting": "2026-03-01"},
        },
        as_="official",
        status=422,
        message="schedule.voting (2026-03-01) is before",
    )
    api.refused(
        "POST",
        "/rounds",
        {
            "neighbourhood_id": neighbourhood_id,
            "title": "R",
            "voting": {"method": "approval", "quorum": 10},
        },
        as_="official",
        status=422,
        message="quorum",
    )
    api.refused(
        "POST",
        "/rounds",
        {"neighbourhood_id": str(uuid.uuid4()), "title": "R"},
        as_="official",
        status=404,
        message="neighbourhood",
    )


def test_voting_rules_can_change_until_voting_opens(api, rounds):
    knapsack = {"method": "knapsack", "max_total_cost": 500_000}
    driven = rounds.to("review", costs=(100_000,), voting=knapsack)

    changed = driven.patch("settings", {"voting": {"max_choices": 1}})

    voting = changed["voting"]
    assert (voting["method"], voting["max_total_cost"], voting["max_choices"]) == (
        "knapsack",
        500_000,
        1,
    )
    assert driven.get() == changed

    api.post(f"/proposals/{driven.proposal_ids[0]}/admit")
    driven.post("open-voting")
    driven.refused(
        "PATCH",
        "settings",
        {"voting": {"method": "approval"}},
        status=409,
        message="cannot change the voting rules",
    )
    rescheduled = driven.patch("settings", {"schedule": {"decided": "2026-06-01"}})
    assert rescheduled["schedule"] == {"decided": "2026-06-01"}


def test_deposits_add_up_and_are_listed_by_source(api, rounds):
    driven = rounds.to("submission", deposit=0, costs=())
    after_first = driven.post(
        "deposits",
        {"amount": 750_000, "source": "Gemeente", "reference": "begroting 2026"},
        status=201,
    )
    assert after_first["deposited"] == after_first["available"] == 750_000
    driven.post("deposits", {"amount": 250_000, "source": "Woningcorporatie"}, status=201)

    deposits = driven.get("deposits")
    assert [(d["amount"], d["source"], d["actor"]) for d in deposits] == [
        (750_000, "Gemeente", "official:anna"),
        (250_000, "Woningcorporatie", "official:anna"),
    ]
    assert driven.balances()["available"] == 1_000_000


def test_a_deposit_is_a_positive_whole_number_of_cents(api, rounds):
    driven = rounds.to("submission", costs=())
    for amount, message in [
        (10.5, "Not a valid integer"),
        ("1000", "Not a valid integer"),
        (True, "Not a valid integer"),
        (0, "greater than or equal to 1"),
        (-500, "greater than or equal to 1"),
    ]:
        payload = driven.refused(
            "POST",
            "deposits",
            {"amount": amount, "source": "Gemeente"},
            status=422,
            message=message,
        )
        assert list(payload["errors"]["json"]) == ["amount"]


def test_an_amount_beyond_any_budget_is_refused_without_a_write(api, rounds):
    driven = rounds.to("submission", costs=())
    driven.refused("POST", "deposits", {"amount": 2**63, "source": "Gemeente"}, status=422)


def test_each_phase_refuses_the_actions_of_other_phases(api, rounds):
    driven = rounds.to("submission")

    def conflicts(action: str, message: str, body: dict | None = None) -> None:
        driven.refused("POST", action, body or {}, status=409, message=message)

    conflicts("open-voting", "cannot open voting while the round is in phase 'submission'")
    conflicts("close-voting", "cannot close voting while the round is in phase 'submission'")
    conflicts("tallies", "cannot run the tally while the round is in phase 'submission'")
    driven.post("close-submissions")
    conflicts("close-submissions", "cannot close submissions while the round is in phase 'review'")
    driven.refused(
        "POST",
        "proposals",
        rounds.proposal_body(100),
        as_=None,
        status=409,
        message="cannot submit a proposal while the round is in phase 'review'",
    )
    for proposal_id in driven.proposal_ids:
        api.post(f"/proposals/{proposal_id}/admit")
    driven.post("open-voting")
    [code] = driven.post("voting-codes", {"count": 1}, status=201)["codes"]
    driven.post(
        "ballots",
        {"code": code, "proposals": driven.proposal_ids[:1]},
        as_=None,
        status=201,
    )
    conflicts("tallies", "cannot run the tally while the round is in phase 'voting'")
    conflicts(
        "close",
        "cannot close the round while the round is in phase 'voting'",
        {"destination": "municipal budget"},
    )
    driven.post("close-voting")
    conflicts("open-voting", "cannot open voting while the round is in phase 'decided'")
    conflicts(
        "voting-codes",
        "cannot issue voting codes while the round is in phase 'decided'",
        {"count": 1},
    )
    tally = driven.post("tallies", status=201)
    driven.post(f"tallies/{tally['tally_id']}/confirm", as_="second_official")
    conflicts("close", "complete these proposals first", {"destination": "municipal budget"})


def test_voting_opens_only_when_every_proposal_is_reviewed_and_one_is_admitted(api, rounds):
    driven = rounds.to("review", costs=(100_000, 200_000))
    driven.refused("POST", "open-voting", {}, status=409, message="review these proposals first")
    for proposal_id in driven.proposal_ids:
        api.post(f"/proposals/{proposal_id}/reject", {"reason": "outside the neighbourhood"})
    driven.refused("POST", "open-voting", {}, status=409, message="no admitted proposals")


def test_confirming_the_tally_reserves_the_winners_costs(api, rounds):
    driven = rounds.to("tallied")
    assert driven.winners == driven.proposal_ids[:2]

    confirmed = driven.post(f"tallies/{driven.tally['tally_id']}/confirm", as_="second_official")

    assert confirmed["phase"] == "execution"
    assert confirmed["confirmed_tally_id"] == driven.tally["tally_id"]
    assert confirmed["reserved"] == rounds.COSTS[0] + rounds.COSTS[1]
    assert confirmed["available"] == rounds.DEPOSIT - rounds.COSTS[0] - rounds.COSTS[1]
    statuses = [api.get(f"/proposals/{p}")["status"] for p in driven.proposal_ids]
    assert statuses == ["funded", "funded", "not_selected"]
    assert [api.get(f"/proposals/{p}")["funded_amount"] for p in driven.proposal_ids] == [
        *rounds.COSTS[:2],
        0,
    ]
    tally = driven.get("tallies")[0]
    assert tally["confirmed_by"] == "official:bram"
    assert driven.get(f"tallies/{tally['tally_id']}/verify")["matches"] is True
    results = driven.get("results")
    assert results["confirmed"] is True and results["tally"]["tally_id"] == driven.tally["tally_id"]
    assert [
        (p["proposal_id"], p["winner"], p["votes"], p["score"]) for p in results["proposals"]
    ] == [
        (driven.proposal_ids[0], True, 2, 2),
        (driven.proposal_ids[1], True, 2, 2),
        (driven.proposal_ids[2], False, 1, 1),
    ]
    driven.refused(
        "POST",
        "tallies",
        {},
        status=409,
        message="cannot run the tally while the round is in phase 'execution'",
    )


def test_a_round_with_little_money_reserves_only_what_was_deposited(api, rounds):
    driven = rounds.to("execution", deposit=400_000)

    balances = driven.balances()
    assert driven.winners == [driven.proposal_ids[0]]
    assert balances["reserved"] == rounds.COSTS[0] <= balances["deposited"] == 400_000


def test_a_tally_asking_for_more_than_was_deposited_cannot_be_confirmed(api, rounds, monkeypatch):
    # The tally counts within the money available, so only a faulty count could ask for more;
    # confirming must still refuse to reserve money the round does not have.
    count_round = service.application.count_round
    monkeypatch.setattr(
        service.application,
        "count_round",
        lambda *args, budget, **kwargs: count_round(*args, budget=budget * 10, **kwargs),
    )
    driven = rounds.to("tallied")
    assert len(driven.winners) == 3

    driven.refused(
        "POST",
        f"tallies/{driven.tally['tally_id']}/confirm",
        {},
        as_="second_official",
        status=422,
        message="the winners need €11,000.00 but only €10,000.00 is available",
    )
    assert {api.get(f"/proposals/{p}")["status"] for p in driven.proposal_ids} == {"admitted"}


def test_the_official_who_recorded_the_tally_may_not_confirm_it(api, rounds):
    driven = rounds.to("tallied")  # recorded by "official"

    driven.refused(
        "POST",
        f"tallies/{driven.tally['tally_id']}/confirm",
        {},
        status=403,
        message="a different official than the one who recorded the tally must confirm it",
    )
    assert driven.get(as_="official")["phase"] == "decided"


def test_only_the_latest_recorded_tally_can_be_confirmed(api, rounds):
    driven = rounds.to("tallied")
    latest = driven.post("tallies", status=201)

    driven.refused(
        "POST",
        f"tallies/{driven.tally['tally_id']}/confirm",
        {},
        status=409,
        message="only the latest tally",
    )
    driven.refused("POST", f"tallies/{uuid.uuid4()}/confirm", {}, status=404, message="not found")
    assert [t["tally_id"] for t in driven.get("tallies")] == [
        driven.tally["tally_id"],
        latest["tally_id"],
    ]


def test_a_closed_round_returns_what_was_not_paid_and_takes_no_more_money(api, rounds):
    driven = rounds.to("closed")

    balances = driven.balances()
    assert balances == {
        "phase": "closed",
        "deposited": rounds.DEPOSIT,
        "reserved": 0,
        "pending": 0,
        "paid": 0,
        "returned": rounds.DEPOSIT,
        "available": 0,
    }
    driven.refused(
        "POST",
        "deposits",
        {"amount": 100, "source": "Gemeente"},
        status=409,
        message="cannot deposit funds while the round is in phase 'closed'",
    )
    driven.refused(
        "PATCH", "settings", {"schedule": {"closed": "2030-01-01"}}, status=409,
        message="cannot change the settings",
    )


def test_unknown_and_malformed_round_ids_are_not_found(api):
    for round_id in (uuid.uuid4(), "round-1"):
        for path in ("", *ROUND_LISTS):
            api.refused("GET", f"/rounds/{round_id}{path}", status=404, message="not found")
        api.refused(
            "POST",
            f"/rounds/{round_id}/deposits",
            {"amount": 100, "source": "Gemeente"},
            as_="official",
            status=404,
            message="not found",
        )
        api.refused("POST", f"/rounds/{round_id}/close-submissions", {}, as_="official", status=404)


def test_a_round_id_in_capitals_reads_the_same_round(api, rounds):
    driven = rounds.to("tallied")
    capitals = f"/rounds/{driven.round_id.upper()}"

    for path in ("", *ROUND_LISTS):
        assert api.get(f"{capitals}{path}") == api.get(f"{driven.url}{path}"), path


def test_a_round_as_of_before_a_deposit_shows_the_earlier_balance(api, rounds):
    driven = rounds.to("submission", deposit=0, costs=())
    driven.post("deposits", {"amount": 750_000, "source": "Gemeente"}, status=201)
    position_of_first = api.get("/audit/checkpoints")["tree_size"] - 1
    between = datetime.now(timezone.utc).isoformat()
    now = driven.post("deposits", {"amount": 250_000, "source": "Woningcorporatie"}, status=201)

    by_position = api.get(f"/rounds/{driven.round_id}?as_of_position={position_of_first}")
    by_moment = api.get(f"/rounds/{driven.round_id}?{urlencode({'as_of': between})}")

    assert now["deposited"] == 1_000_000
    for then in (by_position, by_moment):
        assert (then["deposited"], then["available"], then["phase"]) == (750_000, 750_000, "submission")
        assert then["version"] < now["version"]
    assert {**by_position, "as_of": None} == {**by_moment, "as_of": None}
    # The log's first event created the municipality, before the round was opened.
    api.refused("GET", f"/rounds/{driven.round_id}?as_of_position=0", status=404)
    before_it_existed = urlencode({"as_of": "2000-01-01T00:00:00+00:00"})
    api.refused("GET", f"/rounds/{driven.round_id}?{before_it_existed}", status=404)
    api.refused("GET", f"/rounds/{driven.round_id}?as_of_position=999999", status=404)
    api.refused("GET", f"/rounds/{driven.round_id}?as_of=yesterday", status=400, message="as_of")
    api.refused("GET", f"/rounds/{driven.round_id}?at=1", status=400)


def test_as_of_and_as_of_position_together_answer_at_the_earlier_bound(api, rounds):
    driven = rounds.to("submission", deposit=0, costs=())
    driven.post("deposits", {"amount": 750_000, "source": "Gemeente"}, status=201)
    position_of_first = api.get("/audit/checkpoints")["tree_size"] - 1
    between = datetime.now(timezone.utc).isoformat()
    driven.post("deposits", {"amount": 250_000, "source": "Woningcorporatie"}, status=201)
    last = api.get("/audit/checkpoints")["tree_size"] - 1
    now = datetime.now(timezone.utc).isoformat()

    moment_first = api.get(f"/rounds/{driven.round_id}?{urlencode({'as_of': between})}"
                           f"&as_of_position={last}")
    position_first = api.get(f"/rounds/{driven.round_id}?{urlencode({'as_of': now})}"
                             f"&as_of_position={position_of_first}")
    both_late = api.get(f"/rounds/{driven.round_id}?{urlencode({'as_of': now})}"
                        f"&as_of_position={last}")

    assert moment_first["deposited"] == position_first["deposited"] == 750_000
    assert moment_first["as_of"] == datetime.fromisoformat(between).isoformat()
    assert both_late["deposited"] == 1_000_000
    for suffix in ("", "/proposals", "/payouts", "/results"):
        api.refused("GET", f"/rounds/{driven.round_id}{suffix}?"
                    f"{urlencode({'as_of': now})}&as_of_position={10**9}", status=404)


def test_the_results_as_of_before_the_confirmation_show_the_tally_unconfirmed(api, rounds):
    driven = rounds.to("tallied")
    tallied_at = api.get("/audit/checkpoints")["tree_size"] - 1
    driven.post(f"tallies/{driven.tally['tally_id']}/confirm", as_="second_official")
    now = driven.get("results")

    then = driven.get(f"results?as_of_position={tallied_at}")

    assert (then["confirmed"], now["confirmed"]) == (False, True)
    assert then["tally"]["tally_id"] == now["tally"]["tally_id"] == driven.tally["tally_id"]
    assert then["tally"]["result"] == now["tally"]["result"]
    assert [(p["proposal_id"], p["winner"], p["score"], p["cost"]) for p in then["proposals"]] == [
        (p["proposal_id"], p["winner"], p["score"], p["cost"]) for p in now["proposals"]
    ]
    assert [p["status"] for p in then["proposals"]] == ["admitted"] * 3
    assert [p["status"] for p in now["proposals"]] == ["funded", "funded", "not_selected"]
    opened = driven.get(f"results?as_of_position={tallied_at - 1}")  # the event before the tally
    assert opened["tally"] is None and opened["confirmed"] is False
    driven.refused("GET", "results?as_of=soon", status=400, message="as_of")
