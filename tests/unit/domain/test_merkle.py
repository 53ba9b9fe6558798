"""The global Merkle log (SPEC §10): RFC 9162 hashes, roots and proofs.

Known answers are the Certificate Transparency test vectors (the eight leaves every CT
implementation tests with, their roots, three consistency proofs, and one inclusion proof
taken from a real log of 3.6 million entries), as published with google/certificate-
transparency (``python/ct/crypto/merkle_test.py``). Everything else is checked against a
second, deliberately naive implementation of the RFC's recursive definitions (PATH and
SUBPROOF over a list of leaves) written in this file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from functools import partial

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    complete_nodes_after_append,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    tree_root,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
]
HASHES = [leaf_hash(d) for d in LEAVES]

# MTH of the first n leaves, n = 0..8.
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]

# (old size, new size, proof) over LEAVES.
CONSISTENCY_VECTORS = [
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]

# An audit path served by a production CT log: leaf 848049 of a tree of 3,630,887.
REAL_LOG_LEAF = "7a395c866d5ecdb0cccb623e011dbc392cd348d1d1d72776174e127a24b09c78"
REAL_LOG_INDEX = 848049
REAL_LOG_SIZE = 3630887
REAL_LOG_ROOT = "78316a05c9bcf14a3a4548f5b854a9adfcd46a4c034401b3ce7eb7ac2f1d0ecb"
REAL_LOG_PATH = [
    "1a208aeebcd1b39fe2de247ee8db9454e1e93a312d206b87f6ca9cc6ec6f1ddd",
    "0a1b78b383f580856f433c01a5741e160d451c185910027f6cc9f828687a40c4",
    "3d1745789bc63f2da15850de1c12a5bf46ed81e1cc90f086148b1662e79aab3d",
    "9095b61e14d8990acf390905621e62b1714fb8e399fbb71de5510e0aef45affe",
    "0a332b91b8fab564e6afd1dd452449e04619b18accc0ff9aa8393cd4928451f2",
    "2336f0181d264aed6d8f3a6507ca14a8d3b3c3a23791ac263e845d208c1ee330",
    "b4ce56e300590500360c146c6452edbede25d4ed83919278749ee5dbe178e048",
    "933f6ddc848ea562e4f9c5cfb5f176941301dad0c6fdb9d1fbbe34fac1be6966",
    "b95a6222958a86f74c030be27c44f57dbe313e5e7c7f4ffb98bcbd3a03bb52f2",
    "daeeb3ce5923defd0faeb8e0c210b753b85b809445d7d3d3cd537a9aabaa9c45",
    "7fadd0a13e9138a2aa6c3fdec4e2275af233b94812784f66bcca9aa8e989f2bc",
    "1864e6ba3e32878610546539734fb5eeae2529991f130c575c73a7e25a2a7c56",
    "12842d1202b1dc6828a17ab253c02e7ce9409b5192430feba44189f39cc02d66",
    "29af64b16fa3053c13d02ac63aa75b23aa468506e44c3a2315edc85d2dc22b11",
    "b527b99934a0bd9edd154e449b0502e2c499bba783f3bc3dfe23364b6b532009",
    "4584db8ae8e351ace08e01f306378a92bfd43611714814f3d834a2842d69faa8",
    "86a9a41573b0d6e4292f01e93243d6cc65b30f06606fc6fa57390e7e90ed580f",
    "a88b98fbe84d4c6aae8db9d1605dfac059d9f03fe0fcb0d5dff1295dacba09e6",
    "06326dc617a6d1f7021dc536026dbfd5fffc6f7c5531d48ef6ccd1ed1569f2a1",
    "f41fe8fdc3a2e4e8345e30216e7ebecffee26ff266eeced208a6c2a3cf08f960",
    "40cf5bde8abb76983f3e98ba97aa36240402975674e120f234b3448911090f8d",
    "b3222dc8658538079883d980d7fdc2bef9285344ea34338968f736b04aeb387a",
]

INCLUSION_CASES = [(i, n) for n in range(1, 9) for i in range(n)]
CONSISTENCY_CASES = [(m, n) for n in range(1, 9) for m in range(1, n)]


def _h(hex_: str) -> bytes:
    return bytes.fromhex(hex_)


def _tree() -> MemoryTree:
    tree = MemoryTree()
    for data in LEAVES:
        tree.append(data)
    return tree


# --- A second implementation, straight from the RFC's recursive definitions ---------------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _rfc_path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]), RFC 9162 §2.1.3.1."""
    n = len(leaves)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*_rfc_path(m, leaves[:k]), root(leaves[k:])]
    return [*_rfc_path(m - k, leaves[k:]), root(leaves[:k])]


