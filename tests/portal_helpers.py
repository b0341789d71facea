"""Shared setup for portal tests: an order delivered a few days ago, reasons and questions."""

from __future__ import annotations

import io
from datetime import timedelta

import pillow_heif
from PIL import Image

from extensions import db
from models import FormQuestion, Order, OrderLine, ReturnReason, Shop, utcnow


def make_order(
    shop: Shop,
    number: str = "1001",
    *,
    email: str = "klant@example.com",
    postcode: str = "1234 AB",
    delivered_days_ago: int | None = 3,
    language: str = "nl",
    lines: tuple = (("Linnen blouse", "M / wit", 2, 4995), ("Wollen sjaal", None, 1, 2995)),
) -> Order:
    delivered = utcnow() - timedelta(days=delivered_days_ago) if delivered_days_ago else None
    order = Order(
        shop_id=shop.id,
        number=number,
        customer_name="Sanne de Vries",
        customer_email=email,
        customer_postcode=postcode,
        customer_language=language,
        ordered_at=utcnow() - timedelta(days=(delivered_days_ago or 0) + 2),
        delivered_at=delivered,
    )
    for index, (name, variant, quantity, price) in enumerate(lines):
        order.lines.append(
            OrderLine(
                sku=f"SKU-{index}",
                product_name=name,
                variant=variant,
                quantity=quantity,
                unit_price_cents=price,
            )
        )
    db.session.add(order)
    db.session.flush()
    return order


def make_reasons(shop: Shop) -> dict[str, ReturnReason]:
    reasons = {
        "too_big": ReturnReason(
            shop_id=shop.id, code="too_big", label_nl="Te groot", label_en="Too big", position=1
        ),
        "damaged": ReturnReason(
            shop_id=shop.id,
            code="damaged",
            label_nl="Beschadigd",
            label_en="Damaged",
            requires_photo=True,
            requires_comment=True,
            position=2,
        ),
    }
    db.session.add_all(reasons.values())
    db.session.flush()
    return reasons


def make_question(shop: Shop, kind: str = "text", required: bool = True, **fields) -> FormQuestion:
    question = FormQuestion(
        shop_id=shop.id,
        kind=kind,
        label_nl=fields.pop("label_nl", "Heeft u het artikel gedragen?"),
        label_en=fields.pop("label_en", "Did you wear the item?"),
        required=required,
        **fields,
    )
    db.session.add(question)
    db.session.flush()
    return question


def image_bytes(kind: str = "JPEG") -> bytes:
    """A small real image; ``"HEIF"`` gives an iPhone-style HEIC photo (through pillow-heif)."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, kind)
    return buffer.getvalue()


def jpeg_bytes() -> bytes:
    return image_bytes("JPEG")


pillow_heif.register_heif_opener()  # as storage.py does, so the tests can write HEIC photos

# Only the start of an HEIC file (an ISO-BMFF "ftyp" box with the heic brand): it sniffs as
# HEIC, but there is no picture behind it.
HEIC_HEADER = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"
