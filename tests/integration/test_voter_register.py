"""A voter register becomes one code per eligible resident and letters; no name enters the log."""
from __future__ import annotations

import csv
import io
from typing import Any

import pypdfium2
import pytest

from domain.ballot import voter_receipt
from domain.errors import Conflict, Forbidden, NotFound
from service.audit_export import export_lines
from service.audit_verify import verify_export
from service.principal import PUBLIC
from service.queries import voting
from service.voter_register import RegisterInvalid, import_register
from service.voting_letters import write_letters
from tests.integration.conftest import OFFICIAL

RULES = {"minimum_age": 16, "reference_date": "2026-05-01", "postcodes": ["1091", "1092AA-1092BZ"]}
HEADER = "person_key;birth_date;postcode;house_number;house_number_addition;name;street;city"
PEOPLE = [
    # eligible: in 1091, 16 on the reference date exactly; in 1092AB; and a Latin-1 name
    "A-1001;2010-05-01;1091 AB;12;;Fatima El Amrani;Wibautstraat;Amsterdam",
    "A-1002;01-01-1950;1092AB;3;2-hoog;Jan de Vries;Mauritskade;Amsterdam",
    "A-1003;1980-07-15;1091CD;7;A;Zoë Müller;Oetewalerstraat;Amsterdam",
    # not eligible: 15 on the reference date; outside the area
    "A-1004;2010-05-02;1091AB;12;;Sam El Amrani;Wibautstraat;Amsterdam",
    "A-1005;1970-01-01;1093AA;1;;Piet Jansen;Dapperstraat;Amsterdam",
]


def register(*lines: str, encoding: str = "utf-8-sig", header: str = HEADER) -> io.BytesIO:
    return io.BytesIO(("\r\n".join([header, *lines]) + "\r\n").encode(encoding))


@pytest.fixture
def voting_round(round_in):
    driven = round_in("voting", codes=1)
    driven.app.set_eligibility(driven.round_id, rules=RULES, actor=OFFICIAL)
    return driven


def issued(app, round_id, stream) -> tuple[Any, list[dict[str, str]], bytes]:
    done = import_register(app, round_id, stream, actor=OFFICIAL)
    try:
        pdf, mail_merge = io.BytesIO(), io.BytesIO()
        write_letters(app, round_id, done.staged, base_url="https://stem.example.nl/",
                      pdf=pdf, mail_merge=mail_merge)
        rows = list(csv.DictReader(io.StringIO(mail_merge.getvalue().decode("utf-8-sig")),
                                   delimiter=";"))
        return done, rows, pdf.getvalue()
    finally:
        done.staged.close()


def test_each_eligible_resident_gets_one_code_and_one_letter_page(voting_round, runtime):
    app, rid = voting_round.app, voting_round.round_id
    done, letters, pdf = issued(app, rid, register(*PEOPLE))
    assert done.report() == {
        "batch_id": done.batch_id, "rows": 5, "eligible": 3, "not_eligible": 2,
        "not_eligible_by_reason": {"younger": 1, "postcode": 1},
        "already_enrolled": 0, "enrolled": 3,
    }
    assert sorted(row["name"] for row in letters) == [
        "Fatima El Amrani", "Jan de Vries", "Zoë Müller",
    ]
    assert {row["vote_url"] for row in letters} == {f"https://stem.example.nl/rounds/{rid}/vote"}
    assert len(pypdfium2.PdfDocument(pdf)) == 3
    # every code opens a ballot of the round
    for row in letters:
        app.cast_ballot(rid, code=row["voting_code"], choices=voting_round.choices("benches"))
    assert app.get_round(rid).eligible == 3
    assert app.get_round(rid).codes_issued == 3 + 3  # the bare codes of the fixture, and these


def test_the_register_never_enters_the_log(voting_round, runtime):
    issued(voting_round.app, voting_round.round_id, register(*PEOPLE))
    recorder = voting_round.app.recorder
    stored = b"".join(n.state for n in recorder.select_notifications(start=1, limit=100_000))
    assert b"Voter.Enrolled" in b"".join(
        n.topic.encode() for n in recorder.select_notifications(start=1, limit=100_000)
    )
    for secret in (b"A-1001", b"El Amrani", b"Wibautstraat", b"2010-05-01", b"1091AB"):
        assert secret not in stored


def test_a_second_upload_issues_no_second_code(voting_round):
    app, rid = voting_round.app, voting_round.round_id
    issued(app, rid, register(*PEOPLE[:2]))
    # the same people again (another spelling of the postcode, Latin-1), and one more
    done, letters, _pdf = issued(app, rid, register(
        PEOPLE[0].replace("1091 AB", "1091ab"), PEOPLE[1], PEOPLE[2], encoding="latin-1",
    ))
    assert (done.report()["already_enrolled"], done.report()["enrolled"]) == (2, 1)
    assert [row["name"] for row in letters] == ["Zoë Müller"]
    assert app.get_round(rid).eligible == 3


def test_a_comma_separated_register_without_bom_reads_the_same(voting_round):
    comma = [line.replace(";", ",") for line in PEOPLE]
    comma_register = register(*comma, header=HEADER.replace(";", ","), encoding="utf-8")
    done, _letters, _pdf = issued(voting_round.app, voting_round.round_id, comma_register)
    assert done.report()["enrolled"] == 3


