"""IBANs as people copy them (spaces, lower case): checked with schwifty, kept in compact form.

The API's IbanField, the command line and the console all check an IBAN here, so a payee's
account is accepted or refused for the same reason wherever it is typed.
"""
from __future__ import annotations

import re

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

IBAN_SHAPE = r"^[A-Za-z]{2}[0-9]{2}( ?[A-Za-z0-9]){11,30}$"
SHAPE_MESSAGE = "not a valid IBAN: 2 letters, 2 digits, 11-30 letters or digits"


class InvalidIban(ValueError):
    """The text is not an IBAN; the message says why (in English, like domain messages)."""


def compact_iban(text: str) -> str:
    """The IBAN in `text` without spaces, upper case; InvalidIban if its shape or checksum fail."""
    if not re.match(IBAN_SHAPE, text.strip()):
        raise InvalidIban(SHAPE_MESSAGE)
    try:
        return IBAN(text.strip()).compact
    except SchwiftyException as error:
        raise InvalidIban(f"not a valid IBAN: {error}") from None


def bank_name(iban: str) -> str | None:
    """The bank of a valid IBAN where schwifty's registry knows it."""
    try:
        bic = IBAN(iban).bic
    except SchwiftyException:
        return None
    names = bic.bank_names if bic is not None else []
    return names[0] if names else None
