"""Who may vote in a round: a minimum age on a reference date, and the neighbourhood's postcodes.

Dutch postcodes are four digits (the first not 0) and two letters: `1091 AB`. A round's area is
a list of postcodes and ranges of them; a bare four-digit number means all its letters:

    1091AB          one postcode
    1091            1091AA up to 1091ZZ
    1091-1094       1091AA up to 1094ZZ
    1091AA-1091GZ   a range within one number, or across numbers

Postcodes compare as text once normalised (`1091AB`), which orders them as the post does.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from domain.errors import RuleViolation

POSTCODE = re.compile(r"^([1-9][0-9]{3}) ?([A-Z]{2})?$")
MAX_AREA_ENTRIES = 1000
MAX_MINIMUM_AGE = 120


def normal_postcode(text: str) -> str | None:
    """`1091 ab` -> `1091AB`; None when it is not a full Dutch postcode."""
    found = POSTCODE.match(text.strip().upper())
    if found is None or found.group(2) is None:
        return None
    return found.group(1) + found.group(2)


def _bound(text: str, *, low: bool) -> str:
    found = POSTCODE.match(text.strip().upper())
    if found is None:
        raise RuleViolation(
            f"'{text}' is not a postcode (1091AB) or postcode number (1091)", field="postcodes"
        )
    return found.group(1) + (found.group(2) or ("AA" if low else "ZZ"))


def postcode_range(entry: str) -> tuple[str, str]:
    """The first and last postcode an entry of the area covers."""
    if not isinstance(entry, str) or not entry.strip():
        raise RuleViolation("a postcode entry must not be empty", field="postcodes")
    low_text, _, high_text = entry.partition("-")
    low = _bound(low_text, low=True)
    high = _bound(high_text if high_text else low_text, low=False)
    if high < low:
        raise RuleViolation(f"the range '{entry}' runs backwards", field="postcodes")
    return low, high


def age_on(birth_date: date, reference_date: date) -> int:
    """Whole years of age on the reference date (born 29 February: of age on 1 March)."""
    had_birthday = (reference_date.month, reference_date.day) >= (birth_date.month, birth_date.day)
    return reference_date.year - birth_date.year - (0 if had_birthday else 1)


@dataclass(frozen=True)
class EligibilityRules:
    """The rules a round's register is checked against."""

    minimum_age: int
    reference_date: date
    postcodes: tuple[str, ...]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EligibilityRules:
        """Check and build rules from their stored or requested form."""
        minimum_age = data.get("minimum_age")
        if not isinstance(minimum_age, int) or isinstance(minimum_age, bool) or not (
            0 <= minimum_age <= MAX_MINIMUM_AGE
        ):
            raise RuleViolation(
                f"minimum_age must be a whole number from 0 to {MAX_MINIMUM_AGE}",
                field="minimum_age",
            )
        try:
            reference_date = date.fromisoformat(str(data.get("reference_date")))
        except ValueError:
            raise RuleViolation(
                "reference_date must be a date like 2026-05-01", field="reference_date"
            ) from None
        postcodes = data.get("postcodes")
        if not isinstance(postcodes, (list, tuple)) or not postcodes:
            raise RuleViolation(
                "postcodes must list at least one postcode or range", field="postcodes"
            )
        if len(postcodes) > MAX_AREA_ENTRIES:
            raise RuleViolation(f"at most {MAX_AREA_ENTRIES} postcode entries", field="postcodes")
        for entry in postcodes:
            postcode_range(entry)
        return cls(minimum_age, reference_date, tuple(p.strip().upper() for p in postcodes))

    def to_dict(self) -> dict[str, Any]:
        return {
            "minimum_age": self.minimum_age,
            "reference_date": self.reference_date.isoformat(),
            "postcodes": list(self.postcodes),
        }

    def ranges(self) -> list[tuple[str, str]]:
        return [postcode_range(entry) for entry in self.postcodes]

    def why_not(self, birth_date: date, postcode: str, ranges: list[tuple[str, str]]) -> str | None:
        """Why a person is not eligible (None: eligible); `ranges` is `self.ranges()`, kept once."""
        if age_on(birth_date, self.reference_date) < self.minimum_age:
            return f"younger than {self.minimum_age} on {self.reference_date.isoformat()}"
        if not any(low <= postcode <= high for low, high in ranges):
            return f"postcode {postcode} is outside the round's area"
        return None
