"""Request authentication: the principal of the current request, and the role gate for views.

A request without an Authorization header is the public; a bearer token must be valid even where
the endpoint is public. Which data a principal may see is not decided here but in `service.queries`.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, request

from service.extension import runtime
from service.principal import PUBLIC, Principal, Unauthorized
from service.token_store import principal_for


def current_principal() -> Principal | None:
    """The token holder calling, from the Authorization header (None for the public)."""
    if "principal" not in g:
        header = request.headers.get("Authorization", "")
        if not header:
            g.principal = None
        else:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized("use 'Authorization: Bearer <token>'")
            g.principal = principal_for(runtime().engine, token.strip())
            if g.principal is None:
                raise Unauthorized("the token is not valid (unknown or revoked)")
    return g.principal


def caller() -> Principal:
    """The principal of this request: the token holder, else the public."""
    return current_principal() or PUBLIC


def requires(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Let only callers with one of `roles` in; 401 without a token, 403 with another role."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            caller().require(*roles)
            return view(*args, **kwargs)

        return guarded

    return decorate


def actor() -> str:
    """The caller as named in events; 401 for the public."""
    principal = current_principal()
    if principal is None:
        raise Unauthorized("this needs a bearer token")
    return principal.actor
