"""Voting in a real Chromium against gunicorn, on SQLite and PostgreSQL: a resident votes with the
code from the letter for each ballot method, changes the ballot, keeps the receipt and, once
voting closed, finds it in the published list. Every vote page passes axe-core's WCAG 2.1 A/AA
rules in Dutch and English; a whole vote is cast with the keyboard only; the pages fit a phone."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.e2e.page_check import PageCheck
from tests.e2e.test_submit_page import PHONE, press_tab_until

# Three proposals; the knapsack budget fits any two of them but not all three.
COSTS = {"A": 400_000, "B": 500_000, "C": 300_000}
TITLES = {"A": "Boomspiegels", "B": "Bankjes", "C": "Muurschildering"}
KNAPSACK = {"method": "knapsack", "max_total_cost": 1_000_000, "rule": "mes"}


@dataclass
class VotingRound:
    round_id: str
    ids: dict[str, str]
    codes: list[str]


def open_voting_round(site: Any, voting: dict[str, Any]) -> VotingRound:
    """A round with proposals A, B and C on the ballot, open for voting, with voting codes."""
    api = f"{site.base_url}/api/v1"
    official = site.server.headers("anna")

    def post(path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
        response = httpx.post(api + path, json=body, headers=headers or {})
        assert response.status_code in (200, 201), response.text
        return response.json()

    round_id = post("/rounds", {"neighbourhood_id": site.demo["neighbourhood_id"],
                                "title": f"Stemmen: {voting['method']}", "voting": voting},
                    official)["round_id"]
    ids = {}
    for letter, cost in COSTS.items():
        ids[letter] = post(f"/rounds/{round_id}/proposals", {
            "title": TITLES[letter], "summary": f"Plan {letter} voor de buurt",
            "cost_lines": [{"description": "alles", "amount": cost}],
            "proposer_name": "Sanne", "proposer_email": "sanne@example.nl",
        })["proposal_id"]
    post(f"/rounds/{round_id}/close-submissions", {}, official)
    for proposal_id in ids.values():
        post(f"/proposals/{proposal_id}/admit", {}, official)
    post(f"/rounds/{round_id}/open-voting", {}, official)
    codes = post(f"/rounds/{round_id}/voting-codes", {"count": 3}, official)["codes"]
    return VotingRound(round_id, ids, codes)


def close_voting(site: Any, round_id: str) -> None:
    httpx.post(f"{site.base_url}/api/v1/rounds/{round_id}/close-voting",
               headers=site.server.headers("bram"), json={}).raise_for_status()


def as_typed(code: str) -> str:
    """A code as a resident might type it: lower case, spaces instead of dashes."""
    return code.lower().replace("-", " ")


def enter_code(check: PageCheck, ballot_round: VotingRound, code: str, name: str = "") -> None:
    """Open the vote page (checking it when `name` is given) and go on to the ballot."""
    page = check.page
    check.open(f"/rounds/{ballot_round.round_id}/vote")
    if name:
        check.check(name)
    page.fill("#code", as_typed(code))
    page.locator("#code").press("Enter")
    page.wait_for_selector("#ballot")


def fill_ballot(page: Any, ballot_round: VotingRound, method: str, wanted: dict[str, int]) -> None:
    """Set the form to `wanted` (letter -> 1, points or place), clearing every other proposal."""
    for letter, proposal_id in ballot_round.ids.items():
        value = wanted.get(letter)
        if method == "cumulative":
            page.fill(f"#points-{proposal_id}", str(value or ""))
        elif method == "ordinal":
            page.select_option(f"#rank-{proposal_id}", str(value or ""))
        elif value:
            page.check(f"#choice-{proposal_id}")
        elif method != "choose-one":
            page.uncheck(f"#choice-{proposal_id}")


def shown_ballot(page: Any, ballot_round: VotingRound, method: str) -> dict[str, int]:
    """What the ballot form shows for each proposal, as letter -> 1, points or place."""
    shown = {}
    for letter, proposal_id in ballot_round.ids.items():
        if method == "cumulative":
            value = page.input_value(f"#points-{proposal_id}")
        elif method == "ordinal":
            value = page.locator(f"#rank-{proposal_id}").input_value()
        else:
            value = "1" if page.is_checked(f"#choice-{proposal_id}") else ""
        if value:
            shown[letter] = int(value)
    return shown


# method: (voting settings, first ballot, changed ballot), ballots as letter -> 1, points or place
BALLOTS = {
    "approval": ({"method": "approval"}, {"A": 1, "B": 1}, {"A": 1, "B": 1, "C": 1}),
    "k-approval": ({"method": "approval", "max_choices": 2}, {"A": 1, "B": 1}, {"A": 1, "C": 1}),
    "knapsack": (KNAPSACK, {"A": 1, "B": 1}, {"B": 1, "C": 1}),
    "cumulative": ({"method": "cumulative", "points_total": 10, "max_points": 6},
                   {"A": 6, "B": 4}, {"A": 2, "C": 5}),
    "ranked": ({"method": "ordinal"}, {"A": 1, "B": 2}, {"C": 1, "A": 2}),
    "choose-one": ({"method": "choose-one"}, {"A": 1}, {"C": 1}),
}
FIRST_LANGUAGE = {"approval": "nl", "k-approval": "en", "knapsack": "nl", "cumulative": "en",
                  "ranked": "nl", "choose-one": "en"}
# The ballot form differs per method and is checked for each; the pages around it are the same
# for every method and are checked for two, one starting in each language.
ALL_PAGES = ("approval", "k-approval")


def cast_and_read_receipt(check: PageCheck, name: str = "") -> str:
    check.page.click("button[name=cast]")
    check.page.wait_for_selector("#receipt")
    if name:
        check.check(name)
    return check.page.locator("#receipt").inner_text().strip()


@pytest.mark.parametrize("name", list(BALLOTS))
def test_a_resident_votes_changes_and_finds_the_receipt(
    demo_site: Any, browser_page: Any, name: str
):
    voting, first, changed = BALLOTS[name]
    method = voting["method"]
    ballot_round = open_voting_round(demo_site, voting)
    code = ballot_round.codes[0]
    page = browser_page
    check = PageCheck(page, demo_site.base_url, demo_site.server.backend)

    # first ballot in one language...
    check.open("/", lang=FIRST_LANGUAGE[name])
    every_page = name in ALL_PAGES
    enter_code(check, ballot_round, code, "vote-code" if every_page else "")
    assert shown_ballot(page, ballot_round, method) == {}
    check.check(f"vote-ballot-{name}")
    fill_ballot(page, ballot_round, method, first)
    first_receipt = cast_and_read_receipt(check, "vote-cast" if every_page else "")
    chosen = [text.split(" (")[0] for text in page.locator(".chosen li").all_inner_texts()]
    if method == "ordinal":
        assert chosen == [TITLES[letter] for letter in sorted(first, key=first.get)]
    else:
        assert sorted(chosen) == sorted(TITLES[letter] for letter in first)

    # ...then changed in the other: the form shows the ballot cast before
    other = "en" if FIRST_LANGUAGE[name] == "nl" else "nl"
    check.open("/", lang=other)
    enter_code(check, ballot_round, code)
    assert shown_ballot(page, ballot_round, method) == first
    check.check(f"vote-ballot-again-{name}")
    fill_ballot(page, ballot_round, method, changed)
    receipt = cast_and_read_receipt(check, "vote-changed" if every_page else "")
    assert receipt != first_receipt and len(receipt) == 64
    heading = page.locator("h1").inner_text()
    assert heading in ("Your vote has been changed", "Je stem is gewijzigd")

    # after closing, the last receipt is in the published list and the first one is not
    close_voting(demo_site, ballot_round.round_id)
    check.open(f"/rounds/{ballot_round.round_id}/receipts?receipt={receipt.upper()}")
    assert page.locator("#receipt-found").count() == 1
    if every_page:
        check.check("vote-receipts-found")
    check.open(f"/rounds/{ballot_round.round_id}/receipts?receipt={first_receipt}")
    assert page.locator("#receipt-missing").count() == 1


@pytest.fixture(scope="module")
def knapsack_round(demo_site: Any) -> VotingRound:
    return open_voting_round(demo_site, KNAPSACK)


def test_the_whole_vote_with_the_keyboard_only(
    demo_site: Any, knapsack_round: VotingRound, browser_page: Any
):
    page = browser_page
    check = PageCheck(page, demo_site.base_url, demo_site.server.backend)
    check.open(f"/rounds/{knapsack_round.round_id}", lang="en")
    press_tab_until(page, "a.button")  # "Vote"
    page.keyboard.press("Enter")
    page.wait_for_url("**/vote")
    press_tab_until(page, "#code")
    page.keyboard.type(as_typed(knapsack_round.codes[1]))
    page.keyboard.press("Enter")
    page.wait_for_selector("#ballot")
    status = page.locator("#ballot-status")
    for letter in "AC":
        press_tab_until(page, f"#choice-{knapsack_round.ids[letter]}")
        page.keyboard.press("Space")
    # the money left is updated while choosing: 10,000 - 4,000 - 3,000
    assert "€3,000.00" in status.inner_text()
    press_tab_until(page, "button[name=cast]")
    page.keyboard.press("Enter")
    page.wait_for_selector("#receipt")
    assert page.locator("ul.chosen li").count() == 2


@pytest.mark.parametrize("lang", ("nl", "en"))
def test_errors_are_linked_and_every_vote_page_passes_axe(
    demo_site: Any, knapsack_round: VotingRound, browser_page: Any, lang: str
):
    page = browser_page
    check = PageCheck(page, demo_site.base_url, demo_site.server.backend)
    path = f"/rounds/{knapsack_round.round_id}"
    check.open(f"{path}/vote", lang=lang)

    # a wrong code: 403, the summary links to the field, which says what is wrong
    page.fill("#code", "AAAA-BBBB-CCCC")
    page.click("button[type=submit]")
    page.wait_for_selector("#error-summary")
    assert check.document_status == 403
    check.check("vote-code-wrong")
    page.click("#error-summary a[href='#code']")
    assert page.evaluate("document.activeElement.id") == "code"
    assert page.locator("#code").get_attribute("aria-describedby") == "code-hint code-error"

    # all three proposals cost more than may be spent: the server refuses, whatever the script did
    page.fill("#code", knapsack_round.codes[2])
    page.click("button[type=submit]")
    page.wait_for_selector("#ballot")
    for proposal_id in knapsack_round.ids.values():
        page.check(f"#choice-{proposal_id}")
    assert "over" in (page.locator("#ballot-status").get_attribute("class") or "")
    page.click("button[name=cast]")
    page.wait_for_selector("#error-summary")
    assert check.document_status == 422
    check.check("vote-ballot-refused")
    message = page.locator("#ballot-error").inner_text()
    assert {"nl": "€\u00a012.000,00", "en": "€12,000.00"}[lang] in message
    first_choice = f"choice-{knapsack_round.ids['A']}"
    page.click(f"#error-summary a[href='#{first_choice}']")
    assert page.evaluate("document.activeElement.id") == first_choice

    # before voting closes nothing is published
    check.open(f"{path}/receipts")
    check.check("vote-receipts-not-yet")
    assert page.locator("#receipt").count() == 0


def test_vote_pages_after_closing_in_both_languages(demo_site: Any, browser_page: Any):
    ballot_round = open_voting_round(demo_site, {"method": "approval"})
    close_voting(demo_site, ballot_round.round_id)
    check = PageCheck(browser_page, demo_site.base_url, demo_site.server.backend)
    path = f"/rounds/{ballot_round.round_id}"
    for lang in ("nl", "en"):
        check.open(f"{path}/vote", lang=lang)
        assert browser_page.locator("#code").count() == 0
        check.check("vote-closed")
        check.open(f"{path}/receipts?receipt={'0' * 64}")
        assert browser_page.locator("#receipt-missing").count() == 1
        check.check("vote-receipts-missing")


def test_the_ballot_fits_a_375_pixel_phone(
    demo_site: Any, knapsack_round: VotingRound, chromium: Any
):
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        check = PageCheck(page, demo_site.base_url, demo_site.server.backend)
        check.open("/", lang="nl")
        enter_code(check, knapsack_round, knapsack_round.codes[0], "phone-vote-code")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the ballot scrolls sideways on a phone: {width} px"
        check.check("phone-vote-ballot")
    finally:
        context.close()


def test_a_vote_without_its_csrf_token_is_refused(demo_site: Any, knapsack_round: VotingRound):
    response = httpx.post(f"{demo_site.base_url}/rounds/{knapsack_round.round_id}/vote",
                          data={"code": knapsack_round.codes[0], "cast": "1"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
