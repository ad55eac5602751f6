"""The read models Buurtbudget keeps, in the order they are caught up."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from projections.audit_trail import AuditTrailProjection
from projections.ballots import BallotsProjection
from projections.ledger import LedgerProjection
from projections.paper_batches import PaperBatchesProjection
from projections.payouts import PayoutsProjection
from projections.places import PlacesProjection
from projections.proposals import ProposalsProjection
from projections.rounds import RoundsProjection
from projections.tracking import Projector, ReadModel


def read_models() -> list[ReadModel]:
    return [
        PlacesProjection(),
        RoundsProjection(),
        ProposalsProjection(),
        BallotsProjection(),
        PayoutsProjection(),
        AuditTrailProjection(),
        LedgerProjection(),
        PaperBatchesProjection(),
    ]


def build_projector(engine: sa.Engine, application: Any) -> Projector:
    return Projector(engine, application.recorder, application.mapper, read_models())
