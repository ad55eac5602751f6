"""Stored events are a public contract: their topics, fields and versions are pinned here.

A failure here means a stored event's topic, fields or version changed, or an event was added
without being listed. Stored events are forever: instead of changing one, give it the next
`class_version` with an upcaster, then update the pin below and docs/events.md together.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import json
import pkgutil
import re
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.domain import Aggregate, ProgrammingError, event
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    UUIDAsHex,
)
from eventsourcing.utils import get_topic, resolve_topic

import domain
from domain.ballot import Ballot
from domain.budget_round import BudgetRound
from domain.event_topics import stored_event_classes, stored_topics, topics_of
from domain.municipality import Municipality
from domain.neighbourhood import Neighbourhood
from domain.paper_ballots import PaperBatch
from domain.personal_data import PersonalDataErasure
from domain.proposal import Proposal
from domain.voter import Voter
from tests.unit.given_when_then import replay

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events.md"
AGGREGATES = (Municipality, Neighbourhood, BudgetRound, Proposal, Ballot, Voter, PaperBatch,
              PersonalDataErasure)
# Fields the library stores with every event (and, in an aggregate's first event, its topic).
ENVELOPE = ("originator_id", "originator_version", "timestamp", "originator_topic")

AGGREGATE_TOPICS = {
    "buurtbudget/Municipality": Municipality,
    "buurtbudget/Neighbourhood": Neighbourhood,
    "buurtbudget/BudgetRound": BudgetRound,
    "buurtbudget/Proposal": Proposal,
    "buurtbudget/Ballot": Ballot,
    "buurtbudget/Voter": Voter,
    "buurtbudget/PaperBatch": PaperBatch,
    "buurtbudget/PersonalDataErasure": PersonalDataErasure,
}

# topic -> (class_version, fields in stored order as "name: type")
STORED_EVENTS: dict[str, tuple[int, tuple[str, ...]]] = {
    "buurtbudget/Municipality.Registered": (1, ("name: str", "cbs_code: str | None", "actor: str")),
    "buurtbudget/BudgetRound.TaskFieldSet": (1, ("task_field: str", "actor: str")),
    "buurtbudget/Municipality.PayingAccountSet": (1, ("name: str", "iban: str", "actor: str")),
    "buurtbudget/Neighbourhood.Registered": (
        1, ("municipality_id: UUID", "name: str", "cbs_code: str | None", "actor: str"),
    ),
    "buurtbudget/BudgetRound.Opened": (1, (
        "municipality_id: UUID", "neighbourhood_id: UUID", "title: str", "description: str",
        "schedule: dict[str, str]", "voting: dict[str, Any]", "lot_seed: str", "actor: str",
    )),
    "buurtbudget/BudgetRound.SettingsChanged": (
        1, ("schedule: dict[str, str]", "voting: dict[str, Any]", "actor: str"),
    ),
    "buurtbudget/BudgetRound.FundsDeposited": (
        1, ("deposit_id: str", "amount: int", "source: str", "reference: str", "actor: str"),
    ),
    "buurtbudget/BudgetRound.ProposalReceived": (
        1, ("proposal_id: UUID", "amount: int", "actor: str"),
    ),
    "buurtbudget/BudgetRound.ProposalReviewed": (
        1, ("proposal_id: UUID", "status: str", "amount: int"),
    ),
    "buurtbudget/BudgetRound.SubmissionsClosed": (1, ("actor: str",)),
    "buurtbudget/BudgetRound.VotingOpened": (1, ("ballot: dict[str, int]", "actor: str")),
    "buurtbudget/BudgetRound.VotingCodesIssued": (
        1, ("batch_id: str", "count: int", "actor: str"),
    ),
    "buurtbudget/BudgetRound.VotingClosed": (1, ("actor: str",)),
    "buurtbudget/BudgetRound.TallyRecorded": (
        1, ("tally_id: str", "result: dict[str, Any]", "actor: str"),
    ),
    "buurtbudget/BudgetRound.TallyConfirmed": (
        1, ("tally_id: str", "reservations: dict[str, int]", "actor: str"),
    ),
    "buurtbudget/BudgetRound.PayoutRequested": (2, (
        "payout_id: str", "proposal_id: str", "amount: int", "payee_name_sealed: str",
        "iban_sealed: str", "kind: str", "reference: str", "description: str", "actor: str",
    )),
    "buurtbudget/BudgetRound.PayoutApproved": (
        1, ("payout_id: str", "proposal_id: str", "amount: int", "actor: str"),
    ),
    "buurtbudget/BudgetRound.PayoutRejected": (
        1, ("payout_id: str", "proposal_id: str", "amount: int", "reason: str", "actor: str"),
    ),
    "buurtbudget/BudgetRound.PayoutPaid": (2, (
        "payout_id: str", "proposal_id: str", "amount: int", "bank_reference: str",
        "paid_on: str | None", "actor: str",
    )),
    "buurtbudget/BudgetRound.PayoutReversed": (
        1, ("payout_id: str", "proposal_id: str", "amount: int", "reason: str", "actor: str"),
    ),
    "buurtbudget/BudgetRound.UnspentReleased": (
        1, ("proposal_id: str", "amount: int", "actor: str"),
    ),
    "buurtbudget/BudgetRound.Closed": (1, ("returned: int", "destination: str", "actor: str")),
    "buurtbudget/BudgetRound.PaymentBatchExported": (1, (
        "batch_id: str", "payouts: list[dict[str, Any]]", "total: int", "execution_date: str",
        "debtor_name: str", "debtor_iban: str", "created_at: str", "actor: str",
    )),
    "buurtbudget/BudgetRound.PaymentBatchCancelled": (
        1, ("batch_id: str", "reason: str", "actor: str"),
    ),
    "buurtbudget/Proposal.Submitted": (2, (
        "round_id: UUID", "title: str", "summary: str", "description: str", "category: str",
        "cost_lines: list[dict[str, Any]]", "requested_amount: int", "proposer_name_sealed: str",
        "proposer_email_sealed: str", "proposer_key_hash: str", "reference: str", "actor: str",
    )),
    "buurtbudget/Proposal.Admitted": (1, ("amount: int", "note: str", "actor: str")),
    "buurtbudget/Proposal.Rejected": (1, ("reason: str", "actor: str")),
    "buurtbudget/Proposal.Withdrawn": (1, ("reason: str", "actor: str")),
    "buurtbudget/Proposal.Funded": (1, ("tally_id: str", "amount: int", "actor: str")),
    "buurtbudget/Proposal.NotSelected": (1, ("tally_id: str", "actor: str")),
    "buurtbudget/Proposal.Completed": (1, ("report: str", "unspent: int", "actor: str")),
    "buurtbudget/Ballot.Issued": (1, ("round_id: UUID",)),
    "buurtbudget/Ballot.Cast": (
        2, ("round_id: UUID", "choices: dict[str, int]", "nonce: str | None",
            "paper_batch: str | None"),
    ),
    "buurtbudget/Ballot.Voided": (1, ("round_id: UUID", "reason: str", "actor: str")),
    "buurtbudget/BudgetRound.EligibilitySet": (1, (
        "minimum_age: int", "reference_date: str", "postcodes: list[str]", "actor: str",
    )),
    "buurtbudget/BudgetRound.RegisterImported": (
        1, ("batch_id: str", "enrolled: int", "actor: str"),
    ),
    "buurtbudget/Voter.Enrolled": (1, ("round_id: UUID", "batch_id: str", "ballot_seal: str")),
    "buurtbudget/Voter.CodeReissued": (1, ("ballot_seal: str", "reason: str", "actor: str")),
    "buurtbudget/BudgetRound.PaperBallotsCounted": (
        1, ("batch_id: str", "count: int", "actor: str"),
    ),
    "buurtbudget/PaperBatch.Entered": (
        1, ("round_id: UUID", "entries: list[dict[str, Any]]", "actor: str"),
    ),
    "buurtbudget/PaperBatch.Confirmed": (1, ("round_id: UUID", "actor: str")),
    "buurtbudget/PaperBatch.Discarded": (1, ("round_id: UUID", "reason: str", "actor: str")),
    "buurtbudget/PersonalDataErasure.Erased": (1, (
        "subject_ids: list[str]", "records: list[str]", "plaintext_remains: list[str]",
        "reason: str", "actor: str",
    )),
}

# The module-path topics of logs written before topics were explicit -> today's topic.
MODULE_PATH_TOPICS = {
    "domain.municipality:Municipality": "buurtbudget/Municipality",
    "domain.municipality:Municipality.Registered": "buurtbudget/Municipality.Registered",
    "domain.neighbourhood:Neighbourhood": "buurtbudget/Neighbourhood",
    "domain.neighbourhood:Neighbourhood.Registered": "buurtbudget/Neighbourhood.Registered",
    "domain.budget_round:BudgetRound": "buurtbudget/BudgetRound",
    "domain.budget_round:BudgetRound.Opened": "buurtbudget/BudgetRound.Opened",
    "domain.budget_round:BudgetRound.SettingsChanged": "buurtbudget/BudgetRound.SettingsChanged",
    "domain.budget_round:BudgetRound.FundsDeposited": "buurtbudget/BudgetRound.FundsDeposited",
    "domain.budget_round:BudgetRound.ProposalReceived": "buurtbudget/BudgetRound.ProposalReceived",
    "domain.budget_round:BudgetRound.ProposalReviewed": "buurtbudget/BudgetRound.ProposalReviewed",
    "domain.budget_round:BudgetRound.SubmissionsClosed":
        "buurtbudget/BudgetRound.SubmissionsClosed",
    "domain.budget_round:BudgetRound.VotingOpened": "buurtbudget/BudgetRound.VotingOpened",
    "domain.budget_round:BudgetRound.VotingCodesIssued":
        "buurtbudget/BudgetRound.VotingCodesIssued",
    "domain.budget_round:BudgetRound.VotingClosed": "buurtbudget/BudgetRound.VotingClosed",
    "domain.budget_round:BudgetRound.TallyRecorded": "buurtbudget/BudgetRound.TallyRecorded",
    "domain.budget_round:BudgetRound.TallyConfirmed": "buurtbudget/BudgetRound.TallyConfirmed",
    "domain.budget_round:BudgetRound.PayoutRequested": "buurtbudget/BudgetRound.PayoutRequested",
    "domain.budget_round:BudgetRound.PayoutApproved": "buurtbudget/BudgetRound.PayoutApproved",
    "domain.budget_round:BudgetRound.PayoutRejected": "buurtbudget/BudgetRound.PayoutRejected",
    "domain.budget_round:BudgetRound.PayoutPaid": "buurtbudget/BudgetRound.PayoutPaid",
    "domain.budget_round:BudgetRound.PayoutReversed": "buurtbudget/BudgetRound.PayoutReversed",
    "domain.budget_round:BudgetRound.UnspentReleased": "buurtbudget/BudgetRound.UnspentReleased",
    "domain.budget_round:BudgetRound.Closed": "buurtbudget/BudgetRound.Closed",
    "domain.proposal:Proposal": "buurtbudget/Proposal",
    "domain.proposal:Proposal.Submitted": "buurtbudget/Proposal.Submitted",
    "domain.proposal:Proposal.Admitted": "buurtbudget/Proposal.Admitted",
    "domain.proposal:Proposal.Rejected": "buurtbudget/Proposal.Rejected",
    "domain.proposal:Proposal.Withdrawn": "buurtbudget/Proposal.Withdrawn",
    "domain.proposal:Proposal.Funded": "buurtbudget/Proposal.Funded",
    "domain.proposal:Proposal.NotSelected": "buurtbudget/Proposal.NotSelected",
    "domain.proposal:Proposal.Completed": "buurtbudget/Proposal.Completed",
    "domain.ballot:Ballot": "buurtbudget/Ballot",
    "domain.ballot:Ballot.Issued": "buurtbudget/Ballot.Issued",
    "domain.ballot:Ballot.Cast": "buurtbudget/Ballot.Cast",
}


def fields_of(event_class: type) -> tuple[str, ...]:
    """The fields an event class stores besides the envelope, as "name: type"."""
    return tuple(
        f"{field.name}: {field.type}"
        for field in dataclasses.fields(event_class)  # type: ignore[arg-type]
        if field.name not in ENVELOPE
    )


def declared_contract() -> dict[str, tuple[int, tuple[str, ...]]]:
    """What the event classes declare today: topic -> (version, fields)."""
    return {
        event_class.TOPIC: (getattr(event_class, "class_version", 1), fields_of(event_class))
        for aggregate in AGGREGATES
        for event_class in stored_event_classes(aggregate)
    }


def all_event_classes() -> list[type]:
    return [cls for aggregate in AGGREGATES for cls in stored_event_classes(aggregate)]


# -- the pinned contract ----------------------------------------------------------------------


def test_every_aggregate_of_the_domain_is_covered_by_the_contract():
    modules = [
        importlib.import_module(f"domain.{info.name}")
        for info in pkgutil.iter_modules(domain.__path__)
    ]
    declared = {
        value for module in modules for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, Aggregate)
        and value.__module__ == module.__name__
    }
    assert declared == set(AGGREGATES)


def test_aggregates_store_their_pinned_topics():
    assert {get_topic(aggregate): aggregate for aggregate in AGGREGATES} == AGGREGATE_TOPICS


def test_every_stored_event_keeps_its_pinned_topic_version_and_fields():
    declared = declared_contract()
    assert declared.keys() == STORED_EVENTS.keys(), "events were added or removed"
    changed = {
        topic: {"pinned": STORED_EVENTS[topic], "declared": declared[topic]}
        for topic in declared if declared[topic] != STORED_EVENTS[topic]
    }
    assert not changed, f"stored events changed in place: {changed}"


def test_the_library_stores_each_event_under_its_explicit_topic():
    assert [get_topic(cls) for cls in all_event_classes()] == [
        cls.TOPIC for cls in all_event_classes()  # type: ignore[attr-defined]
    ]


def test_topics_name_the_aggregate_and_the_event_and_never_a_module_path():
    for topic in [*AGGREGATE_TOPICS, *STORED_EVENTS]:
        assert re.fullmatch(r"buurtbudget/[A-Z][A-Za-z]+(\.[A-Z][A-Za-z]+)?", topic), topic


def test_an_event_declared_without_a_topic_is_refused_when_its_aggregate_is_defined():
    with pytest.raises(ProgrammingError, match="Explicit topic not defined"):

        class Forgetful(Aggregate):
            TOPIC = "buurtbudget-test/Forgetful"

            class Created(Aggregate.Created):
                TOPIC = "buurtbudget-test/Forgetful.Created"

            @event("Remembered")
            def remember(self) -> None:
                pass


# -- older logs -------------------------------------------------------------------------------


# Events added after topics became explicit: no log holds them under a module path.
SINCE_EXPLICIT_TOPICS = {
    "buurtbudget/BudgetRound.PaymentBatchExported",
    "buurtbudget/BudgetRound.PaymentBatchCancelled",
    "buurtbudget/Municipality.PayingAccountSet",
    "buurtbudget/BudgetRound.TaskFieldSet",
    "buurtbudget/BudgetRound.EligibilitySet",
    "buurtbudget/BudgetRound.RegisterImported",
    "buurtbudget/Ballot.Voided",
    "buurtbudget/Voter.Enrolled",
    "buurtbudget/Voter.CodeReissued",
    "buurtbudget/BudgetRound.PaperBallotsCounted",
    "buurtbudget/PaperBatch.Entered",
    "buurtbudget/PaperBatch.Confirmed",
    "buurtbudget/PaperBatch.Discarded",
    "buurtbudget/PersonalDataErasure.Erased",
}
SINCE_EXPLICIT_AGGREGATES = {
    "buurtbudget/Voter", "buurtbudget/PaperBatch", "buurtbudget/PersonalDataErasure",
}


def test_the_module_path_topics_of_older_logs_resolve_to_the_same_classes():
    assert len(MODULE_PATH_TOPICS) == (
        len(AGGREGATE_TOPICS) - len(SINCE_EXPLICIT_AGGREGATES)
        + len(STORED_EVENTS) - len(SINCE_EXPLICIT_TOPICS)
    )
    assert SINCE_EXPLICIT_TOPICS <= STORED_EVENTS.keys()
    for older, topic in MODULE_PATH_TOPICS.items():
        cls = resolve_topic(topic)
        assert resolve_topic(older) is cls, older
        assert stored_topics(cls) == (topic, older)


def test_topics_of_gives_each_class_its_own_topic_and_then_the_older_one():
    assert topics_of(Ballot.Cast, BudgetRound.VotingClosed) == [  # type: ignore[attr-defined]
        "buurtbudget/Ballot.Cast",
        "domain.ballot:Ballot.Cast",
        "buurtbudget/BudgetRound.VotingClosed",
        "domain.budget_round:BudgetRound.VotingClosed",
    ]


# -- versions and upcasting -------------------------------------------------------------------


@pytest.fixture
def mapper() -> Mapper[Any]:
    """The mapper of an application with the library's default transcodings."""
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return Mapper(transcoder=transcoder)


