"""The console's voter register, paper ballots and erasure through the Flask client, on both
backends: who may vote with a plain-words preview, a register upload answered with the letters
(or a report per line and nothing issued), a lost letter, turnout, paper ballots with four
eyes, and an admin's erasure with a confirmation step; each is the API's command, with the
signed-in person as actor, and other roles get the 403 page, never a form."""
from __future__ import annotations

import csv
import io
import re
import zipfile
from typing import Any

from flask import Flask

from tests.api.conftest import ApiCalls, RoundDriver
from tests.api.console_client import ConsoleUser, signed_in
from tests.integration.test_voter_register import HEADER, PEOPLE

RULES_FORM = {"eligibility-minimum_age": "16", "eligibility-reference_date": "2026-05-01",
              "eligibility-postcodes": "1091\n1092AA-1092BZ"}


def upload(user: ConsoleUser, round_id: str, text: str) -> Any:
    answer = user.post(f"/console/rounds/{round_id}/register?lang=en", {
        "register-register": (io.BytesIO(text.encode("utf-8-sig")), "register.csv", "text/csv")},
        content_type="multipart/form-data")
    answer.get_data()
    answer.close()
    # The test client spools a large multipart body to a temporary file that it leaves open.
    answer.request.environ["wsgi.input"].close()
    return answer


def events(api: ApiCalls, round_id: str, *types: str) -> list[dict[str, Any]]:
    return [e for e in api.get(f"/rounds/{round_id}/audit-trail", as_="auditor")
            if e["event_type"] in types]


def test_an_official_sets_who_may_votes_uploads_the_register_and_replaces_a_lost_letter(
    app: Flask, issued_tokens: dict[str, str], rounds: RoundDriver, api: ApiCalls
):
    driven = rounds.to("voting", codes=1)
    anna = signed_in(app, issued_tokens["official"])
    page = anna.get(f"/console/rounds/{driven.round_id}/voting?lang=en")
    assert page.status_code == 200 and "No rules are set yet" in page.text
    assert 'enctype="multipart/form-data"' not in page.text  # no upload before the rules

    head = api.head()
    preview = anna.post(f"/console/rounds/{driven.round_id}/eligibility?lang=en",
                        {**RULES_FORM, "preview": "1"})
    assert preview.status_code == 200 and api.head() == head
    assert ("Residents who are 16 or older on 1 May 2026 and live in these postcodes may vote: "
            "1091, 1092AA-1092BZ.") in preview.text
    dutch = anna.post(f"/console/rounds/{driven.round_id}/eligibility?lang=nl",
                      {**RULES_FORM, "preview": "1"}).text
    assert "16 jaar of ouder" in dutch
    bad = anna.post(f"/console/rounds/{driven.round_id}/eligibility?lang=en",
                    {**RULES_FORM, "eligibility-postcodes": "10"})
    assert bad.status_code == 422 and 'id="eligibility-postcodes-error"' in bad.text
    assert api.head() == head, "a refused form wrote events"
    assert anna.post(f"/console/rounds/{driven.round_id}/eligibility",
                     RULES_FORM).status_code == 303
    assert api.get(f"/rounds/{driven.round_id}/eligibility")["postcodes"] == [
        "1091", "1092AA-1092BZ"]

    head = api.head()
    wrong = upload(anna, driven.round_id, "\n".join(
        [HEADER, PEOPLE[0], "A-3001;31-02-1990;1091AB;4;;Ann;Weg;Amsterdam"]))
    assert wrong.status_code == 422
    assert "line 3: birth_date: not a possible date" in wrong.text and "Ann" not in wrong.text
    assert api.head() == head, "a register with a bad line issued codes"
    empty = anna.post(f"/console/rounds/{driven.round_id}/register?lang=en", {},
                      content_type="multipart/form-data")
    assert empty.status_code == 422 and 'id="register-register-error"' in empty.text

    letters = upload(anna, driven.round_id, "\n".join([HEADER, *PEOPLE]))
    assert letters.status_code == 201 and letters.mimetype == "application/zip"
    assert letters.headers["X-Register-Enrolled"] == "3"
    archive = zipfile.ZipFile(io.BytesIO(letters.get_data()))
    assert archive.read("letters.pdf").startswith(b"%PDF")
    mail_merge = list(csv.DictReader(
        io.StringIO(archive.read("mail-merge.csv").decode("utf-8-sig")), delimiter=";"))
    assert len(mail_merge) == 3
    imported = events(api, driven.round_id, "RegisterImported", "EligibilitySet")
    assert {e["actor"] for e in imported} == {"official:anna"} and len(imported) == 2

    lost = next(row["voting_code"] for row in mail_merge if row["name"] == "Jan de Vries")
    unknown = anna.post(f"/console/rounds/{driven.round_id}/reissue?lang=en", {
        "reissue-person_key": "A-9999", "reissue-reason": "letter lost"})
    assert unknown.status_code == 422 and "nobody with this person key" in unknown.text
    new = anna.post(f"/console/rounds/{driven.round_id}/reissue?lang=en", {
        "reissue-person_key": "A-1002", "reissue-reason": "letter lost"})
    assert new.status_code == 200
    code = re.search(r'id="new-code">([^<]+)<', new.text).group(1)
    api.error(api.call("POST", f"{driven.url}/ballots", {
        "code": lost, "proposals": [driven.proposal_ids[0]]}), 403)
    driven.post("ballots", {"code": code, "proposals": [driven.proposal_ids[0]]}, as_=None,
                status=201)

    shown = anna.get(f"/console/rounds/{driven.round_id}/voting?lang=en").text
    turnout = api.get(f"/rounds/{driven.round_id}/turnout", as_="official")
    assert (turnout["eligible"], turnout["voted"], turnout["turnout_percent"]) == (3, 1, 33.33)
    for figure in ("<dd>3</dd>", "<dd>1</dd>", "33.33%"):
        assert figure in shown
    assert "Set who may vote</button>" not in shown  # rules are fixed once codes were issued


