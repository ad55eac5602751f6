"""Bank statements: a CAMT.053 upload marks the payouts it shows booked as paid (officials)."""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from marshmallow import fields

from domain.errors import RuleViolation
from service.api.common import BEARER, Blueprint, StrictSchema
from service.auth import actor, requires
from service.camt_statement import MAX_STATEMENT_BYTES
from service.extension import runtime
from service.reconciliation import reconcile_statement

blp = Blueprint(
    "bank_statements", __name__, url_prefix="/api/v1", description="Bank statement reconciliation"
)


# What `format: camt.053` means (no JSON Schema can state an XML document's rules).
STATEMENT_FORMAT = (
    "An ISO 20022 BankToCustomerStatement (camt.053.001.02 or later) as the bank sends it: "
    "well-formed XML without a document type declaration or entities, root element Document "
    "holding BkToCstmrStmt, at most 20 MB. Each entry (Ntry) has an amount (Amt, with Ccy) in "
    "whole cents and, if any, a booking date (BookgDt/Dt or DtTm) that is a date; every amount is "
    "in EUR, and a transfer matched to a payout by its EndToEndId is to the payout's IBAN. A "
    "statement that breaks one of these is refused whole (422), naming the line."
)


class ReconciledLine(StrictSchema):
    line = fields.Integer()
    end_to_end_id = fields.String(allow_none=True)
    amount = fields.Integer(metadata={"description": "cents"})
    booking_date = fields.String(allow_none=True)
    bank_reference = fields.String(allow_none=True)
    outcome = fields.String(metadata={
        "description": "paid, already paid, unmatched, amount differs, not booked, "
                       "not a payment, or payout is <status>",
    })
    payout_id = fields.String(allow_none=True)
    round_id = fields.String(allow_none=True)


class ReconciliationOut(StrictSchema):
    lines = fields.List(fields.Nested(ReconciledLine))
    paid = fields.Integer()
    unchanged = fields.Integer()


@blp.route("/bank-statements")
class BankStatements(MethodView):
    @requires("official")
    @blp.response(200, ReconciliationOut)
    @blp.doc(security=BEARER, requestBody={"required": True, "content": {"application/xml": {
        "schema": {"type": "string", "format": "camt.053", "description": STATEMENT_FORMAT},
    }}})
    def post(self):
        """Upload a CAMT.053 statement (the XML as the request body); a report per line."""
        if (request.content_length or 0) > MAX_STATEMENT_BYTES:
            raise RuleViolation("the statement is larger than 20 MB", field="statement")
        document = request.get_data(cache=False)
        if not document:
            raise RuleViolation("send the CAMT.053 statement as the request body", field="statement")
        return reconcile_statement(runtime(), document, actor=actor())