def test_a_payment_is_stored_as_version_2_with_its_booking_date(execution_story, mapper):
    story = copy.deepcopy(execution_story)
    story.pay_out("benches", 700_00)
    paid = story.history()[-1]

    stored = mapper.to_stored_event(paid)

    assert stored.topic == "buurtbudget/BudgetRound.PayoutPaid"
    state = json.loads(stored.state)
    assert (state["class_version"], state["paid_on"]) == (2, None)
    assert mapper.to_domain_event(stored) == paid


def test_a_payment_stored_as_version_1_under_its_module_path_is_upcast_on_reading(
    execution_story, mapper
):
    story = copy.deepcopy(execution_story)
    payout_id = story.pay_out("benches", 700_00)
    history = [mapper.to_stored_event(e) for e in story.history()]
    # As the service stored it before PayoutPaid had a version 2: no class_version, no paid_on.
    paid = history[-1]
    v1_state = {k: v for k, v in json.loads(paid.state).items()
                if k not in ("class_version", "paid_on")}
    history[-1] = StoredEvent(
        originator_id=paid.originator_id,
        originator_version=paid.originator_version,
        topic="domain.budget_round:BudgetRound.PayoutPaid",
        state=json.dumps(v1_state).encode(),
    )

    events = [mapper.to_domain_event(stored) for stored in history]

    assert isinstance(events[-1], BudgetRound.PayoutPaid)
    assert (events[-1].paid_on, events[-1].bank_reference) == (None, "BANK-1")
    budget_round = replay(events)
    assert budget_round.payouts[payout_id]["status"] == "paid"
    assert budget_round.paid(story.pid("benches")) == 700_00