def test_a_register_larger_than_other_forms_is_taken(
    app: Flask, issued_tokens: dict[str, str], rounds: RoundDriver, api: ApiCalls
):
    driven = rounds.to("voting", codes=1)
    anna = signed_in(app, issued_tokens["official"])
    assert anna.post(f"/console/rounds/{driven.round_id}/eligibility",
                     RULES_FORM).status_code == 303
    outside = [f"B-{n:06d};1970-01-01;1099ZZ;{n % 300 + 1};;Bewoner {n};Weg;Amsterdam"
               for n in range(20_000)]
    text = "\n".join([HEADER, *outside, PEOPLE[0]])
    assert len(text.encode()) > app.config["MAX_CONTENT_LENGTH"]
    letters = upload(anna, driven.round_id, text)
    assert letters.status_code == 201
    assert (letters.headers["X-Register-Rows"], letters.headers["X-Register-Enrolled"]) == (
        "20001", "1")


def test_paper_ballots_need_a_second_official_and_a_discard_needs_a_reason(
    app: Flask, issued_tokens: dict[str, str], rounds: RoundDriver, api: ApiCalls
):
    driven = rounds.to("voting", codes=3)
    anna = signed_in(app, issued_tokens["official"])
    bram = signed_in(app, issued_tokens["second_official"])
    path = f"/console/rounds/{driven.round_id}/paper-ballots"
    batches = f"/console/rounds/{driven.round_id}/paper-batches"
    head = api.head()
    garbled = anna.post(f"{batches}?lang=en", {"kind": "code", "ballots": "no colon here"})
    assert garbled.status_code == 422 and 'id="ballots-error"' in garbled.text
    unknown = anna.post(f"{batches}?lang=en", {"kind": "code", "ballots": "ZZZZ-ZZZZ: 1"})
    assert unknown.status_code == 422 and "was not issued for the round" in unknown.text
    assert api.head() == head

    lines = f"{driven.codes[0]}: 1, 2\n{driven.codes[1]}: 3"
    assert anna.post(batches, {"kind": "code", "ballots": lines}).status_code == 303
    assert anna.post(batches, {"kind": "serial", "ballots": "P-0001: 2"}).status_code == 303
    listed = api.get(f"/rounds/{driven.round_id}/paper-batches", as_="auditor")
    assert sorted(b["ballots"] for b in listed) == [1, 2]
    assert all(b["entered_by"] == "official:anna" and b["status"] == "entered" for b in listed)
    two = next(b["batch_id"] for b in listed if b["ballots"] == 2)
    one = next(b["batch_id"] for b in listed if b["ballots"] == 1)

    own = anna.get(f"{path}?lang=en").text
    assert own.count("Waiting for a second official to confirm.") == 2
    assert f"paper-batches/{two}/confirm" not in own
    refused = anna.post(f"{batches}/{two}/confirm?lang=en")
    assert "another official than the one who entered" in anna.get(f"{path}?lang=en").text
    assert refused.status_code == 303
    assert f"paper-batches/{two}/confirm" in bram.get(path).text
    assert bram.post(f"{batches}/{two}/confirm").status_code == 303
    bram.post(f"{batches}/{one}/discard", {"reason": " "})
    assert api.get(f"/rounds/{driven.round_id}/paper-batches", as_="official")[0]["status"] in (
        "entered", "confirmed")
    assert bram.post(f"{batches}/{one}/discard", {"reason": "wrong box"}).status_code == 303

    decided = {b["batch_id"]: (b["status"], b["decided_by"], b["reason"])
               for b in api.get(f"/rounds/{driven.round_id}/paper-batches", as_="official")}
    assert decided == {two: ("confirmed", "official:bram", None),
                       one: ("discarded", "official:bram", "wrong box")}
    assert driven.get()["ballots_cast"] == 2
    shown = anna.get(f"{path}?lang=en").text
    assert "Confirmed by official:bram" in shown and "Discarded by official:bram: wrong box" in shown


