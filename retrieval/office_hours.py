"""City office hours in Asia/Tokyo (used by the contact action and the usage statistics):
open on weekdays (sample 8:30–17:15), closed on Saturdays, Sundays, national holidays
(``jpholiday``) and 年末年始 (12/29–1/3).

The clock is injectable (``now``), and ``CITYBOT_CLOCK`` (an ISO time) fixes it for
tests and demonstrations.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import jpholiday

TOKYO = ZoneInfo("Asia/Tokyo")
WEEKDAY_NAMES = "月火水木金土日"
#: reason -> how the bot says it
CLOSED_REASONS = {
    "weekend": "土曜日・日曜日は閉庁日です",
    "holiday": "本日は祝日のため閉庁しています",
    "year_end": "年末年始（12月29日～1月3日）は閉庁しています",
    "before_hours": "まだ受付時間前です",
    "after_hours": "本日の受付は終了しました",
}


def _parse_clock(text: str) -> time:
    hours, minutes = text.strip().split(":")
    return time(int(hours), int(minutes))


def jp_time(value: time) -> str:
    return f"{value.hour}時{value.minute:02d}分" if value.minute else f"{value.hour}時"


def jp_datetime(value: datetime) -> str:
    """``11月25日（水）8時30分``."""
    return f"{value.month}月{value.day}日（{WEEKDAY_NAMES[value.weekday()]}）{jp_time(value.timetz())}"


@dataclass(frozen=True)
class OfficeStatus:
    open: bool
    reason: str | None  # None when open, else a key of CLOSED_REASONS
    holiday_name: str | None
    next_open: datetime | None  # None when open


@dataclass(frozen=True)
class OfficeHours:
    opens: time = time(8, 30)
    closes: time = time(17, 15)

    @classmethod
    def parse(cls, spec: str) -> OfficeHours:
        """``"8:30-17:15"`` → OfficeHours."""
        start, end = spec.replace("–", "-").replace("～", "-").split("-")
        hours = cls(_parse_clock(start), _parse_clock(end))
        if hours.opens >= hours.closes:
            raise ValueError(f"office hours must open before they close: {spec!r}")
        return hours

    def describe(self) -> str:
        return f"平日 {jp_time(self.opens)}～{jp_time(self.closes)}（土日・祝日・年末年始を除く）"

    @staticmethod
    def closed_reason(day: date) -> tuple[str | None, str | None]:
        """Why the office is closed all day on ``day`` (reason, holiday name), or (None, None)."""
        if (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3):
            return "year_end", None
        name = jpholiday.is_holiday_name(day)
        if name:
            return "holiday", name
        if day.weekday() >= 5:
            return "weekend", None
        return None, None

    def status(self, now: datetime) -> OfficeStatus:
        now = now.astimezone(TOKYO)
        reason, holiday = self.closed_reason(now.date())
        if reason is None:
            if now.timetz().replace(tzinfo=None) < self.opens:
                return OfficeStatus(False, "before_hours", None, self._at_open(now.date()))
            if now.timetz().replace(tzinfo=None) < self.closes:
                return OfficeStatus(True, None, None, None)
            reason = "after_hours"
        return OfficeStatus(False, reason, holiday, self.next_open(now.date() + timedelta(days=1)))

    def next_open(self, start: date) -> datetime:
        day = start
        while self.closed_reason(day)[0] is not None:
            day += timedelta(days=1)
        return self._at_open(day)

    def _at_open(self, day: date) -> datetime:
        return datetime.combine(day, self.opens, tzinfo=TOKYO)


def now() -> datetime:
    """The current time in Tokyo, or the fixed ``CITYBOT_CLOCK`` (ISO 8601) when set."""
    fixed = os.environ.get("CITYBOT_CLOCK")
    if fixed:
        value = datetime.fromisoformat(fixed)
        return (value if value.tzinfo else value.replace(tzinfo=TOKYO)).astimezone(TOKYO)
    return datetime.now(TOKYO)
