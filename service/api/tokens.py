"""Bearer tokens, managed by admins."""
from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from service.api.common import BEARER, Blueprint, Pattern, StrictSchema, Text
from service.auth import actor, caller, requires
from service.extension import runtime
from service.principal import ROLES
from service.queries import tokens
from service.queries.visibility import TOKEN_READERS
from service.token_store import MAX_NAME_LENGTH, create_token, revoke_token

blp = Blueprint("tokens", __name__, url_prefix="/api/v1/tokens", description="Bearer tokens (admin)")


class TokenIn(StrictSchema):
    name = Text(required=True, validate=[
        validate.Length(min=1, max=MAX_NAME_LENGTH),
        Pattern(r"^[A-Za-z0-9._-]+$", error="name must be letters, digits, '-', '_' or '.'"),
    ], metadata={"description": "letters, digits, '.', '_' or '-'; becomes the actor in events"})
    role = Text(required=True, validate=validate.OneOf(ROLES))


class TokenOut(StrictSchema):
    token_id = fields.String()
    name = fields.String()
    role = fields.String()
    created_at = fields.String()
    created_by = fields.String()
    revoked_at = fields.String(allow_none=True)
    token = fields.String(metadata={"description": "only in the response that creates it"})


@blp.route("")
class Tokens(MethodView):
    @requires(*TOKEN_READERS)
    @blp.response(200, TokenOut(many=True))
    @blp.doc(security=BEARER)
    def get(self):
        """List tokens (never their secrets)."""
        return tokens.list_tokens(runtime(), caller())

    @requires("admin")
    @blp.arguments(TokenIn)
    @blp.response(201, TokenOut)
    @blp.doc(security=BEARER)
    def post(self, data):
        """Create a token; its secret is in this response only."""
        return create_token(runtime().engine, created_by=actor(), **data)


@blp.route("/<id:token_id>")
class TokenById(MethodView):
    @requires("admin")
    @blp.response(204)
    @blp.doc(security=BEARER)
    def delete(self, token_id):
        """Revoke a token."""
        revoke_token(runtime().engine, token_id)
