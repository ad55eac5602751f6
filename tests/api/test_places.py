"""Municipalities and neighbourhoods through HTTP: registered by officials, readable by anyone."""
from __future__ import annotations

import uuid


def test_an_official_registers_a_municipality_and_reads_it_back(api):
    created = api.post("/municipalities", {"name": "Amsterdam", "cbs_code": "GM0363"}, status=201)

    assert created["name"] == "Amsterdam" and created["cbs_code"] == "GM0363"
    assert api.get(f"/municipalities/{created['municipality_id']}") == created
    assert api.get("/municipalities") == [created]


def test_a_neighbourhood_belongs_to_its_municipality_and_lists_filter_by_it(api):
    amsterdam = api.post("/municipalities", {"name": "Amsterdam"}, status=201)["municipality_id"]
    utrecht = api.post("/municipalities", {"name": "Utrecht"}, status=201)["municipality_id"]
    oost = api.post(
        "/neighbourhoods",
        {"municipality_id": amsterdam, "name": "Oost", "cbs_code": "WK036300"},
        status=201,
    )
    api.post("/neighbourhoods", {"municipality_id": utrecht, "name": "Lombok"}, status=201)

    assert oost["municipality_id"] == amsterdam and oost["cbs_code"] == "WK036300"
    assert api.get(f"/neighbourhoods/{oost['neighbourhood_id']}") == oost
    assert api.get(f"/neighbourhoods?municipality_id={amsterdam}") == [oost]
    assert {n["name"] for n in api.get("/neighbourhoods")} == {"Oost", "Lombok"}


def test_registering_places_needs_an_official(api):
    body = {"name": "Amsterdam"}
    api.refused("POST", "/municipalities", body, status=401, message="bearer token")
    for role in ("auditor", "admin"):
        api.refused("POST", "/municipalities", body, as_=role, status=403, message=f"not {role}")


def test_place_rules_are_checked(api):
    for body, message in [
        ({"name": "Amsterdam", "cbs_code": "0363"}, "CBS code looks like GM0363"),
        ({"name": "   "}, "name: must not be empty"),
        ({"name": "Amsterdam", "province": "NH"}, "province"),
    ]:
        api.refused("POST", "/municipalities", body, as_="official", status=422, message=message)


def test_a_neighbourhood_needs_an_existing_municipality(api, rounds):
    for municipality_id, status in [
        (str(uuid.uuid4()), 404),
        (rounds.neighbourhood(), 404),
        ("amsterdam", 422),
    ]:
        body = {"municipality_id": municipality_id, "name": "Oost"}
        api.refused(
            "POST", "/neighbourhoods", body, as_="official", status=status, message="municipality"
        )


def test_unknown_and_malformed_place_ids_are_not_found(api):
    for path in ("/municipalities", "/neighbourhoods"):
        api.refused("GET", f"{path}/{uuid.uuid4()}", status=404, message="not found")
        api.refused("GET", f"{path}/amsterdam", status=404, message="not found")
