"""`audit verify --against`: an export compared with what the running service publishes.

The service is the Flask application over the original database, asked through its test client
for exactly the public reads `--against` makes. The export comes either from that database or from
a copy that someone with write access changed without the signing key: a ballot deleted, the
recorded tally rewritten to match the remaining ballots, leaves and subtrees re-hashed, and the
checkpoints that no longer fit removed. Such a copy verifies clean on its own; compared with the
service, the checkpoint and every tally figure that moved are named.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from service.app import create_app
from service.audit_against import API, ServiceUnreachable, differences_with_service
from service.audit_export import export_lines
from service.audit_verify import Report, verify_export
from service.checkpoints import record_checkpoint
from service.extension import EXTENSION
from service.merkle_store import checkpoints, stored_root, tree_size
from service.runtime import Runtime
from tests.conftest import copy_of_database
from tests.integration.conftest import drive_round
from tests.integration.test_tamper_matrix import (
    StoredEvents,
    delete_a_ballot_rewrite_the_tally_and_rehash,
)


class ServedByTestClient:
    """The service's public reads through Flask's test client (the real app and database)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def get(self, path: str) -> Any:
        response = self.client.get(API + path)
        if response.status_code != 200:
            raise ServiceUnreachable(f"GET {path} answered {response.status_code}")
        return response.get_json()


@pytest.fixture
def service(settings: dict[str, Any]) -> Iterator[ServedByTestClient]:
    app = create_app(settings)
    try:
        yield ServedByTestClient(app.test_client())
    finally:
        app.extensions[EXTENSION].close()


@pytest.fixture
def paid_round(runtime: Runtime) -> Runtime:
    driven = drive_round(runtime.application, "execution")
    driven.pay("playground", 1_000_00)
    record_checkpoint(runtime.engine, runtime.checkpoint_signer, "before the copy")
    return runtime


def exported(runtime: Runtime) -> Report:
    return verify_export(export_lines(runtime),
                         public_key=runtime.checkpoint_signer.verifier_key)


def drop_checkpoints_that_no_longer_fit(runtime: Runtime) -> None:
    """What an intruder without the key does with signed roots they cannot sign again."""
    with runtime.engine.begin() as conn:
        size = tree_size(conn)
        for row in conn.execute(sa.select(checkpoints)).all():
            if row.tree_size > size or stored_root(conn, row.tree_size) != bytes(row.root_hash):
                conn.execute(checkpoints.delete().where(checkpoints.c.id == row.id))


def test_an_export_of_the_database_agrees_with_its_service(paid_round, service):
    report = exported(paid_round)
    assert report.ok and report.tallies_recounted == 1, report.text()
    assert differences_with_service(report, service) == []


def test_a_copy_with_a_ballot_deleted_and_the_tally_rewritten_is_caught_by_the_service(
    paid_round, settings, service, tmp_path
):
    honest = exported(paid_round)
    with copy_of_database(settings, tmp_path) as copied:
        intruder = Runtime(copied)
        try:
            delete_a_ballot_rewrite_the_tally_and_rehash(StoredEvents(intruder))
            drop_checkpoints_that_no_longer_fit(intruder)
            report = exported(intruder)
        finally:
            intruder.close()

    # On its own the copy is consistent: the ballots recount to the (rewritten) tally.
    assert report.ok, report.text()
    assert report.checkpoints_verified == report.checkpoints < honest.checkpoints
    (tally,) = report.tallies
    assert tally["recounted"] == tally["recorded"]
    assert tally["recorded"]["ballots_counted"] == honest.tallies[0]["recorded"][
        "ballots_counted"] - 1

    differences = differences_with_service(report, service)
    assert differences[0].startswith("checkpoint: "), differences
    name = f"tally {tally['tally_id']} of round {tally['round_id']}"
    published = [d for d in differences if d.startswith(f"{name}: the service publishes")]
    recounted = [d for d in differences
                 if d.startswith(f"{name}: the service's recount of its ballots gives")]
    assert len(published) == len(recounted) == 1, differences
    counted = honest.tallies[0]["recorded"]["ballots_counted"]
    assert f"ballots_counted {counted}" in published[0]
    assert "the export's ballots recount to ballot_digest" in published[0]
    assert f"ballots_counted {counted - 1}" in published[0]
    assert "ballots_counted" in recounted[0] and "scores" in recounted[0]


def test_what_the_service_cannot_answer_is_a_difference_and_the_rest_is_compared(
    paid_round, service
):
    report = exported(paid_round)
    report.tallies.append({**report.tallies[0], "tally_id": "not-a-tally-of-this-round"})
    report.balances[str(uuid.UUID(int=1))] = dict(next(iter(report.balances.values())))

    differences = differences_with_service(report, service)
    assert len(differences) == 2, differences
    assert differences[0].startswith(
        f"service: GET /rounds/{uuid.UUID(int=1)}?as_of_position=") and "404" in differences[0]
    assert "not-a-tally-of-this-round of round" in differences[1]
    assert "the service does not publish it" in differences[1]
