"""The query layer without HTTP, as pages and the command line call it: the rules per principal."""
from __future__ import annotations

import pytest

from domain.errors import Forbidden
from service.principal import PUBLIC, Principal, Unauthorized
from service.queries import audit, payouts, proposals, voting
from tests.integration.conftest import PROPOSALS

ANNA = Principal("anna", "official")
CARLA = Principal("carla", "auditor")
DIRK = Principal("dirk", "admin")


def test_personal_data_and_unfinished_proposals_are_for_officials_and_auditors(runtime, round_in):
    driven = round_in("execution")
    payout_id = driven.pay("playground", 1_000_00)
    runtime.application.request_payout(
        driven.round_id, actor="official:anna", **driven.payout_fields("benches", 500_00)
    )
    rid = str(driven.round_id)

    for principal in (ANNA, CARLA):
        listed = proposals.list_proposals(runtime, principal, rid)
        assert all(p["proposer_email"] == "fatima@example.org" for p in listed)
        assert {p["status"] for p in payouts.list_payouts(runtime, principal, rid)} == {
            "paid", "requested"
        }
    for principal in (PUBLIC, DIRK):
        listed = proposals.list_proposals(runtime, principal, rid)
        assert listed and not any("proposer_email" in p for p in listed)
        seen = payouts.list_payouts(runtime, principal, rid)
        assert [(p["payout_id"], "iban" in p) for p in seen] == [(payout_id, False)]


def test_anyone_sees_why_a_proposal_was_rejected_but_not_who_proposed_it(runtime, round_in):
    driven = round_in("review")
    app = runtime.application
    app.reject_proposal(driven.proposals["benches"], reason="Outside the rules.", actor="official:anna")
    rid = str(driven.round_id)

    for principal in (PUBLIC, DIRK):
        assert proposals.list_rejected(runtime, principal, rid) == [{
            "proposal_id": str(driven.proposals["benches"]), "round_id": rid, "title": "Benches",
            "summary": "A benches for the neighbourhood", "requested_amount": PROPOSALS["benches"],
            "status": "rejected", "rejection_reason": "Outside the rules.",
        }]
    for principal in (ANNA, CARLA):
        [seen] = proposals.list_rejected(runtime, principal, rid)
        assert seen["proposer_email"] == "fatima@example.org"


def test_a_resident_reads_their_own_ballot_with_the_code_and_nobody_else_can(runtime, round_in):
    driven = round_in("decided")
    rid = str(driven.round_id)

    own = voting.get_own_ballot(runtime, Principal.resident(driven.codes[0]), rid)

    assert own["choices"] == driven.choices("playground", "benches")
    for principal in (PUBLIC, ANNA, CARLA, DIRK):
        with pytest.raises(Unauthorized, match="this needs a voting code"):
            voting.get_own_ballot(runtime, principal, rid)
    with pytest.raises(Forbidden, match="not valid for this round"):
        voting.get_own_ballot(runtime, Principal.resident("AAAA-BBBB-CCCC"), rid)


def test_audit_trails_and_the_event_log_ask_for_the_role(runtime, round_in):
    driven = round_in("review")
    rid = str(driven.round_id)

    trail = audit.round_audit_trail(runtime, ANNA, rid)
    assert trail and trail == audit.round_audit_trail(runtime, CARLA, rid)
    assert audit.event_log(runtime, CARLA, limit=1)["events"]
    with pytest.raises(Unauthorized):
        audit.round_audit_trail(runtime, PUBLIC, rid)
    with pytest.raises(Forbidden):
        audit.round_audit_trail(runtime, DIRK, rid)
    with pytest.raises(Forbidden):
        audit.event_log(runtime, ANNA)
