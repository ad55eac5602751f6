"""Paper ballots: entered in batches by one official, counted only once a second one confirms."""
from __future__ import annotations

import pytest

from domain.errors import Conflict, Forbidden, RuleViolation
from service.principal import PUBLIC
from service.queries import voting
from tests.integration.conftest import OFFICIAL, SECOND_OFFICIAL


@pytest.fixture
def papers(round_in):
    driven = round_in("voting", codes=4)
    return driven, [
        {"code": driven.codes[0], "choices": driven.choices("playground")},
        {"serial": "P-0001", "choices": driven.choices("playground", "benches")},
        {"serial": "P-0002", "choices": driven.choices("mural")},
    ]


def test_a_batch_counts_only_once_a_second_official_confirms_it(papers, runtime):
    driven, ballots = papers
    app, rid = driven.app, driven.round_id
    batch_id = app.enter_paper_ballots(rid, ballots, actor=OFFICIAL)
    assert app.final_ballots(rid) == {}
    with pytest.raises(Forbidden, match="another official"):
        app.confirm_paper_ballots(rid, batch_id, actor=OFFICIAL)
    assert app.confirm_paper_ballots(rid, batch_id, actor=SECOND_OFFICIAL) == 3
    with pytest.raises(Conflict, match="already confirmed"):
        app.confirm_paper_ballots(rid, batch_id, actor=SECOND_OFFICIAL)
    app.cast_ballot(rid, code=driven.codes[1], choices=driven.choices("benches"))
    app.close_voting(rid, actor=OFFICIAL)
    counted = sorted(sorted(c.choices) for c in app.final_ballots(rid).values())
    assert counted == sorted(sorted(b["choices"]) for b in [
        *ballots, {"choices": driven.choices("benches")}])
    tally = app.run_tally(rid, actor=OFFICIAL)
    assert tally["ballots_counted"] == 4
    assert voting.turnout(runtime, PUBLIC, str(rid))["voted"] == 4
    assert app.get_round(rid).paper_ballots == 3


def test_a_code_or_serial_is_used_once(papers):
    driven, ballots = papers
    app, rid = driven.app, driven.round_id
    batch_id = app.enter_paper_ballots(rid, ballots, actor=OFFICIAL)
    app.confirm_paper_ballots(rid, batch_id, actor=SECOND_OFFICIAL)
    with pytest.raises(Conflict, match="ballot 1: this code has already voted"):
        app.enter_paper_ballots(rid, ballots[:1], actor=OFFICIAL)
    with pytest.raises(Conflict, match="ballot 1: this paper-ballot serial was counted before"):
        app.enter_paper_ballots(rid, ballots[1:2], actor=OFFICIAL)
    with pytest.raises(Forbidden):  # the code voted on paper cannot vote online
        app.cast_ballot(rid, code=driven.codes[0], choices=driven.choices("mural"))


def test_a_bad_batch_names_the_ballot_and_records_nothing(papers):
    driven, ballots = papers
    app, rid = driven.app, driven.round_id
    head = app.recorder.max_notification_id()
    with pytest.raises(RuleViolation, match="ballot 2"):
        app.enter_paper_ballots(rid, [ballots[0], {"serial": "P-9", "choices": {"nope": 1}}],
                                actor=OFFICIAL)
    with pytest.raises(RuleViolation, match="ballot 2: the same code or serial twice"):
        app.enter_paper_ballots(rid, [ballots[1], ballots[1]], actor=OFFICIAL)
    with pytest.raises(RuleViolation, match="not issued"):
        app.enter_paper_ballots(rid, [{"code": "AAAA-BBBB-CCCC", "choices": ballots[0]["choices"]}],
                                actor=OFFICIAL)
    assert app.recorder.max_notification_id() == head


def test_a_discarded_batch_never_counts_and_its_codes_stay_unused(papers):
    driven, ballots = papers
    app, rid = driven.app, driven.round_id
    batch_id = app.enter_paper_ballots(rid, ballots, actor=OFFICIAL)
    app.discard_paper_ballots(rid, batch_id, reason="typed the wrong stack", actor=OFFICIAL)
    with pytest.raises(Conflict, match="already discarded"):
        app.confirm_paper_ballots(rid, batch_id, actor=SECOND_OFFICIAL)
    again = app.enter_paper_ballots(rid, ballots, actor=OFFICIAL)
    app.confirm_paper_ballots(rid, again, actor=SECOND_OFFICIAL)
    assert len(app.final_ballots(rid)) == 3


def test_a_batch_is_not_confirmed_after_voting_closed(papers):
    driven, ballots = papers
    app, rid = driven.app, driven.round_id
    batch_id = app.enter_paper_ballots(rid, ballots, actor=OFFICIAL)
    app.close_voting(rid, actor=OFFICIAL)
    with pytest.raises(Conflict, match="voting is not open"):
        app.confirm_paper_ballots(rid, batch_id, actor=SECOND_OFFICIAL)
    assert app.final_ballots(rid) == {}
