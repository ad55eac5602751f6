"""Set-up: municipalities and neighbourhoods, a new round with its schedule and voting rules (with
a preview in the words residents will read), and deposits with their source.

Forms check the form of what is typed; the domain checks its meaning (CBS codes, dates that do
not run backwards, rules that fit together) and a refusal is shown at the field it is about.
"""
from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from domain.budget_round import PHASES
from domain.errors import Conflict, RuleViolation
from domain.voting import TALLY_RULES, VOTING_METHODS, VotingSettings
from service.console.review import form_errors, show_rule_violation
from service.console.rounds import console_crumbs, read_round, round_crumbs
from service.console.sign_in import signed_in, signed_in_principal
from service.extension import runtime
from service.pages import wording
from service.pages.language import money
from service.pages.submit import EuroField
from service.queries import places

blp = Blueprint("console_setup", __name__, url_prefix="/console")

METHOD_NAMES = {
    "approval": _l("Approval: tick every proposal you support"),
    "knapsack": _l("Budget: tick proposals within an amount"),
    "cumulative": _l("Points: share out points"),
    "ordinal": _l("Ranking: put proposals in order"),
    "choose-one": _l("Choose one proposal"),
}
RULE_NAMES = {
    "greedy": _l("Most votes first"),
    "mes": _l("Method of Equal Shares"),
    "phragmen": _l("Sequential Phragmén"),
}
PHASE_DATE_LABELS = {phase: wording.PHASES[phase] for phase in PHASES}


class MunicipalityForm(FlaskForm):
    name = StringField(_l("Name of the municipality"), validators=[
        InputRequired(_l("Enter the name.")), Length(max=200)])
    cbs_code = StringField(_l("CBS code (optional)"), validators=[Length(max=20)])


class NeighbourhoodForm(FlaskForm):
    municipality_id = SelectField(_l("Municipality"), validators=[
        InputRequired(_l("Choose the municipality."))])
    name = StringField(_l("Name of the neighbourhood"), validators=[
        InputRequired(_l("Enter the name.")), Length(max=200)])
    cbs_code = StringField(_l("CBS code (optional)"), validators=[Length(max=20)])


class RoundForm(FlaskForm):
    neighbourhood_id = SelectField(_l("Neighbourhood"), validators=[
        InputRequired(_l("Choose the neighbourhood."))])
    title = StringField(_l("Title"), validators=[
        InputRequired(_l("Enter a title.")), Length(max=200)])
    description = TextAreaField(_l("Description for residents (optional)"),
                                validators=[Length(max=5000)])
    method = SelectField(_l("How residents vote"),
                         choices=[SelectChoice(m, METHOD_NAMES[m]) for m in VOTING_METHODS])
    min_choices = IntegerField(_l("Fewest proposals on a ballot"), default=1,
                               validators=[Optional(), NumberRange(min=0, max=1000)])
    max_choices = IntegerField(_l("Most proposals on a ballot (optional)"),
                               validators=[Optional(), NumberRange(min=1, max=1000)])
    max_total_cost = EuroField(_l("Amount a resident may spend, in euros (budget vote)"))
    points_total = IntegerField(_l("Points per resident (points vote)"),
                                validators=[Optional(), NumberRange(min=1, max=10000)])
    rule = SelectField(_l("How the winners are counted"),
                       choices=[SelectChoice(r, RULE_NAMES[r]) for r in TALLY_RULES])

    def voting(self) -> dict[str, Any]:
        """The voting settings as the domain takes them; unset limits are left out."""
        settings: dict[str, Any] = {"method": self.method.data, "rule": self.rule.data}
        for name in ("min_choices", "max_choices", "points_total"):
            if getattr(self, name).data is not None:
                settings[name] = getattr(self, name).data
        if self.max_total_cost.cents is not None:
            settings["max_total_cost"] = self.max_total_cost.cents
        return settings

    def schedule(self) -> dict[str, str]:
        return {phase: getattr(self, f"starts_{phase}").data.isoformat()
                for phase in PHASES if getattr(self, f"starts_{phase}").data}


for _phase in PHASES:
    setattr(RoundForm, f"starts_{_phase}", DateField(
        PHASE_DATE_LABELS[_phase], validators=[Optional()]))


class DepositForm(FlaskForm):
    amount = EuroField(_l("Amount in euros"), validators=[InputRequired(_l("Enter the amount."))])
    source = StringField(_l("Where the money comes from"), validators=[
        InputRequired(_l("Name the source, for example the budget line.")), Length(max=200)])
    reference = StringField(_l("Reference (optional)"), validators=[Length(max=200)])


def show_rule_violation_in_round_form(form: RoundForm, error: RuleViolation | Conflict) -> None:
    """Voting and schedule rules name `voting.<setting>` or `schedule`: put them at the input."""
    name = (error.field or "").removeprefix("voting.")
    if name == "schedule":
        form.starts_submission.errors = [*form.starts_submission.errors, error.message]
        return
    field = getattr(form, name, None) if name else None
    if field is None:
        form.form_errors.append(error.message)
    else:
        field.errors = [*field.errors, error.message]


def cbs_or_none(text: str | None) -> str | None:
    return (text or "").strip().upper() or None


# -- places ---------------------------------------------------------------------------------------

def neighbourhood_choices() -> list[tuple[str, str]]:
    principal = signed_in_principal()
    return [
        SelectChoice(n["neighbourhood_id"], f"{m['name']}: {n['name']}")
        for m in places.list_municipalities(runtime(), principal)
        for n in places.list_neighbourhoods(runtime(), principal, m["municipality_id"])
    ]


