"""Moving elections between Buurtbudget and the pabulib `.pb` format.

Import turns a real election into a round (proposals admitted, ballots cast through the domain's
ballot rules with codes nobody sees, voting closed, tallied), so the service's recorded result can
be compared with the file. Export writes a decided round's anonymised final ballots as a `.pb` file
that pabutools and our own parser read back to the same result.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.budget_round import AFTER_VOTING
from domain.pabulib import PabulibInstance, parse_pb, write_pb
from domain.round_result import CENTS_PER_UNIT
from domain.voting import DEFAULT_TIE_BREAK
from service.application import BuurtbudgetApplication

IMPORTER = "official:pabulib-import"
METHOD_OF_VOTE_TYPE = {"approval": "approval", "choose-1": "choose-one", "cumulative": "cumulative",
                       "scoring": "cumulative", "ordinal": "ordinal"}
RULE_NAMES = {"greedy": "greedy", "mes": "equalshares", "phragmen": "phragmen"}


@dataclass
class ImportedElection:
    round_id: UUID
    proposal_of_project: dict[str, str]  # file's project id -> proposal id
    tally: dict[str, Any]
    dropped_limits: list[str] = field(default_factory=list)

    @property
    def winners(self) -> list[str]:
        """The recorded winners, as the file's project ids, in selection order."""
        project_of = {v: k for k, v in self.proposal_of_project.items()}
        return [project_of[w["proposal_id"]] for w in self.tally["winners"]]


def _meta_int(meta: dict[str, str], key: str) -> int | None:
    value = meta.get(key)
    return None if value in (None, "") else int(Decimal(value))


def voting_settings_of(
    instance: PabulibInstance, ballots: list[dict[str, int]], costs: dict[str, int]
) -> tuple[dict[str, Any], list[str]]:
    """Voting settings from META, leaving out any limit the file's own ballots break.

    Some files state a limit that their ballots do not keep (Amsterdam 2020 caps the cost per
    neighbourhood, not per ballot); those limits are reported rather than imposed.
    """
    meta = instance.meta
    method = METHOD_OF_VOTE_TYPE.get(instance.vote_type)
    if method is None:
        raise ValueError(f"vote_type {instance.vote_type!r} cannot be imported")
    candidates: dict[str, Any] = {
        "min_choices": _meta_int(meta, "min_length"),
        "max_choices": _meta_int(meta, "max_length"),
        "max_total_cost": None if meta.get("max_sum_cost") in (None, "")
        else int(Decimal(meta["max_sum_cost"]) * CENTS_PER_UNIT),
    }
    if method == "cumulative":
        candidates["points_total"] = _meta_int(meta, "max_sum_points") or max(
            (sum(b.values()) for b in ballots), default=1
        )
        candidates["max_points"] = _meta_int(meta, "max_points")
    kept_by_ballots = {
        "min_choices": lambda v: all(len(b) >= v for b in ballots),
        "max_choices": lambda v: all(len(b) <= v for b in ballots),
        "max_total_cost": lambda v: all(sum(costs[p] for p in b) <= v for b in ballots),
        "points_total": lambda v: all(sum(b.values()) <= v for b in ballots),
        "max_points": lambda v: all(max(b.values(), default=0) <= v for b in ballots),
    }
    settings: dict[str, Any] = {"method": method, "min_choices": 0}
    dropped = []
    for key, value in candidates.items():
        if value is None:
            continue
        if kept_by_ballots[key](value):
            settings[key] = value
        else:
            dropped.append(f"{key}={value}")
    if method == "choose-one":
        settings.update(min_choices=1, max_choices=1)
    if method == "knapsack" or (method == "approval" and "max_total_cost" in settings):
        settings["method"] = "knapsack"
    return settings, dropped


