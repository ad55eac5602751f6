"""The REST API under /api/v1: one blueprint per resource, schemas beside their views."""
from service.api.health import blp as health
from service.api.places import blp as places
from service.api.rounds import blp as rounds

BLUEPRINTS = [health, places, rounds]
