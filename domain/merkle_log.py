"""The Merkle tree of the event log as RFC 9162 (Certificate Transparency 2.0) section 2.1 defines it.

Leaves are SHA-256(0x00 || entry), inner nodes SHA-256(0x01 || left || right); the tree of n
leaves splits at the largest power of two smaller than n. Proofs are built from the hashes of
*complete* subtrees only: the subtree at (level, index) covers the leaves
[index * 2**level, (index + 1) * 2**level). A store keeps those (about two per leaf), so any root,
inclusion proof or consistency proof needs O(log n) of them, and `nodes_needed_for` tells which ones
so a store can fetch them in one query. Verification follows RFC 9162 sections 2.1.3.2 and 2.1.4.2
step by step and needs nothing but the proof.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeId = tuple[int, int]  # (level, index) of a complete subtree
SubtreeHash = Callable[[int, int], bytes]  # (level, index) -> hash of that complete subtree


class ProofError(ValueError):
    """A proof that does not verify, or asked of positions the tree does not have."""


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    """k with k < n <= 2k, for n > 1."""
    return 1 << ((n - 1).bit_length() - 1)


def nodes_completed_by(index: int) -> Iterator[NodeId]:
    """The complete subtrees (level >= 1) that appending leaf `index` completes, lowest first."""
    level = 1
    while (index + 1) % (1 << level) == 0:
        yield level, (index + 1) // (1 << level) - 1
        level += 1


def frontier_of(size: int) -> list[NodeId]:
    """The complete subtrees that make up the tree of `size` leaves, largest first (its right edge).

    They are the left siblings every later leaf combines with, and all its root is made of.
    """
    nodes: list[NodeId] = []
    offset = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size & (1 << level):
            nodes.append((level, offset >> level))
            offset += 1 << level
    return nodes


def range_hash(start: int, end: int, subtree: SubtreeHash) -> bytes:
    """MTH of the leaves [start, end), where start is aligned as the RFC's recursion leaves it.

    The range is the sequence of complete subtrees of decreasing size that make up `end - start`,
    combined from the right: MTH = H(s1, H(s2, H(s3, ...))).
    """
    size = end - start
    if size <= 0:
        return EMPTY_ROOT
    parts: list[bytes] = []
    offset = start
    for level in range(size.bit_length() - 1, -1, -1):
        if size & (1 << level):
            parts.append(subtree(level, offset >> level))
            offset += 1 << level
    result = parts.pop()
    while parts:
        result = node_hash(parts.pop(), result)
    return result


def root(size: int, subtree: SubtreeHash) -> bytes:
    """The root hash of the tree of the first `size` leaves."""
    return range_hash(0, size, subtree)


def inclusion_proof(index: int, size: int, subtree: SubtreeHash) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 section 2.1.3.1: the audit path of leaf `index`, leaf side first."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of size {size}")
    path: list[bytes] = []
    start, n, m = 0, size, index
    while n > 1:
        k = _largest_power_of_two_below(n)
        if m < k:
            path.append(range_hash(start + k, start + n, subtree))
            n = k
        else:
            path.append(range_hash(start, start + k, subtree))
            start, n, m = start + k, n - k, m - k
    path.reverse()
    return path


def consistency_proof(first: int, second: int, subtree: SubtreeHash) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 section 2.1.4.1: shows the tree of `second` extends `first`."""
    if not 0 < first <= second:
        raise ProofError(f"no consistency proof from size {first} to size {second}")
    path: list[bytes] = []
    start, n, m, whole = 0, second, first, True
    while m != n:
        k = _largest_power_of_two_below(n)
        if m <= k:
            path.append(range_hash(start + k, start + n, subtree))
            n = k
        else:
            path.append(range_hash(start, start + k, subtree))
            start, n, m, whole = start + k, n - k, m - k, False
    if not whole:
        path.append(range_hash(start, start + m, subtree))
    path.reverse()
    return path


def nodes_needed_for(compute: Callable[[SubtreeHash], object]) -> set[NodeId]:
    """The complete subtrees a computation reads, found by running it over placeholder hashes."""
    needed: set[NodeId] = set()

    def record(level: int, index: int) -> bytes:
        needed.add((level, index))
        return bytes(HASH_SIZE)

    compute(record)
    return needed


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes
) -> None:
    """RFC 9162 section 2.1.3.2; raises ProofError unless `leaf` is at `index` under the root."""
    _check_hash_sizes(leaf, expected_root, *proof)
    if index >= size or index < 0:
        raise ProofError(f"leaf {index} is not in a tree of size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree is deep")
    if r != expected_root:
        raise ProofError("inclusion proof does not lead to the root")


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 section 2.1.4.2; raises ProofError unless tree `second` extends tree `first`."""
    _check_hash_sizes(first_root, second_root, *proof)
    if first == second or first == 0:
        # The empty tree is a prefix of every tree, and a tree of itself; neither needs hashes.
        if proof:
            raise ProofError("a proof from an empty tree or between equal sizes must be empty")
        if first == second and first_root != second_root:
            raise ProofError("equal sizes with different roots")
        return
    if not 0 < first < second:
        raise ProofError(f"no consistency proof from size {first} to size {second}")
    if not proof:
        raise ProofError("empty consistency proof")
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than the tree is deep")
    if fr != first_root:
        raise ProofError("consistency proof does not lead to the first root")
    if sr != second_root:
        raise ProofError("consistency proof does not lead to the second root")


def _check_hash_sizes(*hashes: bytes) -> None:
    if any(len(h) != HASH_SIZE for h in hashes):
        raise ProofError(f"every hash in a proof has {HASH_SIZE} bytes")


class MerkleTree:
    """A Merkle tree held in memory with every complete subtree, appended one leaf at a time.

    The offline verifier rebuilds the tree of an export with it; `levels[l][i]` is the hash of the
    complete subtree (l, i), so memory is about two hashes per leaf.
    """

    def __init__(self, leaves: Iterable[bytes] = ()) -> None:
        self.levels: list[list[bytes]] = [[]]
        for leaf in leaves:
            self.append(leaf)

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def append(self, leaf: bytes) -> None:
        """Add a leaf hash and every complete subtree it closes."""
        self.levels[0].append(leaf)
        level = 0
        while len(self.levels[level]) % 2 == 0:
            pair = self.levels[level][-2:]
            if len(self.levels) == level + 1:
                self.levels.append([])
            self.levels[level + 1].append(node_hash(pair[0], pair[1]))
            level += 1

    def subtree(self, level: int, index: int) -> bytes:
        try:
            return self.levels[level][index]
        except IndexError:
            raise ProofError(f"the tree has no complete subtree ({level}, {index})") from None

    def root(self, size: int | None = None) -> bytes:
        return root(self.size if size is None else size, self.subtree)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_proof(index, self.size if size is None else size, self.subtree)

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        return consistency_proof(first, self.size if second is None else second, self.subtree)


class MerkleFrontier:
    """The right edge of a growing tree (its complete subtrees, largest first): roots in O(log n).

    What a verifier keeps while it reads a log from the start: memory stays O(log n).
    """

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[tuple[int, bytes]] = []  # (level, hash), levels strictly decreasing

    def append(self, leaf: bytes) -> None:
        level, hashed = 0, leaf
        while self._stack and self._stack[-1][0] == level:
            _, left = self._stack.pop()
            level, hashed = level + 1, node_hash(left, hashed)
        self._stack.append((level, hashed))
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        result = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            result = node_hash(left, result)
        return result
