"""A realistic audit export of any size, written by running the domain's own commands in memory.

Rounds go from opening to closing: a deposit, ten proposals, every voter's ballot (one in ten cast
again), the count of the final ballots recorded and confirmed, a payout per winner, completion and
closing; checkpoints are signed at each phase change, tally and payment, as the service does. The
lines are those `service.audit_export` writes, so `audit verify` checks the file as it would an
export of a real store.
"""
from __future__ import annotations

import functools
import json
import random
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain.ballot import Ballot, CountedBallot
from domain.budget_round import BudgetRound
from domain.canonical_event import FORMAT as CANONICAL_EVENT_FORMAT
from domain.canonical_event import canonical_document, canonical_json
from domain.merkle_log import MerkleFrontier, leaf_hash
from domain.municipality import Municipality
from domain.neighbourhood import Neighbourhood
from domain.proposal import Proposal
from domain.round_result import count_round
from service.audit_export import FORMAT
from service.audit_verify import event_mapper
from service.checkpoints import CheckpointSigner
from service.personal_data_keys import PersonalDataKeys
from service.signed_note import public_key_pem


@functools.cache
def personal_data() -> PersonalDataKeys:
    """Personal data is sealed as the service seals it, with keys kept in memory."""
    return PersonalDataKeys.in_memory(b"generator")

# Four eyes: one official requests, another approves, a third marks paid.
OFFICIAL, SECOND, THIRD = "official:anna", "official:bram", "official:carla"
PROPOSALS = 10
EVENTS_PER_VOTER = 2.1  # issued, cast, and one in ten cast again


class ExportWriter:
    def __init__(self, path: Path, signer: CheckpointSigner) -> None:
        self.path, self.signer = path, signer
        self.mapper = event_mapper()
        self.frontier = MerkleFrontier()
        self.checkpoints: list[dict[str, Any]] = []
        self.body = tempfile.NamedTemporaryFile("wb", delete=False, dir=path.parent)

    def emit(self, *aggregates: Any) -> None:
        for aggregate in aggregates:
            for event in aggregate.collect_events():
                stored = self.mapper.to_stored_event(event)
                state = json.loads(stored.state)
                document = canonical_document(
                    stored.topic, stored.originator_id, stored.originator_version, state
                )
                leaf = leaf_hash(canonical_json(document))
                position = self.frontier.size
                self.frontier.append(leaf)
                self.body.write(canonical_json({
                    "kind": "event", "position": position, "notification_id": position + 1,
                    "leaf_hash": leaf.hex(), "event": document,
                }) + b"\n")

    def checkpoint(self, reason: str) -> None:
        row = self.signer.checkpoint(self.frontier.size, self.frontier.root(), reason)
        row["id"] = len(self.checkpoints) + 1
        row["root_hash"] = row["root_hash"].hex()
        self.checkpoints.append({"kind": "checkpoint", **row, "cosignatures": []})

    def close(self) -> None:
        self.body.close()
        with self.path.open("wb") as out:
            out.write(canonical_json({
                "kind": "header", "format": FORMAT, "canonical_event": CANONICAL_EVENT_FORMAT,
                "software_version": "benchmark", "log_name": self.signer.name,
                "verifier_key": self.signer.verifier_key,
                "public_key_pem": public_key_pem(self.signer.public_key),
                "exported_at": "2026-01-01T00:00:00+00:00", "tree_size": self.frontier.size,
                "sealed_rounds": [],
            }) + b"\n")
            for row in self.checkpoints:
                out.write(canonical_json(row) + b"\n")
            with open(self.body.name, "rb") as body:
                shutil.copyfileobj(body, out)
            out.write(canonical_json({"kind": "end", "lines": self.frontier.size}) + b"\n")
        Path(self.body.name).unlink()


def write_export(path: Path, events: int, *, rounds: int = 10, seed: int = 7) -> CheckpointSigner:
    """Write an export of about `events` events; returns the signer whose key verifies it."""
    signer = CheckpointSigner("benchmark.local/audit-log", Ed25519PrivateKey.generate())
    out = ExportWriter(path, signer)
    rng = random.Random(seed)
    municipality = Municipality.register(name="Amsterdam", cbs_code="GM0363", actor=OFFICIAL)
    out.emit(municipality)
    voters = max(1, int(events / rounds / EVENTS_PER_VOTER))
    for number in range(rounds):
        play_round(out, rng, municipality, number, voters)
    out.close()
    return signer


