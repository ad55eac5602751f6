"""Looking one item up: the item, or NotFound naming what was looked for."""
from __future__ import annotations

from typing import Any, TypeVar

from domain.errors import NotFound

T = TypeVar("T")


def found(item: T | None, what: str, key: Any) -> T:
    """`item`, or NotFound naming what was looked for."""
    if item is None:
        raise NotFound(f"{what} {key} not found")
    return item
