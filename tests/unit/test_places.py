"""Municipality and Neighbourhood: registered by name, with a CBS code of the right kind."""

from __future__ import annotations

import pytest

from domain.errors import RuleViolation
from domain.municipality import Municipality
from domain.neighbourhood import Neighbourhood
from tests.unit.given_when_then import event, given

ACTOR = "official-chris"


def register_municipality(name="Amsterdam", cbs_code="GM0363"):
    return lambda: Municipality.register(name=name, cbs_code=cbs_code, actor=ACTOR)


@pytest.fixture
def amsterdam():
    return Municipality.register(name="Amsterdam", cbs_code="GM0363", actor=ACTOR)


def register_neighbourhood(municipality, name="Oosterpark", cbs_code="WK036383"):
    return lambda: Neighbourhood.register(
        municipality=municipality, name=name, cbs_code=cbs_code, actor=ACTOR
    )


@pytest.mark.parametrize("cbs_code", ["GM0363", None])
def test_a_municipality_is_registered_with_its_trimmed_name_and_cbs_code_if_known(cbs_code):
    given().when(register_municipality(name="  Amsterdam ", cbs_code=cbs_code)).then(
        event(Municipality.Registered, name="Amsterdam", cbs_code=cbs_code, actor=ACTOR)
    )


@pytest.mark.parametrize("cbs_code", ["0363", "gm0363", "GM363", "GM03630", "WK036383"])
def test_a_municipality_code_must_look_like_a_cbs_municipality_code(cbs_code):
    given().when(register_municipality(cbs_code=cbs_code)).then_refused(
        RuleViolation, "a municipality's CBS code looks like GM0363"
    )


@pytest.mark.parametrize("name", ["", "   ", None])
def test_a_municipality_needs_a_name(name):
    given().when(register_municipality(name=name)).then_refused(
        RuleViolation, "name must not be empty"
    )


@pytest.mark.parametrize("cbs_code", ["WK036383", "BU03638300", None])
def test_a_neighbourhood_is_a_wijk_or_buurt_of_its_municipality(amsterdam, cbs_code):
    outcome = given().when(
        register_neighbourhood(amsterdam, name=" Oosterpark ", cbs_code=cbs_code)
    )
    outcome.then(
        event(
            Neighbourhood.Registered,
            municipality_id=amsterdam.id,
            name="Oosterpark",
            cbs_code=cbs_code,
        )
    )
    assert outcome.aggregate.municipality_id == amsterdam.id


@pytest.mark.parametrize("cbs_code", ["GM0363", "WK03638", "BU036383", "wk036383", "BU0363830000"])
def test_a_neighbourhood_code_must_look_like_a_wijk_or_buurt_code(amsterdam, cbs_code):
    given().when(register_neighbourhood(amsterdam, cbs_code=cbs_code)).then_refused(
        RuleViolation, "a neighbourhood's CBS code looks like WK036300 (wijk) or BU03630000 (buurt)"
    )


def test_a_neighbourhood_needs_a_name(amsterdam):
    given().when(register_neighbourhood(amsterdam, name=" ")).then_refused(
        RuleViolation, "name must not be empty"
    )


def test_a_municipality_sets_the_account_it_pays_from(amsterdam):
    given(amsterdam.collect_events()).when(
        lambda m: m.set_paying_account(name=" Gemeente Amsterdam ", iban="NL91ABNA0417164300",
                                       actor=ACTOR)
    ).then(event(Municipality.PayingAccountSet, name="Gemeente Amsterdam",
                 iban="NL91ABNA0417164300", actor=ACTOR))


def test_setting_the_paying_account_it_already_has_is_no_change(amsterdam):
    amsterdam.set_paying_account(name="Gemeente Amsterdam", iban="NL91ABNA0417164300", actor=ACTOR)
    history = amsterdam.collect_events()
    outcome = given(history).when(
        lambda m: m.set_paying_account(name=" Gemeente Amsterdam", iban="NL91ABNA0417164300 ",
                                       actor=ACTOR)
    ).then()
    assert outcome.result is False
    given(history).when(
        lambda m: m.set_paying_account(name="Gemeente Amsterdam", iban="NL20INGB0001234567",
                                       actor=ACTOR)
    ).then(event(Municipality.PayingAccountSet, iban="NL20INGB0001234567"))


@pytest.mark.parametrize("name, iban, message", [
    ("", "NL91ABNA0417164300", "name must not be empty"),
    ("G" * 71, "NL91ABNA0417164300", "at most 70 characters"),
    ("Gemeente Amsterdam", " ", "needs an IBAN"),
])
def test_a_paying_account_needs_a_name_and_an_iban(amsterdam, name, iban, message):
    given(amsterdam.collect_events()).when(
        lambda m: m.set_paying_account(name=name, iban=iban, actor=ACTOR)
    ).then_refused(RuleViolation, message)
