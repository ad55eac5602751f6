"""Signed checkpoints in the C2SP text formats (tlog-checkpoint inside a signed-note), with Ed25519.

A checkpoint body is: the log's origin line, the tree size in decimal, the root hash in base64, then
extension lines (here `time <ISO 8601 UTC>` and `reason <why it was made>`), each ending in a
newline. The note is the body, a blank line, and one line per signature:
`— <key name> <base64(4-byte key id || 64-byte Ed25519 signature over the body)>`, where the key id
is the first 4 bytes of SHA-256(key name || 0x0A || 0x01 || public key). The same public key is
published as a verifier key `<name>+<key id hex>+<base64(0x01 || public key)>`, so tools built for
Go's checksum database or Sigstore read our checkpoints too.
"""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ED25519 = b"\x01"
COSIGNATURE_V1 = b"\x04"  # C2SP tlog-cosignature: Ed25519 over a timestamped message
SIGNATURE_DASH = "\u2014"


class NoteError(ValueError):
    """A checkpoint or note that is malformed or not signed by the expected key."""


def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(name: str, public_key: Ed25519PublicKey, algorithm: bytes = ED25519) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + algorithm + _raw_public(public_key)).digest()[:4]


def verifier_key(name: str, public_key: Ed25519PublicKey, algorithm: bytes = ED25519) -> str:
    """The public key as a C2SP signed-note verifier key string."""
    encoded = base64.b64encode(algorithm + _raw_public(public_key)).decode()
    return f"{name}+{key_id(name, public_key, algorithm).hex()}+{encoded}"


def parse_verifier_key(text: str, algorithm: bytes = ED25519) -> tuple[str, Ed25519PublicKey]:
    try:
        name, id_hex, encoded = text.strip().split("+", 2)
        raw = base64.b64decode(encoded, validate=True)
        if raw[:1] != algorithm or len(raw) != 33:
            raise NoteError(f"not an Ed25519 verifier key of type 0x{algorithm.hex()}")
        public_key = Ed25519PublicKey.from_public_bytes(raw[1:])
    except (ValueError, TypeError) as error:
        raise NoteError(f"not a verifier key: {error}") from None
    if key_id(name, public_key, algorithm).hex() != id_hex:
        raise NoteError("the verifier key's id does not match its name and key")
    return name, public_key


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    tree_size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        lines = [self.origin, str(self.tree_size), base64.b64encode(self.root_hash).decode()]
        return "".join(line + "\n" for line in [*lines, *self.extensions])

    def extension(self, key: str) -> str | None:
        for line in self.extensions:
            if line.startswith(key + " "):
                return line[len(key) + 1:]
        return None

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        if not body.endswith("\n"):
            raise NoteError("a checkpoint body ends with a newline")
        lines = body[:-1].split("\n")
        if len(lines) < 3 or any(not line for line in lines):
            raise NoteError("a checkpoint has an origin, a size and a root hash, no empty lines")
        origin, size, root = lines[:3]
        if not size.isdigit() or (size.startswith("0") and size != "0"):
            raise NoteError("the tree size is not a decimal number")
        try:
            root_hash = base64.b64decode(root, validate=True)
        except ValueError:
            raise NoteError("the root hash is not base64") from None
        if len(root_hash) != 32:
            raise NoteError("the root hash is not 32 bytes")
        return cls(origin, int(size), root_hash, tuple(lines[3:]))


def sign_note(body: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """The body followed by a blank line and this key's signature line."""
    signature = private_key.sign(body.encode())
    encoded = base64.b64encode(key_id(name, private_key.public_key()) + signature).decode()
    return f"{body}\n{SIGNATURE_DASH} {name} {encoded}\n"


def _cosigned_message(body: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n".encode() + body.encode()


def cosign(body: str, name: str, private_key: Ed25519PrivateKey, timestamp: int) -> str:
    """A witness's cosignature line of a checkpoint body (C2SP tlog-cosignature, v1)."""
    signature = private_key.sign(_cosigned_message(body, timestamp))
    raw = key_id(name, private_key.public_key(), COSIGNATURE_V1) + timestamp.to_bytes(8, "big")
    return f"{SIGNATURE_DASH} {name} {base64.b64encode(raw + signature).decode()}"


# The shape of a cosignature line: dash, key name (no space, plus sign or control character),
# base64 of 4 + 8 + 64 bytes (76: two "=").
COSIGNATURE_LINE = (
    rf"^{SIGNATURE_DASH} [^\s+\u0000-\u001f\u007f-\u009f]+ [A-Za-z0-9+/]{{101}}[AQgw]==$"
)


def verify_cosignature(body: str, line: str, name: str, public_key: Ed25519PublicKey) -> int:
    """The time (POSIX seconds) of a witness's valid cosignature of `body`; NoteError otherwise."""
    try:
        dash, signer, encoded = line.strip().split(" ")
        raw = base64.b64decode(encoded, validate=True)
    except ValueError:
        raise NoteError("a cosignature line is malformed") from None
    if dash != SIGNATURE_DASH or signer != name or len(raw) != 4 + 8 + 64:
        raise NoteError(f"not a cosignature of {name}")
    if raw[:4] != key_id(name, public_key, COSIGNATURE_V1):
        raise NoteError(f"the cosignature is not by the key of {name}")
    timestamp = int.from_bytes(raw[4:12], "big")
    try:
        public_key.verify(raw[12:], _cosigned_message(body, timestamp))
    except InvalidSignature:
        raise NoteError(f"the cosignature of {name} does not verify") from None
    return timestamp


def split_note(note: str) -> tuple[str, list[str]]:
    """The signed body and the signature lines of a note."""
    body, separator, signatures = note.rpartition("\n\n")
    if not separator or not signatures.endswith("\n"):
        raise NoteError("a note is a body, a blank line and signature lines")
    lines = signatures[:-1].split("\n")
    if not lines or any(not line.startswith(SIGNATURE_DASH + " ") for line in lines):
        raise NoteError("every line after the blank line is a signature")
    return body + "\n", lines


def open_note(note: str, name: str, public_key: Ed25519PublicKey) -> str:
    """The body of a note after checking the named key's signature on it; NoteError otherwise."""
    body, lines = split_note(note)
    wanted = key_id(name, public_key)
    for line in lines:
        try:
            _dash, signer, encoded = line.split(" ")
            raw = base64.b64decode(encoded, validate=True)
        except ValueError:
            raise NoteError("a signature line is malformed") from None
        if signer != name or raw[:4] != wanted:
            continue
        try:
            public_key.verify(raw[4:], body.encode())
        except InvalidSignature:
            raise NoteError(f"the signature of {name} does not verify") from None
        return body
    raise NoteError(f"the note carries no signature of {name}")


def new_signing_key(path: Path) -> None:
    """Write a fresh Ed25519 private key (PKCS#8 PEM), readable by its owner only."""
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pem)
    path.chmod(0o600)


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise NoteError(f"{path} does not hold an Ed25519 private key")
    return key


def public_key_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def load_public_key(text: str) -> tuple[str | None, Ed25519PublicKey]:
    """A public key given as a verifier key string or as PEM (then without a name)."""
    if "BEGIN PUBLIC KEY" in text:
        key = serialization.load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise NoteError("the public key is not Ed25519")
        return None, key
    return parse_verifier_key(text)