def import_pabulib(
    app: BuurtbudgetApplication,
    text: str,
    *,
    rule: str = "greedy",
    completion: str = "none",
    tie_break: list[str] | None = None,
) -> ImportedElection:
    """Turn a `.pb` election into a tallied round; returns the round and the recorded tally."""
    instance = parse_pb(text)
    election = instance.election(scale=CENTS_PER_UNIT)
    meta = instance.meta
    voting, dropped = voting_settings_of(instance, [dict(b) for b in election.ballots], dict(election.costs))
    voting.update(rule=rule, completion=completion, tie_break=list(tie_break or DEFAULT_TIE_BREAK))
    if election.scoring is not None:
        voting["scoring"] = list(election.scoring)

    place = meta.get("unit") or meta.get("country") or "unknown"
    municipality_id = app.register_municipality(name=place, cbs_code=None, actor=IMPORTER)
    neighbourhood_id = app.register_neighbourhood(
        municipality_id=municipality_id, name=meta.get("subunit") or meta.get("instance") or place,
        cbs_code=None, actor=IMPORTER,
    )
    round_id = app.open_round(
        neighbourhood_id=neighbourhood_id,
        title=(meta.get("description") or f"pabulib {place}")[:200],
        description=f"Imported from a pabulib file (instance {meta.get('instance', '?')}).",
        schedule=None, voting=voting, actor=IMPORTER,
    )
    app.deposit(round_id, amount=election.budget, source="pabulib file budget",
                reference=meta.get("instance", ""), actor=IMPORTER)
    proposal_of_project: dict[str, str] = {}
    for project_id, columns in instance.projects.items():
        name = columns.get("name") or f"Project {project_id}"
        proposal_id, _key = app.submit_proposal(
            round_id, title=name[:200], summary=name[:500], description="",
            category=(columns.get("category") or "")[:100],
            cost_lines=[{"description": "cost in the file", "amount": election.costs[project_id]}],
            proposer_name="pabulib", proposer_email="import@example.org", reference=project_id,
        )
        proposal_of_project[project_id] = str(proposal_id)
    app.close_submissions(round_id, actor=IMPORTER)
    for proposal_id in proposal_of_project.values():
        app.admit_proposal(UUID(proposal_id), amount=None, note="", actor=IMPORTER)
    app.open_voting(round_id, actor=IMPORTER)
    app.import_ballots(round_id, [
        # Ordinal ballots keep their order as ranks, 1 = best, as residents' ballots do.
        {proposal_of_project[p]: (rank if election.vote_type == "ordinal" else points)
         for rank, (p, points) in enumerate(ballot.items(), start=1)}
        for ballot in election.ballots
    ], actor=IMPORTER)
    app.close_voting(round_id, actor=IMPORTER)
    tally = app.run_tally(round_id, actor=IMPORTER)
    return ImportedElection(round_id, proposal_of_project, tally, dropped)


def _units(cents: int) -> str:
    """Cents as currency units, without a fraction when there is none (pabulib costs)."""
    whole, rest = divmod(cents, CENTS_PER_UNIT)
    return f"{whole}.{rest:02d}" if rest else str(whole)


def export_pabulib(app: BuurtbudgetApplication, round_id: UUID) -> str:
    """The `.pb` text of a decided round: projects, the anonymised final ballots, the result."""
    budget_round = app.get_round(round_id)
    if budget_round.phase not in AFTER_VOTING:
        raise ValueError(f"the round is in phase '{budget_round.phase}': export it once voting closed")
    settings = budget_round.settings
    tallies = budget_round.tallies
    tally = tallies.get(budget_round.confirmed_tally_id or "") or (list(tallies.values())[-1] if tallies else None)
    proposals = {pid: app.get_proposal(UUID(pid)) for pid in budget_round.ballot_costs}
    references = [p.reference for p in proposals.values()]
    use_references = all(references) and len(set(references)) == len(references)
    label = {pid: (p.reference if use_references else pid) for pid, p in proposals.items()}
    winners = {w["proposal_id"] for w in tally["winners"]} if tally else set()
    budget = tally["budget"] if tally else budget_round.available

    municipality = app.repository.get(budget_round.municipality_id)
    neighbourhood = app.repository.get(budget_round.neighbourhood_id)
    meta = {
        "description": budget_round.title,
        "country": "unknown",
        "unit": municipality.name,
        "subunit": neighbourhood.name,
        "instance": str(round_id),
        "budget": _units(budget),
        "vote_type": settings.vote_type,
        "rule": RULE_NAMES[settings.rule] + ("" if settings.completion == "none" else f"/{settings.completion}"),
        "date_begin": "unknown",
        "date_end": "unknown",
    }
    limits = {"min_length": settings.min_choices if settings.method != "choose-one" else 1,
              "max_length": settings.max_choices if settings.method != "choose-one" else 1,
              "max_sum_cost": None if settings.max_total_cost is None else _units(settings.max_total_cost),
              "max_sum_points": settings.points_total, "max_points": settings.max_points}
    meta.update({k: str(v) for k, v in limits.items() if v is not None})
    if settings.vote_type == "ordinal" and settings.scoring:
        meta["scoring_fn"] = ",".join(map(str, settings.scoring))
    instance = PabulibInstance(meta=meta)
    for pid, proposal in proposals.items():
        instance.projects[label[pid]] = {
            "project_id": label[pid], "cost": _units(budget_round.ballot_costs[pid]),
            "name": proposal.title,
            "votes": str(tally["scores"].get(pid, 0)) if tally else "0",
            "selected": "1" if pid in winners else "0",
        }
    # Voters are numbered in the order of their ballot ids, which derive from keyed hashes: the
    # numbering says nothing about who voted or when.
    for number, (_ballot_id, (_version, choices, _receipt)) in enumerate(sorted(app.final_ballots(round_id).items()), start=1):
        ordered = sorted(choices.items(), key=lambda item: item[1]) if settings.vote_type == "ordinal" else list(choices.items())
        vote = {"voter_id": str(number), "vote": ",".join(label[pid] for pid, _ in ordered)}
        if settings.vote_type == "cumulative":
            vote["points"] = ",".join(str(points) for _, points in ordered)
        instance.votes.append(vote)
    return write_pb(instance)