def _rfc_subproof(m: int, leaves: Sequence[bytes], whole: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b), RFC 9162 §2.1.4.1."""
    n = len(leaves)
    if m == n:
        return [] if whole else [root(leaves)]
    k = _k(n)
    if m <= k:
        return [*_rfc_subproof(m, leaves[:k], whole), root(leaves[k:])]
    return [*_rfc_subproof(m - k, leaves[k:], False), root(leaves[:k])]


def _path_shape(m: int, n: int) -> tuple[str, ...]:
    """On which side each element of PATH(m, D[n]) sits, leaf upwards."""
    if n == 1:
        return ()
    k = _k(n)
    if m < k:
        return (*_path_shape(m, k), "right")
    return (*_path_shape(m - k, n - k), "left")


def _consistency_shape(m: int, n: int, whole: bool = True) -> tuple[str, ...]:
    """What each element of SUBPROOF(m, D[n], b) is: the seed, or a sibling seen by both trees or the new one only."""
    if m == n:
        return () if whole else ("seed",)
    k = _k(n)
    if m <= k:
        return (*_consistency_shape(m, k, whole), "new only")
    return (*_consistency_shape(m - k, n - k, False), "both")


def _flip(value: bytes, position: int) -> bytes:
    return value[:position] + bytes([value[position] ^ 0x01]) + value[position + 1 :]


def _single_changes(proof: list[bytes], spare: bytes) -> list[list[bytes]]:
    """Every proof one edit away: a bit flipped in any byte, an element removed, added or moved."""
    changed: list[list[bytes]] = []
    for i, element in enumerate(proof):
        changed.extend([*proof[:i], _flip(element, b), *proof[i + 1 :]] for b in range(len(element)))
        changed.append(proof[:i] + proof[i + 1 :])
    for i in range(len(proof) + 1):
        changed.append([*proof[:i], spare, *proof[i:]])
        if proof:
            changed.append([*proof[:i], proof[min(i, len(proof) - 1)], *proof[i:]])
    for i in range(len(proof)):
        for j in range(i + 1, len(proof)):
            swapped = list(proof)
            swapped[i], swapped[j] = swapped[j], swapped[i]
            if swapped != proof:
                changed.append(swapped)
    if len(proof) > 2:
        changed.append(proof[1:] + proof[:1])
    return changed


# --- Hashes and roots --------------------------------------------------------------------


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    """A leaf is SHA-256(0x00 || d) and a node SHA-256(0x01 || l || r) (RFC 9162 §2.1.1)."""
    assert leaf_hash(b"").hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    assert leaf_hash(bytes(range(0x10, 0x20))).hex() == (
        "3bfb960453ebaebf33727da7a1f4db38acc051d381b6da20d6d4e88f0eabfd7a"
    )
    left, right = bytes(range(0x00, 0x20)), bytes(range(0x20, 0x40))
    assert node_hash(left, right).hex() == "1a378704c17da31e2d05b6d121c2bb2c7d76f6ee6fa8f983e596c2d034963c57"


def test_the_empty_tree_hashes_to_sha256_of_nothing() -> None:
    """MTH({}) = SHA-256 of the empty string, both ways of computing it."""
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT
    assert root([]) == EMPTY_ROOT
    assert tree_root(0, MemoryTree()) == EMPTY_ROOT
    assert EMPTY_ROOT.hex() == ROOTS[0]


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_the_published_vectors(size: int) -> None:
    """The recursive and the incremental root both give CT's published value."""
    tree = _tree()
    assert root(HASHES[:size]).hex() == ROOTS[size]
    assert tree_root(size, tree).hex() == ROOTS[size]
    assert tree.root_hash(size).hex() == ROOTS[size]


def test_incremental_root_equals_recursive_root_while_growing() -> None:
    """After each append, every prefix's root from complete nodes equals the RFC's recursion."""
    hashes = [leaf_hash(i.to_bytes(2, "big")) for i in range(70)]
    tree = MemoryTree()
    for n, h in enumerate(hashes, start=1):
        assert tree.append_leaf_hash(h) == n - 1
        assert tree.size == n
        assert tree.root_hash() == root(hashes[:n])
    assert all(tree_root(n, tree) == root(hashes[:n]) for n in range(71))
    assert tree.leaf_hashes() == hashes


