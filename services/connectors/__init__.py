"""Connectors to the shops' platforms (WooCommerce, Shopify) and to the payment provider
Mollie: one module per platform behind the small interface below, found by name in
``registry``.

A connector speaks the platform's API and maps its orders into the ``OrderData`` the CSV
import and the API write (``services.order_import``): there is no second order model.
``services.connectors.orders`` does the rest the same way for every platform: the webhook
receiver, the incremental sync job and the portal's lookup of an order not imported yet.

A refund (amount and lines) and store credit go out through ``refund`` and
``issue_store_credit`` with an idempotency key: the platform carries out one refund per key
however often it is asked (``services.refund_jobs`` sends them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from flask import current_app
from flask_babel import gettext as _

from services import outbound
from services.order_import import OrderData


class ConnectorError(Exception):
    """The platform could not be asked or refused: the message says exactly what failed, in
    words a shop admin can act on (wrong key, not reachable, rate limited, …). ``retryable``:
    asking again later may succeed (a timeout, a 5xx, a 429), unlike a refusal."""

    def __init__(self, message: str = "", retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class RefundLine:
    """One order line of a refund: the line as the order has it (``sku``, as imported), how
    many units and how much of the refund is paid for it."""

    sku: str
    quantity: int
    amount_cents: int


@dataclass(frozen=True)
class Payout:
    """What the platform did with a refund or store credit: its id for it (the refund's id,
    the store credit's code), and whether it was done (``succeeded``) or accepted and still
    to be paid out (``pending``: a payment provider's, whose own word is in
    ``provider_status``)."""

    provider_id: str
    status: str = "succeeded"
    message: str = ""
    provider_status: str = ""


@dataclass(frozen=True)
class PlatformOrder:
    """One order as the platform has it now: the order to upsert and when it last changed."""

    order: OrderData
    modified_at: datetime


@dataclass(frozen=True)
class OrdersPage:
    """A page of the orders changed since a cursor; the cursor to save, from which the next
    page (or the next sync) asks; whether more pages wait now; and why the orders in
    ``skipped`` could not be mapped (e.g. no customer email)."""

    orders: list[PlatformOrder]
    next_cursor: str | None
    skipped: list[str] = field(default_factory=list)
    more: bool = False


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait again: ``attempts`` in all, the n-th wait
    ``backoff * 2**n`` seconds or the platform's ``Retry-After``, never above ``max_wait``."""

    attempts: int = 4
    backoff: float = 2.0
    max_wait: float = 60.0
    timeout: float | None = None  # seconds per call; None: CONNECTOR_TIMEOUT_SECONDS

    @classmethod
    def from_config(cls) -> RetryPolicy:
        config = current_app.config
        return cls(
            attempts=int(config.get("CONNECTOR_ATTEMPTS", 4)),
            backoff=float(config.get("CONNECTOR_BACKOFF_SECONDS", 2.0)),
            max_wait=float(config.get("CONNECTOR_MAX_WAIT_SECONDS", 60.0)),
        )

    def wait(self, attempt: int, retry_after: str | None) -> float:
        try:
            asked = float(retry_after) if retry_after else None
        except ValueError:
            asked = None
        return min(asked if asked is not None else self.backoff * 2**attempt, self.max_wait)


def call_timeout(policy: RetryPolicy) -> float:
    """Seconds one call may take: the policy's own, else ``CONNECTOR_TIMEOUT_SECONDS``."""
    return policy.timeout or float(current_app.config.get("CONNECTOR_TIMEOUT_SECONDS", 15))


def send(
    method: str,
    url: str,
    headers: dict[str, str],
    policy: RetryPolicy,
    redirect_hint: Callable[[str], str],
    body: bytes | None = None,
) -> tuple[outbound.Response | None, str]:
    """One request to a shop's platform through the outbound guard: its answer, or ``None``
    and why it could not be had when asking again may help (a timeout, a refused connection).

    A refused URL, a redirect (``redirect_hint`` says which address to enter instead) and a
    name that does not resolve are the shop owner's to fix: ``ConnectorError``, not retryable.
    ``redirect_hint(reason)`` words the redirect for the platform.
    """
    timeout = call_timeout(policy)
    try:
        return outbound.send(method, url, body=body, headers=headers, timeout=timeout), ""
    except outbound.TargetNotAllowed as refused:
        raise ConnectorError(
            _("The shop URL is refused: %(reason)s.", reason=str(refused))
        ) from refused
    except outbound.Redirected as redirected:
        raise ConnectorError(redirect_hint(str(redirected))) from redirected
    except TimeoutError:
        return None, _("The shop did not answer within %(seconds)s seconds.", seconds=timeout)
    except OSError as error:
        if "cannot resolve" in str(error):
            raise ConnectorError(
                _("The shop's address cannot be found (DNS): %(reason)s", reason=str(error))
            ) from error
        return None, _("The shop cannot be reached: %(reason)s.", reason=str(error))


def too_many_requests(response: outbound.Response, platform: str) -> tuple[str, str | None] | None:
    """For a 429 answer: what to tell the shop and the wait its ``Retry-After`` asks (any
    spelling of the header); ``None`` for any other answer."""
    if response.status != 429:
        return None
    retry_after = {name.lower(): value for name, value in response.headers.items()}
    return (
        _("%(platform)s answered 429 Too Many Requests.", platform=platform),
        retry_after.get("retry-after"),
    )


ONE_ATTEMPT = RetryPolicy(attempts=1)
# A customer waiting on the portal: one short try, then "not found, try later".
QUICK = RetryPolicy(attempts=1, timeout=5.0)


class Connector(Protocol):
    """What ReturnDesk asks of a shop's platform."""

    def fetch_orders_since(self, cursor: str | None) -> OrdersPage:
        """The next page of orders changed after ``cursor`` (``None``: from the beginning)."""
        ...

    def fetch_order(self, number: str) -> PlatformOrder | None:
        """The order with this number as the customer knows it, or ``None`` if there is none."""
        ...

    def verify_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> bool:
        """Whether an incoming webhook was signed by the platform with the shop's secret."""
        ...

    def parse_webhook_order(self, raw_body: bytes) -> PlatformOrder | None:
        """The order a verified webhook carries, or ``None`` (a ping, another topic)."""
        ...

    def test_connection(self) -> None:
        """Ask the platform something harmless; ``ConnectorError`` says what failed."""
        ...

    def refund(
        self,
        order: str,
        amount_cents: int,
        lines: Sequence[RefundLine],
        idempotency_key: str,
        restock: bool,
    ) -> Payout:
        """Refund ``amount_cents`` of the order numbered ``order`` through its payment, for
        ``lines`` (put back in stock when ``restock``). Once per ``idempotency_key``: asked
        again (a retry after a timeout), it answers the refund already made."""
        ...

    def issue_store_credit(self, email: str, amount_cents: int, idempotency_key: str) -> Payout:
        """Store credit of ``amount_cents`` that only ``email`` may use, once: its code is the
        payout's ``provider_id``. Once per ``idempotency_key``, like ``refund``."""
        ...


class FollowsRefunds(Protocol):
    """A provider that accepts a refund before it pays it out (Mollie): asked again how far
    the refund ``provider_id`` of ``order`` got, until it is paid (``Payout.status``
    "succeeded") or given up (``ConnectorError``)."""

    def refund_status(self, order: str, provider_id: str) -> Payout: ...
