"""Voting in the browser: the code from the letter, the ballot form of the round's method, the
receipt, and after voting closes the published receipts where a resident finds theirs.

`/rounds/<id>/vote` is one view: GET asks for the code; every POST carries the code (typed, or
in a hidden field of the ballot form) and checks it again with the query layer, so a wrong code
is answered 403 like the API's /ballots, and the secret-guessing rate limit counts the page's
attempts per round together with the API's. A POST without `cast` shows the ballot form (with
the current choices if the code has voted); with `cast` it casts the ballot with one command.
The domain decides whether a ballot is valid; this page only reads the form and explains a
refusal with the round's limits in the visitor's language.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from flask import Blueprint, render_template, request
from flask.views import MethodView
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired, Length

from domain.errors import Conflict, Forbidden, RuleViolation
from service.auth import caller
from service.extension import runtime
from service.pages import wording
from service.pages.browse import round_crumbs
from service.pages.language import money
from service.principal import Principal
from service.queries import proposals, rounds, voting
from service.rate_limits import guards_secret

blp = Blueprint("vote", __name__)
# Points and places as typed: plain digits, a few of them (int() would also take "²" or "1_0").
WHOLE_NUMBER = re.compile(r"[0-9]{1,6}")


class CodeForm(FlaskForm):
    """The code from the letter; the ballot form sends it again in a hidden field."""

    code = StringField(_l("Voting code"), validators=[
        InputRequired(_l("Enter the code from your letter.")),
        Length(max=64, message=_l("This code is too long; check your letter."))])


@dataclass
class BallotForm:
    """What a resident filled in on the ballot form, read for the round's method.

    `choices` has the domain's ballot shape (proposal id -> 1, points or rank); `errors` maps
    an input's id to its messages, shown beside the input and in the summary.
    """

    method: str
    choices: dict[str, int] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    ballot_errors: list[str] = field(default_factory=list)

    def add_error(self, input_id: str, message: str) -> None:
        self.errors.setdefault(input_id, []).append(message)

    @classmethod
    def read(cls, method: str, ballot: list[dict[str, Any]], posted: Any) -> BallotForm:
        form = cls(method)
        ids = [item["proposal_id"] for item in ballot]
        if method in ("approval", "knapsack"):
            chosen = set(posted.getlist("proposals"))
            form.choices = {pid: 1 for pid in ids if pid in chosen}
        elif method == "choose-one":
            chosen = posted.get("proposal")
            form.choices = {chosen: 1} if chosen in ids else {}
        elif method == "cumulative":
            for pid in ids:
                text = (posted.get(f"points-{pid}") or "").strip()
                if not text:
                    continue
                if not WHOLE_NUMBER.fullmatch(text):
                    form.add_error(f"points-{pid}", _("Give a whole number of points, 0 or more."))
                elif int(text):
                    form.choices[pid] = int(text)
        elif method == "ordinal":
            places: dict[int, list[str]] = {}
            for pid in ids:
                text = posted.get(f"rank-{pid}") or ""
                if WHOLE_NUMBER.fullmatch(text) and int(text) > 0:
                    places.setdefault(int(text), []).append(pid)
            for place, shared in sorted(places.items()):
                if len(shared) > 1:
                    for pid in shared:
                        form.add_error(f"rank-{pid}", _("Place %(n)d is given to more than one "
                                                        "proposal; give each a place of its own.",
                                                        n=place))
            # Places are an order: 1, 3 and 4 mean first, second and third.
            order = [pid for _place, shared in sorted(places.items()) for pid in shared]
            form.choices = {pid: rank for rank, pid in enumerate(order, start=1)}
        return form

    def values(self) -> dict[str, str]:
        """What each input shows when the form is shown again: checked ids, points, places."""
        return {pid: str(value) for pid, value in self.choices.items()}


def ballot_of(budget_round: dict[str, Any]) -> list[dict[str, Any]]:
    """The proposals on the round's ballot with the cost frozen when voting opened."""
    costs = budget_round.get("ballot") or {}
    listed = proposals.list_proposals(runtime(), caller(), budget_round["round_id"])
    return [{**p, "cost": costs[p["proposal_id"]]} for p in listed if p["proposal_id"] in costs]