def test_an_append_forms_the_complete_nodes_above_it_once() -> None:
    """Leaf 7 completes subtrees at levels 1, 2 and 3; leaf 4 completes none."""
    tree = MemoryTree(HASHES[:7])
    nodes = complete_nodes_after_append(7, HASHES[7], tree.subtree)
    assert [(level, index) for level, index, _ in nodes] == [(0, 7), (1, 3), (2, 1), (3, 0)]
    for level, index, h in nodes:
        assert h == root(HASHES[index << level : (index + 1) << level])
    assert complete_nodes_after_append(4, HASHES[4], tree.subtree) == [(0, 4, HASHES[4])]


def test_an_append_refuses_a_malformed_leaf() -> None:
    """A leaf hash is 32 bytes and a leaf index is never negative."""
    with pytest.raises(ValueError):
        complete_nodes_after_append(0, b"short", MemoryTree().subtree)
    with pytest.raises(ValueError):
        complete_nodes_after_append(-1, HASHES[0], MemoryTree().subtree)


def test_an_incomplete_subtree_has_no_stored_hash() -> None:
    """Only complete subtrees are kept: nodes on the right edge are computed, never stored."""
    tree = MemoryTree(HASHES[:5])
    assert tree.subtree(2, 0) == root(HASHES[:4])
    with pytest.raises(LookupError):
        tree.subtree(1, 2)
    with pytest.raises(ValueError):
        tree.root_hash(6)


# --- Proofs against published and reference values ---------------------------------------


@pytest.mark.parametrize(("old_size", "new_size", "expected"), CONSISTENCY_VECTORS)
def test_consistency_proofs_match_the_published_vectors(old_size: int, new_size: int, expected: list[str]) -> None:
    """CT's published consistency proofs are produced exactly, and verify."""
    proof = consistency_proof(old_size, new_size, _tree())
    assert [p.hex() for p in proof] == expected
    assert verify_consistency(old_size, new_size, _h(ROOTS[old_size]), _h(ROOTS[new_size]), proof)


def test_an_audit_path_from_a_real_log_of_millions_verifies() -> None:
    """A production CT log's inclusion proof verifies, and fails for a neighbouring leaf."""
    path = [_h(p) for p in REAL_LOG_PATH]
    leaf, expected_root = _h(REAL_LOG_LEAF), _h(REAL_LOG_ROOT)
    assert verify_inclusion(leaf, REAL_LOG_INDEX, REAL_LOG_SIZE, path, expected_root)
    assert not verify_inclusion(leaf, REAL_LOG_INDEX + 1, REAL_LOG_SIZE, path, expected_root)
    assert not verify_inclusion(leaf, REAL_LOG_INDEX, REAL_LOG_SIZE, path[:-1], expected_root)


@pytest.mark.parametrize(("index", "size"), INCLUSION_CASES)
def test_inclusion_proofs_follow_the_rfc_and_verify(index: int, size: int) -> None:
    """PATH(m, D[n]) for every leaf of every tree up to 8 leaves, and it verifies."""
    proof = inclusion_proof(index, size, _tree())
    assert proof == _rfc_path(index, HASHES[:size])
    assert verify_inclusion(HASHES[index], index, size, proof, _h(ROOTS[size]))


@pytest.mark.parametrize(("old_size", "new_size"), [(m, n) for n in range(9) for m in range(n + 1)])
def test_consistency_proofs_follow_the_rfc_and_verify(old_size: int, new_size: int) -> None:
    """PROOF(m, D[n]) for every pair of sizes up to 8, and it verifies."""
    proof = consistency_proof(old_size, new_size, _tree())
    expected = [] if old_size in (0, new_size) else _rfc_subproof(old_size, HASHES[:new_size], True)
    assert proof == expected
    assert verify_consistency(old_size, new_size, _h(ROOTS[old_size]), _h(ROOTS[new_size]), proof)


def test_proofs_are_refused_outside_the_tree() -> None:
    """No proof for a leaf beyond the tree, nor from a larger tree to a smaller one."""
    tree = _tree()
    for index, size in [(0, 0), (8, 8), (-1, 8), (3, 2)]:
        with pytest.raises(ValueError):
            inclusion_proof(index, size, tree)
    for old_size, new_size in [(5, 4), (-1, 3)]:
        with pytest.raises(ValueError):
            consistency_proof(old_size, new_size, tree)
    with pytest.raises(ValueError):
        tree_root(-1, tree)


# --- Every single-field change fails -----------------------------------------------------


