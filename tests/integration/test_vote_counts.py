"""Votes per proposal and turnout, kept by the ballots read model batch by batch, equal a recount.

The read model moves its counts by each batch's casts (a replaced ballot takes its old choices
away and adds its new ones); whatever the ballots and however the batches fall, the counts must
be those of the final ballots the tally counts, and a rebuild must find the same rows.
"""
from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

import projections.tracking
from domain.errors import Conflict
from projections.ballots import ballot_boxes, ballots, turnout, vote_counts, vote_counts_table
from service.runtime import Runtime
from tests.integration.conftest import OFFICIAL, PROPOSALS, drive_round, dump_read_models

VOTERS = 5
POINTS = {"method": "cumulative", "points_total": 6, "min_choices": 1, "max_choices": 3}
BALLOT_TABLES = [ballots, ballot_boxes, vote_counts_table]

# A cast: which voter, the points they give to which proposals, and whether the read models
# catch up right after it.
CASTS = st.lists(
    st.tuples(
        st.integers(0, VOTERS - 1),
        st.dictionaries(st.sampled_from(sorted(PROPOSALS)), st.integers(1, 3), min_size=1,
                        max_size=2),
        st.booleans(),
    ),
    min_size=1, max_size=10,
)


def recount(runtime: Runtime, round_id: UUID) -> tuple[int, dict[str, tuple[int, int]]]:
    """Turnout and (ballots, points) per proposal, from the final ballots the tally counts."""
    final = runtime.application.final_ballots(round_id)
    counts: dict[str, tuple[int, int]] = {}
    for _version, choices in final.values():
        for proposal_id, points in choices.items():
            named, given_points = counts.get(proposal_id, (0, 0))
            counts[proposal_id] = (named + 1, given_points + points)
    return len(final), counts


def kept(runtime: Runtime, round_id: UUID) -> tuple[int, dict[str, tuple[int, int]]]:
    with runtime.reading() as conn:
        return turnout(conn, str(round_id)), vote_counts(conn, str(round_id))


@hypothesis_settings(max_examples=8, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(casts=CASTS, page=st.integers(1, 6), close_after=st.integers(0, 10))
def test_counts_kept_batch_by_batch_equal_a_recount_of_the_final_ballots(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, casts: list[Any], page: int,
    close_after: int,
) -> None:
    app = runtime.application
    driven = drive_round(app, "voting", codes=VOTERS, voting=POINTS)
    # Small pages put a ballot's versions, and the close of voting, in different batches.
    monkeypatch.setattr(projections.tracking, "BATCH_SIZE", page)
    for number, (voter, points, catch_up) in enumerate(casts):
        if number == close_after:
            app.close_voting(driven.round_id, actor=OFFICIAL)
        choices = {driven.pid(name): given_points for name, given_points in points.items()}
        if number >= close_after:
            with pytest.raises(Conflict):
                app.cast_ballot(driven.round_id, code=driven.codes[voter], choices=choices)
        else:
            app.cast_ballot(driven.round_id, code=driven.codes[voter], choices=choices)
        if catch_up:
            runtime.projector.catch_up()

    expected = recount(runtime, driven.round_id)
    assert expected[0] == len({voter for voter, _points, _catch_up in casts[:close_after]})
    assert kept(runtime, driven.round_id) == expected

    caught_up = dump_read_models(runtime.engine, BALLOT_TABLES)
    runtime.projector.rebuild(names=["ballots"])
    assert dump_read_models(runtime.engine, BALLOT_TABLES) == caught_up


def test_a_replaced_ballot_moves_its_votes_and_not_the_turnout(runtime: Runtime) -> None:
    app = runtime.application
    driven = drive_round(app, "voting", codes=2, voting=POINTS)
    playground, benches, mural = (driven.pid(name) for name in ("playground", "benches", "mural"))
    app.cast_ballot(driven.round_id, code=driven.codes[0], choices={playground: 4, benches: 2})
    app.cast_ballot(driven.round_id, code=driven.codes[1], choices={benches: 6})
    assert kept(runtime, driven.round_id) == (2, {playground: (1, 4), benches: (2, 8)})

    app.cast_ballot(driven.round_id, code=driven.codes[0], choices={mural: 5, benches: 1})
    assert kept(runtime, driven.round_id) == (2, {benches: (2, 7), mural: (1, 5)})

    app.cast_ballot(driven.round_id, code=driven.codes[1], choices={mural: 1})
    assert kept(runtime, driven.round_id) == (2, {benches: (1, 1), mural: (2, 6)})
    assert kept(runtime, driven.round_id) == recount(runtime, driven.round_id)
