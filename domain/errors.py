"""The one exception hierarchy of Buurtbudget; the HTTP layer maps each class to one status code."""


class BudgetError(Exception):
    """Base of every error the domain and the application raise on purpose."""

    def __init__(
        self, message: str, *, field: str | None = None, details: list[str] | None = None
    ):
        super().__init__(message)
        self.message = message
        self.field = field
        # Several findings under one field (e.g. one per line of an uploaded file).
        self.details = details


class NotFound(BudgetError):
    """The thing asked for does not exist."""


class RuleViolation(BudgetError):
    """The request is well formed but breaks a rule of the domain (ballot rules, amounts, ...)."""


class Conflict(BudgetError):
    """The request does not fit the current state (wrong phase, already decided, lost a race)."""


class Forbidden(BudgetError):
    """The actor may not do this (four-eyes rule, wrong proposer key, invalid voting code)."""


class DamagedHistory(BudgetError):
    """The stored events of an aggregate do not replay: the store was changed outside the service
    (a version is missing or out of place, or an event does not decode). Nothing is written to it
    until the store is restored; `buurtbudget audit verify --database` names the change."""
