"""The Merkle log against RFC 9162's definitions, written out naively, and known answers.

The naive functions below are the RFC's recursive definitions over the list of entries (MTH,
PATH, PROOF/SUBPROOF of sections 2.1.1, 2.1.3.1 and 2.1.4.1); the module under test builds the same
hashes from complete subtrees only. Known answers are the test vectors of transparency-dev/merkle.
"""
from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.merkle_log import (
    EMPTY_ROOT,
    MerkleFrontier,
    MerkleTree,
    ProofError,
    consistency_proof,
    frontier_of,
    inclusion_proof,
    leaf_hash,
    nodes_completed_by,
    nodes_needed_for,
    root,
    verify_consistency,
    verify_inclusion,
)


def split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(entries: list[bytes]) -> bytes:
    n = len(entries)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + entries[0]).digest()
    k = split(n)
    return hashlib.sha256(b"\x01" + mth(entries[:k]) + mth(entries[k:])).digest()


def path(m: int, entries: list[bytes]) -> list[bytes]:
    n = len(entries)
    if n == 1:
        return []
    k = split(n)
    if m < k:
        return path(m, entries[:k]) + [mth(entries[k:])]
    return path(m - k, entries[k:]) + [mth(entries[:k])]


def subproof(m: int, entries: list[bytes], whole: bool) -> list[bytes]:
    n = len(entries)
    if m == n:
        return [] if whole else [mth(entries)]
    k = split(n)
    if m <= k:
        return subproof(m, entries[:k], whole) + [mth(entries[k:])]
    return subproof(m - k, entries[k:], False) + [mth(entries[:k])]


def entries_of(n: int) -> list[bytes]:
    return [f"event {i}".encode() for i in range(n)]


SIZES = range(1, 65)
ENTRIES = entries_of(64)
TREE = MerkleTree(leaf_hash(e) for e in ENTRIES)


def test_the_empty_tree_has_the_hash_of_nothing():
    assert MerkleTree().root() == EMPTY_ROOT == mth([])


@pytest.mark.parametrize("size", SIZES)
def test_roots_and_inclusion_proofs_match_the_rfc_definitions_for_every_leaf(size):
    entries = ENTRIES[:size]
    root = mth(entries)
    assert TREE.root(size) == root
    for index in range(size):
        proof = TREE.inclusion_proof(index, size)
        assert proof == path(index, entries)
        verify_inclusion(leaf_hash(entries[index]), index, size, proof, root)


@pytest.mark.parametrize("second", SIZES)
def test_consistency_proofs_match_the_rfc_definitions_for_every_pair(second):
    second_root = mth(ENTRIES[:second])
    for first in range(1, second + 1):
        proof = TREE.consistency_proof(first, second)
        assert proof == subproof(first, ENTRIES[:second], True)
        verify_consistency(first, second, mth(ENTRIES[:first]), second_root, proof)


