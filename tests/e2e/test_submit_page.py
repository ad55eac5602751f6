"""Submitting a proposal in the browser: with the keyboard only, without JavaScript, with errors
linked to their fields, and on a 375 px wide phone screen; then the official admits it."""
from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.page_check import PageCheck
from tests.e2e.test_pages import submission_round

PHONE = {"width": 375, "height": 740}


@pytest.fixture(scope="module")
def open_round(demo_site: Any) -> str:
    return submission_round(demo_site)


def press_tab_until(page: Any, selector: str, limit: int = 80) -> None:
    """Tab through the page until the element matching `selector` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} cannot be reached with the Tab key")


def type_into(page: Any, selector: str, text: str) -> None:
    press_tab_until(page, selector)
    page.keyboard.type(text)


def test_a_resident_submits_with_the_keyboard_only(demo_site: Any, open_round: str, browser_page: Any):
    page = browser_page
    check = PageCheck(page, demo_site.base_url, demo_site.server.backend)
    check.open(f"/rounds/{open_round}")
    press_tab_until(page, "a.button")  # "Dien een plan in"
    page.keyboard.press("Enter")
    page.wait_for_url("**/proposals/new")

    # sending the empty form: a summary whose links lead to the fields
    press_tab_until(page, "button[name=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector("#error-summary")
    check.check("submit-errors")
    summary = page.locator("#error-summary a")
    assert summary.count() == 6  # title, summary, line description, line amount, name, e-mail
    press_tab_until(page, "#error-summary a[href='#title']")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "title"
    assert page.locator("#title").get_attribute("aria-describedby") == "title-error"

    for selector, text in (("#title", "Bankjes op het plein"),
                           ("#summary", "Vier bankjes bij de speeltuin"),
                           ("#cost_lines-0-description", "Bankjes"),
                           ("#cost_lines-0-amount", "1.200,50")):
        type_into(page, selector, text)
    press_tab_until(page, "button[name=add_line]")
    page.keyboard.press("Enter")
    page.wait_for_selector("#cost_lines-1-description")
    assert page.locator("#cost_lines-0-amount").input_value() == "1.200,50"  # kept
    for selector, text in (("#cost_lines-1-description", "Plaatsen"),
                           ("#cost_lines-1-amount", "300"), ("#proposer_name", "Sanne"),
                           ("#proposer_email", "sanne@example.nl")):
        type_into(page, selector, text)
    press_tab_until(page, "button[name=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector("#proposer-key")
    check.check("submitted")
    key = page.locator("#proposer-key").inner_text().strip()
    assert len(key) >= 24

    # the official admits it through the API; it is on the round page at its cost
    listed = httpx.get(f"{demo_site.base_url}/api/v1/rounds/{open_round}/proposals",
                       headers=demo_site.server.headers("anna")).json()
    proposal = next(p for p in listed if p["title"] == "Bankjes op het plein")
    assert [line["amount"] for line in proposal["cost_lines"]] == [120_050, 30_000]
    headers = demo_site.server.headers("anna")
    httpx.post(f"{demo_site.base_url}/api/v1/rounds/{open_round}/close-submissions",
               headers=headers, json={}).raise_for_status()
    httpx.post(f"{demo_site.base_url}/api/v1/proposals/{proposal['proposal_id']}/admit",
               headers=headers, json={}).raise_for_status()
    check.open(f"/rounds/{open_round}")
    card = page.locator(".card", has_text="Bankjes op het plein")
    assert "€\u00a01.500,50" in card.inner_text()
    check.check("round-with-admitted")


def test_cost_lines_are_added_and_removed_without_javascript(
    demo_site: Any, open_round: str, chromium: Any
):
    context = chromium.new_context(java_script_enabled=False, locale="en-GB")
    page = context.new_page()
    try:
        check = PageCheck(page, demo_site.base_url, demo_site.server.backend)
        round_id = submission_round(demo_site)
        check.open(f"/rounds/{round_id}/proposals/new", lang="en")
        page.fill("#cost_lines-0-description", "Paint")
        page.fill("#cost_lines-0-amount", "99.95")
        page.click("button[name=add_line]")
        page.click("button[name=add_line]")
        assert page.locator("fieldset.cost-line").count() == 3
        page.fill("#cost_lines-2-description", "Brushes")
        page.click("button[name=remove_line][value='1']")
        assert page.locator("fieldset.cost-line").count() == 2
        assert page.locator("#cost_lines-0-description").input_value() == "Paint"
        assert page.locator("#cost_lines-1-description").input_value() == "Brushes"
        page.fill("#cost_lines-1-amount", "ten euros")
        page.click("button[name=submit]")
        error = page.locator("#cost_lines-1-amount-error").inner_text()
        assert "Write the amount in euros, for example 1250.50." in error
        assert page.locator("#cost_lines-0-amount").input_value() == "99.95"
    finally:
        context.close()


@pytest.mark.parametrize("lang", ("nl", "en"))
def test_pages_fit_a_375_pixel_phone(demo_site: Any, chromium: Any, lang: str):
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        check = PageCheck(page, demo_site.base_url, demo_site.server.backend)
        closed, fresh = demo_site.demo["closed_round_id"], submission_round(demo_site)
        for path in ("/", f"/rounds/{closed}", f"/rounds/{closed}/results",
                     f"/rounds/{closed}/money", f"/rounds/{fresh}/proposals/new"):
            check.open(path, lang=lang)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{path} scrolls sideways on a phone: {width} px"
        check.check("phone-submit-form")
    finally:
        context.close()


def test_a_form_without_its_csrf_token_is_refused(demo_site: Any, open_round: str):
    response = httpx.post(
        f"{demo_site.base_url}/rounds/{open_round}/proposals/new",
        data={"title": "x", "submit": "1"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in response.headers["content-security-policy"]
