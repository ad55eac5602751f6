"""Erasure of a person's personal data, by admins (docs/privacy.md)."""
from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from service.api.common import BEARER, Blueprint, Email, IbanField, StrictSchema, Text
from service.auth import actor, requires
from service.erasure import erase_personal_data
from service.extension import runtime

blp = Blueprint(
    "privacy", __name__, url_prefix="/api/v1/privacy", description="Erasure of personal data (admin)"
)


class ErasureIn(StrictSchema):
    email = Email(load_default=None, validate=validate.Length(max=254),
                  metadata={"description": "the proposer's e-mail address"})
    iban = IbanField(load_default=None, metadata={"description": "the payee's IBAN"})
    reason = Text(required=True, blank=False, validate=validate.Length(min=1, max=1000),
                  metadata={"description": "why, e.g. the request's case number; no personal data"})


class ErasureOut(StrictSchema):
    erasure_id = fields.String()
    keys_destroyed = fields.Integer()
    records = fields.List(fields.String(), metadata={"description": "proposal:ID, payout:ID"})
    plaintext_remains = fields.List(fields.String(), metadata={
        "description": "records whose events, stored before sealing, still hold the plaintext"
    })


@blp.route("/erasures")
class Erasures(MethodView):
    @requires("admin")
    @blp.arguments(ErasureIn)
    @blp.response(201, ErasureOut)
    @blp.doc(security=BEARER)
    def post(self, data):
        """Erase the personal data of a proposer (e-mail) and/or payee (IBAN): 404 if none."""
        return erase_personal_data(runtime(), actor=actor(), **data)
