"""Every resident page in a real Chromium against gunicorn, on SQLite and PostgreSQL, in Dutch and
English: each page answers, passes axe-core's WCAG 2.1 A/AA rules, logs no console error (the
strict CSP blocks any inline script or style) and leaves a screenshot."""
from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.e2e.page_check import PageCheck

LANGUAGES = ("nl", "en")


def submission_round(site: Any) -> str:
    """A round of the demo neighbourhood that is open for proposals, opened through the API."""
    response = httpx.post(
        f"{site.base_url}/api/v1/rounds", headers=site.server.headers("anna"),
        json={"neighbourhood_id": site.demo["neighbourhood_id"], "title": "Buurtbudget 2027",
              "voting": {"method": "knapsack", "max_total_cost": 1_500_000, "rule": "mes"}},
    )
    assert response.status_code == 201, response.text
    return response.json()["round_id"]


def funded_proposal(site: Any) -> str:
    listed = httpx.get(f"{site.base_url}/api/v1/rounds/{site.demo['closed_round_id']}/proposals")
    return next(p["proposal_id"] for p in listed.json() if p["status"] in ("funded", "completed"))


@pytest.fixture(scope="module")
def new_round(demo_site: Any) -> str:
    return submission_round(demo_site)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_page_in_both_languages(demo_site: Any, new_round: str, browser_page: Any, lang: str):
    site = demo_site
    check = PageCheck(browser_page, site.base_url, site.server.backend)
    closed, voting = site.demo["closed_round_id"], site.demo["voting_round_id"]
    pages = {
        "home": "/",
        "round-closed": f"/rounds/{closed}",
        "round-voting": f"/rounds/{voting}",
        "round-submission": f"/rounds/{new_round}",
        "proposal-funded": f"/proposals/{funded_proposal(site)}",
        "results": f"/rounds/{closed}/results",
        "money-round": f"/rounds/{closed}/money",
        "money-index": "/money",
        "money-municipality": f"/municipalities/{site.demo['municipality_id']}/money",
        "submit-form": f"/rounds/{new_round}/proposals/new",
    }
    check.open("/", lang=lang)
    assert check.language == lang
    for name, path in pages.items():
        check.open(path)
        assert check.language == lang, f"{name} forgot the language"
        check.check(name)
    check.open("/no-such-page", status=404)
    check.check("error-404")

    # the recount runs the public verification and says it matches
    check.open(f"/rounds/{closed}/results")
    browser_page.get_by_role("button", name={"nl": "Nu hertellen", "en": "Recount now"}[lang]).click()
    status = browser_page.locator("#recount-result")
    assert {"nl": "De hertelling klopt.", "en": "The recount matches."}[lang] in status.inner_text()
    check.check("results-recounted")


def test_amounts_and_dates_follow_the_language(demo_site: Any, browser_page: Any):
    check = PageCheck(browser_page, demo_site.base_url, demo_site.server.backend)
    path = f"/rounds/{demo_site.demo['closed_round_id']}"
    check.open(path, lang="nl")
    facts = browser_page.locator(".facts").inner_text()
    assert "€\u00a025.000,00" in facts
    assert "1 februari 2025" in browser_page.locator(".schedule").inner_text()
    check.open(path, lang="en")
    assert "€25,000.00" in browser_page.locator(".facts").inner_text()
    assert "1 February 2025" in browser_page.locator(".schedule").inner_text()


def test_the_language_switch_keeps_the_page(demo_site: Any, browser_page: Any):
    check = PageCheck(browser_page, demo_site.base_url, demo_site.server.backend)
    check.open(f"/rounds/{demo_site.demo['closed_round_id']}/results")
    assert check.language == "nl"
    browser_page.get_by_role("link", name="English").click()
    assert check.language == "en"
    assert browser_page.url.split("?")[0].endswith("/results")
    check.open("/")
    assert check.language == "en"  # the choice is kept in a cookie


def test_what_was_rejected_and_where_the_money_went_without_bank_details(
    demo_site: Any, browser_page: Any
):
    check = PageCheck(browser_page, demo_site.base_url, demo_site.server.backend)
    check.open(f"/rounds/{demo_site.demo['closed_round_id']}", lang="nl")
    assert "Valt buiten de regels: lopende kosten." in browser_page.locator(".rejected").inner_text()

    check.open(f"/proposals/{funded_proposal(demo_site)}", lang="en")
    trail = browser_page.locator("table", has_text="Reserved for this proposal").inner_text()
    assert "Payment 1" in trail and "Paid" in trail
    page_text = browser_page.content()
    assert "NL91ABNA0417164300" not in page_text and "Stichting Buurtwerk" not in page_text
    assert "Uitgevoerd; foto's op de buurtsite." in page_text  # the completion report


def test_pages_are_light_and_load_nothing_from_elsewhere(demo_site: Any, new_round: str):
    """Under 100 KB per page with its style sheet and icon; every asset is served by the app."""
    closed = demo_site.demo["closed_round_id"]
    with httpx.Client(base_url=demo_site.base_url) as client:
        assets = sum(len(client.get(path).content)
                     for path in ("/static/buurtbudget.css", "/static/favicon.svg"))
        for path in ("/", f"/rounds/{closed}", f"/rounds/{closed}/results",
                     f"/rounds/{closed}/money", f"/rounds/{new_round}/proposals/new"):
            html = client.get(path).text
            assert len(html.encode()) + assets < 100_000, path
            assert not re.search(r'(src|href)="(https?:)?//', html), path
            assert "<script" not in html and "style=" not in html, path