def test_an_admin_erases_a_proposer_after_confirming(
    app: Flask, issued_tokens: dict[str, str], rounds: RoundDriver, api: ApiCalls
):
    driven = rounds.to("review")
    dirk = signed_in(app, issued_tokens["admin"])
    assert "/console/privacy" in dirk.get("/console?lang=en").text
    head = api.head()
    neither = dirk.post("/console/privacy/erasures?lang=en", {"reason": "AVG 2026-3"})
    assert neither.status_code == 422 and 'id="email-error"' in neither.text
    asked = dirk.post("/console/privacy/erasures?lang=en", {
        "email": "fatima@example.org", "reason": "AVG 2026-3"})
    assert asked.status_code == 200 and "This cannot be undone." in asked.text
    assert 'name="confirm"' in asked.text and api.head() == head, "erased before confirming"
    nobody = dirk.post("/console/privacy/erasures?lang=en", {
        "email": "nobody@example.org", "reason": "AVG 2026-4", "confirm": "1"})
    assert nobody.status_code == 422 and "no personal data of this person" in nobody.text

    done = dirk.post("/console/privacy/erasures?lang=en", {
        "email": "fatima@example.org", "reason": "AVG 2026-3", "confirm": "1"})
    assert done.status_code == 200 and "The personal data is erased" in done.text
    assert f"proposal:{driven.proposal_ids[0]}" in done.text
    proposal = api.get(f"/proposals/{driven.proposal_ids[0]}", as_="official")
    assert proposal["proposer_email"] == "[erased]"
    erased = [e for e in api.get("/events?limit=1000", as_="auditor")["events"]
              if e["topic"] == "buurtbudget/PersonalDataErasure.Erased"]
    assert len(erased) == 1


def test_other_roles_get_the_403_page_and_no_form(
    app: Flask, issued_tokens: dict[str, str], rounds: RoundDriver
):
    driven = rounds.to("voting", codes=1)
    carla = signed_in(app, issued_tokens["auditor"])
    anna = signed_in(app, issued_tokens["official"])
    dirk = signed_in(app, issued_tokens["admin"])
    round_path = f"/console/rounds/{driven.round_id}"
    for user in (carla, dirk):
        for path in ("voting", "paper-ballots"):
            page = user.get(f"{round_path}/{path}")
            assert page.status_code == 403 and "<form" not in page.text
        for path in ("eligibility", "register", "reissue", "paper-batches"):
            assert user.post(f"{round_path}/{path}").status_code == 403
    for user in (carla, anna):
        assert user.get("/console/privacy").status_code == 403
        assert user.post("/console/privacy/erasures", {
            "email": "fatima@example.org", "reason": "x", "confirm": "1"}).status_code == 403
