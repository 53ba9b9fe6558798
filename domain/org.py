"""Organisation data: the jurisdiction tree (county/township/village/grid) and the units.

Provided by the operator (a demo county is bundled); the ledger only checks that cases
and dispatches name places and units that exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from domain.values import jurisdiction_contains

LEVELS = ("county", "township", "village", "grid")


@dataclass(frozen=True)
class Node:
    """A place in the jurisdiction tree; ``path`` is its codes joined by ``/``."""

    path: str
    name: str
    level: str


@dataclass(frozen=True)
class Unit:
    """A body that can receive, handle or rule on cases."""

    unit_id: str
    name: str
    kind: str  # village, department, township_center, county_center, court, mediation_committee
    jurisdiction: str


@dataclass(frozen=True)
class Organisation:
    """The whole tree and the units, indexed for lookups."""

    name: str = ""
    nodes: dict[str, Node] = field(default_factory=dict)
    units: dict[str, Unit] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Organisation:
        nodes: dict[str, Node] = {}

        def walk(item: dict[str, Any], parent: str, depth: int) -> None:
            path = f"{parent}/{item['code']}" if parent else item["code"]
            nodes[path] = Node(path=path, name=item["name"], level=LEVELS[depth])
            for child in item.get("children", []):
                walk(child, path, depth + 1)

        walk(data["county"], "", 0)
        units = {
            u["unit_id"]: Unit(u["unit_id"], u["name"], u["kind"], u["jurisdiction"]) for u in data.get("units", [])
        }
        return cls(name=data["county"]["name"], nodes=nodes, units=units)

    @property
    def county(self) -> str:
        """The path of the county the organisation data describes ("" when none is loaded)."""
        return next((node.path for node in self.nodes.values() if node.level == "county"), "")

    def has_place(self, path: str) -> bool:
        return not self.nodes or path in self.nodes

    def has_unit(self, unit_id: str, *kinds: str) -> bool:
        if not self.units:
            return True
        unit = self.units.get(unit_id)
        return unit is not None and (not kinds or unit.kind in kinds)

    def unit_covers(self, unit_id: str, path: str) -> bool:
        """Whether a unit's jurisdiction contains a place (true when no organisation is loaded)."""
        unit = self.units.get(unit_id)
        if unit is None:
            return not self.units
        return jurisdiction_contains(unit.jurisdiction, path)

    def place_names(self, path: str) -> list[str]:
        """Names along a path, county first (for display)."""
        parts = path.split("/")
        return [self.nodes[p].name for p in ("/".join(parts[: i + 1]) for i in range(len(parts))) if p in self.nodes]
