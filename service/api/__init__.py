"""The REST API under /api/v1: one blueprint per resource, schemas beside their views."""
from service.api.audit import blp as audit
from service.api.audit_log import blp as audit_log
from service.api.bank_statements import blp as bank_statements
from service.api.health import blp as health
from service.api.ledger import blp as ledger
from service.api.payment_batches import blp as payment_batches
from service.api.payouts import blp as payouts
from service.api.places import blp as places
from service.api.privacy import blp as privacy
from service.api.proposals import blp as proposals
from service.api.register import blp as register
from service.api.rounds import blp as rounds
from service.api.tokens import blp as tokens
from service.api.voting import blp as voting

BLUEPRINTS = [
    health, places, rounds, proposals, voting, register, payouts, payment_batches, bank_statements,
    audit, audit_log, ledger, tokens, privacy,
]