def test_a_register_with_errors_issues_nothing_and_names_every_bad_line(voting_round):
    app, rid = voting_round.app, voting_round.round_id
    head = app.recorder.max_notification_id()
    with pytest.raises(RegisterInvalid) as refused:
        import_register(app, rid, register(
            PEOPLE[0],
            "A-2001;2001-02-30;1091AB;1;;Ann;Weg;Amsterdam",      # no such date
            "A-2002;1990-01-01;ABCD;1;;Bob;Weg;Amsterdam",         # not a postcode
            PEOPLE[0],                                             # the same person twice
            "A-2003;1990-01-01;1091AB;;;Cas;Weg;Amsterdam",        # no house number
            "A-2004;1990-01-01;1091AB;1",                          # too few fields
        ), actor=OFFICIAL)
    details = refused.value.details
    assert details == [
        "line 3: birth_date: not a possible date (YYYY-MM-DD or DD-MM-YYYY)",
        "line 4: postcode: not a Dutch postcode (1091AB)",
        "line 6: house_number: empty",
        "line 7: 4 fields where the header has 8",
        "line 5: person_key: the same person as line 2",
    ]
    assert not any("Fatima" in line or "A-1001" in line for line in details)
    assert app.recorder.max_notification_id() == head


def test_a_register_missing_a_column_is_refused(voting_round):
    with pytest.raises(RegisterInvalid, match="missing column"):
        import_register(voting_round.app, voting_round.round_id,
                        register(header="person_key;postcode;name"), actor=OFFICIAL)


def test_no_register_without_rules(round_in):
    driven = round_in("voting")
    with pytest.raises(Conflict, match="who may vote"):
        import_register(driven.app, driven.round_id, register(*PEOPLE), actor=OFFICIAL)


def test_rules_are_fixed_once_codes_came_from_a_register(voting_round):
    issued(voting_round.app, voting_round.round_id, register(PEOPLE[0]))
    with pytest.raises(Conflict):
        voting_round.app.set_eligibility(voting_round.round_id, rules=RULES, actor=OFFICIAL)


def test_a_lost_letter_gets_a_new_code_and_the_old_one_stops_working(voting_round, runtime):
    app, rid = voting_round.app, voting_round.round_id
    _done, letters, _pdf = issued(app, rid, register(*PEOPLE[:2]))
    old = {row["name"]: row["voting_code"] for row in letters}
    new = app.reissue_code(rid, person_key="A-1001", reason="letter lost", actor=OFFICIAL)
    with pytest.raises(Forbidden, match="replaced"):
        app.cast_ballot(rid, code=old["Fatima El Amrani"], choices=voting_round.choices("benches"))
    app.cast_ballot(rid, code=new, choices=voting_round.choices("benches"))
    # a code that has voted is not replaced; a person not in the register has nothing to replace
    app.cast_ballot(rid, code=old["Jan de Vries"], choices=voting_round.choices("mural"))
    with pytest.raises(Conflict, match="already been used"):
        app.reissue_code(rid, person_key="A-1002", reason="letter lost", actor=OFFICIAL)
    with pytest.raises(NotFound):
        app.reissue_code(rid, person_key="A-9999", reason="letter lost", actor=OFFICIAL)
    assert app.get_round(rid).eligible == 2
    # An export taken while voting seals the voided ballot with the rest, and still verifies.
    report = verify_export(export_lines(runtime),
                           public_key=runtime.checkpoint_signer.verifier_key)
    assert report.ok, report.findings


def test_turnout_is_public_once_voting_closed(voting_round, runtime):
    app, rid = voting_round.app, voting_round.round_id
    _done, letters, _pdf = issued(app, rid, register(*PEOPLE))
    app.cast_ballot(rid, code=letters[0]["voting_code"], choices=voting_round.choices("benches"))
    with pytest.raises(Conflict):
        voting.turnout(runtime, PUBLIC, str(rid))
    app.close_voting(rid, actor=OFFICIAL)
    assert voting.turnout(runtime, PUBLIC, str(rid)) == {
        "round_id": str(rid), "phase": "decided", "eligible": 3, "voted": 1,
        "codes_issued": 6, "turnout_percent": 33.33,
    }


def test_a_receipt_is_what_the_voter_can_compute_and_is_published_with_its_ballot(
    voting_round, runtime
):
    app, rid = voting_round.app, voting_round.round_id
    choices = voting_round.choices("benches", "mural")
    cast = app.cast_ballot(rid, code=voting_round.codes[0], choices=choices)
    assert cast["receipt"] == voter_receipt(rid, choices, cast["nonce"])
    with pytest.raises(Conflict):
        voting.published_ballot(runtime, PUBLIC, str(rid), cast["receipt"])
    app.close_voting(rid, actor=OFFICIAL)
    published = voting.published_ballot(runtime, PUBLIC, str(rid), cast["receipt"].upper())
    assert (published["choices"], published["nonce"]) == (choices, cast["nonce"])
    assert published["event"]["state"]["nonce"] == cast["nonce"]
    assert published["event"]["originator_id"] == str(
        app.ballot_id_of_code(rid, voting_round.codes[0])
    )
    tally = app.run_tally(rid, actor=OFFICIAL)
    listed = voting.list_receipts(runtime, PUBLIC, str(rid))
    assert cast["receipt"] in listed["receipts"]
    assert listed["ballot_digest"] == tally["ballot_digest"]
