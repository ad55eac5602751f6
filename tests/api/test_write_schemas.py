"""Every input schema of the API: text is `Text`, every number has a range, the OpenAPI document
states the domain's constraints and every error response in the one error shape."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from marshmallow import Schema, fields, validate

from service.api.common import MAX_POSITION, Text


def input_schemas(app: Flask) -> Iterator[tuple[str, Schema]]:
    """(endpoint and method, schema) for every body and query schema of every API endpoint."""
    for endpoint, view in app.view_functions.items():
        view_class = getattr(view, "view_class", None)
        functions = (
            [(m, getattr(view_class, m.lower())) for m in view_class.methods]
            if view_class else [("GET", view)]
        )
        for method, function in functions:
            for parameter in getattr(function, "_apidoc", {}).get("arguments", {}).get(
                "parameters", []
            ):
                yield f"{method} {endpoint} ({parameter['in']})", parameter["schema"]


def leaf_fields(schema: Schema, path: str = "") -> Iterator[tuple[str, fields.Field]]:
    for name, field in schema.fields.items():
        yield from _leaves(field, f"{path}{name}")


def _leaves(field: fields.Field, path: str) -> Iterator[tuple[str, fields.Field]]:
    if isinstance(field, fields.Nested):
        yield from leaf_fields(field.schema, path + ".")
    elif isinstance(field, fields.List):
        yield from _leaves(field.inner, path + "[]")
    elif isinstance(field, fields.Dict):
        # Keys of a dict are ids (ballot points by proposal id): refused unless on the ballot.
        yield from _leaves(field.value_field, path + "{}")
    else:
        yield path, field


@pytest.fixture
def every_input_field(app: Flask) -> list[tuple[str, fields.Field]]:
    found = [
        (f"{where}: {path}", field)
        for where, schema in input_schemas(app)
        for path, field in leaf_fields(schema)
    ]
    assert len(found) > 80, "no input schemas found: did the view layout change?"
    return found


def test_every_text_field_of_every_input_schema_is_text(every_input_field):
    other = [
        where for where, field in every_input_field
        if isinstance(field, fields.String) and not isinstance(field, (Text, fields.UUID))
    ]
    assert other == []


def test_every_number_of_every_input_schema_has_a_range_that_fits_64_bits(every_input_field):
    unbounded = []
    for where, field in every_input_field:
        if isinstance(field, fields.Number):
            ranges = [v for v in field.validators if isinstance(v, validate.Range)]
            if not (isinstance(field, fields.Integer) and ranges
                    and ranges[0].min is not None and ranges[0].max is not None
                    and -MAX_POSITION <= ranges[0].min and ranges[0].max <= MAX_POSITION):
                unbounded.append(where)
    assert unbounded == []


def test_the_openapi_document_states_the_domain_constraints(api):
    document = api.get("/api/v1/openapi.json")
    schemas = document["components"]["schemas"]

    assert schemas["MunicipalityIn"]["properties"]["cbs_code"]["pattern"] == "^GM[0-9]{4}$"
    assert schemas["NeighbourhoodIn"]["properties"]["cbs_code"]["pattern"] == (
        "^(WK[0-9]{6}|BU[0-9]{8})$"
    )
    assert schemas["PayoutIn"]["properties"]["iban"]["format"] == "iban"
    # A checksum is no pattern: the format names the rule and the description says it.
    assert "pattern" not in schemas["PayoutIn"]["properties"]["iban"]
    assert "check digits" in schemas["PayoutIn"]["properties"]["iban"]["description"]
    assert schemas["VotingIn"]["properties"]["min_points"]["minimum"] == 1
    assert schemas["BallotIn"]["properties"]["points"]["additionalProperties"]["minimum"] == 1
    assert schemas["BallotIn"]["oneOf"] == [
        {"required": ["proposals"]}, {"required": ["points"]}, {"required": ["ranking"]}
    ]
    assert {"required": ["amount", "note"], "properties": {"note": {"pattern": r"\S"}}} in (
        schemas["AdmitIn"]["anyOf"]
    )
    assert schemas["DepositIn"]["properties"]["amount"]["maximum"] == 10**12
    assert "\\u0000" in schemas["ProposalIn"]["properties"]["title"]["pattern"]


def test_every_operation_documents_its_errors_in_the_one_error_shape(api):
    document = api.get("/api/v1/openapi.json")
    error = {"$ref": "#/components/schemas/Error"}
    for name, response in document["components"]["responses"].items():
        if name != "DEFAULT_ERROR" and "content" in response:
            assert response["content"]["application/json"]["schema"] == error, name

    missing = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            statuses = set(operation["responses"])
            wanted = {"400", "401", "503"}
            if "requestBody" in operation:
                wanted |= {"413", "415", "422"}
                assert operation["requestBody"]["required"] is True, (method, path)
            if "{" in path:
                wanted.add("404")
            if method != "get":
                wanted |= {"403", "409"}
            if not wanted <= statuses:
                missing.append((method, path, sorted(wanted - statuses)))
    assert missing == []