def tallied(
    settings: dict[str, Any], ballot: list[dict[str, Any]], choices: dict[str, int]
) -> dict[str, Any]:
    """What the choices add up to, for the status line beside the form and its live update."""
    costs = {item["proposal_id"]: item["cost"] for item in ballot}
    spent = sum(costs.get(pid, 0) for pid in choices)
    points = sum(choices.values()) if settings["method"] == "cumulative" else 0
    budget = settings.get("max_total_cost")
    return {"chosen": len(choices), "spent": spent, "left": budget - spent if budget else None,
            "points": points, "points_left": (settings.get("points_total") or 0) - points}


def refusal(settings: dict[str, Any], status: dict[str, Any]) -> str:
    """Why the domain refused a ballot, in the visitor's language, from the round's limits."""
    one = settings["method"] == "choose-one"
    most = 1 if one else settings.get("max_choices")
    least = 1 if one else settings.get("min_choices", 1)
    if most and status["chosen"] > most:
        return ngettext("Choose at most %(num)d proposal.", "Choose at most %(num)d proposals.",
                        most)
    if status["chosen"] < least:
        return ngettext("Choose at least %(num)d proposal.", "Choose at least %(num)d proposals.",
                        least)
    if status["left"] is not None and status["left"] < 0:
        return _("The proposals you chose cost %(spent)s together; you may spend at most "
                 "%(budget)s. Leave out a proposal.", spent=money(status["spent"]),
                 budget=money(settings["max_total_cost"]))
    if settings["method"] == "cumulative" and status["points_left"] < 0:
        return ngettext("You gave %(given)d points; you have %(num)d point to share out.",
                        "You gave %(given)d points; you have %(num)d points to share out.",
                        settings["points_total"], given=status["points"])
    return " ".join([_("This ballot does not follow the rules of this round."),
                     *points_limits(settings), *wording.ballot_limits(settings)])


def points_limits(settings: dict[str, Any]) -> list[str]:
    """The limits on points per proposal of a cumulative ballot, one sentence each."""
    if settings["method"] != "cumulative":
        return []
    limits = []
    if settings.get("min_points", 1) > 1:
        limits.append(ngettext("Give a proposal at least %(num)d point, or none.",
                               "Give a proposal at least %(num)d points, or none.",
                               settings["min_points"]))
    if settings.get("max_points"):
        limits.append(ngettext("Give a proposal at most %(num)d point.",
                               "Give a proposal at most %(num)d points.", settings["max_points"]))
    return limits


def first_input(ballot: list[dict[str, Any]], method: str) -> str:
    """The id of the ballot's first input, where the summary links an error about the ballot."""
    if not ballot:
        return ""
    prefix = {"cumulative": "points-", "ordinal": "rank-"}.get(method, "choice-")
    return f"{prefix}{ballot[0]['proposal_id']}"


def show(template: str, budget_round: dict[str, Any], title: str, status: int = 200,
         **context: Any):
    crumbs = [*round_crumbs(budget_round), (title, None)]
    return render_template(template, round=budget_round, crumbs=crumbs, wording=wording,
                           **context), status


def show_code_form(budget_round: dict[str, Any], form: CodeForm, status: int = 200):
    errors = [(form.code.id, message) for message in form.code.errors]
    return show("vote/code.html", budget_round, _("Vote"), status, form=form, errors=errors)


def show_ballot(budget_round: dict[str, Any], code: str, form: BallotForm, *, cast_before: bool,
                status: int = 200):
    ballot = ballot_of(budget_round)
    settings = budget_round["voting"]
    first = first_input(ballot, settings["method"])
    errors = [(first, message) for message in form.ballot_errors]
    errors += [(input_id, message) for item in ballot for input_id in
               (f"points-{item['proposal_id']}", f"rank-{item['proposal_id']}")
               for message in form.errors.get(input_id, ())]
    return show("vote/ballot.html", budget_round, _("Vote"), status, code=code, ballot=ballot,
                form=form, values=form.values(), tally=tallied(settings, ballot, form.choices),
                settings=settings, errors=errors, cast_before=cast_before,
                limits=[*points_limits(settings), *wording.ballot_limits(settings)])


