"""JSON transcodings for the value objects stored inside events.

The names (``actor``, ``party``) are stored with every event that carries one, so they
must never change.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding

from domain.values import Actor, Party


class ActorAsDict(Transcoding):
    type = Actor
    name = "actor"

    def encode(self, obj: Actor) -> dict[str, str]:
        return obj.as_dict()

    def decode(self, data: dict[str, str]) -> Actor:
        return Actor(**data)


class PartyAsDict(Transcoding):
    type = Party
    name = "party"

    def encode(self, obj: Party) -> dict[str, str]:
        return obj.as_dict()

    def decode(self, data: dict[str, Any]) -> Party:
        return Party.from_dict(data)


def register_value_transcodings(transcoder: JSONTranscoder) -> None:
    """Teach the transcoder the project's value objects."""
    transcoder.register(ActorAsDict())
    transcoder.register(PartyAsDict())
