"""Small builders of real rows for tests (no mocks: they write to the test database)."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

from extensions import db
from models import (
    NEW,
    Order,
    OrderLine,
    ReturnReason,
    ReturnRequest,
    ReturnRequestLine,
    Shop,
    next_request_number,
    utcnow,
)

_orders = count(1)


def make_order(shop: Shop, lines: int = 2, delivered_days_ago: int | None = 3, **fields) -> Order:
    n = next(_orders)
    order = Order(
        shop=shop,
        number=fields.pop("number", f"{shop.slug.upper()}-{1000 + n}"),
        customer_name=fields.pop("customer_name", "Eva de Vries"),
        customer_email=fields.pop("customer_email", f"eva{n}@example.nl"),
        customer_postcode=fields.pop("customer_postcode", "1012 AB"),
        delivered_at=None
        if delivered_days_ago is None
        else utcnow() - timedelta(days=delivered_days_ago),
        **fields,
    )
    for i in range(lines):
        order.lines.append(
            OrderLine(
                sku=f"SKU-{n}-{i}",
                product_name=["Linnen blouse", "Wollen trui", "Sneakers"][i % 3],
                variant="M",
                quantity=2,
                unit_price_cents=4995 + i * 1000,
            )
        )
    db.session.add(order)
    db.session.flush()
    return order


def make_reason(shop: Shop, code: str = "too_small", **fields) -> ReturnReason:
    reason = ReturnReason(
        shop=shop,
        code=code,
        label_nl=fields.pop("label_nl", "Te klein"),
        label_en=fields.pop("label_en", "Too small"),
        **fields,
    )
    db.session.add(reason)
    db.session.flush()
    return reason


def make_request(
    shop: Shop, status: str = NEW, order: Order | None = None, **fields
) -> ReturnRequest:
    """A submitted request with one line per order line (created, not transitioned)."""
    order = order or make_order(shop)
    request = ReturnRequest(
        shop=shop,
        order=order,
        number=next_request_number(),
        order_number=order.number,
        customer_name=order.customer_name,
        customer_email=order.customer_email,
        language=fields.pop("language", "nl"),
        status=status,
        **fields,
    )
    for order_line in order.lines:
        request.lines.append(ReturnRequestLine(order_line=order_line, quantity=1))
    request.item_count = len(order.lines)
    request.total_cents = sum(line.unit_price_cents for line in order.lines)
    db.session.add(request)
    db.session.flush()
    return request
