"""The auditor's path through a real gunicorn: a round from deposit to close, the export, tampered
copies of it, a witness that catches a history rewritten with the log's own key, and `verify
--against` naming the tally of a service whose ballot was deleted and tally rewritten to match.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

from service.audit_verify import verify_export
from service.runtime import Runtime
from tests.e2e.conftest import REPO_ROOT, cli_command
from tests.e2e.test_round_through_http import Api, proposal_body
from tests.integration.test_tamper_matrix import (
    StoredEvents,
    delete_a_ballot_rewrite_the_tally_and_rehash,
    rehash_leaves_and_nodes,
    triple_a_deposit,
)

IBAN = "NL91ABNA0417164300"


def round_open_for_voting(api: Api, place: str = "Lombok") -> tuple[str, list[str]]:
    """A new round with two admitted proposals (Benches, Mural), voting open; its id and theirs."""
    municipality = api.post("/municipalities", {"name": "Utrecht"}, who="anna", expect=201)
    neighbourhood = api.post("/neighbourhoods", {
        "municipality_id": municipality["municipality_id"], "name": place}, who="anna", expect=201)
    round_id = api.post("/rounds", {
        "neighbourhood_id": neighbourhood["neighbourhood_id"], "title": f"{place} 2026",
        "voting": {"method": "approval", "max_choices": 2, "rule": "greedy"},
    }, who="anna", expect=201)["round_id"]
    path = f"/rounds/{round_id}"
    api.post(f"{path}/deposits", {"amount": 500_000, "source": "Gemeente"}, who="anna", expect=201)
    pids = [api.post(f"{path}/proposals", proposal_body(title, amount), expect=201)["proposal_id"]
            for title, amount in (("Benches", 200_000), ("Mural", 250_000))]
    api.post(f"{path}/close-submissions", who="anna")
    for pid in pids:
        api.post(f"/proposals/{pid}/admit", who="anna")
    api.post(f"{path}/open-voting", who="anna")
    return round_id, pids


def run_round_to_the_end(api: Api) -> str:
    round_id, pids = round_open_for_voting(api)
    path = f"/rounds/{round_id}"
    codes = api.post(f"{path}/voting-codes", {"count": 3}, who="anna", expect=201)["codes"]
    for code, chosen in zip(codes, ([pids[0]], [pids[0], pids[1]], [pids[1]])):
        api.post(f"{path}/ballots", {"code": code, "proposals": chosen}, expect=201)
    api.post(f"{path}/close-voting", who="anna")
    tally = api.post(f"{path}/tallies", who="anna", expect=201)
    api.post(f"{path}/tallies/{tally['tally_id']}/confirm", who="bram")
    payout = api.post(f"{path}/payouts", {
        "proposal_id": pids[0], "amount": 150_000, "payee_name": "Houtwerk BV", "iban": IBAN,
        "reference": "INV-1"}, who="anna", expect=201)
    api.post(f"{path}/payouts/{payout['payout_id']}/approve", who="bram")
    api.post(f"{path}/payouts/{payout['payout_id']}/paid", {"bank_reference": "BANK-1"}, who="cas")
    for pid in pids:  # both won (4,500.00 of 5,000.00)
        api.post(f"/proposals/{pid}/complete", {"report": "done"}, who="anna")
    api.post(f"{path}/close", {"destination": "Algemene middelen"}, who="anna")
    return round_id


def buurtbudget(server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cli_command(), *args], env=server.env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)


def test_export_tampered_copies_and_a_witness_through_gunicorn(server, settings, tmp_path: Path):
    api = Api(server)
    try:
        auditor_checks(api, server, settings, tmp_path)
    finally:
        api.client.close()


def auditor_checks(api: Api, server, settings, tmp_path: Path) -> None:
    run_round_to_the_end(api)
    witness = ("audit", "witness", "--url", server.base_url, "--key", str(tmp_path / "w.key"),
               "--state", str(tmp_path / "w"))
    assert buurtbudget(server, *witness).returncode == 0

    key = tmp_path / "log.pub"
    key.write_text(api.get("/audit/public-key")["verifier_key"])
    export = tmp_path / "log.jsonl"
    with api.client.stream("GET", "/api/v1/audit/export", headers=server.headers("audit")) as got:
        assert got.status_code == 200
        export.write_bytes(b"".join(got.iter_bytes()))
    clean = buurtbudget(server, "audit", "verify", str(export), "--public-key", str(key))
    assert clean.returncode == 0 and "OK: the log is intact" in clean.stdout, clean.stdout
    against = ("audit", "verify", str(export), "--public-key", str(key), "--against",
               server.base_url)
    agrees = buurtbudget(server, *against)
    assert agrees.returncode == 0 and f"OK: {server.base_url} publishes" in agrees.stdout, (
        agrees.stdout + agrees.stderr)

    lines = export.read_bytes().splitlines(keepends=True)
    deposit = next(i for i, line in enumerate(lines) if b"FundsDeposited" in line)
    edited = json.loads(lines[deposit])
    edited["event"]["state"]["amount"] *= 3
    copies = {
        "edited": lines[:deposit] + [json.dumps(edited).encode() + b"\n"] + lines[deposit + 1:],
        "deleted": lines[:deposit] + lines[deposit + 1:],
        "truncated": lines[: len(lines) // 2],
    }
    for kind, copy in copies.items():
        report = verify_export(copy, public_key=key.read_text())
        assert kind in {finding.kind for finding in report.findings}, (kind, report.text())
    tampered = tmp_path / "edited.jsonl"
    tampered.write_bytes(b"".join(copies["edited"]))
    found = buurtbudget(server, "audit", "verify", str(tampered), "--public-key", str(key))
    assert found.returncode == 1 and ": edited:" in found.stdout, found.stdout

    # Whoever holds the database and the signing key rewrites a deposit and signs again.
    intruder = Runtime(settings)
    try:
        triple_a_deposit(StoredEvents(intruder))
        rehash_leaves_and_nodes(intruder)
    finally:
        intruder.close()
    assert buurtbudget(server, "audit", "checkpoint").returncode == 0
    differs = buurtbudget(server, *against)
    assert differs.returncode == 1 and "differs from" in differs.stdout, differs.stdout
    named = [line for line in differs.stdout.splitlines() if line.startswith("differs from")]
    assert "checkpoint: " in named[0], named
    assert any("deposited is 500000 in the export, 1500000 at the service" in n for n in named)
    refused = buurtbudget(server, *witness)
    assert refused.returncode == 1 and "history was rewritten" in refused.stdout, refused.stdout
    live = buurtbudget(server, "audit", "verify", "--database", "--public-key", str(key))
    assert live.returncode == 1 and "edited" in live.stdout

    # Then a voter's ballot disappears and the tally is rewritten to match the others, the read
    # models rebuilt from the changed log: the service's tallies now disagree with the export's.
    intruder = Runtime(settings)
    try:
        delete_a_ballot_rewrite_the_tally_and_rehash(StoredEvents(intruder))
    finally:
        intruder.close()
    assert buurtbudget(server, "audit", "checkpoint").returncode == 0
    assert buurtbudget(server, "projections", "rebuild").returncode == 0
    recounted = buurtbudget(server, *against)
    assert recounted.returncode == 1, recounted.stdout
    tallies = [line for line in recounted.stdout.splitlines() if line.startswith(
        f"differs from {server.base_url}: tally ")]
    assert any("the service publishes ballot_digest" in t and "ballots_counted 2" in t
               and "the export's ballots recount to" in t and "ballots_counted 3" in t
               for t in tallies), recounted.stdout
    assert any("the service's recount of its ballots gives" in t for t in tallies), tallies
