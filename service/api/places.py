"""Municipalities and neighbourhoods."""
from __future__ import annotations

from uuid import UUID

from flask.views import MethodView
from marshmallow import fields, validate

from service.api.common import BEARER, Blueprint, IbanField, Id, Pattern, StrictSchema, Text
from service.auth import actor, caller, requires
from service.extension import runtime
from service.queries import places

blp = Blueprint("places", __name__, url_prefix="/api/v1", description="Municipalities and neighbourhoods")


class MunicipalityIn(StrictSchema):
    name = Text(required=True, blank=False, validate=validate.Length(min=1, max=200))
    cbs_code = Text(
        load_default=None,
        validate=Pattern(r"^GM[0-9]{4}$", error="a municipality's CBS code looks like GM0363"),
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
        return places.list_municipalities(runtime(), caller())

    @requires("official")
    @blp.arguments(MunicipalityIn)
    @blp.response(201, MunicipalityOut)
    @blp.doc(security=BEARER)
    def post(self, data):
        """Register a municipality (official)."""
        municipality_id = runtime().application.register_municipality(actor=actor(), **data)
        return places.get_municipality(runtime(), caller(), str(municipality_id))


@blp.route("/municipalities/<id:municipality_id>")
class MunicipalityById(MethodView):
    @blp.response(200, MunicipalityOut)
    def get(self, municipality_id):
        """One municipality."""
        return places.get_municipality(runtime(), caller(), municipality_id)


class PayingAccountIn(StrictSchema):
    name = Text(required=True, blank=False, validate=validate.Length(min=1, max=70),
                metadata={"description": "the account holder's name as the bank shows it"})
    iban = IbanField(required=True)


class PayingAccountOut(StrictSchema):
    municipality_id = fields.String()
    name = fields.String(allow_none=True)
    iban = fields.String(allow_none=True)


@blp.route("/municipalities/<id:municipality_id>/paying-account")
class PayingAccount(MethodView):
    @requires("official", "auditor")
    @blp.response(200, PayingAccountOut)
    @blp.doc(security=BEARER)
    def get(self, municipality_id):
        """The account payouts are paid from (officials and auditors)."""
        return places.get_paying_account(runtime(), caller(), municipality_id)

    @requires("official")
    @blp.arguments(PayingAccountIn)
    @blp.response(200, PayingAccountOut)
    @blp.doc(security=BEARER)
    def put(self, data, municipality_id):
        """Set the account payouts are paid from: the default debtor of payment batches (official)."""
        runtime().application.set_paying_account(UUID(municipality_id), actor=actor(), **data)
        return places.get_paying_account(runtime(), caller(), municipality_id)


@blp.route("/neighbourhoods")
class Neighbourhoods(MethodView):
    @blp.arguments(NeighbourhoodQuery, location="query")
    @blp.response(200, NeighbourhoodOut(many=True))
    def get(self, query):
        """List neighbourhoods, optionally of one municipality."""
        return places.list_neighbourhoods(runtime(), caller(), query["municipality_id"])

    @requires("official")
    @blp.arguments(NeighbourhoodIn)
    @blp.response(201, NeighbourhoodOut)
    @blp.doc(security=BEARER)
    def post(self, data):
        """Register a neighbourhood of a municipality (official)."""
        neighbourhood_id = runtime().application.register_neighbourhood(actor=actor(), **data)
        return places.get_neighbourhood(runtime(), caller(), str(neighbourhood_id))


@blp.route("/neighbourhoods/<id:neighbourhood_id>")
class NeighbourhoodById(MethodView):
    @blp.response(200, NeighbourhoodOut)
    def get(self, neighbourhood_id):
        """One neighbourhood."""
        return places.get_neighbourhood(runtime(), caller(), neighbourhood_id)
