"""What every query shares: the runtime it reads through, and 404 for what is not there."""
from __future__ import annotations

from typing import Any, TypeVar

from domain.errors import NotFound
from service.runtime import Runtime

__all__ = ["Runtime", "found"]

T = TypeVar("T")


def found(item: T | None, what: str, key: Any) -> T:
    """`item`, or NotFound naming what was looked for."""
    if item is None:
        raise NotFound(f"{what} {key} not found")
    return item