class VotePage(MethodView):
    """The code, then the ballot, then the receipt: `/rounds/<id>/vote`."""

    def get(self, round_id: str):
        return show_code_form(rounds.get_round(runtime(), caller(), round_id), CodeForm())

    # The same count as the API's /ballots: a refused code answers 403, which the limit counts.
    @guards_secret(None, kind="voting-code", per="round_id", noun="voting codes")
    def post(self, round_id: str):
        budget_round = rounds.get_round(runtime(), caller(), round_id)
        form = CodeForm()
        if not form.validate():
            return show_code_form(budget_round, form, 422)
        code = form.code.data.strip()
        try:
            own = voting.get_own_ballot(runtime(), Principal.resident(code), round_id)
        except Forbidden:
            form.code.errors = [_("This code is not valid for this round. Check the code on "
                                  "your letter; capitals, spaces and dashes do not matter.")]
            return show_code_form(budget_round, form, 403)
        if budget_round["phase"] != "voting":
            return show_code_form(budget_round, form, 409)
        if "cast" not in request.form:
            ballot = BallotForm(budget_round["voting"]["method"], choices=dict(own["choices"]))
            return show_ballot(budget_round, code, ballot, cast_before=own["cast"])
        return cast(budget_round, code, cast_before=own["cast"])


def cast(budget_round: dict[str, Any], code: str, *, cast_before: bool):
    """Cast the ballot read from the form with one command, or show the form with its errors."""
    settings = budget_round["voting"]
    ballot = ballot_of(budget_round)
    form = BallotForm.read(settings["method"], ballot, request.form)
    if form.errors:
        return show_ballot(budget_round, code, form, cast_before=cast_before, status=422)
    try:
        done = runtime().application.cast_ballot(
            UUID(budget_round["round_id"]), code=code, choices=form.choices)
    except RuleViolation:
        form.ballot_errors.append(refusal(settings, tallied(settings, ballot, form.choices)))
        return show_ballot(budget_round, code, form, cast_before=cast_before, status=422)
    except Conflict:  # voting closed while the form was open
        closed = rounds.get_round(runtime(), caller(), budget_round["round_id"])
        return show_code_form(closed, CodeForm(), 409)
    chosen = [item for item in ballot if item["proposal_id"] in form.choices]
    if settings["method"] == "ordinal":
        chosen.sort(key=lambda item: form.choices[item["proposal_id"]])
    return show("vote/cast.html", budget_round, _("Your vote"), code=code, receipt=done["receipt"],
                nonce=done["nonce"], version=done["ballot_version"], chosen=chosen, choices=form.choices,
                settings=settings)


@blp.get("/rounds/<id:round_id>/receipts")
def receipts_page(round_id: str):
    """Check my vote: once voting closed, is this receipt among the ballots that were counted?"""
    budget_round = rounds.get_round(runtime(), caller(), round_id)
    published = voting.list_receipts(runtime(), caller(), round_id)
    wanted = "".join((request.args.get("receipt") or "").split()).lower()
    found = wanted in published["receipts"] if wanted else None
    counted = None
    if found:
        counted = voting.published_ballot(runtime(), caller(), round_id, wanted)
        counted["checkpoint"] = voting.checkpoint_covering(runtime(), caller(), counted)
        titles = {item["proposal_id"]: item["title"] for item in ballot_of(budget_round)}
        counted["chosen"] = sorted(
            ((titles.get(pid, pid), points) for pid, points in counted["choices"].items()),
            key=lambda item: (item[1], item[0]) if budget_round["voting"]["method"] == "ordinal"
            else (0, item[0]),
        )
    return show("vote/receipts.html", budget_round, _("Check my vote"), published=published,
                wanted=wanted, found=found, counted=counted)


blp.add_url_rule("/rounds/<id:round_id>/vote", view_func=VotePage.as_view("vote_page"))
