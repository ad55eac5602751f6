"""Municipalities and neighbourhoods, as anyone sees them."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from projections import places
from service.principal import Principal
from service.queries.lookup import found
from service.queries.rounds import list_rounds
from service.queries.visibility import PAYING_ACCOUNT_READERS
from service.runtime import Runtime


def list_municipalities(rt: Runtime, principal: Principal) -> list[dict[str, Any]]:
    with rt.reading() as conn:
        return places.list_municipalities(conn)


def get_municipality(rt: Runtime, principal: Principal, municipality_id: str) -> dict[str, Any]:
    with rt.reading() as conn:
        item = places.get_municipality(conn, municipality_id)
    return found(item, "municipality", municipality_id)


def list_neighbourhoods(
    rt: Runtime, principal: Principal, municipality_id: str | None = None
) -> list[dict[str, Any]]:
    with rt.reading() as conn:
        return places.list_neighbourhoods(conn, municipality_id)


def get_neighbourhood(rt: Runtime, principal: Principal, neighbourhood_id: str) -> dict[str, Any]:
    with rt.reading() as conn:
        item = places.get_neighbourhood(conn, neighbourhood_id)
    return found(item, "neighbourhood", neighbourhood_id)


def get_paying_account(rt: Runtime, principal: Principal, municipality_id: str) -> dict[str, Any]:
    """The account the municipality pays from (name and IBAN; None while not set)."""
    principal.require(*PAYING_ACCOUNT_READERS)
    account = rt.application.paying_account(UUID(municipality_id))
    return {"municipality_id": municipality_id, "name": None, "iban": None, **(account or {})}


def places_with_rounds(rt: Runtime, principal: Principal) -> list[dict[str, Any]]:
    """Municipalities, each with its neighbourhoods, each with its rounds (oldest first)."""
    all_rounds = list_rounds(rt, principal)
    municipalities = []
    for municipality in list_municipalities(rt, principal):
        neighbourhoods = [
            {**n, "rounds": [r for r in all_rounds if r["neighbourhood_id"] == n["neighbourhood_id"]]}
            for n in list_neighbourhoods(rt, principal, municipality["municipality_id"])
        ]
        municipalities.append({**municipality, "neighbourhoods": neighbourhoods})
    return municipalities