def test_personal_data_stored_in_plaintext_as_version_1_is_upcast_into_plain_envelopes(
    execution_story, mapper
):
    story = copy.deepcopy(execution_story)
    payout_id = story.request_payout("benches", 700_00)
    submitted = mapper.to_stored_event(story.history("benches")[0])
    requested = mapper.to_stored_event(story.history()[-1])

    def as_version_1(stored: StoredEvent, **plaintext: str) -> StoredEvent:
        state = json.loads(stored.state)
        state.pop("class_version")
        for name in plaintext:
            state.pop(f"{name}_sealed")
        state.update(plaintext)
        return dataclasses.replace(stored, state=json.dumps(state).encode())

    old_submitted = mapper.to_domain_event(as_version_1(
        submitted, proposer_name="Fatima", proposer_email="fatima@example.org"
    ))
    old_requested = mapper.to_domain_event(as_version_1(
        requested, payee_name="Speeltoestellen BV", iban="NL91ABNA0417164300"
    ))

    assert (old_submitted.proposer_name_sealed, old_submitted.proposer_email_sealed) == (
        "plain:Fatima", "plain:fatima@example.org"
    )
    assert (old_requested.payee_name_sealed, old_requested.iban_sealed) == (
        "plain:Speeltoestellen BV", "plain:NL91ABNA0417164300"
    )
    assert old_requested.payout_id == payout_id


