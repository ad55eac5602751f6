"""Bearer tokens through HTTP: admins create, list and revoke them; a secret is shown only once."""
from __future__ import annotations

import uuid


from service.token_store import MAX_NAME_LENGTH
from tests.api.conftest import TOKEN_NAMES


def test_an_admin_creates_a_token_that_works_at_once_and_is_listed_without_its_secret(api):
    created = api.post("/tokens", {"name": "eva", "role": "official"}, as_="admin", status=201)

    assert created["token"].startswith("bb_")
    assert (created["name"], created["role"], created["created_by"]) == (
        "eva",
        "official",
        "admin:dirk",
    )
    listed = api.get("/tokens", as_="admin")
    assert [t["name"] for t in listed] == ["anna", "bram", "carla", "dirk", "emre", "eva"]
    assert all(
        set(t) == {"token_id", "name", "role", "created_at", "created_by", "revoked_at"}
        for t in listed
    )
    api.add_caller("eva", created["token"])
    assert api.post("/municipalities", {"name": "Delft"}, as_="eva", status=201)["name"] == "Delft"


def test_a_revoked_token_is_refused(api):
    created = api.post("/tokens", {"name": "eva", "role": "auditor"}, as_="admin", status=201)
    token_url = f"/tokens/{created['token_id']}"

    response = api.call("DELETE", token_url, as_="admin")

    assert (response.status_code, response.data) == (204, b"")
    [revoked] = [t for t in api.get("/tokens", as_="admin") if t["name"] == "eva"]
    assert revoked["revoked_at"] is not None
    api.add_caller("eva", created["token"])
    api.refused(
        "GET",
        "/events",
        as_="eva",
        status=401,
        message="the token is not valid (unknown or revoked)",
    )
    api.refused("DELETE", token_url, as_="admin", status=404, message="no active token")
    api.refused("DELETE", f"/tokens/{uuid.uuid4()}", as_="admin", status=404)


def test_token_names_are_unique_and_roles_known(api):
    for body, status, message in [
        ({"name": "anna", "role": "auditor"}, 409, "a token named 'anna' already exists"),
        ({"name": "eva", "role": "mayor"}, 422, "json.role"),
        ({"name": "eva smit", "role": "official"}, 422, "name must be letters, digits"),
        ({"name": "eva", "role": "official", "expires": "never"}, 422, "expires"),
    ]:
        api.refused("POST", "/tokens", body, as_="admin", status=status, message=message)
    assert len(api.get("/tokens", as_="admin")) == len(TOKEN_NAMES)


def test_only_admins_manage_tokens(api):
    token_id = api.get("/tokens", as_="admin")[0]["token_id"]
    for method, path, body in (
        ("GET", "/tokens", None),
        ("POST", "/tokens", {"name": "eva", "role": "admin"}),
        ("DELETE", f"/tokens/{token_id}", None),
    ):
        api.refused(method, path, body, status=401)
        for role in ("official", "auditor"):
            api.refused(method, path, body, as_=role, status=403, message="needs the role admin")
    assert all(t["revoked_at"] is None for t in api.get("/tokens", as_="admin"))


def test_an_official_with_the_longest_name_a_token_may_have_can_act(api):
    name = "a" * MAX_NAME_LENGTH
    api.add_caller(
        name,
        api.post("/tokens", {"name": name, "role": "official"}, as_="admin", status=201)["token"],
    )

    created = api.post("/municipalities", {"name": "Delft"}, as_=name, status=201)

    assert api.get("/municipalities") == [created]


def test_a_token_name_longer_than_an_actor_may_be_is_refused(api):
    api.refused(
        "POST", "/tokens", {"name": "a" * (MAX_NAME_LENGTH + 1), "role": "official"},
        as_="admin", status=422,
    )
