"""Response SLAs from the guide: low 5 business days, medium 3, high 1, urgent 4 hours.

Business days skip weekends and the configured holidays, in the configured time
zone; a business-day SLA that starts outside business days starts at the next
business day's midnight. Urgent counts clock hours. The clock is passed in, so
tests pin it.
"""
from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

from shared.config import settings

BUSINESS_DAYS = {"low": 5, "medium": 3, "high": 1}
CLOCK_HOURS = {"urgent": 4}


@functools.cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def due_at(priority: str, submitted: dt.datetime) -> dt.datetime:
    """When the first response is due for an item of `priority` submitted at `submitted`."""
    if priority in CLOCK_HOURS:
        return submitted + dt.timedelta(hours=CLOCK_HOURS[priority])
    cfg = settings()
    zone = _zone(cfg.sla_timezone)
    local = submitted.astimezone(zone)
    day, time = local.date(), local.timetz().replace(tzinfo=None)
    if not _is_business_day(day, cfg.sla_holidays):
        day, time = _next_business_day(day, cfg.sla_holidays), dt.time(0)
    for _ in range(BUSINESS_DAYS[priority]):
        day = _next_business_day(day, cfg.sla_holidays)
    # Wall-clock time on the due day; the zone decides the offset (DST included).
    return dt.datetime.combine(day, time, tzinfo=zone).astimezone(dt.UTC)


def is_business_day(day: dt.date) -> bool:
    """A weekday that is not one of the configured holidays."""
    return _is_business_day(day, settings().sla_holidays)


def zone(name: str | None = None) -> ZoneInfo:
    """A time zone by name; the configured SLA_TIMEZONE without one."""
    return _zone(name or settings().sla_timezone)


def _is_business_day(day: dt.date, holidays: frozenset[dt.date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def _next_business_day(day: dt.date, holidays: frozenset[dt.date]) -> dt.date:
    day += dt.timedelta(days=1)
    while not _is_business_day(day, holidays):
        day += dt.timedelta(days=1)
    return day
