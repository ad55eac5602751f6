"""Property: after any history of money commands, the read models show the round's own balances.

The money commands are those of tests/unit/test_money_properties.py; at the end of each history
its stored events are projected into the rounds and proposals read models, which must hold what
the round aggregate holds, on every backend.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from projections.proposals import ProposalsProjection, get_proposal
from projections.rounds import RoundsProjection, balance_of, get_round
from projections.tracking import Projector
from service.runtime import Runtime
from tests.unit.conftest import RoundStory
from tests.unit.test_money_properties import MoneyCommands


class MoneyIntoReadModels(MoneyCommands):
    def __init__(self, story: RoundStory, engine: sa.Engine) -> None:
        super().__init__(story)
        self.app.save(*(event for name in story.proposals for event in story.history(name)))
        self.engine = engine

    def teardown(self) -> None:
        projector = Projector(
            self.engine, self.app.recorder, self.app.mapper,
            [RoundsProjection(), ProposalsProjection()],
        )
        projector.rebuild()
        assert projector.failures() == {}
        with self.engine.connect() as conn:
            row: Any = get_round(conn, str(self.round.id))
            proposals = {pid: get_proposal(conn, pid) for pid in self.round.winner_balances}
        assert balance_of(row) == self.round.balance
        assert row["available"] == self.round.available
        for proposal_id, balance in self.round.winner_balances.items():
            shown = proposals[proposal_id]
            assert (shown["pending_amount"], shown["paid_amount"]) == (balance.pending, balance.paid)


def test_read_models_show_the_balances_the_round_decides_with(runtime: Runtime) -> None:
    story = RoundStory().advance_to("execution")
    run_state_machine_as_test(
        lambda: MoneyIntoReadModels(story, runtime.engine),
        settings=settings(max_examples=15, stateful_step_count=30, deadline=None, database=None),
    )
