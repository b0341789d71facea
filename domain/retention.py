"""How long ReturnDesk keeps what, after a request is closed: the rules the daily retention job
(``services.retention``), the settings page and the customer's status page share.

A request is closed when completed, cancelled or expired; the moment it was closed is taken as
its last change (``updated_at``), so a later change only keeps its data longer. A month counts
as 30 days (a day either way does not matter).

The shop's books: financial records (numbers, amounts, dates, product lines, resolutions,
refund ids) must be kept for ``books_retention_years`` (the Netherlands: 7). Anonymising keeps
all of them and ReturnDesk never deletes a request, so the books are complete whenever the
anonymisation comes. Only when the shop says its books also need the customer's name and
address with a return (``books_need_customer``) is that the legal minimum for anonymising.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models import CANCELLED, COMPLETED, EXPIRED, ReturnRequest, Shop

CLOSED_STATUSES = (COMPLETED, CANCELLED, EXPIRED)
MONTH = timedelta(days=30)
# Outbox bodies and webhook payloads are emptied this long after they were written.
TRIM_AFTER = timedelta(days=90)
# A bell entry is deleted this long after it was written, read or not: what it pointed at
# stays in the request's history.
NOTIFICATIONS_KEPT = timedelta(days=90)


def anonymise_minimum_months(books_retention_years: int, books_need_customer: bool) -> int:
    """The fewest months after closure a shop may anonymise its requests after: its books'
    legal minimum when they need the customer's details, else one month."""
    return books_retention_years * 12 if books_need_customer else 1


def anonymise_months(shop: Shop) -> int:
    """After how many months the shop's closed requests are anonymised (never before the
    legal minimum, even if the books' setting was raised after the anonymisation's)."""
    minimum = anonymise_minimum_months(shop.books_retention_years, shop.books_need_customer)
    return max(shop.anonymise_after_months, minimum)


def files_months(shop: Shop) -> int:
    """After how many months a closed request's photos and message files go: their own
    setting, or sooner when the request is anonymised sooner (that deletes them too)."""
    return min(shop.file_retention_months, anonymise_months(shop))


def files_kept_until(request: ReturnRequest) -> datetime | None:
    """Until when a closed request's photos and message files are kept; ``None`` while the
    request is open (they are kept ``files_months`` after it closes)."""
    if request.status not in CLOSED_STATUSES:
        return None
    closed = request.updated_at
    closed = closed if closed.tzinfo else closed.replace(tzinfo=UTC)
    return closed + files_months(request.shop) * MONTH
