"""Two tenants with a row in every shop-scoped table, for the tenancy probes.

``demo``'s rows all carry the id ``DEMO_ID``, which no ``fashion`` row has: a URL or form
carrying it can only mean demo data. The ``tenants`` fixture (conftest.py) builds both.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from extensions import db
from factories import make_shop
from models import (
    ApiKey,
    CarrierAccount,
    EmailTemplate,
    FormQuestion,
    NoticeRule,
    Order,
    OrderLine,
    OutboundEmail,
    Return,
    ReturnabilityRule,
    ReturnReason,
    ReturnRequest,
    ReturnRequestLine,
    ReviewStage,
    Shop,
    WebhookDelivery,
    WebhookEndpoint,
)

# Every demo row has this id, in its own table, and no fashion row of any table has it: a
# URL or form carrying it can only ever mean demo data, whatever the id names.
DEMO_ID = 90001


@dataclass
class ShopData:
    """One shop's rows, and strings that only appear in that shop's data."""

    shop: Shop
    rows: dict[type, object] = field(default_factory=dict)
    markers: tuple[str, ...] = ()


def shop_with_data(
    slug: str,
    name: str,
    customer: str,
    email: str,
    order_number: str,
    request_number: str,
    row_id: int | None = None,
) -> ShopData:
    """A shop with an order and its line, a return reason, a review stage, a request and an
    email: a row for every shop-scoped admin view (a new view's model belongs here too)."""
    shop = make_shop(slug, name, id=row_id)
    line = OrderLine(
        id=row_id, sku=f"{slug}-1", product_name="Linnen blouse", unit_price_cents=4995
    )
    order = Order(
        id=row_id,
        shop=shop,
        number=order_number,
        customer_name=customer,
        customer_email=email,
        lines=[line],
    )
    reason = ReturnReason(
        id=row_id,
        shop=shop,
        code=f"{slug}-size",
        label_nl=f"Te klein ({name})",
        label_en=f"Too small ({name})",
    )
    stage = ReviewStage(
        id=row_id, shop=shop, name_nl=f"Foto's gevraagd ({name})", name_en=f"Photos asked ({name})"
    )
    returnability = ReturnabilityRule(
        id=row_id, shop=shop, sku_pattern=f"{order_number}*", tag=slug, reason="final_sale"
    )
    request_line = ReturnRequestLine(id=row_id, order_line=line, reason=reason)
    request = ReturnRequest(
        id=row_id,
        number=request_number,
        shop=shop,
        order=order,
        order_number=order_number,
        customer_name=customer,
        customer_email=email,
        lines=[request_line],
    )
    outbound = OutboundEmail(
        id=row_id,
        shop=shop,
        template="request_received",
        to_address=email,
        subject=f"Je retouraanvraag {request_number}",
        body_text=f"Beste {customer}",
        body_html=f"<p>Beste {customer}</p>",
        status="sent",
    )
    shipment = Return(
        id=row_id,
        number=f"RT-{request_number}",
        shop=shop,
        request=request,
        carrier="own",
        tracking_number=f"TRK-{order_number}",
    )
    carrier = CarrierAccount(
        id=row_id, shop=shop, carrier="sendcloud", public_key=f"pk-{slug}", secret_key=f"sk-{slug}"
    )
    template = EmailTemplate(
        id=row_id,
        shop=shop,
        name="request_approved",
        language="nl",
        subject=f"Goedgekeurd: {request_number}",
        body_text=f"Beste {customer}",
    )
    question = FormQuestion(
        id=row_id, shop=shop, label_nl=f"Verpakking ({name})?", label_en=f"Packaging ({name})?"
    )
    rule = NoticeRule(
        id=row_id,
        shop=shop,
        name=f"Regel van {name}",
        message_nl=f"Let op ({name})",
        message_en=f"Note ({name})",
    )
    api_key = ApiKey(
        id=row_id,
        shop=shop,
        name=f"Koppeling {name}",
        prefix=f"rd_{slug[:4]}",
        key_hash=hashlib.sha256(slug.encode()).hexdigest(),
    )
    endpoint = WebhookEndpoint(id=row_id, shop=shop, url=f"https://{slug}.example.com/hook")
    delivery = WebhookDelivery(
        id=row_id, endpoint=endpoint, event="request.created", payload={"number": request_number}
    )
    db.session.add_all(
        [
            order,
            reason,
            stage,
            returnability,
            request,
            outbound,
            shipment,
            carrier,
            template,
            question,
            rule,
            api_key,
            endpoint,
            delivery,
        ]
    )
    db.session.flush()
    outbound.request_id = request.id
    rows = {
        Return: shipment,
        CarrierAccount: carrier,
        EmailTemplate: template,
        FormQuestion: question,
        NoticeRule: rule,
        ApiKey: api_key,
        WebhookEndpoint: endpoint,
        WebhookDelivery: delivery,
        Shop: shop,
        Order: order,
        OrderLine: line,
        ReturnReason: reason,
        ReturnRequest: request,
        ReturnRequestLine: request_line,
        ReviewStage: stage,
        ReturnabilityRule: returnability,
        OutboundEmail: outbound,
    }
    markers = (customer, email, order_number, request_number, name, endpoint.url)
    return ShopData(shop, rows, markers)


def database_snapshot() -> dict[str, list]:
    """Every row of every table, to compare before and after what must change nothing."""
    db.session.expire_all()
    return {
        table.name: sorted(map(repr, db.session.execute(table.select()).all()))
        for table in db.metadata.sorted_tables
    }
