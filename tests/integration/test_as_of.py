"""Time travel: a round's balances as of any moment equal a fresh replay of its log up to then."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from domain.errors import NotFound
from service.audit_verify import round_balances
from service.cli import cli
from service.principal import PUBLIC
from service.queries.as_of import all_round_balances_as_of, round_as_of, round_balances_as_of
from tests.conftest import cli_environment
from tests.integration.conftest import OFFICIAL, WINNERS, drive_round


def test_the_balances_as_of_each_event_are_those_of_a_replay_up_to_it(runtime, settings):
    app = runtime.application
    driven = drive_round(app, "execution")
    driven.pay("playground", 1_000_00)
    driven.pay("benches", 500_00)
    round_id = str(driven.round_id)
    events = [app.mapper.to_domain_event(s) for s in app.recorder.select_events(driven.round_id)]
    replayed = None
    for event in events:
        replayed = event.mutate(replayed)
        as_of = round_balances_as_of(runtime, PUBLIC, round_id, event.timestamp)
        assert as_of["version"] == event.originator_version
        assert {k: as_of[k] for k in round_balances(replayed)} == round_balances(replayed)
    with pytest.raises(NotFound):
        round_balances_as_of(runtime, PUBLIC, round_id, events[0].timestamp - timedelta(seconds=1))
    assert all_round_balances_as_of(runtime, PUBLIC, events[0].timestamp - timedelta(seconds=1)) == []

    paid_first = next(e for e in events if type(e).__name__ == "PayoutPaid")
    output = CliRunner().invoke(cli, [
        "audit", "as-of", paid_first.timestamp.isoformat(), "--round", round_id,
        "--json"], env=cli_environment(settings))
    assert output.exit_code == 0, output.output
    (answer,) = json.loads(output.output)
    assert (answer["paid"], answer["deposited"], answer["phase"]) == (1_000_00, 5_000_00, "execution")


# A step after the tally: a deposit, or a payout to a winner (six of the largest fit its reservation).
STEPS = st.lists(
    st.tuples(st.sampled_from(("deposit",) + WINNERS), st.integers(min_value=1, max_value=250_00)),
    max_size=6,
)


@hypothesis_settings(max_examples=6, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
def test_for_random_histories_the_round_as_of_each_event_is_a_replay_up_to_it(runtime, steps):
    app = runtime.application
    driven = drive_round(app, "execution")
    for step, amount in steps:
        if step == "deposit":
            app.deposit(driven.round_id, amount=amount, source="Fonds", reference="", actor=OFFICIAL)
        else:
            driven.pay(step, amount)
    round_id = str(driven.round_id)
    replayed = None
    for stored in app.recorder.select_events(driven.round_id):
        event = app.mapper.to_domain_event(stored)
        replayed = event.mutate(replayed)
        then = round_as_of(runtime, PUBLIC, round_id, event.timestamp)
        assert (then["version"], then["phase"]) == (event.originator_version, replayed.phase)
        assert {k: then[k] for k in round_balances(replayed)} == round_balances(replayed)
