"""Parties' data at the edge: decrypted for one response, looked up by token, kept out of logs."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from urllib.parse import parse_qsl, urlencode
from uuid import UUID

import structlog

from application.ledger import CaseLedger
from application.privacy import LOOKUP_FIELDS, RevealedParty
from domain.values import Party

log = structlog.get_logger("caseledger.privacy")


def reveal(
    ledger: CaseLedger, case_id: UUID | str, parties: Iterable[Party], erased: Collection[str] = ()
) -> list[RevealedParty]:
    """The parties decrypted for this response; a field that fails authentication is logged (never its value)."""
    revealed = ledger.reveal_parties(UUID(str(case_id)), parties, erased)
    for party in revealed:
        if party.damaged:
            log.warning("party_data_damaged", case_id=str(case_id), party_id=party.party_id, fields=party.damaged)
    return revealed


def lookup_tokens(ledger: CaseLedger, **values: str | None) -> list[tuple[str, str]]:
    """(field, keyed token) for each ID number or phone a list is filtered by."""
    return [(field, ledger.lookup_token(field, value)) for field, value in values.items() if value]


def redacted_query(ledger: CaseLedger, query: str) -> str:
    """A query string fit for the access log: ID numbers and phones replaced by their keyed tokens.

    The tokens still let an auditor (through the service) tell which person a read looked for.
    """
    if not any(field in query for field in LOOKUP_FIELDS):
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode(
        [
            (name, f"hmac:{ledger.lookup_token(name, value)}" if name in LOOKUP_FIELDS and value else value)
            for name, value in pairs
        ],
        safe="/:,",
    )
