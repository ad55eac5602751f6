"""The words pages use for phases, statuses, voting methods and counting rules, in plain language.

Each is a lazy message so it is translated in the language of the page that shows it.
"""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from service.pages.language import money

PHASES = {
    "submission": _l("Submitting proposals"),
    "review": _l("Review by the municipality"),
    "voting": _l("Voting"),
    "decided": _l("Decided"),
    "execution": _l("Carrying out"),
    "closed": _l("Closed"),
}

def translated(words: dict[str, Any]) -> dict[str, str]:
    """The words in the page's language, for a page that shows them many times."""
    return {key: str(text) for key, text in words.items()}


PROPOSAL_STATUSES = {
    "submitted": _l("Submitted"),
    "admitted": _l("On the ballot"),
    "rejected": _l("Not admitted"),
    "withdrawn": _l("Withdrawn"),
    "funded": _l("Won: funded"),
    "not_selected": _l("Not chosen"),
    "completed": _l("Completed"),
}

PAYOUT_STATUSES = {
    "requested": _l("Requested"),
    "approved": _l("Approved"),
    "rejected": _l("Refused"),
    "paid": _l("Paid"),
    "reversed": _l("Reversed"),
}

METHODS = {
    "approval": _l("Tick every proposal you support."),
    "knapsack": _l("Tick the proposals you support, as long as their costs together fit "
                   "in the amount you may spend."),
    "cumulative": _l("Share out your points over the proposals you support."),
    "ordinal": _l("Put the proposals you support in order of preference."),
    "choose-one": _l("Choose the one proposal you support most."),
}

RULES = {
    "greedy": _l("The proposal with the most votes wins first, then the next one, and so on, "
                 "as long as the money lasts. A proposal that no longer fits is skipped and the "
                 "next one that fits gets its turn."),
    "mes": _l("The Method of Equal Shares: the budget is divided into equal shares, one for "
              "each voter. A proposal wins when the voters who support it can pay for it "
              "together from their shares; the proposal that costs its supporters the least "
              "per voter goes first. This way a large group cannot take the whole budget, and "
              "smaller groups of residents also see something they voted for funded."),
    "phragmen": _l("Sequential Phragmén: voters earn money for proposals they support at an equal "
                   "pace; the proposal whose supporters can first pay for it together wins, and "
                   "their money is spent. This spreads the winners fairly over the voters."),
}

TIE_BREAKS = {
    "cost": _l("the cheaper proposal first"),
    "votes": _l("the proposal with more votes first"),
    "id": _l("the proposal with the lower number first"),
    "lot": _l("by lot, drawn with the round's published seed"),
}


def ballot_limits(voting: dict[str, Any]) -> list[str]:
    """The limits of a ballot, one sentence each."""
    limits = []
    if voting.get("max_choices"):
        limits.append(ngettext("You may choose at most %(num)d proposal.",
                               "You may choose at most %(num)d proposals.",
                               voting["max_choices"]))
    if voting.get("min_choices", 0) > 1:
        limits.append(ngettext("Choose at least %(num)d proposal.",
                               "Choose at least %(num)d proposals.", voting["min_choices"]))
    if voting.get("max_total_cost"):
        limits.append(str(_l("The proposals you choose may cost at most %(amount)s together.",
                             amount=money(voting["max_total_cost"]))))
    if voting.get("points_total"):
        limits.append(ngettext("You have %(num)d point to share out.",
                               "You have %(num)d points to share out.", voting["points_total"]))
    return limits
