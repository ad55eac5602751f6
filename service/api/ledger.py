"""The ledger for officials and auditors: exports in every format, trial balance, statements."""
from __future__ import annotations

from flask import Response, stream_with_context
from flask.views import MethodView
from marshmallow import RAISE, fields, validate

from service.api.common import BEARER, Blueprint, StrictSchema, Text
from service.auth import caller, requires
from service.extension import runtime
from service.ledger_export import FORMATS
from service.queries import ledger as ledger_queries

blp = Blueprint("ledger", __name__, url_prefix="/api/v1/ledger", description="Double-entry ledger")


class ScopeQuery(StrictSchema):
    """Which lines: of a municipality, neighbourhood, round or proposal; between two dates."""

    municipality_id = fields.UUID(load_default=None)
    neighbourhood_id = fields.UUID(load_default=None)
    round_id = fields.UUID(load_default=None)
    proposal_id = fields.UUID(load_default=None)
    date_from = fields.Date(load_default=None, data_key="from",
                            metadata={"description": "first booking date (inclusive)"})
    date_to = fields.Date(load_default=None, data_key="to",
                          metadata={"description": "last booking date (inclusive): 'as of'"})


class ExportQuery(ScopeQuery):
    format = Text(load_default="csv", validate=validate.OneOf(sorted(FORMATS)))


class TrialBalanceRow(StrictSchema):
    account = fields.String()
    name = fields.String()
    kind = fields.String(metadata={"description": "B balance sheet, P profit and loss"})
    normal_side = fields.String()
    opening = fields.Integer(metadata={"description": "cents, positive on the normal side"})
    debit = fields.Integer()
    credit = fields.Integer()
    closing = fields.Integer()


class TrialBalanceOut(StrictSchema):
    organisation = fields.String()
    date_from = fields.Date(allow_none=True, data_key="from")
    date_to = fields.Date(allow_none=True, data_key="to")
    accounts = fields.List(fields.Nested(TrialBalanceRow))
    total_debit = fields.Integer()
    total_credit = fields.Integer()


class StatementLine(StrictSchema):
    position = fields.Integer()
    line_number = fields.Integer()
    event_id = fields.String()
    event_type = fields.String()
    booking_date = fields.String()
    booked_at = fields.String()
    description = fields.String()
    municipality_id = fields.String()
    neighbourhood_id = fields.String()
    round_id = fields.String()
    proposal_id = fields.String()
    payout_id = fields.String()
    counterparty = fields.String()
    account = fields.String()
    side = fields.String()
    amount = fields.Integer()
    task_field = fields.String()
    balance = fields.Integer()


class StatementOut(StrictSchema):
    account = fields.String()
    name = fields.String()
    opening = fields.Integer()
    closing = fields.Integer()
    lines = fields.List(fields.Nested(StatementLine))


def _scope(query: dict) -> ledger_queries.LedgerScope:
    return ledger_queries.scope_for(**{
        key: str(value) if key.endswith("_id") and value is not None else value
        for key, value in query.items() if key != "format"
    })


@blp.route("")
class LedgerExportView(MethodView):
    @requires("official", "auditor")
    # A misspelt filter must not turn into an export of every municipality's books.
    @blp.arguments(ExportQuery, location="query", unknown=RAISE)
    @blp.response(200, content_type="application/octet-stream",
                  description="the ledger file in the chosen format, streamed")
    @blp.doc(security=BEARER)
    def get(self, query):
        """The journal lines as csv, csv-nl, json, xaf (3.2), xaf-4.0 or beancount."""
        export = ledger_queries.export_ledger(
            runtime(), caller(), query["format"], _scope(query)
        )
        return Response(
            stream_with_context(export.chunks), mimetype=export.media_type,
            headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
        )


@blp.route("/trial-balance")
class TrialBalanceView(MethodView):
    @requires("official", "auditor")
    @blp.arguments(ScopeQuery, location="query", unknown=RAISE)
    @blp.response(200, TrialBalanceOut)
    @blp.doc(security=BEARER)
    def get(self, query):
        """Opening balance, debits, credits and closing balance per account (cents)."""
        return ledger_queries.trial_balance(runtime(), caller(), _scope(query))


@blp.route("/accounts/<account>")
class StatementView(MethodView):
    @requires("official", "auditor")
    @blp.arguments(ScopeQuery, location="query", unknown=RAISE)
    @blp.response(200, StatementOut)
    @blp.doc(security=BEARER)
    def get(self, query, account):
        """One account's lines with a running balance."""
        return ledger_queries.account_statement(
            runtime(), caller(), _scope(query), account
        )
