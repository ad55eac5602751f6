"""Through a real gunicorn: a register upload becomes letters with a QR code, the residents vote
with the codes on their letters, voting closes, and every voter checks their own receipt against
the signed log with only its public key."""
from __future__ import annotations

import csv
import io
import zipfile

import httpx
import pypdfium2
import zxingcpp

from service.receipt_check import check_receipt
from tests.e2e.test_audit_through_http import round_open_for_voting
from tests.e2e.test_round_through_http import API, Api
from tests.integration.test_voter_register import HEADER, PEOPLE, RULES


def decoded_qr_codes(pdf: bytes) -> list[str]:
    """The text of every QR code on every page, read from the rendered page as a phone would."""
    texts = []
    for page in pypdfium2.PdfDocument(pdf):
        image = page.render(scale=2).to_pil()
        texts += [found.text for found in zxingcpp.read_barcodes(image)
                  if found.format == zxingcpp.BarcodeFormat.QRCode]
    return texts


def test_register_letters_votes_and_every_voter_checks_their_receipt(server):
    api = Api(server)
    try:
        run_register_to_receipts(api, server)
    finally:
        api.client.close()


def run_register_to_receipts(api: Api, server) -> None:
    round_id, pids = round_open_for_voting(api, "Oost")
    path = f"/rounds/{round_id}"
    api.call("PUT", f"{path}/eligibility", json=RULES, who="anna")

    uploaded = httpx.post(
        f"{server.base_url}{API}{path}/register", timeout=60,
        content=("\r\n".join([HEADER, *PEOPLE]) + "\r\n").encode("cp1252"),
        headers={**server.headers("anna"), "Content-Type": "text/csv"},
    )
    assert uploaded.status_code == 201, uploaded.text
    archive = zipfile.ZipFile(io.BytesIO(uploaded.content))
    letters = list(csv.DictReader(
        io.StringIO(archive.read("mail-merge.csv").decode("utf-8-sig")), delimiter=";"))
    pdf = archive.read("letters.pdf")
    vote_page = f"{server.base_url}/rounds/{round_id}/vote"
    assert len(letters) == 3 and len(pypdfium2.PdfDocument(pdf)) == 3
    assert decoded_qr_codes(pdf) == [vote_page] * 3
    assert httpx.get(vote_page).status_code == 200

    casts = []
    for letter, chosen in zip(letters, ([pids[0]], [pids[0], pids[1]], [pids[1]])):
        cast = api.post(f"{path}/ballots", {"code": letter["voting_code"], "proposals": chosen},
                        expect=201)
        casts.append((cast["receipt"], {pid: 1 for pid in chosen}))
    api.post(f"{path}/close-voting", who="anna")
    assert api.get(f"{path}/turnout") == {
        "round_id": round_id, "phase": "decided", "eligible": 3, "voted": 3, "codes_issued": 3,
        "turnout_percent": 100.0,
    }

    # The log's key as the municipality publishes it elsewhere (here: read once, kept apart).
    verifier_key = api.get("/audit/public-key")["verifier_key"]
    for receipt, choices in casts:
        check = check_receipt(server.base_url, round_id, receipt, verifier_key=verifier_key,
                              expected_choices=choices)
        assert check.ok, check.findings
    out = server.cli("check-receipt", "--url", server.base_url, "--round", round_id,
                     "--receipt", casts[0][0], "--verifier-key", verifier_key)
    assert out.startswith("counted as cast")
    page = httpx.get(f"{server.base_url}/rounds/{round_id}/receipts",
                     params={"receipt": casts[1][0], "lang": "en"})
    assert "Proof that it is in the log" in page.text and casts[1][0] in page.text
