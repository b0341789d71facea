"""Builders for an order, a request on it and the return shipped for it (real rows, no mocks)."""

from __future__ import annotations

from conftest import make_shop
from extensions import db
from models import Order, OrderLine, Return, ReturnRequest, ReturnRequestLine, next_request_number

ADDRESS = {
    "return_address_name": "Demo Winkel Retouren",
    "return_address_street": "Magazijnweg 7",
    "return_address_postcode": "5611 AB",
    "return_address_city": "Eindhoven",
}


def make_return_shop(slug: str = "demo", **fields):
    return make_shop(slug, f"Shop {slug}", **{**ADDRESS, **fields})


def make_order(shop, lines: list[dict], number: str = "1001") -> Order:
    """An order with lines given as dicts of OrderLine fields (sku, product_name, prices…)."""
    order = Order(
        shop_id=shop.id,
        number=number,
        customer_name="Anna de Vries",
        customer_email="anna@example.com",
        customer_street="Kerkstraat 12",
        customer_postcode="1017 GC",
        customer_city="Amsterdam",
        customer_language="nl",
        currency="EUR",
    )
    for index, fields in enumerate(lines):
        order.lines.append(
            OrderLine(
                sku=fields.get("sku", f"SKU-{index}"),
                product_name=fields.get("product_name", f"Product {index}"),
                quantity=fields.get("quantity", 1),
                unit_price_cents=fields["unit_price_cents"],
                discount_cents=fields.get("discount_cents", 0),
            )
        )
    db.session.add(order)
    db.session.flush()
    return order


def make_request(shop, order: Order, lines: list[dict], **fields) -> ReturnRequest:
    """A request on ``order``; each dict names ``order_line`` (index) and line fields."""
    request = ReturnRequest(
        number=next_request_number(),
        shop_id=shop.id,
        order_id=order.id,
        order_number=order.number,
        customer_name=order.customer_name,
        customer_email=order.customer_email,
        language="nl",
        **fields,
    )
    for spec in lines:
        spec = dict(spec)
        order_line = order.lines[spec.pop("order_line", 0)]
        spec.setdefault("decision", "approved")
        request.lines.append(ReturnRequestLine(order_line_id=order_line.id, **spec))
    db.session.add(request)
    db.session.flush()
    db.session.refresh(request)
    return request


def make_return(request: ReturnRequest, carrier: str = "own", **fields) -> Return:
    return_ = Return(
        number=fields.pop("number", f"RET-{request.id:05d}"),
        shop_id=request.shop_id,
        request_id=request.id,
        carrier=carrier,
        **fields,
    )
    db.session.add(return_)
    db.session.flush()
    db.session.refresh(request)
    return return_