@pytest.mark.parametrize(("index", "size"), INCLUSION_CASES)
def test_every_single_change_to_an_inclusion_proof_fails(index: int, size: int) -> None:
    """A flipped bit, a removed, added or moved element, another leaf or root: all refused (REFERENCES, integrity)."""
    proof = inclusion_proof(index, size, _tree())
    good_root = _h(ROOTS[size])
    spare = leaf_hash(b"not in the log")
    for changed in _single_changes(proof, spare):
        assert not verify_inclusion(HASHES[index], index, size, changed, good_root), changed
    for other in range(len(HASHES)):
        if other != index:
            assert not verify_inclusion(HASHES[other], index, size, proof, good_root)
    for position in range(32):
        assert not verify_inclusion(_flip(HASHES[index], position), index, size, proof, good_root)
        assert not verify_inclusion(HASHES[index], index, size, proof, _flip(good_root, position))
    for other_size in range(9):
        if other_size != size:
            assert not verify_inclusion(HASHES[index], index, size, proof, _h(ROOTS[other_size]))
    for other_index in range(-1, 10):
        if other_index != index:
            assert not verify_inclusion(HASHES[index], other_index, size, proof, good_root)


@pytest.mark.parametrize(("index", "size"), INCLUSION_CASES)
def test_a_wrong_size_fails_unless_it_gives_the_same_path(index: int, size: int) -> None:
    """The RFC verifier reads the size only through the path's shape: a signed checkpoint must bind size and root."""
    proof = inclusion_proof(index, size, _tree())
    for other_size in range(12):
        if other_size == size:
            continue
        same_shape = index < other_size and _path_shape(index, other_size) == _path_shape(index, size)
        assert verify_inclusion(HASHES[index], index, other_size, proof, _h(ROOTS[size])) is same_shape


def test_a_size_with_the_same_path_shape_is_accepted_with_the_same_root() -> None:
    """Leaf 0 of 3 and leaf 0 of 4 have paths of the same shape: the size alone is not proven."""
    proof = inclusion_proof(0, 3, _tree())
    assert verify_inclusion(HASHES[0], 0, 4, proof, _h(ROOTS[3]))
    assert not verify_inclusion(HASHES[0], 0, 4, proof, _h(ROOTS[4]))


@pytest.mark.parametrize(("old_size", "new_size"), CONSISTENCY_CASES)
def test_every_single_change_to_a_consistency_proof_fails(old_size: int, new_size: int) -> None:
    """A flipped bit, a removed, added or moved element, another root: all refused (REFERENCES, integrity)."""
    proof = consistency_proof(old_size, new_size, _tree())
    old_root, new_root = _h(ROOTS[old_size]), _h(ROOTS[new_size])
    spare = leaf_hash(b"not in the log")
    for changed in [*_single_changes(proof, spare), [old_root, *proof], [*proof, new_root]]:
        assert not verify_consistency(old_size, new_size, old_root, new_root, changed), changed
    for position in range(32):
        assert not verify_consistency(old_size, new_size, _flip(old_root, position), new_root, proof)
        assert not verify_consistency(old_size, new_size, old_root, _flip(new_root, position), proof)
    for other in range(9):
        if other != old_size:
            assert not verify_consistency(old_size, new_size, _h(ROOTS[other]), new_root, proof)
        if other != new_size:
            assert not verify_consistency(old_size, new_size, old_root, _h(ROOTS[other]), proof)
    assert not verify_consistency(old_size, new_size, new_root, old_root, proof)


@pytest.mark.parametrize(("old_size", "new_size"), CONSISTENCY_CASES)
def test_a_wrong_size_fails_unless_it_gives_the_same_proof_shape(old_size: int, new_size: int) -> None:
    """Sizes count only through the proof's shape, as for inclusion; everything else is refused."""
    proof = consistency_proof(old_size, new_size, _tree())
    old_root, new_root = _h(ROOTS[old_size]), _h(ROOTS[new_size])
    shape = _consistency_shape(old_size, new_size)

    def accepted(m: int, n: int) -> bool:
        return 0 < m < n and _consistency_shape(m, n) == shape

    for other in range(-1, 12):
        if other != old_size:
            assert verify_consistency(other, new_size, old_root, new_root, proof) is accepted(other, new_size)
        if other != new_size:
            assert verify_consistency(old_size, other, old_root, new_root, proof) is accepted(old_size, other)


