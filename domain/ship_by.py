"""The ship-by date: by when the customer of an approved request must create the return label.

The shop sets how many days after approval (``Shop.ship_by_days``; none is no deadline). The
date is recorded on the request at approval (``ReturnRequest.ship_by_at``), so a later change
of the setting does not move a customer's date. It is the end of that day in the shop's time
zone: the customer is told a day, and has all of it. ``REMINDER_DAYS`` before it an approved
request still without a label gets one reminder; past it the request expires
(``workflow.remind_ship_by``, ``workflow.expire_overdue``).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from domain.formatting import in_zone
from models import Shop

# How many days before the ship-by date the customer is reminded.
REMINDER_DAYS = 3


def ship_by_date(shop: Shop, approved_at: datetime) -> datetime | None:
    """The moment a request of ``shop`` approved at ``approved_at`` must have its label:
    the end of the ``ship_by_days``-th day after, in the shop's zone; None without a deadline."""
    if not shop.ship_by_days:
        return None
    local = in_zone(approved_at, shop)
    last_day = local.date() + timedelta(days=shop.ship_by_days)
    return datetime.combine(last_day, time(23, 59, 59), tzinfo=local.tzinfo).astimezone(UTC)


def reminder_due_before(now: datetime) -> datetime:
    """A request whose ship-by date lies before this moment is reminded now."""
    return now + timedelta(days=REMINDER_DAYS)
