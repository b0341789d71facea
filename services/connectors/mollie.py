"""Mollie (payments): a refund paid back through the Mollie payment an order was paid with,
for shops whose orders come by CSV or API and whose platform cannot refund.

The order carries its payment's id (``Order.mollie_payment_id``, ``tr_…``); a refund is
``POST /v2/payments/{id}/refunds`` with an ``Idempotency-Key``, sent through Mollie's official
client (``mollie-api-python``). Mollie accepts a refund before it pays it out: its status goes
queued → pending → processing → refunded (or failed, canceled), so ``refund`` answers a payout
that is still "pending" and ``refund_status`` is asked again until it is final.

Sent once: the refund carries ReturnDesk's key in its ``metadata`` as well as in the header
(Mollie keeps an idempotency key for a limited time only), and ``refund`` looks among the
payment's refunds for one with the key before it makes one. A refund Mollie failed or
canceled is made again with a new header key (``…-again-2``), so support's retry pays.

The client's requests go through ``services.outbound`` (the guard against private addresses,
redirects and slow answers): the client keeps its ``requests.Session`` in ``_client`` and only
makes one when it has none, so ``guarded_session()`` gives it a session whose one adapter
sends every request with ``outbound.send``. Mollie has no orders to sync and no webhooks to
verify here: those parts of the interface answer nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import requests
from flask import current_app
from flask_babel import gettext as _
from mollie.api.client import Client
from mollie.api.error import (
    Error,
    RequestSetupError,
    ResponseError,
    UnauthorizedError,
)
from mollie.api.objects.payment import Payment
from mollie.api.resources.refunds import PaymentRefunds
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from services import outbound
from services.connectors import (
    ConnectorError,
    OrdersPage,
    Payout,
    PlatformOrder,
    RefundLine,
    RetryPolicy,
    call_timeout,
)

API_ENDPOINT = "https://api.mollie.com"
# The refund's metadata key that carries ReturnDesk's idempotency key.
KEY_METADATA = "returndesk_key"
# Mollie's refund statuses that end it without paying (paid out: "refunded").
GIVEN_UP = ("failed", "canceled")

T = TypeVar("T")


def api_endpoint() -> str:
    """Where Mollie's API is: ``MOLLIE_API_ENDPOINT`` (a stand-in in tests), else Mollie's."""
    return str(current_app.config.get("MOLLIE_API_ENDPOINT") or API_ENDPOINT).rstrip("/")


class OutboundAdapter(BaseAdapter):
    """A ``requests`` transport that makes each request with ``outbound.send``: the address
    checked at every call, never a redirect followed, the answer size bounded. Its refusals
    (``outbound.Refused``) and ``OSError``s reach the caller as they are: the Mollie client
    wraps only ``requests``' own exceptions."""

    def send(  # type: ignore[override]  # requests' signature, with the arguments we ignore
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | None = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        seconds = max(timeout) if isinstance(timeout, tuple) else timeout
        body = request.body
        if isinstance(body, str):
            body = body.encode()
        if body is not None and not isinstance(body, bytes):
            raise TypeError("the Mollie client sends its body as one JSON text")
        answer = outbound.send(
            str(request.method),
            str(request.url),
            body=body or None,
            headers={
                name: value.decode() if isinstance(value, bytes) else value
                for name, value in request.headers.items()
            },
            timeout=float(seconds or outbound.DEFAULT_TIMEOUT),
        )
        response = requests.Response()
        response.status_code = answer.status
        response._content = answer.body
        response.headers = CaseInsensitiveDict(answer.headers)
        response.url = str(request.url)
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        """Nothing to close: ``outbound.send`` opens and closes a connection per request."""


def guarded_session() -> requests.Session:
    """A session for the Mollie client whose every request goes through ``services.outbound``
    (no proxies from the environment; no compressed answers, which ``outbound`` leaves as
    they are)."""
    session = requests.Session()
    session.trust_env = False
    session.headers["Accept-Encoding"] = "identity"
    adapter = OutboundAdapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def amount_value(cents: int) -> str:
    return str((Decimal(cents) / 100).quantize(Decimal("0.01")))


@dataclass
class Mollie:
    """A shop's Mollie account, by its API key (``test_…`` or ``live_…``)."""

    api_key: str
    endpoint: str = API_ENDPOINT
    retry: RetryPolicy | None = None

    def client(self, policy: RetryPolicy) -> Client:
        """Mollie's client with the key, talking through the outbound guard."""
        # Seconds as a float: ``outbound`` takes them as they are (the client's hint says int).
        client = Client(api_endpoint=self.endpoint, timeout=call_timeout(policy))  # type: ignore[arg-type]
        try:
            client.set_api_key(self.api_key)
        except RequestSetupError as error:
            raise ConnectorError(
                _("A Mollie API key starts with test_ or live_; check the key you saved.")
            ) from error
        client._client = guarded_session()  # the client's own session, made before it does
        client.set_user_agent_component("ReturnDesk", "1")
        return client

    def _call(self, ask: Callable[[Client], T], retry: RetryPolicy | None = None) -> T:
        """``ask`` Mollie, trying again as the policy says while Mollie is busy, slow or
        down; ``ConnectorError`` says what failed (retryable when asking later may help)."""
        policy = retry or self.retry or RetryPolicy.from_config()
        client = self.client(policy)
        problem = ""
        for attempt in range(policy.attempts):
            try:
                return ask(client)
            except ConnectorError:
                raise
            except RequestSetupError as error:  # e.g. an id that is not a Mollie id
                raise ConnectorError(
                    _("Mollie was not asked: %(reason)s", reason=str(error))
                ) from error
            except ResponseError as error:
                problem = self._refusal(error)
            except (outbound.Refused, OSError, Error) as error:
                problem = self._unreachable(error, call_timeout(policy))
            if attempt + 1 < policy.attempts:
                time.sleep(policy.wait(attempt, None))
        if policy.attempts == 1:
            raise ConnectorError(problem, retryable=True)
        raise ConnectorError(
            _(
                "%(problem)s Tried %(count)s times; the refund job tries again later.",
                problem=problem,
                count=policy.attempts,
            ),
            retryable=True,
        )

    @staticmethod
    def _refusal(error: ResponseError) -> str:
        """Mollie's error answer: a message when asking again may help (429, 5xx), else a
        ``ConnectorError`` with Mollie's own words."""
        status = int(error.status or 0)
        if status == 429:
            return _("%(platform)s answered 429 Too Many Requests.", platform="Mollie")
        if status >= 500:
            return _("Mollie answered HTTP %(status)s: %(message)s", status=status, message=error)
        if isinstance(error, UnauthorizedError):
            raise ConnectorError(
                _("Mollie refused the API key (HTTP 401): %(message)s", message=error)
            ) from error
        raise ConnectorError(
            _("Mollie answered HTTP %(status)s: %(message)s", status=status, message=error)
        ) from error

    @staticmethod
    def _unreachable(error: Exception, timeout: float) -> str:
        """Why Mollie could not be asked: a refused address or a redirect is for the
        administrator to fix (``ConnectorError``); a timeout or an unreachable host is worth
        another try."""
        if isinstance(error, outbound.TargetNotAllowed):
            raise ConnectorError(
                _("The Mollie API address is refused: %(reason)s.", reason=str(error))
            ) from error
        if isinstance(error, outbound.Redirected):
            raise ConnectorError(
                _("Mollie answered with a redirect (%(reason)s).", reason=str(error))
            ) from error
        if isinstance(error, TimeoutError):
            return _("Mollie did not answer within %(seconds)s seconds.", seconds=timeout)
        return _("Mollie cannot be reached: %(reason)s.", reason=str(error))

    # --- what ReturnDesk asks of it ------------------------------------------------------

    def test_connection(self) -> None:
        """List one payment: Mollie checks the key."""
        self._call(lambda client: client.payments.list(limit=1))

    def refund(
        self,
        order: str,
        amount_cents: int,
        lines: Sequence[RefundLine],
        idempotency_key: str,
        restock: bool,
    ) -> Payout:
        """Refund ``amount_cents`` through the payment ``order`` (its ``tr_…`` id), once per
        ``idempotency_key``. The payout is "pending" while Mollie has yet to pay it out."""
        if not order:
            raise ConnectorError(_("The order has no Mollie payment to refund through."))

        def ask(client: Client) -> Payout:
            payment = client.payments.get(order)
            refunds = PaymentRefunds(client, payment)
            made = [
                each
                for each in refunds.list(limit=250)
                if (each.metadata or {}).get(KEY_METADATA) == idempotency_key
            ]
            if live := [each for each in made if each.status not in GIVEN_UP]:
                return payout_of(live[0])
            header_key = f"{idempotency_key}-again-{len(made) + 1}" if made else idempotency_key
            created = refunds.create(
                {
                    "amount": {
                        "currency": payment.amount["currency"],
                        "value": amount_value(amount_cents),
                    },
                    "description": idempotency_key,
                    "metadata": {KEY_METADATA: idempotency_key},
                },
                idempotency_key=header_key,
            )
            return payout_of(created)

        return self._call(ask)

    def refund_status(self, order: str, provider_id: str) -> Payout:
        """Mollie's status of refund ``provider_id`` of payment ``order`` now."""

        def ask(client: Client) -> Payout:
            payment = Payment({"id": order}, client)
            return payout_of(PaymentRefunds(client, payment).get(provider_id))

        return self._call(ask)

    def issue_store_credit(self, email: str, amount_cents: int, idempotency_key: str) -> Payout:
        raise ConnectorError(_("Mollie cannot give store credit; give it by hand."))

    def fetch_orders_since(self, cursor: str | None) -> OrdersPage:
        """Mollie has no orders to sync: the shop's orders come by CSV or API."""
        return OrdersPage(orders=[], next_cursor=cursor)

    def fetch_order(self, number: str) -> PlatformOrder | None:
        return None

    def verify_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> bool:
        return False

    def parse_webhook_order(self, raw_body: bytes) -> PlatformOrder | None:
        return None


def payout_of(refund: Any) -> Payout:
    """A Mollie refund as ReturnDesk records it: paid out ("succeeded"), still under way
    ("pending", with Mollie's word), or a ``ConnectorError`` when Mollie gave it up."""
    status = str(refund.status or "")
    if status in GIVEN_UP:
        raise ConnectorError(
            _(
                "Mollie did not pay the refund %(id)s out (status %(status)s).",
                id=refund.id,
                status=status,
            )
        )
    return Payout(
        provider_id=str(refund.id),
        status="succeeded" if status == "refunded" else "pending",
        provider_status=status,
    )
