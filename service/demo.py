"""A realistic demo neighbourhood: one round carried all the way to closing, one open for voting."""
from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from service.application import BuurtbudgetApplication
from service.voter_register import import_register

# Four eyes and then some: one official runs the round, records the tally and requests payouts,
# a second confirms the tally and approves payouts, a third marks them paid.
OFFICIAL, SECOND_OFFICIAL, THIRD_OFFICIAL = (
    "official:demo-anna", "official:demo-bram", "official:demo-cas"
)

INITIATIVES = [
    ("Geveltuinen Javastraat", "Groen", "Tegels eruit, planten erin: 40 geveltuinen met buren.",
     [("Planten en aarde", 180000), ("Stoeptegels verwijderen (gemeente)", 120000)]),
    ("Buurtbankjes bij het water", "Openbare ruimte", "Zes houten bankjes langs de kade.",
     [("Bankjes", 420000), ("Plaatsing", 90000)]),
    ("Huiswerkklas in het buurthuis", "Jeugd", "Twee middagen per week huiswerkbegeleiding.",
     [("Begeleiders (40 middagen)", 640000), ("Materiaal", 60000)]),
    ("Buurtfeest op het plein", "Ontmoeting", "Een zomerfeest voor en door de buurt.",
     [("Podium en geluid", 250000), ("Vergunning en schoonmaak", 80000)]),
    ("Repair café", "Duurzaamheid", "Maandelijks samen spullen repareren.",
     [("Gereedschap", 150000), ("Huur ruimte (12 keer)", 120000)]),
    ("Speelplek Borneostraat opknappen", "Jeugd", "Nieuwe klimtoestellen en valdempende tegels.",
     [("Toestellen", 980000), ("Ondergrond", 320000)]),
    ("Moestuin voor ouderen", "Zorg", "Verhoogde bakken zodat iedereen kan tuinieren.",
     [("Bakken en aarde", 210000), ("Begeleiding", 90000)]),
]


@dataclass
class DemoResult:
    municipality_id: UUID
    neighbourhood_id: UUID
    closed_round_id: UUID
    voting_round_id: UUID
    unused_codes: list[str] = field(default_factory=list)


def _submit_all(app: BuurtbudgetApplication, round_id: UUID, picks: list[int]) -> list[UUID]:
    ids = []
    for index in picks:
        title, category, summary, lines = INITIATIVES[index]
        proposal_id, _key = app.submit_proposal(
            round_id,
            title=title, summary=summary, description=summary, category=category,
            cost_lines=[{"description": d, "amount": a} for d, a in lines],
            proposer_name=f"Bewonersgroep {title.split()[0]}",
            proposer_email=f"initiatief{index}@example.org",
        )
        ids.append(proposal_id)
    return ids


def _vote(app: BuurtbudgetApplication, round_id: UUID, codes: list[str], ids: list[UUID], rng: random.Random) -> None:
    # Residents approve 1-3 initiatives each; some proposals are more popular than others.
    weights = [5, 3, 4, 2, 3, 1, 2][: len(ids)]
    for code in codes:
        chosen = set()
        for _ in range(rng.randint(1, 3)):
            chosen.add(rng.choices(ids, weights=weights)[0])
        app.cast_ballot(round_id, code=code, choices={str(pid): 1 for pid in chosen})


def _register_codes(
    app: BuurtbudgetApplication, round_id: UUID, residents: int, rng: random.Random
) -> list[str]:
    """A made-up register of the neighbourhood (some too young, some next door) into codes."""
    streets = ["Javastraat", "Borneostraat", "Sumatrastraat", "Celebesstraat"]
    lines = ["person_key;birth_date;postcode;house_number;house_number_addition;name;street;city"]
    for number in range(residents):
        born = f"{rng.randint(1940, 2016)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        postcode = "1094" + rng.choice(["AB", "CD", "GH", "KL"]) if number % 9 else "1095AA"
        lines.append(f"DEMO-{number:05d};{born};{postcode};{rng.randint(1, 200)};;"
                     f"Bewoner {number};{rng.choice(streets)};Amsterdam")
    done = import_register(app, round_id, io.BytesIO("\n".join(lines).encode()), actor=OFFICIAL)
    try:
        return [letter["code"] for letter in done.staged.letters()]
    finally:
        done.staged.close()


