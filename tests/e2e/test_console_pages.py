"""The officials' console in Debian's Chromium against gunicorn, on SQLite and PostgreSQL.

Two demo officials, signed in with the links `buurtbudget demo` prints, take a round from
set-up through review (with the keyboard only), voting codes, tally and confirmation, a payout
with four eyes (requested with the keyboard, the IBAN checked as it is typed), the bank
statement, completion and closing, entirely in the console; an auditor then reads its events.
The round's events equal those of the same round run through the JSON API. Every console page
passes axe-core's WCAG 2.1 A/AA rules, in English along the way and in Dutch afterwards; an
administrator's token and erasure pages too.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests import round_script as script
from tests.e2e.page_check import PageCheck
from tests.e2e.test_submit_page import press_tab_until, type_into

ROLES = {"official": "demo-anna", "second_official": "demo-bram", "auditor": "demo-audit"}


class HttpApi:
    """The JSON API of the running server, as the demo's token holders (for the script)."""

    def __init__(self, site: Any):
        self.base_url, self.tokens = site.base_url, site.demo["tokens"]

    def _headers(self, as_: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[ROLES[as_]]}"} if as_ else {}

    def post(self, path: str, body: Any = None, *, as_: str | None = "official",
             status: int = 200) -> Any:
        answer = httpx.post(f"{self.base_url}/api/v1{path}", json=body or {},
                            headers=self._headers(as_), timeout=30)
        assert answer.status_code == status, answer.text
        return answer.json()

    def get(self, path: str, *, as_: str | None = None) -> Any:
        answer = httpx.get(f"{self.base_url}/api/v1{path}", headers=self._headers(as_), timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def upload_statement(self, statement: bytes) -> None:
        answer = httpx.post(f"{self.base_url}/api/v1/bank-statements", content=statement,
                            headers=self._headers("official"), timeout=30)
        assert answer.status_code == 200, answer.text


def sign_in_with_link(check: PageCheck, site: Any, name: str) -> None:
    """Follow the console link the demo printed (its origin is the test server's)."""
    link = urlsplit(site.demo["console_links"][name])
    check.page.goto(f"{site.base_url}{link.path}?lang=en#{link.fragment}")
    assert check.page.locator("#token").input_value() == site.demo["tokens"][name]
    assert "#token" not in check.page.url  # the script took the token out of the address
    check.check("console-sign-in")
    check.page.keyboard.press("Enter")  # the script put the focus on the button
    check.page.wait_for_url("**/console")


def click(page: Any, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()


def notice(page: Any) -> str:
    return page.locator("main .notice").first.inner_text()


@pytest.fixture
def second_page(chromium: Any) -> Any:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def test_two_officials_run_a_round_in_the_console(
    demo_site: Any, browser_page: Any, second_page: Any, tmp_path: Path
):
    site, api = demo_site, HttpApi(demo_site)
    anna = PageCheck(browser_page, site.base_url, site.server.backend)
    bram = PageCheck(second_page, site.base_url, site.server.backend)
    page = anna.page
    sign_in_with_link(anna, site, "demo-anna")
    anna.check("console-home")

    # set-up: a municipality, a neighbourhood, a round with its rules previewed, a deposit
    anna.open("/console/places")
    page.fill("#municipality-name", "Zwolle")
    page.fill("#municipality-cbs_code", "GM0193")
    click(page, "Register the municipality")
    page.select_option("#neighbourhood-municipality_id", label="Zwolle")
    page.fill("#neighbourhood-name", "Assendorp")
    click(page, "Register the neighbourhood")
    assert "Assendorp is registered." in notice(page)
    anna.check("console-places")
    page.get_by_role("link", name="New round for Assendorp").click()
    page.fill("#title", script.TITLE)
    page.fill("#starts_submission", script.SUBMISSIONS_FROM)
    click(page, "Preview the rules")
    assert "Tick every proposal you support." in page.locator("#preview").inner_text()
    anna.check("console-new-round")
    click(page, "Open the round")
    page.wait_for_url("**/console/rounds/*")
    round_id = page.url.rsplit("/", 1)[1]
    page.get_by_role("link", name="Deposit money").click()
    page.fill("#amount", f"{script.DEPOSIT // 100}")
    page.fill("#source", "Gemeente")
    page.fill("#reference", "R-1")
    anna.check("console-deposit")
    click(page, "Deposit")
    anna.check("console-round")

    ids = script.submit(api, round_id)
    click(page, "Close submissions and start the review")

    # review with the keyboard only
    page.get_by_role("link", name="Review proposals").click()
    anna.check("console-review-queue")
    decisions = [
        (ids[0], (("#admit-amount", f"{script.ADJUSTED // 100}"), ("#admit-note", script.NOTE)),
         "form[action$='/admit'] button"),
        (ids[1], (), "form[action$='/admit'] button"),
        (ids[2], (("#reject-reason", script.REASON),), "form[action$='/reject'] button"),
    ]
    for number, (proposal_id, typed, button) in enumerate(decisions):
        press_tab_until(page, f"a[href='/console/proposals/{proposal_id}/review']")
        page.keyboard.press("Enter")
        page.wait_for_url(f"**/proposals/{proposal_id}/review")
        if number == 0:
            anna.check("console-review-proposal")
        for selector, text in typed:
            type_into(page, selector, text)
        press_tab_until(page, button)
        page.keyboard.press("Enter")
        page.wait_for_url(f"**/rounds/{round_id}/review")
    assert page.locator("table").first.inner_text().count("official:demo-anna") == 3
    anna.check("console-review-decided")

    # voting: codes as a download, then the residents vote, then voting closes
    anna.open(f"/console/rounds/{round_id}")
    click(page, "Open voting")
    page.get_by_role("link", name="Voting codes and turnout").click()
    page.fill("#count", "3")
    with page.expect_download() as download:
        click(page, "Issue and download the codes")
    lines = Path(download.value.path()).read_text().split()
    assert lines[0] == "voting_code" and len(lines) == 4
    script.cast(api, round_id, lines[1:], ids)
    anna.open(f"/console/rounds/{round_id}/voting")
    assert "3" in page.locator(".facts").inner_text()
    anna.check("console-voting")
    page.fill("#eligibility-minimum_age", "16")
    page.fill("#eligibility-reference_date", "2026-05-01")
    page.fill("#eligibility-postcodes", "1091")
    click(page, "Preview the rules")
    assert "16 or older" in page.locator("#preview").inner_text()
    anna.check("console-voting-preview")
    anna.open(f"/console/rounds/{round_id}/paper-ballots")
    anna.check("console-paper-ballots")
    anna.open(f"/console/rounds/{round_id}/voting")
    click(page, "Close voting")

    # the tally: recorded by one official, confirmed by another
    page.get_by_role("link", name="Tally and decision").first.click()
    click(page, "Record the tally")
    assert "Waiting for a second official" in page.locator("table").first.inner_text()
    anna.check("console-decision-recorded")
    sign_in_with_link(bram, site, "demo-bram")
    bram.open(f"/console/rounds/{round_id}/decision")
    click(second_page, "Confirm this result")
    assert "Confirmed by official:demo-bram" in second_page.locator("table").first.inner_text()
    bram.check("console-decision-confirmed")

    # a payout requested with the keyboard, the IBAN checked while it is typed
    anna.open(f"/console/rounds/{round_id}/money")
    assert page.locator("#proposal_id").input_value() == ids[0]
    type_into(page, "#amount", f"{script.PAYOUT // 100}")
    type_into(page, "#payee_name", script.PAYEE)
    type_into(page, "#iban", "NL91 ABNA 0417 1643 01")
    page.wait_for_selector("#iban-status.invalid")
    assert page.locator("#iban-status").inner_text() == "Not a valid IBAN yet"
    for _ in range(2):
        page.keyboard.press("Backspace")
    page.keyboard.type("00")
    page.wait_for_selector("#iban-status.valid")
    assert page.locator("#iban-status").inner_text().startswith("Valid IBAN")
    type_into(page, "#reference", script.INVOICE)
    press_tab_until(page, "#payout-form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Waiting for a second official to approve.")
    anna.check("console-money-requested")

    bram.open(f"/console/rounds/{round_id}/money")
    press_tab_until(second_page, "form[action$='/approve'] button")
    second_page.keyboard.press("Enter")
    second_page.wait_for_selector("text=The payout is approved.")
    bram.check("console-money-approved")

    payout_id = api.get(f"/rounds/{round_id}/payouts", as_="official")[0]["payout_id"]
    statement = tmp_path / "statement.xml"
    statement.write_bytes(script.statement_for(payout_id))
    anna.open(f"/console/rounds/{round_id}/money")
    page.set_input_files("#statement", str(statement))
    click(page, "Upload and reconcile")
    assert "1 payout marked paid" in page.locator("#statement-report").inner_text()
    anna.check("console-money-reconciled")
    for proposal_id in ids[:2]:
        page.fill(f"#report-{proposal_id}", script.REPORT)
        page.locator(f"form[action='/console/proposals/{proposal_id}/complete'] button").click()
        page.wait_for_selector("text=The proposal is completed")
    page.fill("#destination", script.DESTINATION)
    click(page, "Close the round")
    assert "This round is closed." in page.locator("main").inner_text()
    anna.check("console-money-closed")

    # the auditor reads every event; an auditor is not offered an official's forms
    bram.open("/console")
    click(second_page, "Sign out")
    sign_in_with_link(bram, site, "demo-audit")
    bram.open(f"/console/rounds/{round_id}/events")
    assert "official:demo-bram" in second_page.locator("table").first.inner_text()
    bram.check("console-events")
    bram.open("/console/checkpoints")
    bram.check("console-checkpoints")
    second_page.go_back()
    second_page.get_by_role("link", name="Plan 0").first.click()
    bram.check("console-trail")
    bram.open(f"/console/rounds/{round_id}/money", status=403)
    bram.check("console-403")

    # the same round through the JSON API: the same events, amounts and actors
    neighbourhood = api.get(f"/rounds/{round_id}")["neighbourhood_id"]
    by_api = script.through_the_api(api, neighbourhood, api.upload_statement)
    trails = [api.get(f"/rounds/{rid}/audit-trail", as_="auditor") for rid in (round_id, by_api)]
    assert script.comparable(trails[0]) == script.comparable(trails[1])
    assert {e["actor"] for e in trails[0]} - {None, "resident"} == {
        "official:demo-anna", "official:demo-bram"}

    # every console page again, in Dutch
    for name, path in {
        "console-home": "/console", "console-places": "/console/places",
        "console-new-round": "/console/rounds/new", "console-round": f"/console/rounds/{round_id}",
        "console-review-decided": f"/console/rounds/{round_id}/review",
        "console-review-proposal": f"/console/proposals/{ids[0]}/review",
        "console-voting": f"/console/rounds/{round_id}/voting",
        "console-paper-ballots": f"/console/rounds/{round_id}/paper-ballots",
        "console-decision-confirmed": f"/console/rounds/{round_id}/decision",
        "console-money-closed": f"/console/rounds/{round_id}/money",
        "console-deposit": f"/console/rounds/{by_api}/deposit",
    }.items():
        anna.open(path, lang="nl")
        assert anna.language == "nl"
        anna.check(name)
    for name, path in {"console-events": f"/console/rounds/{round_id}/events",
                       "console-checkpoints": "/console/checkpoints",
                       "console-trail": f"/console/proposals/{ids[0]}/trail"}.items():
        bram.open(path, lang="nl")
        bram.check(name)

    # an administrator manages the access tokens, in both languages
    click(second_page, "Uitloggen")
    sign_in_with_link(bram, site, "demo-admin")
    for lang in ("en", "nl"):
        bram.open("/console/tokens", lang=lang)
        assert "demo-anna" in second_page.locator("table").inner_text()
        bram.check("console-tokens")
        bram.open("/console/privacy", lang=lang)
        bram.check("console-erasure")
