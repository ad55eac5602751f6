"""Signed checkpoints in the C2SP signed-note format, checked against Go's sumdb/note example."""
from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from service.signed_note import (
    COSIGNATURE_V1,
    Checkpoint,
    NoteError,
    cosign,
    open_note,
    parse_verifier_key,
    sign_note,
    verifier_key,
    verify_cosignature,
)

# golang.org/x/mod/sumdb/note: the example note of the package documentation.
GO_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = GO_TEXT + (
    "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdn"
    "gotpRZb6KE6RyyBwJnAM=\n"
)


def test_a_note_signed_by_go_opens_with_its_verifier_key():
    name, key = parse_verifier_key(GO_KEY)
    assert open_note(GO_NOTE, name, key) == GO_TEXT
    with pytest.raises(NoteError):
        open_note(GO_NOTE.replace("problem is", "problem was"), name, key)


def test_a_signed_checkpoint_round_trips_and_refuses_any_change():
    key = Ed25519PrivateKey.generate()
    checkpoint = Checkpoint("example.org/log", 42, bytes(range(32)), ("time 2026-01-01T00:00:00Z",))
    note = sign_note(checkpoint.body(), "example.org/log", key)
    name, public = parse_verifier_key(verifier_key("example.org/log", key.public_key()))
    body = open_note(note, name, public)
    assert Checkpoint.parse(body) == checkpoint
    assert Checkpoint.parse(body).extension("time") == "2026-01-01T00:00:00Z"
    with pytest.raises(NoteError):
        open_note(note.replace("\n42\n", "\n43\n"), name, public)
    with pytest.raises(NoteError):
        open_note(note, name, Ed25519PrivateKey.generate().public_key())


@pytest.mark.parametrize("body", ["log\n12\n", "log\n012\n" + "A" * 43 + "=\n", "log\nx\nAAAA\n",
                                  "log\n1\n" + "A" * 43 + "=", "log\n1\n\n"])
def test_malformed_checkpoints_are_refused(body):
    with pytest.raises(NoteError):
        Checkpoint.parse(body)


def test_a_witness_cosignature_covers_the_body_and_its_time():
    witness = Ed25519PrivateKey.generate()
    body = Checkpoint("example.org/log", 7, bytes(32), ("time x",)).body()
    line = cosign(body, "witness.example/w1", witness, 1727964367)
    name, public = parse_verifier_key(
        verifier_key("witness.example/w1", witness.public_key(), COSIGNATURE_V1), COSIGNATURE_V1
    )
    assert verify_cosignature(body, line, name, public) == 1727964367
    with pytest.raises(NoteError):
        verify_cosignature(body.replace("\n7\n", "\n8\n"), line, name, public)
    with pytest.raises(NoteError):  # a log signature is no cosignature, and the other way round
        verify_cosignature(body, sign_note(body, name, witness).splitlines()[-1], name, public)
    with pytest.raises(NoteError):
        parse_verifier_key(verifier_key(name, witness.public_key(), COSIGNATURE_V1))