@pytest.mark.parametrize("size", range(9))
def test_trivial_consistency_takes_an_empty_proof_and_the_right_roots(size: int) -> None:
    """Equal sizes need equal roots; the empty tree's root is fixed; neither takes proof elements."""
    new_root = _h(ROOTS[size])
    assert verify_consistency(size, size, new_root, new_root, [])
    assert not verify_consistency(size, size, new_root, new_root, [new_root])
    assert verify_consistency(0, size, EMPTY_ROOT, new_root, [])
    assert not verify_consistency(0, size, EMPTY_ROOT, new_root, [EMPTY_ROOT])
    assert not verify_consistency(0, size, leaf_hash(b"forged"), new_root, [])
    if size:
        assert not verify_consistency(size, size, new_root, _h(ROOTS[size - 1]), [])
        assert not verify_consistency(size, size - 1, new_root, _h(ROOTS[size - 1]), [])


def test_malformed_hashes_are_refused_not_raised() -> None:
    """A proof element, leaf or root of the wrong length makes verification fail cleanly."""
    proof = inclusion_proof(2, 5, _tree())
    good_root = _h(ROOTS[5])
    assert verify_inclusion(HASHES[2], 2, 5, proof, good_root)
    assert not verify_inclusion(HASHES[2], 2, 5, [*proof[:-1], proof[-1] + b"\x00"], good_root)
    assert not verify_inclusion(HASHES[2][:31], 2, 5, proof, good_root)
    assert not verify_inclusion(HASHES[2], 2, 5, proof, good_root[:31])
    consistency = consistency_proof(3, 7, _tree())
    assert not verify_consistency(3, 7, _h(ROOTS[3]), _h(ROOTS[7]), [consistency[0][:16], *consistency[1:]])


# --- Cost: proofs of a huge log read O(log n) complete nodes ------------------------------


class _VirtualLog:
    """A log of any size whose complete nodes are made up: it counts lookups and polices completeness."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.lookups = 0

    def subtree(self, level: int, index: int) -> bytes:
        assert level >= 0 and index >= 0
        assert (index + 1) << level <= self.size, f"incomplete subtree ({level}, {index}) requested"
        self.lookups += 1
        return hashlib.sha256(f"{level}/{index}".encode()).digest()


def _lookups(size: int, work: Callable[[_VirtualLog], object]) -> int:
    log = _VirtualLog(size)
    work(log)
    return log.lookups


@pytest.mark.parametrize("size", [1, 2, 3, 1023, 1024, 1025, 3_630_887, 2**40 + 2**20 + 7, 2**45 - 1])
def test_roots_and_proofs_read_logarithmically_many_complete_nodes(size: int) -> None:
    """Millions of leaves cost tens of lookups, never a leaf scan, and never an incomplete node."""
    bound = 2 * size.bit_length()
    assert _lookups(size, partial(tree_root, size)) == bin(size).count("1")
    for index in {0, size // 3, size // 2, size - 2, size - 1} - {-1}:
        assert _lookups(size, partial(inclusion_proof, index, size)) <= bound
    for old_size in {1, size // 3, size // 2, size - 1} - {0}:
        assert _lookups(size, partial(consistency_proof, old_size, size)) <= bound


# --- Property: any tree, any leaf --------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_proofs_from_a_memory_tree_verify_against_the_recursive_root(data: st.DataObject) -> None:
    """For any tree up to 300 leaves: proofs verify, match the RFC, and the incremental root is the recursive one."""
    size = data.draw(st.integers(min_value=1, max_value=300), label="size")
    salt = data.draw(st.binary(max_size=8), label="salt")
    hashes = [leaf_hash(salt + i.to_bytes(2, "big")) for i in range(size)]
    tree = MemoryTree(hashes)
    new_size = data.draw(st.integers(min_value=1, max_value=size), label="new_size")
    index = data.draw(st.integers(min_value=0, max_value=new_size - 1), label="index")
    old_size = data.draw(st.integers(min_value=0, max_value=new_size), label="old_size")
    new_root, old_root = root(hashes[:new_size]), root(hashes[:old_size])

    assert tree_root(new_size, tree) == new_root
    assert tree_root(old_size, tree) == old_root

    path = inclusion_proof(index, new_size, tree)
    assert path == _rfc_path(index, hashes[:new_size])
    assert verify_inclusion(hashes[index], index, new_size, path, new_root)

    proof = consistency_proof(old_size, new_size, tree)
    if 0 < old_size < new_size:
        assert proof == _rfc_subproof(old_size, hashes[:new_size], True)
    assert verify_consistency(old_size, new_size, old_root, new_root, proof)
