"""The auditor's view: read-only. Every event of a round with actor, time and reason, the audit
trail of each proposal, the signed checkpoints of the log, and the export of the whole log."""
from __future__ import annotations

from flask import Blueprint, Response, render_template
from flask_babel import gettext as _

from domain.errors import NotFound
from service.console.money import LEDGER_FORMAT_NAMES
from service.console.rounds import console_crumbs, read_round, round_crumbs
from service.console.sign_in import signed_in, signed_in_principal
from service.extension import runtime
from service.pages import wording
from service.queries import audit, audit_log, proposals
from service.queries.visibility import AUDIT_TRAIL_READERS, EVENT_LOG_READERS

blp = Blueprint("console_audit", __name__, url_prefix="/console")
CHECKPOINTS_SHOWN = 100


@blp.get("/rounds/<id:round_id>/events")
@signed_in(*AUDIT_TRAIL_READERS)
def round_events(round_id: str):
    """Every event of the round and its proposals, oldest first."""
    principal = signed_in_principal()
    budget_round = read_round(round_id)
    titles = {p["proposal_id"]: p["title"]
              for p in proposals.list_proposals(runtime(), principal, round_id)}
    try:
        checkpoint = audit_log.latest_checkpoint(runtime(), principal)
    except NotFound:
        checkpoint = None
    return render_template(
        "console/events.html", round=budget_round, titles=titles, wording=wording,
        events=audit.round_audit_trail(runtime(), principal, round_id),
        checkpoint=checkpoint, may_export=principal.role in EVENT_LOG_READERS,
        ledger_formats=LEDGER_FORMAT_NAMES,
        crumbs=round_crumbs(budget_round, (_("Events"), None)),
    )


@blp.get("/proposals/<id:proposal_id>/trail")
@signed_in(*AUDIT_TRAIL_READERS)
def proposal_trail(proposal_id: str):
    """Every event about one proposal: its review, its votes' outcome and its money."""
    principal = signed_in_principal()
    proposal = proposals.get_proposal(runtime(), principal, proposal_id)
    budget_round = read_round(proposal["round_id"])
    return render_template(
        "console/trail.html", proposal=proposal, round=budget_round, wording=wording,
        events=audit.proposal_audit_trail(runtime(), principal, proposal_id),
        crumbs=round_crumbs(budget_round, (proposal["title"], None)),
    )


@blp.get("/checkpoints")
@signed_in(*AUDIT_TRAIL_READERS)
def checkpoints():
    """The signed checkpoints of the log, the key that signs them, and the proofs between them."""
    principal = signed_in_principal()
    signed = audit_log.checkpoints(runtime(), principal, limit=CHECKPOINTS_SHOWN)
    return render_template(
        "console/checkpoints.html", signed=signed, key=audit_log.public_key(runtime(), principal),
        may_export=principal.role in EVENT_LOG_READERS,
        crumbs=console_crumbs((_("Checkpoints"), None)),
    )


@blp.get("/audit-export")
@signed_in(*EVENT_LOG_READERS)
def export():
    """The whole log in the audit export format, for offline replay and verification."""
    lines = audit_log.export(runtime(), signed_in_principal())
    return Response(lines, mimetype="application/jsonl", headers={
        "Content-Disposition": 'attachment; filename="buurtbudget-audit.jsonl"'})
