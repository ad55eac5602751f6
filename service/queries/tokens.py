"""Bearer tokens as admins see them: names, roles and dates, never a secret or its hash."""
from __future__ import annotations

from typing import Any

from service import token_store
from service.principal import Principal
from service.queries.visibility import TOKEN_READERS
from service.runtime import Runtime


def list_tokens(rt: Runtime, principal: Principal) -> list[dict[str, Any]]:
    principal.require(*TOKEN_READERS)
    return token_store.list_tokens(rt.engine)
