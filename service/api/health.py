"""GET /healthz: is the store reachable, and how far does each read model lag the log."""
from __future__ import annotations

import sqlalchemy.exc
from eventsourcing.persistence import PersistenceError

from service.api.common import Blueprint
from service.config import ConfigurationError
from service.extension import runtime

UNREACHABLE = (sqlalchemy.exc.SQLAlchemyError, PersistenceError, ConfigurationError, OSError)

blp = Blueprint("health", __name__, url_prefix="/", description="Liveness and read-model lag")


@blp.route("healthz")
@blp.response(200)
def healthz():
    """Report the store and the lag of each read model (200 when reachable, 503 when not)."""
    try:
        rt = runtime()
        lags = rt.projector.lag()
    except UNREACHABLE as error:
        return {
            "code": 503, "status": "Service Unavailable",
            "message": f"the store is not reachable: {error}",
        }, 503
    return {
        "status": "ok",
        "store": rt.storage.kind,
        "log_position": rt.projector.log_position(),
        "projections": {lag.name: {"position": lag.position, "behind": lag.behind} for lag in lags},
    }
