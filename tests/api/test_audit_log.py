"""The tamper-evident log over HTTP: public key, checkpoints and proofs (public), export (auditor)."""
from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain.merkle_log import verify_consistency, verify_inclusion
from service.audit_verify import verify_export
from service.signed_note import (
    COSIGNATURE_V1,
    Checkpoint,
    cosign,
    open_note,
    parse_verifier_key,
    split_note,
    verifier_key,
)


def hashes(hexes: list[str]) -> list[bytes]:
    return [bytes.fromhex(h) for h in hexes]


def test_checkpoints_and_proofs_verify_with_the_published_key_alone(api, rounds):
    driven = rounds.to("execution")
    rounds.payout(driven, driven.winners[0], 100_00)
    key = api.get("/audit/public-key")
    name, public_key = parse_verifier_key(key["verifier_key"])
    assert name == key["log_name"] and "BEGIN PUBLIC KEY" in key["public_key_pem"]
    listing = api.get("/audit/checkpoints")
    checkpoints = listing["checkpoints"]
    assert [c["reason"] for c in checkpoints] == [
        "submissions closed", "voting opened", "voting closed", "tally recorded",
        "tally confirmed", "payout paid",
    ]
    for checkpoint in checkpoints:
        signed = Checkpoint.parse(open_note(checkpoint["note"], name, public_key))
        assert (signed.tree_size, signed.root_hash.hex()) == (
            checkpoint["tree_size"], checkpoint["root_hash"]
        )
    latest = checkpoints[-1]
    size, root = latest["tree_size"], bytes.fromhex(latest["root_hash"])
    for position in range(size):
        proof = api.get(f"/audit/proofs/inclusion?position={position}&tree_size={size}")
        assert proof["root_hash"] == latest["root_hash"]
        verify_inclusion(bytes.fromhex(proof["leaf_hash"]), position, size, hashes(proof["proof"]),
                         root)
    by_id = api.get(f"/audit/proofs/inclusion?notification_id={proof['notification_id']}"
                    f"&tree_size={size}")
    assert by_id == proof
    for earlier, later in zip(checkpoints, checkpoints[1:]):
        answer = api.get(f"/audit/proofs/consistency?first={earlier['tree_size']}"
                         f"&second={later['tree_size']}")
        verify_consistency(earlier["tree_size"], later["tree_size"],
                           bytes.fromhex(earlier["root_hash"]), bytes.fromhex(later["root_hash"]),
                           hashes(answer["proof"]))


# A malformed query is 400 (the request's form); an entry or a tree the log does not have is 404
# (a tree larger than the log is one it has not grown to yet); first larger than second is 422.
REFUSED = [
    ("inclusion", 400, "position"),
    ("inclusion?tree_size=3", 400, "position"),
    ("inclusion?position=0&tree_size=100000", 404, "no tree of 100000"),
    ("inclusion?position=5&tree_size=3", 404, "not in the tree of 3"),
    ("inclusion?position=99999", 404, None),
    ("inclusion?position=0&notification_id=2", 404, "notification id 2 at position 0"),
    ("inclusion?position=-1", 400, "position"),
    ("inclusion?position=abc", 400, "position"),
    ("consistency?first=5&second=2", 422, "first"),
    ("consistency?first=1&second=100000", 404, "no tree of 100000"),
    ("consistency?first=100000", 404, "no tree of 100000"),
    ("consistency?first=100000&second=2", 404, "no tree of 100000"),
    ("consistency", 400, "first"),
    (f"inclusion?position={10**30}", 400, "position"),
    (f"consistency?first=1&second={10**30}", 400, "second"),
]


def test_proofs_of_what_the_log_does_not_have_are_refused(api, rounds):
    rounds.to("review")
    for query, status, field in REFUSED:
        payload = api.refused("GET", f"/audit/proofs/{query}", status=status)
        if field:
            assert field in payload.get("errors", {}) or field in payload["message"], payload


def test_an_entry_named_by_position_and_notification_id_is_one_entry(api, rounds):
    rounds.to("review")
    by_position = api.get("/audit/proofs/inclusion?position=3&tree_size=5")

    by_both = api.get(f"/audit/proofs/inclusion?position=3&tree_size=5"
                      f"&notification_id={by_position['notification_id']}")

    assert by_both == by_position
    assert by_position["proof"]


