"""/healthz (store and read-model lag) and the OpenAPI document at /api/v1/openapi.json."""
from __future__ import annotations

import re
import uuid

import jsonschema_rs

from service.console import CONSOLE_BLUEPRINTS
from service.pages import PAGE_BLUEPRINTS
from service.runtime import Runtime

READ_MODELS = {
    "audit_trail", "ballots", "ledger", "paper_batches", "payouts", "places", "proposals", "rounds",
}
UNDOCUMENTED = {"static", "api-docs.openapi_json"}
# HTML for people, not API
PAGES = {blueprint.name for blueprint in (*PAGE_BLUEPRINTS, *CONSOLE_BLUEPRINTS)}


def test_healthz_reports_the_store_and_each_read_models_lag(api, rounds, backend):
    rounds.to("submission", costs=(100_000,))
    head = api.head()

    health = api.get("/healthz")

    assert (health["status"], health["store"], health["log_position"]) == ("ok", backend, head)
    assert health["projections"] == {name: {"position": head, "behind": 0} for name in READ_MODELS}


def test_healthz_shows_read_models_behind_events_another_worker_wrote(api, settings):
    api.get("/municipalities")
    other_worker = Runtime(settings)
    try:
        other_worker.application.register_municipality(
            name="Delft", cbs_code=None, actor="official:eva"
        )
    finally:
        other_worker.close()

    behind = api.get("/healthz")

    assert behind["log_position"] == 1
    assert {lag["behind"] for lag in behind["projections"].values()} == {1}
    assert [m["name"] for m in api.get("/municipalities")] == ["Delft"]
    assert {lag["behind"] for lag in api.get("/healthz")["projections"].values()} == {0}


def documented_routes(app) -> set[tuple[str, str]]:
    """(method, OpenAPI path) of every route the app serves, but static files and the spec."""
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint in UNDOCUMENTED or rule.endpoint.split(".")[0] in PAGES:
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        routes |= {(method.lower(), path) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return routes


def test_the_openapi_document_lists_every_route_and_the_bearer_scheme(api, app):
    spec = api.get("/api/v1/openapi.json")

    listed = {
        (method, path)
        for path, item in spec["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert listed == documented_routes(app)
    assert ("post", "/api/v1/rounds/{round_id}/payouts/{payout_id}/approve") in listed
    assert spec["components"]["securitySchemes"] == {
        "bearerAuth": {"type": "http", "scheme": "bearer"}
    }


def test_every_operation_that_needs_a_token_says_so_in_the_document(api):
    spec = api.get("/api/v1/openapi.json")
    head = api.head()

    for path, item in spec["paths"].items():
        url = re.sub(r"{[^}]+}", str(uuid.uuid4()), path)
        for method, operation in item.items():
            if method == "parameters":
                continue
            response = api.call(method, url, {} if method in ("post", "patch") else None)
            needs_token = response.status_code == 401
            assert needs_token == ("security" in operation), (method, path, response.get_json())
            if needs_token:
                assert operation["security"] == [{"bearerAuth": []}]
    assert api.head() == head


def _properties(spec):
    for name, schema in spec["components"]["schemas"].items():
        for field, prop in schema.get("properties", {}).items():
            yield f"{name}.{field}", prop


def test_every_documented_default_is_a_value_its_schema_accepts(api):
    spec = api.get("/api/v1/openapi.json")
    components = spec["components"]
    parameters = [
        (f"{path} {parameter['name']}", parameter["schema"])
        for path, item in spec["paths"].items() for operation in item.values()
        if isinstance(operation, dict)
        for parameter in operation.get("parameters", []) if "schema" in parameter
    ]

    wrong = [
        name for name, schema in [*_properties(spec), *parameters] if "default" in schema
        and not (schema["default"] is None and schema.get("nullable"))
        and not jsonschema_rs.is_valid(
            {**{k: v for k, v in schema.items() if k != "nullable"}, "components": components},
            schema["default"],
        )
    ]

    assert not wrong, wrong
    assert "default" not in dict(_properties(spec))["BatchIn.debtor_name"]


def test_fields_checked_beyond_any_pattern_are_named_by_their_format_alone(api):
    spec = api.get("/api/v1/openapi.json")
    properties = dict(_properties(spec))
    statement = spec["paths"]["/api/v1/bank-statements"]["post"]["requestBody"]["content"]

    formats = {name: properties[name] for name in (
        "PayingAccountIn.iban", "BatchIn.debtor_iban", "PayoutIn.iban", "CosignatureIn.witness_key"
    )}

    # A generator that knows the format makes valid values; beside a pattern it would make
    # values of the right shape that the checksum or hash then refuses.
    assert {name: (prop["type"], prop["format"]) for name, prop in formats.items()} == {
        "PayingAccountIn.iban": ("string", "iban"), "BatchIn.debtor_iban": ("string", "iban"),
        "PayoutIn.iban": ("string", "iban"),
        "CosignatureIn.witness_key": ("string", "c2sp-cosignature-verifier-key"),
    }
    for prop in formats.values():
        assert set(prop) <= {"type", "format", "description", "example"}, prop
        assert prop["description"]
    assert statement["application/xml"]["schema"]["format"] == "camt.053"
    assert "EUR" in statement["application/xml"]["schema"]["description"]
    assert properties["CosignatureIn.cosignature"]["pattern"].startswith("^\u2014 ")
