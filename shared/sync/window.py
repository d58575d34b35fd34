"""The retention window: meetings from ``past_days`` back to ``future_days`` ahead, nothing else stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone


@dataclass(frozen=True)
class Window:
    """[start, end) around ``now``; the day boundaries are UTC midnights so a day's catch-up is stable."""

    past_days: int = 7
    future_days: int = 31

    def bounds(self, now: datetime | None = None) -> tuple[datetime, datetime]:
        moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
        today = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        return today - timedelta(days=self.past_days), today + timedelta(days=self.future_days + 1)

    def contains(self, start: datetime, end: datetime, now: datetime | None = None) -> bool:
        low, high = self.bounds(now)
        return start < high and end > low
