"""A read model whose table shapes changed between releases is rebuilt when the service starts.

An operator upgrades and starts the service; no `projections rebuild` by hand. A read model
whose tables have the code's shapes keeps its rows and position; workers starting together
rebuild once.
"""
from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from projections.ballots import turnout, vote_counts
from projections.places import PlacesProjection, municipalities
from projections.tracking import schemas
from service.runtime import Runtime
from tests.integration.conftest import drive_round, race

MARK = "Amsterdam (row written before the restart)"


def counts(runtime: Runtime, round_id: str) -> tuple[int, dict[str, tuple[int, int]]]:
    with runtime.reading() as conn:
        return turnout(conn, round_id), vote_counts(conn, round_id)


def a_decided_round(settings: dict[str, Any]) -> tuple[str, Any, dict[str, int]]:
    """A round with counted ballots; the places read model's row marked to show it is kept."""
    runtime = Runtime(settings, create_tables=True)
    try:
        round_id = str(drive_round(runtime.application, "decided").round_id)
        expected = counts(runtime, round_id)
        with runtime.engine.begin() as conn:
            conn.execute(sa.update(municipalities).values(name=MARK))
        positions = runtime.projector.positions()
    finally:
        runtime.close()
    return round_id, expected, positions


def table_names(runtime: Runtime) -> set[str]:
    return set(sa.inspect(runtime.engine).get_table_names())


def ballot_columns(runtime: Runtime) -> set[str]:
    return {column["name"] for column in sa.inspect(runtime.engine).get_columns("rm_ballots")}


def marked(runtime: Runtime) -> bool:
    with runtime.engine.connect() as conn:
        return conn.execute(sa.select(municipalities.c.name)).scalar_one() == MARK


def test_a_ballots_read_model_from_before_recorded_shapes_is_rebuilt_at_start(
    settings: dict[str, Any],
) -> None:
    round_id, expected, positions = a_decided_round(settings)
    # As an earlier release left it: no choices column, a table it has since given up, and no
    # recorded fingerprint.
    older = Runtime(settings)
    with older.engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE rm_ballots DROP COLUMN choices"))
        conn.execute(sa.text("CREATE TABLE rm_ballot_choices (ballot_id TEXT, proposal_id TEXT)"))
        conn.execute(sa.delete(schemas).where(schemas.c.name == "ballots"))
    older.close()

    restarted = Runtime(settings)
    try:
        assert restarted.rebuilt_read_models == ["ballots"]
        assert "choices" in ballot_columns(restarted)
        assert "rm_ballot_choices" not in table_names(restarted)
        assert counts(restarted, round_id) == expected
        # The places read model had the code's shapes: its rows and position were kept.
        assert marked(restarted)
        assert restarted.projector.positions()["places"] == positions["places"]
    finally:
        restarted.close()


def test_a_recorded_older_fingerprint_rebuilds_and_drops_only_the_tables_recorded_with_it(
    settings: dict[str, Any],
) -> None:
    round_id, expected, _positions = a_decided_round(settings)
    older = Runtime(settings)
    with older.engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE rm_ballots DROP COLUMN nonce"))
        conn.execute(sa.text("CREATE TABLE rm_ballot_extras (round_id TEXT)"))
        conn.execute(sa.text("CREATE TABLE operator_notes (note TEXT)"))
        conn.execute(
            sa.update(schemas).where(schemas.c.name == "ballots")
            .values(fingerprint="older", tables=["rm_ballot_extras", "rm_ballots"])
        )
    older.close()

    restarted = Runtime(settings)
    try:
        assert restarted.rebuilt_read_models == ["ballots"]
        assert "nonce" in ballot_columns(restarted)
        assert "rm_ballot_extras" not in table_names(restarted)
        assert "operator_notes" in table_names(restarted)  # never the read model's: left alone
        assert counts(restarted, round_id) == expected
    finally:
        restarted.close()


def test_read_models_of_unchanged_shapes_are_not_rebuilt_at_start(settings: dict[str, Any]) -> None:
    _round_id, _expected, positions = a_decided_round(settings)
    restarted = Runtime(settings)
    try:
        assert restarted.rebuilt_read_models == []
        assert restarted.projector.positions() == positions
        assert marked(restarted)
    finally:
        restarted.close()


def test_missing_tables_are_created_at_start(settings: dict[str, Any]) -> None:
    round_id, expected, _positions = a_decided_round(settings)
    older = Runtime(settings)
    with older.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE personal_data_keys"))
        conn.execute(sa.text("DROP TABLE rm_vote_counts"))
    older.close()

    restarted = Runtime(settings)
    try:
        assert {"personal_data_keys", "rm_vote_counts"} <= table_names(restarted)
        assert restarted.rebuilt_read_models == ["ballots"]
        assert counts(restarted, round_id) == expected
    finally:
        restarted.close()


def test_workers_starting_together_rebuild_once(settings: dict[str, Any]) -> None:
    round_id, expected, _positions = a_decided_round(settings)
    older = Runtime(settings)
    with older.engine.begin() as conn:
        conn.execute(
            sa.update(schemas).where(schemas.c.name == "ballots").values(fingerprint="older")
        )
    older.close()

    outcomes = race(lambda: Runtime(settings), lambda: Runtime(settings), lambda: Runtime(settings))
    started = [outcome.value for outcome in outcomes if outcome.error is None]
    try:
        assert [outcome.error for outcome in outcomes] == [None, None, None]
        assert sorted(runtime.rebuilt_read_models for runtime in started) == [[], [], ["ballots"]]
        for runtime in started:
            assert counts(runtime, round_id) == expected
    finally:
        for runtime in started:
            runtime.close()


def test_a_read_model_whose_version_was_raised_is_rebuilt_at_start(
    settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
) -> None:
    a_decided_round(settings)
    monkeypatch.setattr(PlacesProjection, "version", PlacesProjection.version + 1)
    restarted = Runtime(settings)
    try:
        assert restarted.rebuilt_read_models == ["places"]
        assert not marked(restarted)  # the row was written again from the log
    finally:
        restarted.close()
