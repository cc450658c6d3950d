"""Office hours in Asia/Tokyo with fixed clocks: weekday, 17:16, weekend, holidays, 年末年始."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from retrieval import office_hours
from retrieval.office_hours import TOKYO, OfficeHours, jp_datetime

HOURS = OfficeHours.parse("8:30-17:15")


def tokyo(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TOKYO)


@pytest.mark.parametrize(("when", "is_open", "reason", "next_open"), [
    ("2026-11-24T10:00", True, None, None),                       # Tuesday morning
    ("2026-11-24T08:29", False, "before_hours", "11月24日（火）8時30分"),
    ("2026-11-24T08:30", True, None, None),
    ("2026-11-24T17:14", True, None, None),
    ("2026-11-24T17:15", False, "after_hours", "11月25日（水）8時30分"),
    ("2026-11-24T17:16", False, "after_hours", "11月25日（水）8時30分"),
    ("2026-11-27T18:00", False, "after_hours", "11月30日（月）8時30分"),  # Friday evening → Monday
    ("2026-11-28T10:00", False, "weekend", "11月30日（月）8時30分"),
    ("2026-11-23T10:00", False, "holiday", "11月24日（火）8時30分"),      # 勤労感謝の日 (Monday)
    ("2026-05-04T10:00", False, "holiday", "5月7日（木）8時30分"),       # Golden Week: 4, 5, 6 (振替休日)
    ("2026-12-28T12:00", True, None, None),                       # the last working day of the year
    ("2026-12-28T17:30", False, "after_hours", "1月4日（月）8時30分"),
    ("2026-12-29T10:00", False, "year_end", "1月4日（月）8時30分"),
    ("2027-01-02T10:00", False, "year_end", "1月4日（月）8時30分"),
    ("2027-01-04T09:00", True, None, None),
])
def test_status_with_fixed_clocks(when, is_open, reason, next_open):
    status = HOURS.status(tokyo(when))
    assert status.open is is_open
    assert status.reason == reason
    assert (jp_datetime(status.next_open) if status.next_open else None) == next_open


def test_holiday_name_is_reported():
    assert HOURS.status(tokyo("2026-11-23T10:00")).holiday_name == "勤労感謝の日"


def test_utc_clock_is_evaluated_in_tokyo():
    # 00:30 UTC is 09:30 in Tokyo on a weekday: open, although UTC says "before hours"
    assert HOURS.status(datetime(2026, 11, 24, 0, 30, tzinfo=UTC)).open
    # 09:00 UTC Tuesday is 18:00 in Tokyo: closed
    assert not HOURS.status(datetime(2026, 11, 24, 9, 0, tzinfo=UTC)).open


def test_parse_and_describe():
    assert OfficeHours.parse("9:00-17:00").describe() == "平日 9時～17時（土日・祝日・年末年始を除く）"
    assert HOURS.describe() == "平日 8時30分～17時15分（土日・祝日・年末年始を除く）"
    with pytest.raises(ValueError):
        OfficeHours.parse("17:00-9:00")


def test_fixed_clock_from_environment(monkeypatch):
    monkeypatch.setenv("CITYBOT_CLOCK", "2026-12-30T10:00")
    assert office_hours.now() == tokyo("2026-12-30T10:00")
    monkeypatch.delenv("CITYBOT_CLOCK")
    assert abs((office_hours.now() - datetime.now(UTC)).total_seconds()) < 5
