"""Read model of municipalities and their neighbourhoods."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from domain.municipality import Municipality
from domain.neighbourhood import Neighbourhood
from projections.tracking import Batch, ReadModel, handles, metadata

municipalities = sa.Table(
    "rm_municipalities",
    metadata,
    sa.Column("municipality_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("cbs_code", sa.Text),
    sa.Column("registered_at", sa.Text, nullable=False),
)

neighbourhoods = sa.Table(
    "rm_neighbourhoods",
    metadata,
    sa.Column("neighbourhood_id", sa.Text, primary_key=True),
    sa.Column("municipality_id", sa.Text, nullable=False, index=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("cbs_code", sa.Text),
    sa.Column("registered_at", sa.Text, nullable=False),
)


class PlacesProjection(ReadModel):
    name = "places"
    tables = (municipalities, neighbourhoods)

    @handles(Municipality.Registered)  # type: ignore[attr-defined]
    def on_municipality(self, batch: Batch, event: Any, _position: int) -> None:
        batch.rows(municipalities).insert(dict(
            municipality_id=str(event.originator_id), name=event.name, cbs_code=event.cbs_code,
            registered_at=event.timestamp.isoformat(),
        ))

    @handles(Neighbourhood.Registered)  # type: ignore[attr-defined]
    def on_neighbourhood(self, batch: Batch, event: Any, _position: int) -> None:
        batch.rows(neighbourhoods).insert(dict(
            neighbourhood_id=str(event.originator_id), municipality_id=str(event.municipality_id),
            name=event.name, cbs_code=event.cbs_code, registered_at=event.timestamp.isoformat(),
        ))


def list_municipalities(conn: sa.Connection) -> list[dict[str, Any]]:
    rows = conn.execute(sa.select(municipalities).order_by(municipalities.c.name)).mappings()
    return [dict(row) for row in rows]


def get_municipality(conn: sa.Connection, municipality_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        sa.select(municipalities).where(municipalities.c.municipality_id == municipality_id)
    ).mappings().first()
    return dict(row) if row else None


def list_neighbourhoods(conn: sa.Connection, municipality_id: str | None = None) -> list[dict[str, Any]]:
    query = sa.select(neighbourhoods).order_by(neighbourhoods.c.name)
    if municipality_id:
        query = query.where(neighbourhoods.c.municipality_id == municipality_id)
    return [dict(row) for row in conn.execute(query).mappings()]


def get_neighbourhood(conn: sa.Connection, neighbourhood_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        sa.select(neighbourhoods).where(neighbourhoods.c.neighbourhood_id == neighbourhood_id)
    ).mappings().first()
    return dict(row) if row else None
