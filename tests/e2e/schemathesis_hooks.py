"""What schemathesis needs to know beyond the OpenAPI document (loaded via SCHEMATHESIS_HOOKS).

- Formats whose rule is a checksum or a hash (`service.api.common.CheckedFormat`): no JSON
  Schema pattern states them, so their valid values come from strategies here: `iban` (ISO
  13616, mod 97), `c2sp-cosignature-verifier-key` (the key id is a hash of name and key) and
  `camt.053` (a bank statement: an XML document, sent as it is rather than wrapped in an element).
- Rules that compare two values cannot be stated in OpenAPI 3.0: max_choices >= min_choices,
  max_points >= min_points, schedule dates that do not run backwards, a consistency proof's
  first <= second, an inclusion proof naming its entry by position or notification_id (at
  least one), and postcode ranges of a round's area that do not run backwards. The document
  says them in words; schema-valid requests that break them are left out here (the service's
  own checks decide), so their refusal is not counted as a failure.
- Batches of voting codes are kept small (see LARGEST_CODE_BATCH), for time alone.
- A voter register is a CSV file: the document requires a body of at least one byte, which
  schemathesis does not apply to a binary body, so an empty upload is left out here.
"""
from __future__ import annotations

from typing import Any

import schemathesis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.transport.serialization import serialize_xml
from schwifty import IBAN

from domain.budget_round import check_schedule
from domain.eligibility import postcode_range
from domain.errors import RuleViolation
from domain.voting import VotingSettings
from service.signed_note import COSIGNATURE_V1, verifier_key
from tests.bank_statements import camt053

schemathesis.openapi.format(
    "iban",
    st.integers(min_value=0, max_value=9_999_999_999).map(
        lambda number: IBAN.generate("NL", bank_code="ABNA", account_code=f"{number:010d}").compact
    ),
)

schemathesis.openapi.format(
    "c2sp-cosignature-verifier-key",
    st.builds(
        lambda name, seed: verifier_key(
            name, Ed25519PrivateKey.from_private_bytes(seed).public_key(), COSIGNATURE_V1
        ),
        st.from_regex(r"[a-z0-9][a-z0-9./-]{0,40}", fullmatch=True),
        st.binary(min_size=32, max_size=32),
    ),
)

_TRANSFER = st.fixed_dictionaries({
    "e2e": st.uuids().map(lambda u: u.hex),
    "amount": st.integers(min_value=1, max_value=10**9),
    "iban": st.sampled_from(["NL91ABNA0417164300", "NL20INGB0001234567"]),
})
schemathesis.openapi.format(
    "camt.053",
    st.builds(
        lambda transfers, status: camt053(*transfers, status=status).decode(),
        st.lists(_TRANSFER, min_size=1, max_size=4), st.sampled_from(["BOOK", "PDNG"]),
    ),
)


@schemathesis.serializer("application/xml")
def xml_document(context: Any, value: Any) -> bytes:
    """A statement is the XML document itself; anything else is wrapped as schemathesis does."""
    if isinstance(value, str):
        return value.encode()
    return serialize_xml(context.case, value)["data"]


def _holds(check: Any, value: Any) -> bool:
    if not isinstance(value, dict):
        return True
    try:
        check(value)
    except (RuleViolation, TypeError):
        return False
    return True


def _comparisons_hold(path: str, query: dict[str, Any], body: Any) -> bool:
    if path.endswith("/proofs/consistency"):
        try:
            return int(query["first"]) <= int(query["second"])
        except (KeyError, TypeError, ValueError):
            return True
    if path.endswith("/proofs/inclusion"):
        return "position" in query or "notification_id" in query
    if path.endswith("/eligibility") and isinstance(body, dict):
        return _holds(lambda rules: [postcode_range(p) for p in rules.get("postcodes") or []], body)
    if isinstance(body, dict):
        return _holds(VotingSettings.from_dict, body.get("voting")) and _holds(
            check_schedule, body.get("schedule")
        )
    return True


# Cost, not correctness: a batch of voting codes is one aggregate and one log entry per code,
# so the largest batch the document allows (20,000) would grow the log the rest of the run
# reads (proofs, ledger, audit trails) by tens of thousands of entries. Batches up to this many
# codes are sent; tests/api/test_voting.py checks the limit itself.
LARGEST_CODE_BATCH = 100


def _affordable(path: str, body: Any) -> bool:
    if path.endswith("/register"):
        return bool(body)
    if path.endswith("/voting-codes") and isinstance(body, dict):
        count = body.get("count")
        return not isinstance(count, int) or count <= LARGEST_CODE_BATCH
    return True


@schemathesis.hook
def filter_case(context: Any, case: Any) -> bool:
    """Leave out schema-valid requests that break a comparison the document states in words,
    and batches of voting codes too large for the time this run has."""
    if case.meta is not None and case.meta.generation.mode is not GenerationMode.POSITIVE:
        return True
    path = case.operation.path
    return _comparisons_hold(path, case.query or {}, case.body) and _affordable(path, case.body)

