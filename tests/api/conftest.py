"""API fixtures: the Flask test client, bearer tokens per role, and a round driven through HTTP.

Every fixture here depends on `settings`, so every API test runs on SQLite and on PostgreSQL.
`api.refused(...)` is how tests send a request that must fail: it checks the one error shape and
that neither the round's balances nor the event log moved.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from service.app import create_app
from service.token_store import create_token
from service.extension import EXTENSION
from service.rate_limits import close_rate_limits
from service.runtime import Runtime

API = "/api/v1"
# Token name per role as the tests call them; an event names its actor "role:name".
TOKEN_NAMES = {
    "official": ("anna", "official"),
    "second_official": ("bram", "official"),
    "auditor": ("carla", "auditor"),
    "admin": ("dirk", "admin"),
    "third_official": ("emre", "official"),
}
BALANCES = ("phase", "deposited", "reserved", "pending", "paid", "returned", "available")
IBAN = "NL91ABNA0417164300"

# The standard round: three proposals compete for 10,000 euros. Ballots give the first two two
# votes each and the third one vote; the first two (5,000) fit, the third (6,000) does not.
DEPOSIT = 1_000_000
COSTS = (200_000, 300_000, 600_000)
BALLOTS = ((0, 1), (0,), (1, 2))
# Besides the phases: "voted" is the voting phase with the ballots cast, "tallied" is the decided
# phase with a tally recorded but not yet confirmed.
STAGES = ("submission", "review", "voting", "voted", "decided", "tallied", "execution", "closed")


def proposal_body(amount: int, *, title: str = "Benches", **overrides: Any) -> dict[str, Any]:
    """A valid proposal submission asking for `amount` cents."""
    return {
        "title": title,
        "summary": "Six benches along the water",
        "cost_lines": [{"description": "benches", "amount": amount}],
        "proposer_name": "Fatima",
        "proposer_email": "fatima@example.org",
        **overrides,
    }


def payout_body(proposal_id: str, amount: int, **overrides: Any) -> dict[str, Any]:
    """A valid payout request of `amount` cents from a proposal's reservation."""
    return {
        "proposal_id": proposal_id,
        "amount": amount,
        "payee_name": "Houtwerk BV",
        "iban": IBAN,
        "reference": "INV-2026-001",
        **overrides,
    }


@pytest.fixture
def tmp_path(tmp_path: Path) -> Iterator[Path]:
    """Where `settings` puts the SQLite files: in memory (/dev/shm) where the system has it.

    Every write request commits about seven times (the event, then each read model); on a disk
    each commit waits for an fsync, which would make these tests several times slower.
    """
    memory = Path("/dev/shm")
    if not (memory.is_dir() and os.access(memory, os.W_OK)):
        yield tmp_path
        return
    path = Path(tempfile.mkdtemp(prefix="buurtbudget-api-", dir=memory))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def issued_tokens(settings: dict[str, Any]) -> dict[str, str]:
    """Create the tables and one token per role, then close the runtime again."""
    runtime = Runtime(settings, create_tables=True)
    try:
        return {
            role: create_token(runtime.engine, name=name, role=token_role, created_by="test")[
                "token"
            ]
            for role, (name, token_role) in TOKEN_NAMES.items()
        }
    finally:
        runtime.close()


@pytest.fixture
def app(settings: dict[str, Any], issued_tokens: dict[str, str]) -> Iterator[Flask]:
    app = create_app(settings)
    yield app
    close_app(app)


