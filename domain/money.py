"""Money is integer cents, always: the guards that keep floats and negative amounts out."""
from domain.errors import RuleViolation

# €10 billion: far above any residents' budget, far below what a 64-bit column holds, so an
# amount that passes this guard can always be stored and summed by every read model.
MAX_CENTS = 10**12


def require_cents(value: object, *, field: str, allow_zero: bool = False) -> int:
    """Return `value` if it is a whole number of cents (> 0, or >= 0 with allow_zero)."""
    # bool is an int subclass; True cents is never what anyone meant.
    if not isinstance(value, int) or isinstance(value, bool):
        raise RuleViolation(f"{field} must be a whole number of cents", field=field)
    if value > MAX_CENTS:
        raise RuleViolation(f"{field} must be at most {MAX_CENTS} cents", field=field)
    if value < 0 or (value == 0 and not allow_zero):
        raise RuleViolation(
            f"{field} must be {'at least 0' if allow_zero else 'more than 0'} cents", field=field
        )
    return value


def format_euros(cents: int) -> str:
    """Render cents as a euro amount for messages, e.g. 123456 -> '€1,234.56'."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}€{whole:,}.{part:02d}"
