"""Time travel: a round's balances as of any moment equal a fresh replay of its log up to then."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner

from domain.errors import NotFound
from service.audit_verify import round_balances
from service.cli import cli
from service.principal import PUBLIC
from service.queries.as_of import all_round_balances_as_of, round_balances_as_of
from tests.conftest import cli_environment
from tests.integration.conftest import drive_round


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
