"""Payment batches: approved payouts go into one batch, never into two, until it is cancelled."""
from __future__ import annotations

from typing import Any

from domain.budget_round import BudgetRound
from domain.errors import Conflict, NotFound, RuleViolation
from service.sepa_export import end_to_end_id, pain_001
from tests.unit.given_when_then import event, given

R = BudgetRound
DEBTOR = {"debtor_name": "Gemeente Amsterdam", "debtor_iban": "NL91ABNA0417164300"}


def export(r: BudgetRound, execution_date: str = "2026-12-01") -> str:
    return r.export_payment_batch(
        execution_date=execution_date, created_at="2026-11-29T10:00:00+00:00", actor="official:anna",
        **DEBTOR,
    )


def approved(story_in: Any, *amounts: int) -> tuple[Any, list[str]]:
    story = story_in("execution")
    ids = []
    for amount in amounts:
        payout_id = story.request_payout("playground", amount)
        story.approve(payout_id)
        ids.append(payout_id)
    return story, ids


def test_every_approved_payout_goes_into_the_batch(story_in) -> None:
    story, ids = approved(story_in, 100_00, 250_00)
    story.request_payout("benches", 50_00)  # not approved: not in the batch

    outcome = given(story.history()).when(export)

    outcome.then(event(
        R.PaymentBatchExported,  # type: ignore[attr-defined]
        payouts=[{"payout_id": ids[0], "amount": 100_00}, {"payout_id": ids[1], "amount": 250_00}],
        total=350_00, execution_date="2026-12-01",
    ))
    assert outcome.result.startswith("BB") and len(outcome.result) == 32
    assert outcome.aggregate.payable_payouts() == []


def test_a_payout_in_a_batch_cannot_go_into_another_until_it_is_cancelled(story_in) -> None:
    story, _ = approved(story_in, 100_00)
    batch_id = export(story.round)

    given(story.history()).when(export).then_refused(Conflict, "no approved payouts outside")
    outcome = given(story.history()).when(
        lambda r: r.cancel_payment_batch(batch_id=batch_id, reason="wrong date", actor="x")
    ).then(R.PaymentBatchCancelled)  # type: ignore[attr-defined]
    again = outcome.aggregate
    assert export(again) != batch_id  # a new batch, a new message id


def test_the_same_contents_always_give_the_same_batch_id(story_in) -> None:
    story, _ = approved(story_in, 100_00)
    history = story.history()

    first = given(history).when(export).result
    second = given(history).when(export).result

    assert first == second
    assert given(history).when(lambda r: export(r, "2026-12-02")).result != first


def test_refusals_leave_the_round_unchanged(story_in) -> None:
    story, _ = approved(story_in, 100_00)
    given(story.history()).when(lambda r: export(r, "1 December")).then_refused(
        RuleViolation, "execution_date"
    )
    given(story.history()).when(
        lambda r: r.cancel_payment_batch(batch_id="BBnope", reason="x", actor="x")
    ).then_refused(NotFound, "payment batch BBnope")
    decided = story_in("decided")
    given(decided.history()).when(export).then_refused(Conflict, "phase 'decided'")


def test_the_pain_001_file_is_valid_and_the_same_every_time(story_in) -> None:
    story, ids = approved(story_in, 100_00, 250_00)
    batch_id = export(story.round)
    batch = story.round.payment_batches[batch_id]
    payees = {
        payout_id: {"payee_name": "Speeltoestellen BV", "iban": "NL02RABO0123456789",
                    "reference": "invoice 2026-17", "description": ""}
        for payout_id in ids
    }

    for version in ("pain.001.001.03", "pain.001.001.09"):
        document = pain_001(batch_id, batch, payees, version)  # validated against the XSD inside
        assert document == pain_001(batch_id, batch, payees, version)
        text = document.decode()
        assert f"<MsgId>{batch_id}</MsgId>" in text
        assert "<CtrlSum>350.00</CtrlSum>" in text
        assert f"<EndToEndId>{end_to_end_id(ids[0])}</EndToEndId>" in text