def show_places(municipality: MunicipalityForm, neighbourhood: NeighbourhoodForm, status=200):
    principal = signed_in_principal()
    municipalities = [
        {**m, "neighbourhoods": places.list_neighbourhoods(runtime(), principal, m["municipality_id"])}
        for m in places.list_municipalities(runtime(), principal)
    ]
    neighbourhood.municipality_id.choices = [
        SelectChoice(m["municipality_id"], m["name"]) for m in municipalities]
    return render_template(
        "console/places.html", municipalities=municipalities, municipality=municipality,
        neighbourhood=neighbourhood,
        errors=form_errors(municipality) + form_errors(neighbourhood),
        crumbs=console_crumbs((_("Municipalities and neighbourhoods"), None)),
    ), status


@blp.get("/places", endpoint="places")
@signed_in("official")
def places_page():
    return show_places(MunicipalityForm(prefix="municipality"),
                       NeighbourhoodForm(prefix="neighbourhood"))


@blp.post("/municipalities")
@signed_in("official")
def register_municipality():
    form = MunicipalityForm(prefix="municipality")
    other = NeighbourhoodForm(prefix="neighbourhood", formdata=None)
    if not form.validate():
        return show_places(form, other, 422)
    try:
        runtime().application.register_municipality(
            name=form.name.data.strip(), cbs_code=cbs_or_none(form.cbs_code.data),
            actor=signed_in_principal().actor)
    except (RuleViolation, Conflict) as error:
        show_rule_violation(form, error)
        return show_places(form, other, 422)
    flash(_("%(name)s is registered.", name=form.name.data.strip()), "success")
    return redirect(url_for("console_setup.places"), code=303)


@blp.post("/neighbourhoods")
@signed_in("official")
def register_neighbourhood():
    form = NeighbourhoodForm(prefix="neighbourhood")
    other = MunicipalityForm(prefix="municipality", formdata=None)
    form.municipality_id.choices = [
        SelectChoice(m["municipality_id"], m["name"])
        for m in places.list_municipalities(runtime(), signed_in_principal())]
    if not form.validate():
        return show_places(other, form, 422)
    try:
        runtime().application.register_neighbourhood(
            municipality_id=UUID(form.municipality_id.data), name=form.name.data.strip(),
            cbs_code=cbs_or_none(form.cbs_code.data), actor=signed_in_principal().actor)
    except (RuleViolation, Conflict) as error:
        show_rule_violation(form, error)
        return show_places(other, form, 422)
    flash(_("%(name)s is registered.", name=form.name.data.strip()), "success")
    return redirect(url_for("console_setup.places"), code=303)


# -- rounds ---------------------------------------------------------------------------------------

def show_round_form(form: RoundForm, preview: dict[str, Any] | None = None, status: int = 200):
    return render_template(
        "console/new_round.html", form=form, preview=preview, wording=wording,
        phases=PHASES, errors=form_errors(form),
        crumbs=console_crumbs((_("New round"), None)),
    ), status


def new_round_form() -> RoundForm:
    form = RoundForm()
    form.neighbourhood_id.choices = neighbourhood_choices()
    return form


@blp.get("/rounds/new")
@signed_in("official")
def new_round():
    form = new_round_form()
    wanted = request.args.get("neighbourhood_id")
    if wanted:
        form.neighbourhood_id.data = wanted
    return show_round_form(form)


@blp.post("/rounds/new")
@signed_in("official")
def open_round():
    """With `preview`, show the rules as residents will read them; else open the round."""
    form = new_round_form()
    if not form.validate():
        return show_round_form(form, status=422)
    try:
        preview = VotingSettings.from_dict(form.voting()).to_dict()
    except RuleViolation as error:
        show_rule_violation_in_round_form(form, error)
        return show_round_form(form, status=422)
    if "preview" in request.form:
        return show_round_form(form, preview)
    try:
        round_id = runtime().application.open_round(
            neighbourhood_id=UUID(form.neighbourhood_id.data), title=form.title.data.strip(),
            description=(form.description.data or "").strip(), schedule=form.schedule(),
            voting=form.voting(), actor=signed_in_principal().actor,
        )
    except (RuleViolation, Conflict) as error:
        show_rule_violation_in_round_form(form, error)
        return show_round_form(form, preview, 422)
    flash(_("The round is open for proposals."), "success")
    return redirect(url_for("console_rounds.round_page", round_id=str(round_id)), code=303)


# -- deposits -------------------------------------------------------------------------------------

def show_deposit_form(round_id: str, form: DepositForm, status: int = 200):
    budget_round = read_round(round_id)
    return render_template(
        "console/deposit.html", round=budget_round, form=form, errors=form_errors(form),
        crumbs=round_crumbs(budget_round, (_("Deposit money"), None)),
    ), status


@blp.get("/rounds/<id:round_id>/deposit")
@signed_in("official")
def deposit(round_id: str):
    return show_deposit_form(round_id, DepositForm())


@blp.post("/rounds/<id:round_id>/deposit")
@signed_in("official")
def make_deposit(round_id: str):
    form = DepositForm()
    if not form.validate():
        return show_deposit_form(round_id, form, 422)
    try:
        runtime().application.deposit(
            UUID(round_id), amount=form.amount.cents, source=form.source.data.strip(),
            reference=(form.reference.data or "").strip(), actor=signed_in_principal().actor)
    except (RuleViolation, Conflict) as error:
        show_rule_violation(form, error)
        return show_deposit_form(round_id, form, 422)
    flash(_("Deposited %(amount)s.", amount=money(form.amount.cents)), "success")
    return redirect(url_for("console_rounds.round_page", round_id=round_id), code=303)
