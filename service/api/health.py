"""GET /healthz: is the store reachable, how far does each read model lag the log, is the log intact."""
from __future__ import annotations

import sqlalchemy.exc
from eventsourcing.persistence import PersistenceError

from service.api.common import Blueprint
from service.config import ConfigurationError
from service.auth import caller
from service.extension import runtime
from service.queries.audit_log import log_health

UNREACHABLE = (sqlalchemy.exc.SQLAlchemyError, PersistenceError, ConfigurationError, OSError)

blp = Blueprint("health", __name__, url_prefix="/", description="Liveness and read-model lag")


@blp.route("healthz")
@blp.response(200)
def healthz():
    """Report the store and the lag of each read model (200 when reachable, 503 when not)."""
    try:
        rt = runtime()
        lags = rt.projector.lag()
        audit_log = log_health(rt, caller())
    except UNREACHABLE as error:
        return {
            "code": 503, "status": "Service Unavailable",
            "message": f"the store is not reachable: {error}",
        }, 503
    return {
        # Still 200: the service answers; "audit-failed" tells monitoring the log needs a look.
        "status": "ok" if audit_log["ok"] else "audit-failed",
        "store": rt.storage.kind,
        "log_position": rt.projector.log_position(),
        "projections": {lag.name: {"position": lag.position, "behind": lag.behind} for lag in lags},
        "audit_log": audit_log,
    }
