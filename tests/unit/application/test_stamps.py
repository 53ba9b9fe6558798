"""Times as the views store them: one UTC text per instant, whatever zone it was given in.

``stamp`` keeps the texts it has made; these tests hold it to the plain conversion, also
across the moment its store is emptied.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.projections import rows
from application.projections.rows import stamp
from domain.calendar import CHINA_TZ

ZONES = st.sampled_from([UTC, CHINA_TZ, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=45))])
# Instants a few seconds apart, each in some zone: neighbours that a careless key would merge.
NEAR = st.builds(
    lambda base, offset, zone: (base + timedelta(microseconds=offset)).astimezone(zone),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
    st.integers(min_value=0, max_value=3_000_000),
    ZONES,
)


@given(moments=st.lists(NEAR, min_size=1, max_size=40))
def test_every_stamp_is_the_moments_utc_text_however_many_came_before(moments: list[datetime]) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rows, "_STAMPS_HELD", 7)  # emptied several times along the way
        for moment in moments:
            assert stamp(moment) == moment.astimezone(UTC).isoformat(timespec="microseconds")


def test_one_instant_in_two_zones_has_one_stamp_and_the_next_microsecond_another() -> None:
    in_beijing = datetime(2026, 3, 2, 9, 30, tzinfo=CHINA_TZ)
    in_utc = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
    assert stamp(in_beijing) == stamp(in_utc) == "2026-03-02T01:30:00.000000+00:00"
    assert stamp(in_beijing + timedelta(microseconds=1)) == "2026-03-02T01:30:00.000001+00:00"
    # The same wall-clock time in another zone is another instant.
    assert stamp(in_beijing.replace(tzinfo=UTC)) == "2026-03-02T09:30:00.000000+00:00"
    assert stamp(None) is None
