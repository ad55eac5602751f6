"""What schemathesis needs to know beyond the OpenAPI document (loaded via SCHEMATHESIS_HOOKS).

- `format: iban`: the checksum (ISO 13616, mod 97) cannot be a JSON Schema pattern, so valid
  IBANs come from this strategy.
- Rules that compare two fields cannot be stated in OpenAPI 3.0: max_choices >= min_choices,
  max_points >= min_points, and schedule dates that do not run backwards. The VotingIn and
  Schedule schemas say them in words; generated bodies that break them are left out here (the
  domain's own checks decide), so their refusal with 422 is not counted as a failure.
"""
from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import strategies as st
from schwifty import IBAN

from domain.budget_round import check_schedule
from domain.errors import RuleViolation
from domain.voting import VotingSettings

schemathesis.openapi.format(
    "iban",
    st.integers(min_value=0, max_value=9_999_999_999).map(
        lambda number: IBAN.generate("NL", bank_code="ABNA", account_code=f"{number:010d}").compact
    ),
)


def _holds(check: Any, value: Any) -> bool:
    if not isinstance(value, dict):
        return True
    try:
        check(value)
    except (RuleViolation, TypeError):
        return False
    return True


@schemathesis.hook
def filter_body(context: Any, body: Any) -> bool:
    """Leave out settings that break a comparison the schema states only in words."""
    if not isinstance(body, dict):
        return True
    return _holds(VotingSettings.from_dict, body.get("voting")) and _holds(
        check_schedule, body.get("schedule")
    )
