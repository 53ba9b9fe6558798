"""The ledger's global Merkle log: RFC 9162 tree hashes, roots and proofs (SPEC §10).

Every stored event becomes one leaf of an append-only log; the log's state is the
Merkle Tree Hash (MTH) of RFC 9162 §2.1.1 with SHA-256, which a signed checkpoint
publishes. An **inclusion proof** (§2.1.3) shows that one leaf is in a tree of a given
size; a **consistency proof** (§2.1.4) shows that a later tree extends an earlier one,
so nobody can rewrite history behind a published checkpoint.

The definitions::

    leaf_hash(d)      = SHA-256(0x00 || d)
    node_hash(l, r)   = SHA-256(0x01 || l || r)
    MTH({})           = SHA-256("")
    MTH({d0})         = leaf_hash(d0)
    MTH(D[0:n])       = node_hash(MTH(D[0:k]), MTH(D[k:n]))   k = largest power of 2 < n

The 0x00/0x01 prefixes keep a leaf from ever being passed off as an inner node
(second pre-image attacks).

The log grows to millions of leaves, so proofs must never read every leaf. Everything
below works against a :class:`NodeSource`, which answers only for **complete** perfect
subtrees: ``subtree(level, index)`` covers leaves ``[index·2^level, (index+1)·2^level)``.
Such a node never changes once its last leaf exists, so a store writes it once
(:func:`complete_nodes_after_append`) and never updates it. The incomplete subtrees on
the right edge of a tree are folded from complete ones on the fly, in O(log n) lookups.

Pure functions on bytes and ints; the standard library only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

HASH_SIZE = 32
"""Bytes in every hash of the tree (SHA-256)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH of the empty tree: the hash of the empty string, as RFC 9162 defines it."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """Hash of one log entry: SHA-256(0x00 || data)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of an inner node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The RFC's k for n ≥ 2: the largest power of two strictly smaller than n."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes, by the RFC's recursive definition.

    Reads every leaf: the reference the incremental :func:`tree_root` is checked
    against, and what an offline verifier holding all entries can use directly.
    """

    def mth(lo: int, hi: int) -> bytes:
        # Index ranges rather than slices, so the recursion copies nothing.
        if hi - lo == 1:
            return leaf_hashes[lo]
        mid = lo + _split(hi - lo)
        return node_hash(mth(lo, mid), mth(mid, hi))

    if not leaf_hashes:
        return EMPTY_ROOT
    return mth(0, len(leaf_hashes))


class NodeSource(Protocol):
    """Where the hashes of complete subtrees are kept (memory, a table, a file)."""

    def subtree(self, level: int, index: int) -> bytes:
        """Hash of the complete subtree over leaves ``[index·2^level, (index+1)·2^level)``.

        Level 0 is the leaf hashes. Raises ``LookupError`` for a subtree whose last
        leaf has not been appended yet: such a node has no fixed hash.
        """
        ...


def complete_nodes_after_append(
    leaf_index: int, leaf_hash: bytes, get: Callable[[int, int], bytes]
) -> list[tuple[int, int, bytes]]:
    """The complete nodes ``(level, index, hash)`` that appending leaf ``leaf_index`` forms.

    Level 0 (the leaf itself) comes first. Each further node exists because the new
    node at the level below is a right child: its left sibling, already complete and
    stored, is read through ``get(level, index)``. At most ⌈log2 n⌉ + 1 nodes, each
    written once and never changed, so a store can persist them in the same
    transaction as the leaf.
    """
    if leaf_index < 0:
        raise ValueError(f"leaf index must be ≥ 0, got {leaf_index}")
    if len(leaf_hash) != HASH_SIZE:
        raise ValueError(f"a leaf hash has {HASH_SIZE} bytes, got {len(leaf_hash)}")
    nodes = [(0, leaf_index, leaf_hash)]
    level, index, current = 0, leaf_index, leaf_hash
    # An odd index is a right child: its parent is complete from this moment on.
    while index & 1:
        current = node_hash(get(level, index - 1), current)
        level, index = level + 1, index >> 1
        nodes.append((level, index, current))
    return nodes


def _range_hash(source: NodeSource, start: int, end: int) -> bytes:
    """MTH of leaves ``[start, end)`` from complete subtrees only.

    The range's binary decomposition (largest piece first) is a run of complete
    subtrees when ``start`` is a multiple of the largest piece, which holds for every
    range the RFC's recursion visits. Folding the pieces right to left is the RFC's
    definition unrolled: MTH of a non-power-of-two range is the node over its largest
    power-of-two prefix and the MTH of the rest.
    """
    if start == end:
        return EMPTY_ROOT
    pieces: list[bytes] = []
    position, remaining = start, end - start
    while remaining:
        level = remaining.bit_length() - 1
        width = 1 << level
        if position % width:
            # Not a perfect subtree: a caller outside the RFC's recursion.
            raise ValueError(f"leaves [{start}, {end}) do not split into complete subtrees")
        pieces.append(source.subtree(level, position >> level))
        position += width
        remaining -= width
    current = pieces[-1]
    for piece in reversed(pieces[:-1]):
        current = node_hash(piece, current)
    return current


def tree_root(size: int, source: NodeSource) -> bytes:
    """MTH of the first ``size`` leaves, in at most log2(size) + 1 lookups."""
    if size < 0:
        raise ValueError(f"tree size must be ≥ 0, got {size}")
    return _range_hash(source, 0, size)


def inclusion_proof(index: int, size: int, source: NodeSource) -> list[bytes]:
    """Audit path of leaf ``index`` in the tree of the first ``size`` leaves (RFC 9162 §2.1.3.1).

    PATH(m, D[n]) descends from the root towards the leaf, taking at each split the
    MTH of the other side; the result lists them from the leaf's sibling upwards.
    Only the first right-hand sibling met can be incomplete, so the lookups stay
    O(log n).
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    path: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        mid = lo + _split(hi - lo)
        if index < mid:
            path.append(_range_hash(source, mid, hi))
            hi = mid
        else:
            path.append(_range_hash(source, lo, mid))
            lo = mid
    path.reverse()
    return path


