"""A neighbourhood (wijk or buurt) of a municipality, with its CBS code where known."""
from __future__ import annotations

import re
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import RuleViolation
from domain.event_topics import keep_module_path_topics
from domain.municipality import Municipality, check_name

# CBS codes: WK + 6 digits for a wijk (district), BU + 8 for a buurt (neighbourhood).
CBS_AREA = re.compile(r"^(WK\d{6}|BU\d{8})$")


class Neighbourhood(Aggregate):
    """A neighbourhood (wijk or buurt) of a municipality; budget rounds belong to one."""

    TOPIC = "buurtbudget/Neighbourhood"

    class Created(Aggregate.Created):  # the library's; never stored, but it must have a topic
        TOPIC = "buurtbudget/Neighbourhood.Created"

    @classmethod
    def register(
        cls, *, municipality: Municipality, name: str, cbs_code: str | None, actor: str
    ) -> Neighbourhood:
        if cbs_code is not None and not CBS_AREA.match(cbs_code):
            raise RuleViolation(
                "a neighbourhood's CBS code looks like WK036300 (wijk) or BU03630000 (buurt)",
                field="cbs_code",
            )
        return cls(
            municipality_id=municipality.id, name=check_name(name), cbs_code=cbs_code, actor=actor
        )

    @event("Registered", topic="buurtbudget/Neighbourhood.Registered")
    def __init__(
        self, *, municipality_id: UUID, name: str, cbs_code: str | None, actor: str
    ) -> None:
        self.municipality_id = municipality_id
        self.name = name
        self.cbs_code = cbs_code


keep_module_path_topics(Neighbourhood, "domain.neighbourhood:Neighbourhood", (
    "Registered",
))