def close_app(app: Flask) -> None:
    """Close what the app holds open in this process: its runtime, its rate-limit counts."""
    app.extensions[EXTENSION].close()
    close_rate_limits(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def official(issued_tokens: dict[str, str]) -> dict[str, str]:
    return bearer(issued_tokens["official"])


@pytest.fixture
def second_official(issued_tokens: dict[str, str]) -> dict[str, str]:
    """Another official, for everything the four-eyes rule wants a second person for."""
    return bearer(issued_tokens["second_official"])


@pytest.fixture
def third_official(issued_tokens: dict[str, str]) -> dict[str, str]:
    """A third official, to mark paid what the other two requested and approved."""
    return bearer(issued_tokens["third_official"])


@pytest.fixture
def auditor(issued_tokens: dict[str, str]) -> dict[str, str]:
    return bearer(issued_tokens["auditor"])


@pytest.fixture
def admin(issued_tokens: dict[str, str]) -> dict[str, str]:
    return bearer(issued_tokens["admin"])


def assert_error(response: TestResponse, status: int, message: str | None = None) -> dict[str, Any]:
    """The one error shape: {code, status, message, errors?}, with `message` in the message."""
    payload = response.get_json()
    assert response.status_code == status, payload
    assert response.mimetype == "application/json"
    assert set(payload) - {"errors"} == {"code", "status", "message"}, payload
    assert payload["code"] == status
    assert isinstance(payload["status"], str) and payload["status"]
    assert isinstance(payload["message"], str) and payload["message"]
    if "errors" in payload:
        assert isinstance(payload["errors"], dict) and payload["errors"]
    if message is not None:
        assert message in payload["message"], payload
    return payload


class ApiCalls:
    """JSON calls to the API as the public (`as_=None`) or as a role: "official", "auditor", ..."""

    error = staticmethod(assert_error)

    def __init__(self, client: FlaskClient, headers: Mapping[str, dict[str, str]]):
        self.client = client
        self.role_headers = headers

    def add_caller(self, name: str, token: str) -> None:
        """Let tests call as `name` with a token they created themselves."""
        self.role_headers = {**self.role_headers, name: bearer(token)}

    def headers(self, as_: str | None) -> dict[str, str]:
        return self.role_headers[as_] if as_ else {}

    def call(
        self, method: str, path: str, body: Any = None, *, as_: str | None = None, **kwargs: Any
    ) -> TestResponse:
        url = path if path.startswith(("/api/", "/healthz")) else API + path
        if body is not None:
            kwargs["json"] = body
        return self.client.open(url, method=method.upper(), headers=self.headers(as_), **kwargs)

    def ok(
        self, method: str, path: str, body: Any = None, *, as_: str | None = None, status: int = 200
    ) -> Any:
        response = self.call(method, path, body, as_=as_)
        assert response.status_code == status, response.get_json()
        return response.get_json()

    def get(self, path: str, *, as_: str | None = None) -> Any:
        return self.ok("GET", path, as_=as_)

    def post(
        self, path: str, body: Any = None, *, as_: str | None = "official", status: int = 200
    ) -> Any:
        return self.ok("POST", path, {} if body is None else body, as_=as_, status=status)

    def head(self) -> int:
        """The position of the last event in the log."""
        return self.get("/events?limit=1", as_="auditor")["head"]

    def balances(self, round_id: str) -> dict[str, Any]:
        budget_round = self.get(f"/rounds/{round_id}", as_="official")
        return {key: budget_round[key] for key in BALANCES}

    def refused(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        as_: str | None = None,
        status: int,
        message: str | None = None,
        round_id: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Send a request that must fail with `status`; nothing may be written by it."""
        head = self.head()
        before = self.balances(round_id) if round_id else None
        payload = assert_error(self.call(method, path, body, as_=as_, **kwargs), status, message)
        assert self.head() == head, "a refused request wrote events"
        if round_id:
            assert self.balances(round_id) == before, "a refused request changed the balances"
        return payload

    def all_or_nothing(
        self, method: str, path: str, body: Any = None, *, as_: str | None = None, status: int
    ) -> None:
        """Send a request that may succeed with `status` or fail, but not fail after writing."""
        head = self.head()
        response = self.call(method, path, body, as_=as_)
        assert response.status_code == status or self.head() == head, response.get_json()


@pytest.fixture
def api(client: FlaskClient, official, second_official, third_official, auditor, admin) -> ApiCalls:
    return ApiCalls(
        client,
        {
            "official": official,
            "second_official": second_official,
            "third_official": third_official,
            "auditor": auditor,
            "admin": admin,
        },
    )


@dataclass
class DrivenRound:
    """What a driven round's tests need: its ids, the proposer keys, the voting codes, the tally."""

    api: ApiCalls = field(repr=False)
    round_id: str
    proposal_ids: list[str] = field(default_factory=list)
    proposer_keys: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    receipts: list[str] = field(default_factory=list)
    tally: dict[str, Any] | None = None

    @property
    def url(self) -> str:
        return f"/rounds/{self.round_id}"

    @property
    def winners(self) -> list[str]:
        assert self.tally is not None
        return [w["proposal_id"] for w in self.tally["result"]["winners"]]

    # A path without a leading slash is below the round: "deposits" is /rounds/<id>/deposits.
    def _url(self, path: str) -> str:
        return path if path.startswith("/") else f"{self.url}/{path}".rstrip("/")

    def get(self, path: str = "", *, as_: str | None = None) -> Any:
        return self.api.get(self._url(path), as_=as_)

    def patch(self, path: str, body: Any, *, as_: str | None = "official") -> Any:
        return self.api.ok("PATCH", self._url(path), body, as_=as_)

    def post(
        self, path: str, body: Any = None, *, as_: str | None = "official", status: int = 200
    ) -> Any:
        return self.api.post(self._url(path), body, as_=as_, status=status)

    def balances(self) -> dict[str, Any]:
        return self.api.balances(self.round_id)

    def refused(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        status: int,
        message: str | None = None,
        as_: str | None = "official",
        **kwargs: Any,
    ) -> dict[str, Any]:
        """`api.refused` that also checks this round's balances; by default as an official."""
        url = self._url(path)
        return self.api.refused(
            method,
            url,
            body,
            as_=as_,
            status=status,
            message=message,
            round_id=self.round_id,
            **kwargs,
        )


class RoundDriver:
    """Drives a round through HTTP to a stage of STAGES, the way officials and residents would."""

    DEPOSIT = DEPOSIT
    COSTS = COSTS
    proposal_body = staticmethod(proposal_body)
    payout_body = staticmethod(payout_body)

    def __init__(self, api: ApiCalls):
        self.api = api
        self._neighbourhood_id: str | None = None

    def neighbourhood(self) -> str:
        if self._neighbourhood_id is None:
            municipality = self.api.post(
                "/municipalities", {"name": "Amsterdam", "cbs_code": "GM0363"}, status=201
            )
            self._neighbourhood_id = self.api.post(
                "/neighbourhoods",
                {"municipality_id": municipality["municipality_id"], "name": "Oosterpark"},
                status=201,
            )["neighbourhood_id"]
        return self._neighbourhood_id

    def open(self, *, voting: dict[str, Any] | None = None, title: str = "Oosterpark 2026") -> str:
        body: dict[str, Any] = {"neighbourhood_id": self.neighbourhood(), "title": title}
        if voting is not None:
            body["voting"] = voting
        return self.api.post("/rounds", body, status=201)["round_id"]

    def submit(self, round_id: str, amount: int, *, title: str = "Benches") -> dict[str, Any]:
        return self.api.post(
            f"/rounds/{round_id}/proposals",
            proposal_body(amount, title=title),
            as_=None,
            status=201,
        )

    def to(
        self,
        stage: str,
        *,
        voting: dict[str, Any] | None = None,
        deposit: int = DEPOSIT,
        costs: Sequence[int] = COSTS,
        rejected: Sequence[int] = (),
        codes: int = len(BALLOTS),
        ballots: Sequence[Sequence[int]] = BALLOTS,
    ) -> DrivenRound:
        """A new round at `stage`; `ballots` list the proposal indexes each code approves."""
        target = STAGES.index(stage)
        driven = DrivenRound(self.api, self.open(voting=voting))
        if deposit:
            driven.post("deposits", {"amount": deposit, "source": "Gemeente"}, status=201)
        for number, amount in enumerate(costs):
            submitted = self.submit(driven.round_id, amount, title=f"Proposal {number}")
            driven.proposal_ids.append(submitted["proposal_id"])
            driven.proposer_keys.append(submitted["proposer_key"])
        if target >= STAGES.index("review"):
            driven.post("close-submissions")
        if target >= STAGES.index("voting"):
            for number, proposal_id in enumerate(driven.proposal_ids):
                if number in rejected:
                    driven.post(f"/proposals/{proposal_id}/reject", {"reason": "not feasible"})
                else:
                    driven.post(f"/proposals/{proposal_id}/admit")
            driven.post("open-voting")
            driven.codes = driven.post("voting-codes", {"count": codes}, status=201)["codes"]
        if target >= STAGES.index("voted"):
            for code, chosen in zip(driven.codes, ballots):
                body = {"code": code, "proposals": [driven.proposal_ids[i] for i in chosen]}
                driven.receipts.append(
                    driven.post("ballots", body, as_=None, status=201)["receipt"]
                )
        if target >= STAGES.index("decided"):
            driven.post("close-voting")
        if target >= STAGES.index("tallied"):
            driven.tally = driven.post("tallies", status=201)
        if target >= STAGES.index("execution"):
            driven.post(f"tallies/{driven.tally['tally_id']}/confirm", as_="second_official")
        if target >= STAGES.index("closed"):
            for proposal_id in driven.winners:
                driven.post(f"/proposals/{proposal_id}/complete", {"report": "done"})
            driven.post("close", {"destination": "municipal budget"})
        return driven

    def payout(
        self, driven: DrivenRound, proposal_id: str, amount: int, *, until: str = "paid"
    ) -> dict[str, Any]:
        """A payout requested by one official, approved by another, paid by a third (`until`)."""
        payout = driven.post("payouts", payout_body(proposal_id, amount), status=201)
        url = f"payouts/{payout['payout_id']}"
        if until in ("approved", "paid"):
            payout = driven.post(f"{url}/approve", as_="second_official")
        if until == "paid":
            payout = driven.post(f"{url}/paid", {"bank_reference": "BANK-1"}, as_="third_official")
        return payout


@pytest.fixture
def rounds(api: ApiCalls) -> RoundDriver:
    return RoundDriver(api)
