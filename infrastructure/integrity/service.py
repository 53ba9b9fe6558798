"""Checkpoints and proofs over the Merkle log, as the API and the command line offer them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain.errors import InvalidCommand, NotFound
from infrastructure.checkpoints import Checkpoint, CheckpointSigner
from infrastructure.integrity.log import MerkleLog

LOG_NAME = "caseledger"


@dataclass
class IntegrityService:
    """Signs checkpoints of the log and answers inclusion and consistency proofs."""

    log: MerkleLog
    signer: CheckpointSigner

    def checkpoint(self) -> Checkpoint:
        """Sign the current tree head (the newest checkpoint again if nothing was appended)."""
        size = self.log.size()
        latest = self.latest()
        if latest is not None and latest.tree_size == size:
            return latest
        checkpoint = self.signer.sign(LOG_NAME, size, self.log.root(size), datetime.now(UTC))
        self.log.save_checkpoint(size, checkpoint.timestamp.isoformat(), checkpoint.to_json())
        return checkpoint

    def checkpoints(self, limit: int = 100) -> list[Checkpoint]:
        return [Checkpoint.from_json(text) for text in self.log.checkpoints(limit)]

    def latest(self) -> Checkpoint | None:
        found = self.checkpoints(1)
        return found[0] if found else None

    def checkpoint_of(self, tree_size: int | None) -> Checkpoint:
        if tree_size is None:
            latest = self.latest()
            if latest is None:
                raise NotFound("no checkpoint has been signed yet")
            return latest
        # Any checkpoint ever signed: an auditor may hold one from years ago.
        text = self.log.checkpoint_at(tree_size)
        if text is None:
            raise NotFound(f"no checkpoint of tree size {tree_size}", field="tree_size")
        return Checkpoint.from_json(text)

    def inclusion(self, position: int, tree_size: int | None = None) -> dict[str, Any]:
        """Proof that the event at a ledger position is in the tree a checkpoint signs."""
        checkpoint = self.checkpoint_of(tree_size)
        leaf = self.log.leaf(position)
        if leaf is None:
            raise NotFound(f"no leaf for ledger position {position} yet", field="position")
        if leaf.leaf_index >= checkpoint.tree_size:
            raise InvalidCommand(
                f"the event is leaf {leaf.leaf_index}, after checkpoint size {checkpoint.tree_size}; "
                "ask again after the next checkpoint",
                field="tree_size",
            )
        proof = self.log.inclusion(leaf.leaf_index, checkpoint.tree_size)
        return {
            "position": position,
            "leaf_index": leaf.leaf_index,
            "leaf_hash": leaf.leaf_hash.hex(),
            "tree_size": checkpoint.tree_size,
            "proof": [node.hex() for node in proof],
            "checkpoint": checkpoint_document(checkpoint),
        }

    def consistency(self, old_size: int, new_size: int) -> dict[str, Any]:
        """Proof that the tree of ``new_size`` extends the tree of ``old_size``."""
        if not 0 <= old_size <= new_size:
            raise InvalidCommand("need 0 ≤ from ≤ to", field="from")
        if new_size > self.log.size():
            raise InvalidCommand(f"the log has fewer than {new_size} leaves", field="to")
        return {
            "from": old_size,
            "to": new_size,
            "proof": [node.hex() for node in self.log.consistency(old_size, new_size)],
        }


def checkpoint_document(checkpoint: Checkpoint) -> dict[str, Any]:
    """A checkpoint as JSON data (the same fields ``Checkpoint.to_json`` writes)."""
    import json

    data: dict[str, Any] = json.loads(checkpoint.to_json())
    return data