def test_new_events_hold_personal_data_only_as_the_sealer_made_it(execution_story, mapper):
    story = copy.deepcopy(execution_story)
    story.request_payout("benches", 700_00)
    state = json.loads(mapper.to_stored_event(story.history()[-1]).state)
    assert state["class_version"] == 2
    assert "payee_name" not in state and "iban" not in state
    assert state["iban_sealed"] == "sealed:iban:NL91ABNA0417164300:iban:NL91ABNA0417164300"


# -- docs/events.md ---------------------------------------------------------------------------


def documented_rows() -> dict[str, tuple[int, tuple[str, ...]]]:
    """The event table rows of docs/events.md: topic -> (version, fields)."""
    rows = {}
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) == 5 and cells[1].startswith("`buurtbudget/"):
            fields = tuple(
                name.replace("\\|", "|") for name in re.findall(r"`([^`]+)`", cells[3])
            )
            rows[cells[1].strip("`")] = (int(cells[2]), fields)
    return rows


def documented_row(topic: str, version: int, fields: tuple[str, ...]) -> str:
    """A table row as docs/events.md writes it, for a failure message to show."""
    listed = ", ".join(f"`{field}`".replace("|", "\\|") for field in fields)
    name = topic.split(".", 1)[1]
    return f"| {name} | `{topic}` | {version} | {listed} | (what it means) |"


def test_docs_list_every_stored_event_with_its_topic_version_and_fields():
    declared = declared_contract()
    documented = documented_rows()
    wrong = [
        documented_row(topic, *contract)
        for topic, contract in declared.items() if documented.get(topic) != contract
    ]
    assert not wrong, "docs/events.md needs these rows:\n" + "\n".join(wrong)
    assert documented.keys() == declared.keys(), "docs/events.md lists events that do not exist"


def test_docs_name_each_aggregates_topic():
    text = DOCS.read_text(encoding="utf-8")
    for topic, aggregate in AGGREGATE_TOPICS.items():
        assert f"## {aggregate.__name__} (`{topic}`)" in text