def run_demo(app: BuurtbudgetApplication, *, seed: int = 2026) -> DemoResult:
    """Write the demo's events through the same commands the API uses."""
    rng = random.Random(seed)
    municipality_id = app.register_municipality(name="Amsterdam", cbs_code="GM0363", actor=OFFICIAL)
    neighbourhood_id = app.register_neighbourhood(
        municipality_id=municipality_id, name="Indische Buurt", cbs_code=None, actor=OFFICIAL
    )
    voting: dict[str, Any] = {"method": "approval", "min_choices": 1, "max_choices": 3}

    # 2025: the whole life of a round, from deposit to closing.
    past = app.open_round(
        neighbourhood_id=neighbourhood_id, title="Buurtbudget Indische Buurt 2025",
        description="Bewoners beslissen over €25.000 voor hun buurt.",
        schedule={"submission": "2025-02-01", "review": "2025-03-15", "voting": "2025-04-15",
                  "decided": "2025-05-01", "execution": "2025-05-15", "closed": "2025-12-31"},
        voting=voting, actor=OFFICIAL,
    )
    app.deposit(past, amount=2_500_000, source="Gemeente Amsterdam, stadsdeel Oost",
                reference="BB-2025-OOST", actor=OFFICIAL)
    ids = _submit_all(app, past, [0, 1, 2, 3, 4])
    app.close_submissions(past, actor=OFFICIAL)
    for pid in ids[:-1]:
        app.admit_proposal(pid, amount=None, note="", actor=OFFICIAL)
    app.reject_proposal(ids[-1], reason="Valt buiten de regels: lopende kosten.", actor=OFFICIAL)
    app.open_voting(past, actor=OFFICIAL)
    app.set_eligibility(past, rules={
        "minimum_age": 12, "reference_date": "2025-04-15", "postcodes": ["1094"],
    }, actor=OFFICIAL)
    codes = _register_codes(app, past, 200, rng)
    _vote(app, past, codes[:60], ids[:-1], rng)
    app.close_voting(past, actor=OFFICIAL)
    tally = app.run_tally(past, actor=OFFICIAL)
    app.confirm_tally(past, tally_id=tally["tally_id"], actor=SECOND_OFFICIAL)
    for number, winner in enumerate(tally["winners"], start=1):
        payout_id = app.request_payout(
            past, actor=OFFICIAL, proposal_id=winner["proposal_id"],
            amount=winner["cost"] - 10_000 * number, payee_name="Stichting Buurtwerk Oost",
            iban="NL91ABNA0417164300", kind="invoice", reference=f"FACT-2025-{number:03d}",
            description="Factuur initiatief",
        )
        app.approve_payout(past, payout_id, actor=SECOND_OFFICIAL)
        app.mark_payout_paid(
            past, payout_id, bank_reference=f"BANK-{number:05d}", actor=THIRD_OFFICIAL
        )
        app.complete_proposal(UUID(winner["proposal_id"]), report="Uitgevoerd; foto's op de buurtsite.",
                              actor=OFFICIAL)
    app.close_round(past, destination="Algemene middelen stadsdeel Oost", actor=OFFICIAL)

    # 2026: open for voting, so a visitor can cast a ballot with one of the printed codes.
    current = app.open_round(
        neighbourhood_id=neighbourhood_id, title="Buurtbudget Indische Buurt 2026",
        description="Stem op de plannen van je buren: €30.000 te verdelen.",
        schedule={"submission": "2026-02-01", "review": "2026-03-15", "voting": "2026-11-01"},
        voting=voting, actor=OFFICIAL,
    )
    app.deposit(current, amount=3_000_000, source="Gemeente Amsterdam, stadsdeel Oost",
                reference="BB-2026-OOST", actor=OFFICIAL)
    ids = _submit_all(app, current, [0, 2, 5, 6, 1])
    app.close_submissions(current, actor=OFFICIAL)
    app.admit_proposal(ids[2], amount=1_100_000, note="Ondergrond goedkoper via raamcontract.",
                       actor=OFFICIAL)
    for pid in (ids[0], ids[1], ids[3], ids[4]):
        app.admit_proposal(pid, amount=None, note="", actor=OFFICIAL)
    app.open_voting(current, actor=OFFICIAL)
    codes = app.issue_voting_codes(current, count=40, actor=OFFICIAL)
    _vote(app, current, codes[:25], ids, rng)
    return DemoResult(municipality_id, neighbourhood_id, past, current, codes[25:])
