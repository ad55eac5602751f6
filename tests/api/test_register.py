"""Registers over HTTP: rules, an upload that answers with the letters, a lost letter, turnout."""
from __future__ import annotations

import csv
import io
import zipfile

import pypdfium2

from tests.integration.test_voter_register import HEADER, PEOPLE, RULES


def upload(api, round_id: str, text: str, *, as_: str | None = "official", encoding="utf-8-sig"):
    """The answer, read whole and closed (the letters are streamed from a temporary file)."""
    response = api.client.post(
        f"/api/v1/rounds/{round_id}/register", data=text.encode(encoding),
        headers={**api.headers(as_), "Content-Type": "text/csv"},
    )
    response.get_data()
    response.close()
    return response


def test_an_official_sets_the_rules_uploads_a_register_and_gets_the_letters(rounds, api):
    driven = rounds.to("voting", codes=1)
    api.ok("PUT", f"{driven.url}/eligibility", RULES, as_="official")
    assert driven.get("eligibility") == {"round_id": driven.round_id, **RULES}
    response = upload(api, driven.round_id, "\n".join([HEADER, *PEOPLE]))
    assert response.status_code == 201, response.get_json()
    assert response.headers["X-Register-Enrolled"] == "3"
    assert response.headers["X-Register-Not-Eligible"] == "2"
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    assert len(pypdfium2.PdfDocument(archive.read("letters.pdf"))) == 3
    letters = list(csv.DictReader(
        io.StringIO(archive.read("mail-merge.csv").decode("utf-8-sig")), delimiter=";"
    ))
    assert [row["vote_url"] for row in letters] == [
        f"http://localhost/rounds/{driven.round_id}/vote"
    ] * 3
    cast = driven.post("ballots", {"code": letters[0]["voting_code"],
                                   "proposals": [driven.proposal_ids[0]]}, as_=None, status=201)
    assert cast["ballot_version"] == 1
    # again: nobody gets a second code
    again = upload(api, driven.round_id, "\n".join([HEADER, *PEOPLE]), encoding="latin-1")
    assert again.headers["X-Register-Enrolled"] == "0"
    assert again.headers["X-Register-Already-Enrolled"] == "3"
    # a lost letter
    new = driven.post("register/reissue", {"person_key": "A-1002", "reason": "letter lost"},
                      status=201)
    lost = next(row["voting_code"] for row in letters if row["name"] == "Jan de Vries")
    api.error(api.call("POST", f"{driven.url}/ballots", {
        "code": lost, "proposals": [driven.proposal_ids[0]]}), 403)
    assert driven.post("ballots", {"code": new["code"], "proposals": [driven.proposal_ids[1]]},
                       as_=None, status=201)["ballot_version"] == 1
    assert driven.get("turnout", as_="official")["eligible"] == 3
    api.error(api.call("GET", f"{driven.url}/turnout"), 409)
    driven.post("close-voting")
    assert driven.get("turnout") == {
        "round_id": driven.round_id, "phase": "decided", "eligible": 3, "voted": 2,
        "codes_issued": 4, "turnout_percent": 66.67,
    }


def test_a_register_with_a_bad_line_issues_nothing_and_says_which_line(rounds, api):
    driven = rounds.to("voting", codes=1)
    api.ok("PUT", f"{driven.url}/eligibility", RULES, as_="official")
    head = api.head()
    bad = "A-3001;31-02-1990;1091AB;4;;Ann;Weg;Amsterdam"
    payload = api.error(upload(api, driven.round_id, "\n".join([HEADER, PEOPLE[0], bad])), 422)
    assert payload["errors"] == {
        "register": ["line 3: birth_date: not a possible date (YYYY-MM-DD or DD-MM-YYYY)"]
    }
    assert "Ann" not in str(payload) and api.head() == head


def test_only_officials_upload_and_only_with_rules_set(rounds, api):
    driven = rounds.to("voting", codes=1)
    text = "\n".join([HEADER, *PEOPLE])
    for role in (None, "auditor", "admin"):
        assert upload(api, driven.round_id, text, as_=role).status_code in (401, 403)
    api.error(upload(api, driven.round_id, text), 409)
    api.error(api.call("PUT", f"{driven.url}/eligibility",
                       {**RULES, "postcodes": ["10"]}, as_="official"), 422)
    api.error(api.call("GET", f"{driven.url}/eligibility"), 404)


def test_a_register_larger_than_other_bodies_is_taken(rounds, api, app):
    driven = rounds.to("voting", codes=1)
    api.ok("PUT", f"{driven.url}/eligibility", RULES, as_="official")
    # Residents outside the area: checked and counted, no code issued.
    outside = [f"B-{n:06d};1970-01-01;1099ZZ;{n % 300 + 1};;Bewoner {n};Weg;Amsterdam"
               for n in range(20_000)]
    text = "\n".join([HEADER, *outside, PEOPLE[0]])
    assert len(text.encode()) > app.config["MAX_CONTENT_LENGTH"]
    response = upload(api, driven.round_id, text)
    assert response.status_code == 201
    assert (response.headers["X-Register-Rows"], response.headers["X-Register-Enrolled"]) == (
        "20001", "1"
    )
