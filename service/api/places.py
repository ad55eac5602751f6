"""Municipalities and neighbourhoods."""
from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from projections import places
from service.api.common import BEARER, Blueprint, Id, Pattern, StrictSchema, Text, found
from service.auth import actor, requires
from service.extension import runtime

blp = Blueprint("places", __name__, url_prefix="/api/v1", description="Municipalities and neighbourhoods")


class MunicipalityIn(StrictSchema):
    name = Text(required=True, blank=False, validate=validate.Length(min=1, max=200))
    cbs_code = Text(
        load_default=None, validate=Pattern(r"^GM[0-9]{4}$", error="a municipality's CBS code looks like GM0363"),
        metadata={"example": "GM0363", "description": "CBS municipality code: GM and 4 digits"},
    )


class MunicipalityOut(StrictSchema):
    municipality_id = fields.String()
    name = fields.String()
    cbs_code = fields.String(allow_none=True)
    registered_at = fields.String()


class NeighbourhoodIn(StrictSchema):
    municipality_id = fields.UUID(required=True)
    name = Text(required=True, blank=False, validate=validate.Length(min=1, max=200))
    cbs_code = Text(
        load_default=None, validate=Pattern(
            r"^(WK[0-9]{6}|BU[0-9]{8})$",
            error="a neighbourhood's CBS code looks like WK036300 (wijk) or BU03630000 (buurt)",
        ),
        metadata={"example": "WK036300",
                  "description": "CBS code: WK and 6 digits (wijk) or BU and 8 digits (buurt)"},
    )


class NeighbourhoodOut(StrictSchema):
    neighbourhood_id = fields.String()
    municipality_id = fields.String()
    name = fields.String()
    cbs_code = fields.String(allow_none=True)
    registered_at = fields.String()


class NeighbourhoodQuery(StrictSchema):
    municipality_id = Id(load_default=None)


@blp.route("/municipalities")
class Municipalities(MethodView):
    @blp.response(200, MunicipalityOut(many=True))
    def get(self):
        """List municipalities."""
        with runtime().reading() as conn:
            return places.list_municipalities(conn)

    @requires("official")
    @blp.arguments(MunicipalityIn)
    @blp.response(201, MunicipalityOut)
    @blp.doc(security=BEARER)
    def post(self, data):
        """Register a municipality (official)."""
        rt = runtime()
        municipality_id = rt.application.register_municipality(actor=actor(), **data)
        with rt.reading() as conn:
            return places.get_municipality(conn, str(municipality_id))


@blp.route("/municipalities/<id:municipality_id>")
class MunicipalityById(MethodView):
    @blp.response(200, MunicipalityOut)
    def get(self, municipality_id):
        """One municipality."""
        with runtime().reading() as conn:
            item = places.get_municipality(conn, municipality_id)
        return found(item, "municipality", municipality_id)


@blp.route("/neighbourhoods")
class Neighbourhoods(MethodView):
    @blp.arguments(NeighbourhoodQuery, location="query")
    @blp.response(200, NeighbourhoodOut(many=True))
    def get(self, query):
        """List neighbourhoods, optionally of one municipality."""
        with runtime().reading() as conn:
            return places.list_neighbourhoods(conn, query["municipality_id"])

    @requires("official")
    @blp.arguments(NeighbourhoodIn)
    @blp.response(201, NeighbourhoodOut)
    @blp.doc(security=BEARER)
    def post(self, data):
        """Register a neighbourhood of a municipality (official)."""
        rt = runtime()
        neighbourhood_id = rt.application.register_neighbourhood(actor=actor(), **data)
        with rt.reading() as conn:
            return places.get_neighbourhood(conn, str(neighbourhood_id))


@blp.route("/neighbourhoods/<id:neighbourhood_id>")
class NeighbourhoodById(MethodView):
    @blp.response(200, NeighbourhoodOut)
    def get(self, neighbourhood_id):
        """One neighbourhood."""
        with runtime().reading() as conn:
            item = places.get_neighbourhood(conn, neighbourhood_id)
        return found(item, "neighbourhood", neighbourhood_id)