def consistency_proof(old_size: int, new_size: int, source: NodeSource) -> list[bytes]:
    """Proof that the tree of ``new_size`` leaves extends that of ``old_size`` (RFC 9162 §2.1.4.1).

    SUBPROOF(m, D[n], b) followed top-down: go left while the old tree fits in the
    left half (recording the right half), otherwise go right (recording the left
    half, and from then on the old tree is no longer a whole left subtree, b = false).
    Where the old boundary meets the end of the range, that range's MTH is part of
    the proof unless it is the old root itself (b still true). The RFC defines proofs
    for 0 < old < new; an empty tree and an equal size need none, so their proof is
    the empty list.
    """
    if not 0 <= old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to size {new_size}")
    if old_size in (0, new_size):
        return []
    proof: list[bytes] = []
    lo, hi = 0, new_size
    old_is_whole_subtree = True
    # Invariant: lo < old_size ≤ hi, so the loop reaches old_size == hi.
    while old_size != hi:
        mid = lo + _split(hi - lo)
        if old_size <= mid:
            proof.append(_range_hash(source, mid, hi))
            hi = mid
        else:
            proof.append(_range_hash(source, lo, mid))
            lo = mid
            old_is_whole_subtree = False
    if not old_is_whole_subtree:
        proof.append(_range_hash(source, lo, hi))
    proof.reverse()
    return proof


def _well_formed(*hashes: bytes) -> bool:
    return all(len(h) == HASH_SIZE for h in hashes)


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """Whether ``proof`` shows leaf ``index`` with ``leaf_hash`` in the tree ``(size, root)``.

    The algorithm of RFC 9162 §2.1.3.2, step by step. It consumes ``size`` only
    through the shape of the path, so the caller must take ``size`` and ``root``
    together from one trusted (signed) checkpoint.
    """
    if not 0 <= index < size or not _well_formed(leaf_hash, root, *proof):
        return False
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            return False  # more elements than the path has
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                # The right edge of the tree: skip the levels where this node has no sibling.
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """Whether ``proof`` shows that tree ``(new_size, new_root)`` extends ``(old_size, old_root)``.

    The algorithm of RFC 9162 §2.1.4.2 for 0 < old_size < new_size. Outside that range,
    the cases every log client needs: equal sizes need an empty proof and equal roots;
    the empty tree (whose root must be SHA-256 of the empty string) is extended by every
    tree, with an empty proof.
    """
    if not 0 <= old_size <= new_size or not _well_formed(old_root, new_root, *proof):
        return False
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT and (new_size > 0 or new_root == EMPTY_ROOT)
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        # A power-of-two old tree is a whole left subtree: the proof omits its root.
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False  # more elements than the proof has levels
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            # A right sibling that the old tree did not have yet: only the new root sees it.
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


class MemoryTree:
    """A Merkle log held in a dict of complete nodes: for tests and the offline verifier.

    It stores exactly what a persistent store would (the complete nodes, each written
    once), so the functions above run on it as they would on a database table.
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._nodes: dict[tuple[int, int], bytes] = {}
        self._size = 0
        for h in leaf_hashes:
            self.append_leaf_hash(h)

    @property
    def size(self) -> int:
        """Number of leaves appended."""
        return self._size

    def append(self, data: bytes) -> int:
        """Append one entry's bytes as a leaf; return its leaf index."""
        return self.append_leaf_hash(leaf_hash(data))

    def append_leaf_hash(self, hash_: bytes) -> int:
        """Append an already computed leaf hash; return its leaf index."""
        index = self._size
        for level, position, h in complete_nodes_after_append(index, hash_, self.subtree):
            self._nodes[(level, position)] = h
        self._size += 1
        return index

    def subtree(self, level: int, index: int) -> bytes:
        """Hash of a complete subtree (see :class:`NodeSource`); ``KeyError`` if not complete."""
        try:
            return self._nodes[(level, index)]
        except KeyError:
            raise KeyError(
                f"no complete subtree at level {level}, index {index} in a tree of size {self._size}"
            ) from None

    def leaf_hashes(self) -> list[bytes]:
        """All leaf hashes in order."""
        return [self._nodes[(0, i)] for i in range(self._size)]

    def root_hash(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (all of them by default)."""
        size = self._size if size is None else size
        if size > self._size:
            raise ValueError(f"the tree has {self._size} leaves, not {size}")
        return tree_root(size, self)
