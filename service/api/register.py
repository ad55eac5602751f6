"""Voter registers: who may vote in a round, a register upload that becomes codes and letters, and
a new code for a lost letter (officials)."""
from __future__ import annotations

from uuid import UUID

from flask import Response, request
from flask.views import MethodView
from marshmallow import fields, validate
from werkzeug.wsgi import wrap_file

from domain.eligibility import MAX_AREA_ENTRIES, MAX_MINIMUM_AGE
from domain.errors import RuleViolation
from service.api.common import BEARER, Blueprint, Count, Pattern, StrictSchema, Text
from service.auth import actor, caller, requires
from service.extension import runtime
from service.queries import rounds
from service.voter_register import RegisterImport, import_register
from service.voting_letters import letters_archive, vote_url

blp = Blueprint("register", __name__, url_prefix="/api/v1/rounds",
                description="Voter registers, codes and letters")

# A municipality's extract of a million residents is about 100 MB; other bodies stop at 1 MB.
MAX_REGISTER_BYTES = 500_000_000


# The shape of an area entry; that a range does not run backwards is checked by the domain.
POSTCODE_ENTRY = r"^[1-9][0-9]{3} ?([A-Za-z]{2})?( ?- ?[1-9][0-9]{3} ?([A-Za-z]{2})?)?$"


class EligibilityIn(StrictSchema):
    minimum_age = Count(required=True, minimum=0, maximum=MAX_MINIMUM_AGE)
    reference_date = fields.Date(required=True,
                                 metadata={"description": "age is counted on this day"})
    postcodes = fields.List(
        Text(validate=[validate.Length(min=4, max=15), Pattern(POSTCODE_ENTRY, error=(
            "not a postcode (1091AB), a postcode number (1091) or a range of them (1091-1094)"
        ))]), required=True,
        validate=validate.Length(min=1, max=MAX_AREA_ENTRIES),
        metadata={"description": "1091AB, 1091 (all its letters), 1091-1094, 1091AA-1091GZ"},
    )


class EligibilityOut(StrictSchema):
    round_id = fields.String()
    minimum_age = fields.Integer()
    reference_date = fields.String()
    postcodes = fields.List(fields.String())


class ReissueIn(StrictSchema):
    person_key = Text(required=True, validate=validate.Length(min=1, max=200))
    reason = Text(required=True, validate=validate.Length(min=1, max=500))


class ReissueOut(StrictSchema):
    round_id = fields.String()
    code = fields.String(metadata={"description": "print it on the new letter now: shown once"})
    vote_url = fields.String()


@blp.route("/<id:round_id>/eligibility")
class Eligibility(MethodView):
    @requires("official")
    @blp.arguments(EligibilityIn)
    @blp.response(200, EligibilityOut)
    @blp.doc(security=BEARER)
    def put(self, data, round_id):
        """Set who may vote: minimum age on a date and the area's postcodes (official)."""
        rules = {**data, "reference_date": data["reference_date"].isoformat()}
        runtime().application.set_eligibility(UUID(round_id), rules=rules, actor=actor())
        return {"round_id": round_id, **rules}

    @blp.response(200, EligibilityOut)
    def get(self, round_id):
        """Who may vote in the round (public)."""
        return rounds.get_eligibility(runtime(), caller(), round_id)


@blp.route("/<id:round_id>/register")
class Register(MethodView):
    @requires("official")
    @blp.response(201, content_type="application/zip",
                  description="letters.pdf and mail-merge.csv; the counts in X-Register-* headers")
    @blp.doc(security=BEARER, requestBody={
        "required": True,
        "description": "the register as CSV (columns in docs/privacy.md; `;` or `,`, UTF-8 or "
                       "Latin-1): every line is checked, and nothing is issued unless all "
                       "are valid",
        "content": {"text/csv": {"schema": {"type": "string", "format": "binary", "minLength": 1}}},
    })
    def post(self, round_id):
        """Upload a voter register: a zip with the letters (PDF) and the mail-merge CSV of every
        eligible resident who had no code yet. The codes are in this answer only."""
        request.max_content_length = MAX_REGISTER_BYTES
        if not request.content_length:
            raise RuleViolation("send the register (CSV) as the request body", field="register")
        done = import_register(runtime().application, UUID(round_id), request.stream,
                               actor=actor())
        return letters_response(round_id, done)


def letters_response(round_id: str, done: RegisterImport) -> Response:
    """The letters of an upload as a zip download, with its counts in X-Register-* headers."""
    archive = letters_archive(runtime().application, UUID(round_id), done.staged,
                              base_url=request.url_root)
    report = done.report()
    headers = {
        "Content-Disposition": f'attachment; filename="letters-{round_id}.zip"',
        "Cache-Control": "no-store",
        **{f"X-Register-{name.replace('_', '-').title()}": str(report[name])
           for name in ("rows", "eligible", "not_eligible", "already_enrolled", "enrolled")},
    }
    return Response(wrap_file(request.environ, archive), status=201,
                    mimetype="application/zip", headers=headers, direct_passthrough=True)


@blp.route("/<id:round_id>/register/reissue")
class Reissue(MethodView):
    @requires("official")
    @blp.arguments(ReissueIn)
    @blp.response(201, ReissueOut)
    @blp.doc(security=BEARER)
    def post(self, data, round_id):
        """A new code for a resident whose letter was lost; the old code stops working."""
        code = runtime().application.reissue_code(UUID(round_id), actor=actor(), **data)
        return {"round_id": round_id, "code": code,
                "vote_url": vote_url(request.url_root, round_id)}
