"""The pabulib `.pb` election format (pabulib.org/format): parse it from text and write it back.

Pure text in, text out: reading and writing files is the caller's business. A parsed file
becomes a tally `Election` with `PabulibInstance.election()`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from domain.tally import Election, ballot_from_ranking

SECTIONS = ("META", "PROJECTS", "VOTES")
# The META keys the format requires, in the order the format lists them.
REQUIRED_META = (
    "description",
    "country",
    "unit",
    "instance",
    "num_projects",
    "num_votes",
    "budget",
    "vote_type",
    "rule",
    "date_begin",
    "date_end",
)
_PROJECT_KEY = "project_id"
_VOTER_KEY = "voter_id"


class PabulibFormatError(ValueError):
    """The text is not a valid `.pb` file, or it cannot become the requested election."""


@dataclass
class PabulibInstance:
    """A `.pb` file's content as strings: META key -> value, projects by id, votes in file order.

    Each project is a dict of its columns (project_id included), each vote likewise (voter_id,
    vote, points, ...). Values are kept as written, without the spaces around them.
    """

    meta: dict[str, str] = field(default_factory=dict)
    projects: dict[str, dict[str, str]] = field(default_factory=dict)
    votes: list[dict[str, str]] = field(default_factory=list)

    @property
    def vote_type(self) -> str:
        return self.meta.get("vote_type", "approval")

    @property
    def selected(self) -> tuple[str, ...]:
        """The projects the file marks as funded (`selected` = 1), in file order."""
        return tuple(
            pid for pid, columns in self.projects.items() if columns.get("selected") == "1"
        )

    def election(self, *, scale: int = 1, scoring: Sequence[int] | None = None) -> Election:
        """The tally election: money in the file's unit times `scale` (e.g. 100 for cents).

        Cumulative (and scoring) ballots keep their points; ordinal ballots keep their order,
        scored by `scoring`, else by META scoring_fn when it lists points, else Borda-like.
        """
        budget = _whole_amount(self.meta.get("budget"), scale, "META budget")
        costs = {
            pid: _whole_amount(columns.get("cost"), scale, f"the cost of project {pid!r}")
            for pid, columns in self.projects.items()
        }
        vote_type = self.vote_type
        if vote_type == "ordinal":
            ballots = [
                ballot_from_ranking(_unique(_listed(vote.get("vote", "")))) for vote in self.votes
            ]
            if scoring is None:
                scoring = _points_per_rank(self.meta.get("scoring_fn"))
            return Election(
                budget=budget, costs=costs, ballots=ballots, vote_type="ordinal", scoring=scoring
            )
        if scoring is not None:
            raise PabulibFormatError("scoring applies to ordinal ballots only")
        if vote_type in ("approval", "choose-1"):
            ballots = [dict.fromkeys(_listed(vote.get("vote", "")), 1) for vote in self.votes]
        elif vote_type in ("cumulative", "scoring"):
            ballots = [_points_ballot(vote) for vote in self.votes]
            vote_type = "cumulative"  # points per project, counted the same way
        else:
            raise PabulibFormatError(f"unsupported vote_type {vote_type!r}")
        return Election(budget=budget, costs=costs, ballots=ballots, vote_type=vote_type)


def parse_pb(text: str) -> PabulibInstance:
    """Parse the text of a `.pb` file (LF or CRLF line ends, `;` separated, CSV quoting)."""
    text = text.removeprefix("\ufeff")
    instance = PabulibInstance()
    section = None
    seen: set[str] = set()
    header: list[str] = []
    rows = csv.reader(text.splitlines(), delimiter=";", skipinitialspace=True)
    for raw in rows:
        line_number = rows.line_num
        row = [cell.strip() for cell in raw]
        if not any(row):
            continue
        if len(row) == 1 and row[0].upper() in SECTIONS:
            section = row[0].upper()
            seen.add(section)
            header = [cell.strip() for cell in next(rows, [])]
            _check_header(section, header)
            continue
        if section is None:
            raise PabulibFormatError(
                f"line {line_number}: expected a section title (META, PROJECTS, VOTES)"
            )
        if section == "META":
            if len(row) < 2:
                raise PabulibFormatError(f"line {line_number}: a META row is key;value")
            instance.meta[row[0]] = row[1]
            continue
        if len(row) > len(header):
            raise PabulibFormatError(
                f"line {line_number}: {len(row)} fields under a {section} header of {len(header)}"
            )
        columns = dict(zip(header, row))
        if section == "PROJECTS":
            project_id = columns[_PROJECT_KEY]
            if project_id in instance.projects:
                raise PabulibFormatError(
                    f"line {line_number}: project {project_id!r} appears twice"
                )
            instance.projects[project_id] = columns
        else:
            instance.votes.append(columns)
    missing = [name for name in SECTIONS if name not in seen]
    if missing:
        raise PabulibFormatError(f"missing section(s): {', '.join(missing)}")
    _check_votes_name_projects(instance)
    return instance


def write_pb(instance: PabulibInstance) -> str:
    """The `.pb` text of `instance` (LF line ends, fields quoted only where needed).

    Required META keys the instance lacks are written as "unknown", and num_projects/num_votes
    are set from the content, so that the result is a complete file. Raises PabulibFormatError
    for what the format cannot hold: a line break in a field, a comma in a project id.
    """
    listed = [pid for pid in instance.projects if "," in pid]
    if listed:
        raise PabulibFormatError(
            f"project ids are listed with commas, so cannot contain one: {listed}"
        )
    meta = {key: "unknown" for key in REQUIRED_META}
    meta.update(instance.meta)
    meta["num_projects"] = str(len(instance.projects))
    meta["num_votes"] = str(len(instance.votes))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    _write_section(writer, "META", ["key", "value"], [[key, value] for key, value in meta.items()])
    project_columns = _columns([_PROJECT_KEY, "cost"], instance.projects.values())
    _write_section(
        writer,
        "PROJECTS",
        project_columns,
        [[columns.get(c, "") for c in project_columns] for columns in instance.projects.values()],
    )
    vote_columns = _columns([_VOTER_KEY, "vote"], instance.votes)
    _write_section(
        writer,
        "VOTES",
        vote_columns,
        [[vote.get(c, "") for c in vote_columns] for vote in instance.votes],
    )
    return out.getvalue()


def instance_from_election(
    election: Election, meta: Mapping[str, str] | None = None
) -> PabulibInstance:
    """A `.pb` instance holding `election` (voters numbered from 1), with extra META entries."""
    instance = PabulibInstance(
        meta={
            "budget": str(election.budget),
            "vote_type": election.vote_type,
            **(
                {"scoring_fn": ",".join(map(str, election.scoring))}
                if election.scoring is not None
                else {}
            ),
            **dict(meta or {}),
        }
    )
    instance.projects = {
        pid: {_PROJECT_KEY: pid, "cost": str(cost)} for pid, cost in election.costs.items()
    }
    for number, ballot in enumerate(election.ballots, start=1):
        vote = {_VOTER_KEY: str(number), "vote": ",".join(ballot)}
        if election.vote_type == "cumulative":
            vote["points"] = ",".join(str(points) for points in ballot.values())
        instance.votes.append(vote)
    return instance


def _check_header(section: str, header: list[str]) -> None:
    if section == "META":
        if len(header) < 2:
            raise PabulibFormatError("the META header is key;value")
        return
    needed = [_PROJECT_KEY, "cost"] if section == "PROJECTS" else [_VOTER_KEY, "vote"]
    missing = [name for name in needed if name not in header]
    if missing:
        raise PabulibFormatError(f"the {section} header lacks {', '.join(missing)}")


def _check_votes_name_projects(instance: PabulibInstance) -> None:
    for vote in instance.votes:
        unknown = [pid for pid in _listed(vote.get("vote", "")) if pid not in instance.projects]
        if unknown:
            raise PabulibFormatError(
                f"voter {vote.get(_VOTER_KEY)!r} votes for unknown project(s) {', '.join(unknown)}"
            )


def _listed(field_value: str) -> list[str]:
    """A comma-separated list field (empty entries dropped)."""
    return [item.strip() for item in field_value.split(",") if item.strip()]


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _points_ballot(vote: Mapping[str, str]) -> dict[str, int]:
    projects = _listed(vote.get("vote", ""))
    points = _listed(vote.get("points", ""))
    if len(points) != len(projects):
        raise PabulibFormatError(
            f"voter {vote.get(_VOTER_KEY)!r}: {len(projects)} projects but {len(points)} points"
        )
    return {
        pid: _whole_amount(given, 1, f"the points of voter {vote.get(_VOTER_KEY)!r}")
        for pid, given in zip(projects, points)
    }


def _points_per_rank(scoring_fn: str | None) -> tuple[int, ...] | None:
    """META scoring_fn when it lists points per rank (e.g. "3,2,1"); None for Borda or unknown."""
    if not scoring_fn:
        return None
    try:
        return tuple(int(points) for points in _listed(scoring_fn))
    except ValueError:
        return None


def _whole_amount(text: str | None, scale: int, what: str) -> int:
    """An amount such as "5900907", "5900907.0" or "12,5" (decimal comma) times `scale`, exactly."""
    if text is None or not text.strip():
        raise PabulibFormatError(f"{what} is missing")
    try:
        amount = Fraction(text.strip().replace(",", ".")) * scale
    except (ValueError, ZeroDivisionError):
        raise PabulibFormatError(f"{what} is not a number: {text!r}") from None
    if amount.denominator != 1:
        raise PabulibFormatError(
            f"{what} ({text}) is not a whole amount; count in smaller units (scale)"
        )
    return int(amount)


def _columns(first: list[str], rows) -> list[str]:
    """`first`, then every other column in order of first appearance."""
    columns = list(first)
    for row in rows:
        columns += [name for name in row if name not in columns]
    return columns


def _write_section(writer, title: str, header: list[str], rows: list[list[str]]) -> None:
    for row in [header, *rows]:
        for cell in row:
            if "\n" in cell or "\r" in cell:
                raise PabulibFormatError(f"{title}: a field cannot hold a line break: {cell!r}")
    writer.writerow([title])
    writer.writerow(header)
    writer.writerows(rows)
