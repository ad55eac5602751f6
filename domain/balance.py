"""The money of a round, or of one winner in it: the one place its amounts and their rules are written.

Every amount is integer cents. The round and the read models keep a `Balance` and move it with the
same transitions, so a balance shown to a resident is the one the round decides with.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace


@dataclass(frozen=True)
class Balance:
    """What was deposited, reserved for winners, asked for, paid out and returned."""

    deposited: int = 0
    reserved: int = 0  # for winners; what was paid out of a reservation stays counted in it
    pending: int = 0  # requested or approved payouts, not yet paid
    paid: int = 0
    returned: int = 0  # given back to where the money came from when the round closed

    @property
    def available(self) -> int:
        """Money deposited and neither reserved for a winner nor returned."""
        return self.deposited - self.returned - self.reserved

    @property
    def requestable(self) -> int:
        """What is left of a reservation for new payout requests."""
        return self.reserved - self.pending - self.paid

    @property
    def unspent_reservation(self) -> int:
        """What goes back from a reservation when its winner completes."""
        return self.reserved - self.paid

    @property
    def unspent(self) -> int:
        """What goes back to the source when the round closes: everything not paid out."""
        return self.deposited - self.returned - self.paid

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def deposit(self, amount: int) -> Balance:
        return replace(self, deposited=self.deposited + amount)

    def reserve(self, amount: int) -> Balance:
        return replace(self, reserved=self.reserved + amount)

    def request_payout(self, amount: int) -> Balance:
        return replace(self, pending=self.pending + amount)

    def reject_payout(self, amount: int) -> Balance:
        return replace(self, pending=self.pending - amount)

    def pay(self, amount: int) -> Balance:
        return replace(self, pending=self.pending - amount, paid=self.paid + amount)

    def reverse_payout(self, amount: int) -> Balance:
        """A paid payout came back: the money is reserved for its winner again."""
        return replace(self, paid=self.paid - amount)

    def release(self, amount: int) -> Balance:
        """A completed winner gives its unspent reservation back to the round."""
        return replace(self, reserved=self.reserved - amount)

    def give_back(self, amount: int) -> Balance:
        return replace(self, returned=self.returned + amount)
