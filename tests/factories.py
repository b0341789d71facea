"""The one place tests build rows: shops, staff, orders, reasons, requests and returns.

No mocks: every builder writes real rows to the test database (flushed, not committed, so a
test decides when its data is there for a client). Defaults give valid, distinct rows; a test
names only what it depends on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from itertools import count
from typing import Any

from werkzeug.security import generate_password_hash

from extensions import db
from models import (
    NEW,
    FormQuestion,
    Membership,
    Order,
    OrderLine,
    Return,
    ReturnReason,
    ReturnRequest,
    ReturnRequestLine,
    Shop,
    User,
    next_request_number,
    utcnow,
)

# Where the returns of a shop go: labels and carriers need a full return address.
RETURN_ADDRESS = {
    "return_address_name": "Demo Winkel Retouren",
    "return_address_street": "Magazijnweg 7",
    "return_address_postcode": "5611 AB",
    "return_address_city": "Eindhoven",
}

# Stock lines of ``make_order(shop, lines=n)``: two units each, from €49.95 up by €10.
_STOCK_PRODUCTS = ("Linnen blouse", "Wollen trui", "Sneakers")

_orders = count(1)

# "secret-pw", hashed once and cheaply: the login form still checks it with werkzeug, but a
# scrypt hash per user and per login (0.1 s each) was a tenth of the suite's time. User.set_password
# keeps the production method, and the tests of passwords themselves use it.
SECRET_PW_HASH = generate_password_hash("secret-pw", method="pbkdf2:sha256:1000")


def make_shop(slug: str = "demo", name: str = "Demo Winkel", **fields: Any) -> Shop:
    """A shop whose staff notifications go to ``returns@<slug>.example.com``."""
    shop = Shop(slug=slug, name=name, notification_email=f"returns@{slug}.example.com", **fields)
    db.session.add(shop)
    db.session.flush()
    return shop


def make_user(email: str, shop: Shop | None = None, role: str = "agent", **fields: Any) -> User:
    """A user with the password ``secret-pw``, member of ``shop`` in ``role`` if given
    (without a shop: platform support with ``is_support=True``, or nobody's staff)."""
    user = User(email=email, name=fields.pop("name", email.split("@")[0].title()), **fields)
    user.password_hash = SECRET_PW_HASH
    if shop is not None:
        user.memberships.append(Membership(shop=shop, role=role))
    db.session.add(user)
    db.session.flush()
    return user


def make_order(
    shop: Shop,
    lines: int | Sequence[Mapping[str, Any]] = 2,
    *,
    number: str | None = None,
    delivered_days_ago: float | None = 3,
    **fields: Any,
) -> Order:
    """An order of ``shop``, delivered ``delivered_days_ago`` days ago (``None``: not yet).

    ``lines`` is either a count of stock lines (Linnen blouse, Wollen trui, Sneakers, …: two
    units each at €49.95, €59.95, €69.95, …) or one dict of ``OrderLine`` fields per line,
    of which only ``unit_price_cents`` is required (``sku`` defaults to ``SKU-<index>``,
    ``product_name`` to ``Product <index>``, ``quantity`` to 1).

    Without ``number`` and customer fields every order gets its own number
    (``DEMO-1001``, …) and its own customer address (``eva<n>@example.nl``), so orders never
    collide and never look like one returning customer. Any other ``Order`` field
    (``customer_*``, ``ordered_at``, ``currency``) can be given as a keyword.
    """
    n = next(_orders)
    order = Order(
        shop=shop,
        number=number or f"{shop.slug.upper()}-{1000 + n}",
        customer_name=fields.pop("customer_name", "Eva de Vries"),
        customer_email=fields.pop("customer_email", f"eva{n}@example.nl"),
        customer_postcode=fields.pop("customer_postcode", "1012 AB"),
        delivered_at=None
        if delivered_days_ago is None
        else utcnow() - timedelta(days=delivered_days_ago),
        **fields,
    )
    if isinstance(lines, int):
        order.lines = [
            OrderLine(
                sku=f"SKU-{n}-{i}",
                product_name=_STOCK_PRODUCTS[i % len(_STOCK_PRODUCTS)],
                variant="M",
                quantity=2,
                unit_price_cents=4995 + i * 1000,
            )
            for i in range(lines)
        ]
    else:
        order.lines = [
            OrderLine(**{"sku": f"SKU-{i}", "product_name": f"Product {i}", "quantity": 1, **line})
            for i, line in enumerate(lines)
        ]
    db.session.add(order)
    db.session.flush()
    return order


def make_reason(shop: Shop, code: str = "too_small", **fields: Any) -> ReturnReason:
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


def make_reasons(shop: Shop) -> dict[str, ReturnReason]:
    """The portal's two reasons: ``too_big``, and ``damaged``, which asks for a photo and a
    comment."""
    return {
        "too_big": make_reason(
            shop, "too_big", label_nl="Te groot", label_en="Too big", position=1
        ),
        "damaged": make_reason(
            shop,
            "damaged",
            label_nl="Beschadigd",
            label_en="Damaged",
            requires_photo=True,
            requires_comment=True,
            position=2,
        ),
    }


def make_question(
    shop: Shop, kind: str = "text", required: bool = True, **fields: Any
) -> FormQuestion:
    """A question of the shop's return form (``text``, ``choice``, ``yes_no`` or ``file``)."""
    question = FormQuestion(
        shop_id=shop.id,
        kind=kind,
        label_nl=fields.pop("label_nl", "Heb je het artikel gedragen?"),
        label_en=fields.pop("label_en", "Did you wear the item?"),
        required=required,
        **fields,
    )
    db.session.add(question)
    db.session.flush()
    return question


def make_request(
    shop: Shop,
    order: Order | None = None,
    status: str = NEW,
    *,
    lines: Sequence[Mapping[str, Any]] | None = None,
    **fields: Any,
) -> ReturnRequest:
    """A stored request on ``order`` (default: a fresh ``make_order(shop)``) in ``status``.

    Test data, not a transition: nothing is audited or emailed (workflow.py does that).
    Without ``lines`` the request asks one unit of every order line. ``lines`` gives one dict
    per request line: ``order_line`` (an index into the order's lines, default 0) and
    ``ReturnRequestLine`` fields; such a line is approved unless it says otherwise, as on a
    request whose return is under way. ``item_count`` and ``total_cents`` follow the lines.
    """
    order = order or make_order(shop)
    if lines is None:
        request_lines = [ReturnRequestLine(order_line=line, quantity=1) for line in order.lines]
    else:
        request_lines = []
        for spec in lines:
            spec = {"decision": "approved", **spec}
            order_line = order.lines[spec.pop("order_line", 0)]
            request_lines.append(ReturnRequestLine(order_line=order_line, **spec))
    request = ReturnRequest(
        shop=shop,
        order=order,
        number=next_request_number(),
        order_number=order.number,
        customer_name=order.customer_name,
        customer_email=order.customer_email,
        language=fields.pop("language", "nl"),
        status=status,
        lines=request_lines,
        item_count=sum(line.quantity or 1 for line in request_lines),
        total_cents=sum(
            (line.quantity or 1) * line.order_line.unit_price_cents for line in request_lines
        ),
        **fields,
    )
    db.session.add(request)
    db.session.flush()
    return request


def make_return(
    request: ReturnRequest,
    number: str | None = None,
    status: str = "label_created",
    *,
    carrier: str = "own",
    **fields: Any,
) -> Return:
    """The return (shipment) of ``request``; the number defaults to ``RET-<request id>``."""
    return_ = Return(
        number=number or f"RET-{request.id:05d}",
        shop_id=request.shop_id,
        request=request,
        carrier=carrier,
        status=status,
        **fields,
    )
    db.session.add(return_)
    db.session.flush()
    return return_
