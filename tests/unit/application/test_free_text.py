"""Free text names parties only by reference (REFERENCES "Privacy"; SPEC §10).

Whatever an official writes, the text recorded holds none of the parties' personal values,
and read back with the parties at hand it is what was written.
"""

from __future__ import annotations

import time
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from application.privacy import RecentRedactors, redactor, reference, render, shown_values
from domain.values import Party

HANZI = st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF)
NAMES = st.text(HANZI, min_size=2, max_size=4)
PHONES = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
ID_NUMBERS = st.from_regex(r"[1-6][0-9]{16}[0-9X]", fullmatch=True)
ADDRESSES = st.builds(lambda street, number: f"{street}路{number}号", NAMES, st.integers(1, 999))
FILLER = st.text(st.sampled_from("与因的发生纠纷，。电话住址 0123456789abcXx"), max_size=6)


@st.composite
def parties_and_text(draw: st.DrawFn) -> tuple[list[Party], str]:
    parties = [
        Party(
            party_id=f"p{i}",
            name=draw(NAMES),
            phone=draw(PHONES),
            id_number=draw(ID_NUMBERS),
            address=draw(ADDRESSES),
        )
        for i in range(1, draw(st.integers(1, 3)) + 1)
    ]
    values = [getattr(p, f) for p in parties for f in ("name", "phone", "id_number", "address")]
    pieces = draw(st.lists(st.one_of(FILLER, st.sampled_from(values)), max_size=12))
    return parties, "".join(pieces)


@given(parties_and_text())
def test_no_personal_value_is_left_in_the_recorded_text(case: tuple[list[Party], str]) -> None:
    parties, text = case
    recorded = redactor(parties)(text)
    for party in parties:
        for value in (party.name, party.phone, party.id_number, party.address):
            assert value not in recorded


@given(parties_and_text())
def test_read_with_the_parties_at_hand_the_text_is_what_was_written(case: tuple[list[Party], str]) -> None:
    parties, text = case
    assert render(redactor(parties)(text), shown_values(parties)) == text


def test_values_are_found_as_written_and_normalised_and_the_longer_wins() -> None:
    party = Party(
        party_id="p1", name="张建国", phone="139-1234-5678", id_number="11010519491231002X", address="张建国路8号"
    )
    redact = redactor([party])
    assert redact("张建国路8号的张建国，电话13912345678，证件11010519491231002x") == (
        f"{reference('p1', 'address')}的{reference('p1', 'name')}，电话{reference('p1', 'phone')}，"
        f"证件{reference('p1', 'id_number')}"
    )
    # A value found inside another's reference (a party id "12", an address "12") is left there.
    odd = [Party(party_id="12", name="李四", phone="13912345678"), Party(party_id="p2", name="王五", address="12")]
    text = "李四电话13912345678，王五住12"
    assert render(redactor(odd)(text), shown_values(odd)) == text
    # A one-character value would be found inside ordinary words: it is left as written.
    assert redactor([Party(party_id="p2", name="王")])("王家村") == "王家村"


def test_without_the_parties_a_reference_reads_as_a_label_and_shown_values_replace_it() -> None:
    text = f"{reference('p1', 'name')}电话{reference('p1', 'phone')}，住{reference('p2', 'address')}"
    assert render(text) == "[当事人p1]电话[当事人p1电话]，住[当事人p2住址]"
    shown = {"p1": {"name": "张***", "phone": "139****5678", "id_number": "", "address": ""}}
    assert render(text, shown) == "张***电话139****5678，住[当事人p2住址]"


def test_recent_redactors_are_few_short_lived_and_forgotten_at_an_erasure() -> None:
    """They hold parties' values in memory: bounded in number and age, dropped when a party is erased."""
    first, second, third = (uuid4() for _ in range(3))
    recent = RecentRedactors(held=2)
    for case_id in (first, second, third):
        recent.put(case_id, str.upper)
    assert recent.get(first) is None  # the oldest made room
    assert recent.get(second) is str.upper
    recent.forget(second)
    assert recent.get(second) is None
    stale = RecentRedactors(seconds=0.0)
    stale.put(first, str.upper)
    time.sleep(0.001)
    assert stale.get(first) is None
