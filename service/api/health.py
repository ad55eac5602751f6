"""GET /healthz: is the store reachable, how far each read model lags, is one stopped, is the log intact."""
from __future__ import annotations

import logging

import sqlalchemy.exc
from eventsourcing.persistence import PersistenceError

from projections.tracking import new_incident_id
from service.api.common import Blueprint
from service.config import ConfigurationError
from service.auth import caller
from service.extension import runtime
from service.queries.audit_log import log_health

UNREACHABLE = (sqlalchemy.exc.SQLAlchemyError, PersistenceError, ConfigurationError, OSError)

log = logging.getLogger(__name__)

blp = Blueprint("health", __name__, url_prefix="/", description="Liveness and read-model lag")


@blp.route("healthz")
@blp.response(200)
def healthz():
    """Report the store and each read model's lag: 503 when the store is unreachable or a read
    model stopped on an event (named with the event's position)."""
    try:
        rt = runtime()
        lags = rt.projector.lag()
        head = rt.projector.log_position()
        audit_log = log_health(rt, caller())
    except UNREACHABLE as error:
        incident = new_incident_id()
        log.error("incident %s: the store is not reachable: %s", incident, error)
        return {
            "code": 503, "status": "Service Unavailable",
            "message": f"the store is not reachable (incident {incident})",
        }, 503
    projections = {}
    for lag in lags:
        projections[lag.name] = {"position": lag.position, "behind": lag.behind}
        if lag.failure:
            projections[lag.name]["stopped_before"] = lag.failure.position
    health = {
        # Still 200 on a failed audit check: the service answers; "audit-failed" tells monitoring
        # the log needs a look.
        "status": "ok" if audit_log["ok"] else "audit-failed",
        "store": rt.storage.kind,
        "log_position": head,
        "projections": projections,
        "audit_log": audit_log,
    }
    stopped = [lag.failure for lag in lags if lag.failure]
    if not stopped:
        return health
    message = "; ".join(
        f"read model '{f.name}' stopped before event {f.position} (incident {f.incident})"
        for f in stopped
    )
    return {**health, "code": 503, "status": "Service Unavailable", "message": message}, 503