def play_round(out: ExportWriter, rng: random.Random, municipality: Municipality, number: int,
               voters: int) -> None:
    neighbourhood = Neighbourhood.register(
        municipality=municipality, name=f"Buurt {number}", cbs_code=None, actor=OFFICIAL
    )
    budget_round = BudgetRound.open(
        municipality_id=municipality.id, neighbourhood_id=neighbourhood.id,
        title=f"Buurtbudget {number}", description="", schedule=None,
        voting={"method": "approval", "min_choices": 1, "max_choices": 3},
        lot_seed=f"round-{number}", actor=OFFICIAL,
    )
    budget_round.deposit(deposit_id=str(uuid.uuid4()), amount=100_000_00, source="Gemeente",
                         reference="", actor=OFFICIAL)
    proposals = [
        Proposal.submit(
            budget_round=budget_round, title=f"Plan {p}", summary="For the street",
            description="", category="green",
            cost_lines=[{"description": "work", "amount": rng.randrange(5_000_00, 40_000_00)}],
            proposer_name="Resident", proposer_email="resident@example.org",
            proposer_key_hash=f"key-{number}-{p}", personal_data=personal_data(),
        )
        for p in range(PROPOSALS)
    ]
    out.emit(neighbourhood, budget_round, *proposals)
    budget_round.close_submissions(actor=OFFICIAL)
    out.emit(budget_round)
    out.checkpoint("submissions closed")
    for proposal in proposals:
        proposal.admit(budget_round=budget_round, amount=None, note="", actor=OFFICIAL)
    budget_round.open_voting(actor=OFFICIAL)
    for batch in range(0, voters, 20_000):  # the domain's largest batch of codes
        budget_round.issue_codes(batch_id=str(uuid.uuid4()), count=min(20_000, voters - batch),
                                 actor=OFFICIAL)
    out.emit(*proposals, budget_round)
    out.checkpoint("voting opened")
    ids = [str(p.id) for p in proposals]
    popularity = [rng.random() for _ in ids]
    final: dict[uuid.UUID, CountedBallot] = {}
    for voter in range(voters):
        ballot = Ballot.issue(round_id=budget_round.id, code_hash=f"code-{number}-{voter}")
        for _ in range(2 if rng.random() < 0.1 else 1):
            chosen = rng.choices(ids, weights=popularity, k=3)
            receipt = ballot.cast(budget_round=budget_round, choices={pid: 1 for pid in chosen},
                                  nonce=f"{rng.getrandbits(128):032x}")
        final[ballot.id] = CountedBallot(ballot.version, dict(ballot.choices or {}), receipt)
        out.emit(ballot)
    budget_round.close_voting(actor=OFFICIAL)
    out.emit(budget_round)
    out.checkpoint("voting closed")
    result = count_round(budget_round, final, budget=budget_round.available,
                         software_version="benchmark")
    budget_round.record_tally(tally_id="tally-1", result=result, actor=OFFICIAL)
    out.emit(budget_round)
    out.checkpoint("tally recorded")
    budget_round.confirm_tally(tally_id="tally-1", actor=SECOND)
    out.emit(budget_round)
    out.checkpoint("tally confirmed")
    for winner in result["winners"]:
        payout_id = f"payout-{uuid.uuid4()}"
        budget_round.request_payout(
            payout_id=payout_id, proposal_id=winner["proposal_id"], amount=winner["cost"] // 2,
            payee_name="Aannemer BV", iban="NL91ABNA0417164300", kind="invoice",
            reference="F-1", description="", actor=OFFICIAL, personal_data=personal_data(),
        )
        budget_round.approve_payout(payout_id=payout_id, actor=SECOND)
        budget_round.mark_payout_paid(payout_id=payout_id, bank_reference="BANK", actor=THIRD)
        out.emit(budget_round)
        out.checkpoint("payout paid")
        budget_round.release_unspent(proposal_id=winner["proposal_id"], actor=OFFICIAL)
    budget_round.close(destination="Algemene middelen", actor=OFFICIAL)
    out.emit(budget_round)
    out.checkpoint("round closed")