def test_the_export_is_for_auditors_streams_and_verifies(api, rounds):
    closed = rounds.to("execution")
    rounds.payout(closed, closed.winners[0], 100_00)
    rounds.to("voted")  # a second round, still open for voting: its ballots stay sealed
    api.refused("GET", "/audit/export", status=401)
    api.refused("GET", "/audit/export", as_="official", status=403)
    response = api.call("GET", "/audit/export", as_="auditor")
    assert response.status_code == 200 and response.is_streamed
    lines = response.get_data().splitlines()
    report = verify_export(lines, public_key=api.get("/audit/public-key")["verifier_key"])
    assert report.ok, report.text()
    assert report.sealed == 3 * 2  # three ballots, each issued and cast
    assert report.tallies_recounted == 1


def test_a_cosignature_is_kept_only_when_it_verifies(api, rounds):
    rounds.to("voting")
    latest = api.get("/audit/checkpoints/latest")
    body, _ = split_note(latest["note"])
    witness = Ed25519PrivateKey.generate()
    key = verifier_key("witness.example/w1", witness.public_key(), COSIGNATURE_V1)
    line = cosign(body, "witness.example/w1", witness, 1_800_000_000)
    url = f"/audit/checkpoints/{latest['id']}/cosignatures"
    other = cosign(body, "witness.example/w1", Ed25519PrivateKey.generate(), 1_800_000_000)
    # Well-formed but not signed by the key given (another key, another name): refused like a
    # credential that does not hold. Malformed (the document states the shapes): 422.
    api.refused("POST", url, {"witness_key": key, "cosignature": other}, status=403,
                message="not by the key of witness.example/w1")
    impostor = cosign(body, "witness.example/w2", witness, 1_800_000_000)
    api.refused("POST", url, {"witness_key": key, "cosignature": impostor}, status=403,
                message="not a cosignature of witness.example/w1")
    for witness_key, cosignature in [
        ("not a key", line), (key[:-2] + "AA", line),
        (key, line.replace("witness.example/w1", "witness\u009e")), (key, line[:-3]),
    ]:
        api.refused("POST", url, {"witness_key": witness_key, "cosignature": cosignature},
                    status=422)
    for unknown in (99999, 10**30):
        api.refused("POST", f"/audit/checkpoints/{unknown}/cosignatures",
                    {"witness_key": key, "cosignature": line}, status=404)
    kept = api.ok("POST", url, {"witness_key": key, "cosignature": line}, status=201)
    assert kept["cosignatures"] == [
        {"witness_key": key, "signed_at": 1_800_000_000, "cosignature": line}
    ]
    api.refused("POST", url, {"witness_key": key, "cosignature": line}, status=409)
    assert api.get("/audit/checkpoints")["checkpoints"][-1]["cosignatures"] == kept["cosignatures"]


def test_the_money_trail_follows_a_proposal_without_personal_data(api, rounds):
    driven = rounds.to("execution", rejected=(2,), ballots=((0, 1), (0,), (1,)))
    winner, rejected = driven.winners[0], driven.proposal_ids[2]
    paid = rounds.payout(driven, winner, 100_00)
    trail = api.get(f"/audit/money-trail/{winner}")
    cost = {w["proposal_id"]: w["cost"] for w in driven.tally["result"]["winners"]}[winner]
    assert (trail["reserved"], trail["paid"], trail["pending"]) == (cost, 100_00, 0)
    assert [(p["payout_id"], p["amount"], p["status"], p["kind"]) for p in trail["payouts"]] == [
        (paid["payout_id"], 100_00, "paid", "invoice")
    ]
    assert not {"payee_name", "iban", "reference"} & set(trail["payouts"][0])
    covering = trail["covered_by"]
    checkpoint = next(c for c in api.get("/audit/checkpoints")["checkpoints"]
                      if c["id"] == covering["id"])
    assert checkpoint["reason"] == "payout paid" and covering["position"] < checkpoint["tree_size"]

    rounds.payout(driven, winner, 50_00, until="requested")
    pending = api.get(f"/audit/money-trail/{winner}")
    assert pending["pending"] == 50_00 and pending["covered_by"] is None  # not signed yet
    api.refused("GET", f"/audit/money-trail/{rejected}", status=404)
