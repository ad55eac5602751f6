"""The vote page with odd input, through the Flask client on both backends: a wrong code answers
403 (what the code-guessing limit counts), points and places typed in any form are refused at
their field with 422, never a 500, and nothing is written."""
from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.api.conftest import RoundDriver

HTTPS = "https://localhost"  # the session cookie that carries the CSRF token is Secure


def page_post(client: FlaskClient, round_id: str, form: dict[str, str]) -> Any:
    """POST the vote page form with the CSRF token of a fresh GET (over HTTPS, Flask-WTF wants
    the referring page then)."""
    page = client.get(f"/rounds/{round_id}/vote?lang=en", base_url=HTTPS)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
    assert token, page.text
    return client.post(f"/rounds/{round_id}/vote", base_url=HTTPS,
                       headers={"Referer": page.request.url},
                       data={"csrf_token": token.group(1), **form})


def nothing_cast(api: Any, round_id: str, code: str) -> bool:
    return api.post(f"/rounds/{round_id}/ballots/lookup", {"code": code}, as_=None)["cast"] is False


def test_a_wrong_code_is_refused_with_403_and_the_field_says_why(
    client: FlaskClient, rounds: RoundDriver
):
    driven = rounds.to("voting")
    response = page_post(client, driven.round_id, {"code": "AAAA-BBBB-CCCC"})
    assert response.status_code == 403
    assert 'id="code-error"' in response.text and 'href="#code"' in response.text
    shown = page_post(client, driven.round_id, {"code": driven.codes[0].lower().replace("-", "")})
    assert shown.status_code == 200 and 'id="ballot"' in shown.text


@pytest.mark.parametrize("typed", ["²", "-1", "1_0", "abc", "1234567"])
def test_points_in_any_form_are_refused_at_their_field(
    client: FlaskClient, rounds: RoundDriver, api: Any, typed: str
):
    driven = rounds.to("voting", voting={"method": "cumulative", "points_total": 10})
    first = driven.proposal_ids[0]
    response = page_post(client, driven.round_id, {
        "code": driven.codes[0], "cast": "1", f"points-{first}": typed,
        f"points-{driven.proposal_ids[1]}": "3"})
    assert response.status_code == 422
    assert f'href="#points-{first}"' in response.text
    assert f'id="points-{first}-error"' in response.text
    assert nothing_cast(api, driven.round_id, driven.codes[0])


def test_two_proposals_in_one_place_are_refused_at_both(
    client: FlaskClient, rounds: RoundDriver, api: Any
):
    driven = rounds.to("voting", voting={"method": "ordinal"})
    first, second, third = driven.proposal_ids
    response = page_post(client, driven.round_id, {
        "code": driven.codes[0], "cast": "1", f"rank-{first}": "1", f"rank-{second}": "1",
        f"rank-{third}": "9x"})
    assert response.status_code == 422
    assert f'id="rank-{first}-error"' in response.text
    assert f'id="rank-{second}-error"' in response.text
    assert nothing_cast(api, driven.round_id, driven.codes[0])

    # places are an order: 2 and 5 make a first and a second choice
    cast = page_post(client, driven.round_id, {
        "code": driven.codes[0], "cast": "1", f"rank-{first}": "5", f"rank-{third}": "2"})
    assert cast.status_code == 200 and 'id="receipt"' in cast.text
    own = api.post(f"/rounds/{driven.round_id}/ballots/lookup", {"code": driven.codes[0]},
                   as_=None)
    assert own["choices"] == {third: 1, first: 2}