@pytest.mark.parametrize("size", [5, 8, 13, 64])
def test_every_altered_inclusion_proof_is_refused(size):
    root = TREE.root(size)
    for index in range(size):
        proof = TREE.inclusion_proof(index, size)
        leaf = leaf_hash(ENTRIES[index])
        for bad in altered(proof) + [proof + [root], [root] + proof, proof[:-1]]:
            if bad != proof:
                with pytest.raises(ProofError):
                    verify_inclusion(leaf, index, size, bad, root)
        for wrong_index, wrong_size in [(index + 1, size), (index ^ 2, size), (index, size * 2),
                                        (index, size // 2), (index - 1, size)]:
            if (wrong_index, wrong_size) != (index, size) and 0 <= wrong_index:
                with pytest.raises(ProofError):
                    verify_inclusion(leaf, wrong_index, wrong_size, proof, root)
        with pytest.raises(ProofError):
            verify_inclusion(leaf_hash(b"another event"), index, size, proof, root)


@pytest.mark.parametrize("second", [7, 8, 13, 64])
def test_every_altered_consistency_proof_is_refused(second):
    second_root = TREE.root(second)
    for first in range(1, second):
        first_root = TREE.root(first)
        proof = TREE.consistency_proof(first, second)
        candidates = altered(proof) + [proof[:-1], proof + [second_root], [proof[0]] + proof, []]
        for bad in candidates:
            with pytest.raises(ProofError):
                verify_consistency(first, second, first_root, second_root, bad)
        with pytest.raises(ProofError):
            verify_consistency(first, second, second_root, first_root, proof)
        for wrong_first, wrong_second in [(first + 1, second), (first - 1, second),
                                          (first, second * 2), (first, second // 2)]:
            if 0 < wrong_first < wrong_second:
                with pytest.raises(ProofError):
                    verify_consistency(wrong_first, wrong_second, first_root, second_root, proof)


def altered(proof: list[bytes]) -> list[list[bytes]]:
    """The proof with one bit flipped in each of its hashes in turn."""
    out = []
    for i in range(len(proof)):
        flipped = bytes([proof[i][0] ^ 8]) + proof[i][1:]
        out.append(proof[:i] + [flipped] + proof[i + 1:])
    return out


def test_the_empty_tree_and_equal_sizes_need_no_proof():
    some = TREE.root(5)
    verify_consistency(0, 5, EMPTY_ROOT, some, [])
    verify_consistency(5, 5, some, some, [])
    with pytest.raises(ProofError):
        verify_consistency(5, 5, some, TREE.root(6), [])
    with pytest.raises(ProofError):
        verify_consistency(5, 5, some, some, [some])
    with pytest.raises(ProofError):
        verify_consistency(6, 5, some, some, [some])


def test_hashes_of_the_wrong_size_are_refused():
    one = leaf_hash(b"data")
    verify_inclusion(one, 0, 1, [], one)
    with pytest.raises(ProofError):
        verify_inclusion(one, 0, 1, [], b"")
    with pytest.raises(ProofError):
        verify_inclusion(b"", 0, 1, [], one)


# Known answers from transparency-dev/merkle (testonly/constants.go, proof/verify_test.go).
KNOWN_ENTRIES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
)]
KNOWN_ROOTS = [bytes.fromhex(h) for h in (
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]
KNOWN_TREE = MerkleTree(leaf_hash(e) for e in KNOWN_ENTRIES)


def test_roots_match_the_known_answers():
    assert [KNOWN_TREE.root(n) for n in range(1, 9)] == KNOWN_ROOTS


@pytest.mark.parametrize("index,size,proof", [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
])
def test_inclusion_proofs_match_the_known_answers(index, size, proof):
    assert [h.hex() for h in KNOWN_TREE.inclusion_proof(index, size)] == proof


@pytest.mark.parametrize("first,second,proof", [
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
])
def test_consistency_proofs_match_the_known_answers(first, second, proof):
    assert [h.hex() for h in KNOWN_TREE.consistency_proof(first, second)] == proof


def test_a_proof_reads_a_logarithmic_number_of_stored_subtrees():
    size = 1_000_003
    for index in (0, 1, 500_000, size - 1):
        needed = nodes_needed_for(lambda subtree: inclusion_proof(index, size, subtree))
        assert len(needed) <= 2 * size.bit_length()
    needed = nodes_needed_for(lambda subtree: consistency_proof(777_777, size, subtree))
    assert len(needed) <= 3 * size.bit_length()


@settings(max_examples=60, deadline=None)
@given(entries=st.lists(st.binary(max_size=40), min_size=1, max_size=150), data=st.data())
def test_any_log_proves_any_entry_and_any_earlier_size(entries, data):
    tree = MerkleTree(leaf_hash(e) for e in entries)
    size = len(entries)
    assert tree.root() == mth(entries)
    index = data.draw(st.integers(0, size - 1))
    verify_inclusion(leaf_hash(entries[index]), index, size, tree.inclusion_proof(index), mth(entries))
    first = data.draw(st.integers(1, size))
    proof = tree.consistency_proof(first)
    verify_consistency(first, size, mth(entries[:first]), mth(entries), proof)
    if first < size:
        changed = list(entries)
        changed[data.draw(st.integers(0, first - 1))] += b"!"
        with pytest.raises(ProofError):
            verify_consistency(first, size, mth(changed[:first]), mth(entries), proof)


def test_the_frontier_of_a_growing_log_has_the_root_of_every_size():
    frontier = MerkleFrontier()
    assert frontier.root() == EMPTY_ROOT
    for size in SIZES:
        frontier.append(leaf_hash(ENTRIES[size - 1]))
        assert frontier.root() == mth(ENTRIES[:size])


@pytest.mark.parametrize("size", SIZES)
def test_the_right_edge_is_all_a_root_and_the_next_leaf_need(size):
    edge = set(frontier_of(size))
    assert nodes_needed_for(lambda subtree: root(size, subtree)) == edge
    needed_by_next = {(level - 1, 2 * index) for level, index in nodes_completed_by(size)}
    assert needed_by_next <= edge
