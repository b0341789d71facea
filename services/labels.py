"""Carrier adapters and the PDF return label.

One small interface, ``CarrierAdapter``: create a label for a return, cancel it, and read a
tracking event. Adapters are registered by code ("own", "sendcloud"); ``get_adapter(shop, code)``
hands out the one a shop has enabled, built with the shop's ``CarrierAccount``.

Adapters only talk to the carrier and build documents; they never change a status. The label
job (services/label_jobs.py) stores the result on the ``Return`` and asks workflow.py for the transition.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode import createBarcodeDrawing
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A6
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import select

from domain import audit, workflow
from domain.workflow import TrackingEvent
from extensions import db
from models import CarrierAccount, Return, ReturnRequest, Shop, User, next_number, utcnow
from services import outbound

log = logging.getLogger(__name__)

# The shipment statuses a tracking event may report (see models.RETURN_STATUSES).
TRACKING_STATUSES = ("label_created", "in_transit", "delivered", "cancelled")


class CarrierError(Exception):
    """A carrier refused or failed; ``message`` is fit to show to staff and customers.

    The message is translated lazily, in the language of whoever reads it: ``str()`` it inside
    ``force_locale(...)`` to store it. ``retryable`` says whether trying again later may help
    (the carrier was down or busy), as opposed to a refusal of what we sent (a bad address,
    wrong credentials).
    """

    def __init__(self, message: Any, *, retryable: bool = False, unanswered: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        # The carrier got the call but gave no answer in time: it may have acted on it.
        self.unanswered = unanswered

    def __str__(self) -> str:
        return str(self.message)


@dataclass(frozen=True)
class LabelResult:
    tracking_number: str
    tracking_url: str | None
    pdf_bytes: bytes
    qr_payload: str | None
    carrier_reference: str | None = None


class CarrierAdapter(Protocol):
    """What every carrier offers. Built with the shop's ``CarrierAccount`` (or None)."""

    code: ClassVar[str]
    name: ClassVar[Any]
    accepts_qr: ClassVar[bool]

    def __init__(self, account: CarrierAccount | None) -> None: ...

    @staticmethod
    def is_enabled(account: CarrierAccount | None) -> bool:
        """Whether a shop with this account (or none at all) offers the carrier."""

    def create_label(self, return_: Return, request: ReturnRequest, shop: Shop) -> LabelResult:
        """Announce the return with the carrier and fetch its printable label."""

    def cancel_label(self, return_: Return) -> None:
        """Void the label so it can no longer be used."""

    def parse_tracking_event(self, payload: dict) -> TrackingEvent:
        """Read one tracking update as the carrier (or our API) sends it."""


ADAPTERS: dict[str, type[CarrierAdapter]] = {}


def register(adapter_class: type[CarrierAdapter]) -> type[CarrierAdapter]:
    """Class decorator: make an adapter available under its ``code``."""
    ADAPTERS[adapter_class.code] = adapter_class
    return adapter_class


def carrier_account(shop: Shop, code: str) -> CarrierAccount | None:
    return db.session.scalar(
        select(CarrierAccount).where(
            CarrierAccount.shop_id == shop.id, CarrierAccount.carrier == code
        )
    )


def enabled_carriers(shop: Shop) -> list[str]:
    """The carrier codes the shop offers its customers, in registry order."""
    return [
        code
        for code, adapter in ADAPTERS.items()
        if adapter.is_enabled(carrier_account(shop, code))
    ]


def create_return(request: ReturnRequest, carrier: str, actor: User | audit.Actor | None) -> Return:
    """The customer's "Create return label" with one of the carriers the shop offers now."""
    return workflow.create_return(request, carrier, actor, enabled_carriers(request.shop))


def cancel_return(return_: Return, actor: User | audit.Actor | None) -> None:
    """Cancel a return, voiding its label with the carrier first when it has one."""
    workflow.cancel_return(return_, actor, void_label_with_carrier)


def void_label_with_carrier(return_: Return) -> None:
    try:
        get_adapter(return_.shop, return_.carrier).cancel_label(return_)
    except CarrierError as error:
        raise workflow.TransitionRefused(str(error)) from error


def carrier_name(code: str) -> str:
    """A carrier's name in the reader's language ("Own label", "Sendcloud")."""
    adapter = ADAPTERS.get(code)
    return str(adapter.name) if adapter else code


def get_adapter(shop: Shop, code: str) -> CarrierAdapter:
    """The adapter for one of the shop's enabled carriers, built with its account."""
    adapter = ADAPTERS.get(code)
    account = carrier_account(shop, code)
    if adapter is None or not adapter.is_enabled(account):
        raise CarrierError(_l("This carrier is not available for this shop."))
    return adapter(account)


def parse_time(value: Any) -> datetime:
    """A timestamp from a tracking payload: ISO 8601, or Unix seconds or milliseconds."""
    if value in (None, ""):
        return utcnow()
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 10**11 else value
        return datetime.fromtimestamp(seconds, UTC)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def shipped_item_count(request: ReturnRequest) -> int:
    """Units going into the parcel: the approved lines' quantities."""
    return sum(line.quantity for line in request.lines if line.decision == "approved")


# --- Own label -------------------------------------------------------------------------------


def next_tracking_number(shop: Shop) -> str:
    """A tracking number from the shop's own sequence, never handed out twice."""
    return f"RD{shop.id:03d}{next_number(f'tracking-{shop.id}'):08d}"


@register
class OwnLabelAdapter:
    """The "Own label" carrier: no external service; we print the label, tracking is by hand/API."""

    code: ClassVar[str] = "own"
    name: ClassVar[Any] = _l("Own label")
    accepts_qr: ClassVar[bool] = True

    def __init__(self, account: CarrierAccount | None = None) -> None:
        self.account = account

    @staticmethod
    def is_enabled(account: CarrierAccount | None) -> bool:
        return account is None or account.enabled

    def create_label(self, return_: Return, request: ReturnRequest, shop: Shop) -> LabelResult:
        tracking_number = return_.tracking_number or next_tracking_number(shop)
        pdf = render_own_label(return_, request, shop, tracking_number)
        return LabelResult(
            tracking_number=tracking_number,
            tracking_url=None,
            pdf_bytes=pdf,
            qr_payload=tracking_number,
        )

    def cancel_label(self, return_: Return) -> None:
        """Nothing to void elsewhere: the tracking number is simply no longer expected."""

    def parse_tracking_event(self, payload: dict) -> TrackingEvent:
        status = payload.get("status")
        if status not in TRACKING_STATUSES:
            raise ValueError(f"unknown shipment status {status!r}")
        tracking_number = str(payload.get("tracking_number") or "").strip()
        if not tracking_number:
            raise ValueError("tracking_number is required")
        return TrackingEvent(
            tracking_number=tracking_number,
            status=status,
            occurred_at=parse_time(payload.get("occurred_at")),
            description=str(payload.get("description") or ""),
        )


# Addresses and names can hold any letter (Łukasz, Şükrü): a Unicode TrueType font is embedded.
# Debian's DejaVu covers Latin Extended; reportlab's bundled Vera (Latin-1) is the fallback.
UNICODE_FONTS = (
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    ),
    ("Vera.ttf", "VeraBd.ttf"),
)
SANS, SANS_BOLD = "LabelSans", "LabelSans-Bold"


def register_label_fonts() -> None:
    if SANS in pdfmetrics.getRegisteredFontNames():
        return
    for regular, bold in UNICODE_FONTS:
        if regular.startswith("/") and not os.path.exists(regular):
            continue
        pdfmetrics.registerFont(TTFont(SANS, regular))
        pdfmetrics.registerFont(TTFont(SANS_BOLD, bold))
        return


def render_own_label(
    return_: Return, request: ReturnRequest, shop: Shop, tracking_number: str
) -> bytes:
    """A printable A6 return label: sender, receiver, numbers, a Code128 barcode and a QR code.

    Numbers we generate (return and tracking number) are drawn in a standard PDF font, so they
    stay plain text in the file; everything people typed goes through the Unicode font.
    """
    register_label_fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A6, pageCompression=1)
    canvas.setTitle(f"{shop.name} {return_.number}")
    width, height = A6
    margin = 6 * mm
    with force_locale(request.language):
        top = _draw_addresses(canvas, request, shop, margin, height - margin, width)
        _draw_numbers(canvas, return_, request, margin, top - 2 * mm, width)
    _draw_barcode(canvas, tracking_number, margin, 42 * mm, width - 2 * margin)
    _draw_qr(canvas, tracking_number, width - margin - 30 * mm, margin, 30 * mm)
    canvas.setFont(SANS, 7)
    canvas.drawString(margin, margin, shop.name)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _address_lines(*parts: str | None) -> list[str]:
    return [part for part in parts if part]


def _draw_heading(canvas: Canvas, text: str, x: float, y: float) -> None:
    canvas.setFont(SANS_BOLD, 7)
    canvas.drawString(x, y, text.upper())


def _draw_block(
    canvas: Canvas, heading: str, lines: list[str], x: float, y: float, size: float
) -> float:
    _draw_heading(canvas, heading, x, y)
    y -= size + 2
    for index, line in enumerate(lines):
        canvas.setFont(SANS_BOLD if index == 0 else SANS, size)
        canvas.drawString(x, y, line)
        y -= size + 2.5
    return y


def _draw_addresses(
    canvas: Canvas, request: ReturnRequest, shop: Shop, x: float, y: float, width: float
) -> float:
    order = request.order
    sender = _address_lines(
        order.customer_name,
        order.customer_street,
        " ".join(_address_lines(order.customer_postcode, order.customer_city)),
        order.customer_country,
    )
    receiver = _address_lines(
        shop.return_address_name or shop.name,
        shop.return_address_street,
        " ".join(_address_lines(shop.return_address_postcode, shop.return_address_city)),
        shop.return_address_country,
    )
    y = _draw_block(canvas, _("From"), sender, x, y, 9)
    canvas.line(x, y + 2 * mm, width - x, y + 2 * mm)
    y = _draw_block(canvas, _("To"), receiver, x, y - 2 * mm, 12)
    canvas.line(x, y + 2 * mm, width - x, y + 2 * mm)
    return y - 2 * mm


def _draw_numbers(
    canvas: Canvas, return_: Return, request: ReturnRequest, x: float, y: float, width: float
) -> None:
    """Three columns: return number, order number, items in the parcel."""
    column = (width - 2 * x) / 3
    _draw_heading(canvas, _("Return number"), x, y)
    _draw_heading(canvas, _("Order"), x + 1.4 * column, y)
    _draw_heading(canvas, _("Items"), x + 2.4 * column, y)
    y -= 13
    canvas.setFont("Helvetica-Bold", 11)
    canvas.drawString(x, y, return_.number)
    canvas.setFont(SANS, 11)
    canvas.drawString(x + 1.4 * column, y, request.order_number)
    canvas.drawString(x + 2.4 * column, y, str(shipped_item_count(request)))


def code128_drawing(value: str, width: float) -> Drawing:
    """The tracking number as a Code128 barcode with its human-readable text, scaled to fit."""
    drawing = createBarcodeDrawing(
        "Code128", value=value, barHeight=16 * mm, barWidth=0.4 * mm, humanReadable=True
    )
    if drawing.width > width:
        factor = width / drawing.width
        drawing.scale(factor, 1)
        drawing.width = width
    return drawing


def _draw_barcode(canvas: Canvas, value: str, x: float, y: float, width: float) -> None:
    renderPDF.draw(code128_drawing(value, width), canvas, x, y)


def qr_drawing(payload: str, size: float) -> Drawing:
    widget = QrCodeWidget(payload)
    left, bottom, right, top = widget.getBounds()
    drawing = Drawing(
        size, size, transform=[size / (right - left), 0, 0, size / (top - bottom), 0, 0]
    )
    drawing.add(widget)
    return drawing


def _draw_qr(canvas: Canvas, payload: str, x: float, y: float, size: float) -> None:
    renderPDF.draw(qr_drawing(payload, size), canvas, x, y)


# --- Sendcloud -------------------------------------------------------------------------------

SENDCLOUD_API_URL = "https://panel.sendcloud.sc/api/v3"
# ``Return.carrier_reference`` of a return whose announce call timed out without an answer.
ANNOUNCE_UNANSWERED = "unanswered"

# Parcel status ids of Sendcloud's "parcel_status_changed" webhook that we map; every other
# status is a step on the way ("in_transit"), with the carrier's message kept as description.
# Looked up with whatever id the webhook carries, hence the ``object`` keys.
SENDCLOUD_STATUSES: dict[object, str] = {1: "label_created", 11: "delivered", 2000: "cancelled"}


@register
class SendcloudAdapter:
    """Sendcloud (PostNL, DHL, DPD, UPS… through one API), per-shop credentials.

    Follows Sendcloud's published Returns API v3 (sendcloud.dev/api/v3/returns), which makes
    standalone return labels without an outgoing parcel:

    - auth: HTTP Basic with the account's public key and secret key;
    - validate: ``POST /returns/validate``, body as for create;
    - create: ``POST /returns/announce-synchronously`` (waits for the carrier, so a label
      exists when it answers) → ``{"return_id", "parcel_id", "multi_collo_ids"}``;
      body: ``from_address`` and ``to_address`` (name, address_line_1, postal_code, city,
      country_code, email), ``ship_with`` (``{"type": "shipping_option_code",
      "shipping_option_code": ..., "contract": ...}``), ``weight`` (``{"value", "unit"}``),
      ``collo_count``, ``parcel_items`` (description, quantity, value, sku),
      ``order_number``, ``external_reference``, ``delivery_option``,
      ``send_tracking_emails``;
    - retrieve: ``GET /returns/{id}`` → ``tracking_number``, ``tracking_url`` (null until
      announced), ``is_cancellable``, ``status_history``…;
    - cancel: ``PATCH /returns/{id}/cancel`` → ``{"message": ...}`` (a cancellation
      *request*; not every carrier supports it);
    - the label PDF: ``GET /parcels/{parcel_id}/documents/label`` (Parcel documents API v3);
    - errors: ``{"errors": [{"status", "code", "detail"}]}``;
    - tracking: the ``parcel_status_changed`` webhook (``timestamp``, ``parcel.tracking_number``,
      ``parcel.status.id``/``message``), signed with HMAC-SHA256 of the body and the secret key
      in the ``Sendcloud-Signature`` header.

    The base URL comes from ``SENDCLOUD_API_URL`` (config or environment) so tests can point it
    at a local stand-in. ``Return.carrier_reference`` keeps ``"return_id:parcel_id"``; it is set
    as soon as Sendcloud accepted the return, so a retried job fetches that label instead of
    announcing a second parcel.
    """

    code: ClassVar[str] = "sendcloud"
    name: ClassVar[Any] = _l("Sendcloud")
    accepts_qr: ClassVar[bool] = False
    timeout = 30

    def __init__(self, account: CarrierAccount | None) -> None:
        if account is None:
            raise CarrierError(_l("Sendcloud is not set up for this shop."))
        self.account = account

    @staticmethod
    def is_enabled(account: CarrierAccount | None) -> bool:
        return bool(account and account.enabled and account.public_key and account.secret_key)

    @property
    def base_url(self) -> str:
        configured = current_app.config.get("SENDCLOUD_API_URL")
        return (configured or os.environ.get("SENDCLOUD_API_URL") or SENDCLOUD_API_URL).rstrip("/")

    # The four Returns API calls, then the label document.

    def validate(self, body: dict) -> dict:
        return self._json("POST", "/returns/validate", body)

    def announce(self, body: dict) -> dict:
        return self._json("POST", "/returns/announce-synchronously", body)

    def retrieve(self, return_id: str) -> dict:
        return self._json("GET", f"/returns/{return_id}")

    def cancel(self, return_id: str) -> dict:
        return self._json("PATCH", f"/returns/{return_id}/cancel")

    def label_document(self, parcel_id: str) -> bytes:
        return self._call("GET", f"/parcels/{parcel_id}/documents/label", accept="application/pdf")

    def create_label(self, return_: Return, request: ReturnRequest, shop: Shop) -> LabelResult:
        if return_.carrier_reference == ANNOUNCE_UNANSWERED:
            raise unanswered_announce()
        if not return_.carrier_reference:
            body = self.return_body(return_, request, shop)
            self.validate(body)
            created = self.announce_once(return_, body)
            return_.carrier_reference = f"{created['return_id']}:{created['parcel_id']}"
        return_id, parcel_id = return_.carrier_reference.split(":", 1)
        details = self.retrieve(return_id)
        if not details.get("tracking_number"):
            raise CarrierError(
                _l("The carrier has not confirmed the label yet. Try again shortly."),
                retryable=True,
            )
        return LabelResult(
            tracking_number=details["tracking_number"],
            tracking_url=details.get("tracking_url"),
            pdf_bytes=self.label_document(parcel_id),
            qr_payload=None,
            carrier_reference=return_.carrier_reference,
        )

    def announce_once(self, return_: Return, body: dict) -> dict:
        """Announce the return; when Sendcloud got the call but did not answer in time it may
        have made the label, so the return is marked and never announced a second time
        (support checks Sendcloud instead of the customer getting two labels)."""
        try:
            return self.announce(body)
        except CarrierError as error:
            if error.unanswered:
                return_.carrier_reference = ANNOUNCE_UNANSWERED
                raise unanswered_announce() from error
            raise

    def cancel_label(self, return_: Return) -> None:
        if return_.carrier_reference and ":" in return_.carrier_reference:
            self.cancel(return_.carrier_reference.split(":", 1)[0])

    def parse_tracking_event(self, payload: dict) -> TrackingEvent:
        parcel = payload.get("parcel") or {}
        status = parcel.get("status") or {}
        if payload.get("action") != "parcel_status_changed" or not parcel.get("tracking_number"):
            raise ValueError("not a Sendcloud parcel_status_changed event")
        return TrackingEvent(
            tracking_number=str(parcel["tracking_number"]),
            status=SENDCLOUD_STATUSES.get(status.get("id"), "in_transit"),
            occurred_at=parse_time(
                payload.get("carrier_status_change_timestamp") or payload.get("timestamp")
            ),
            description=str(status.get("message") or ""),
        )

    def signature_is_valid(self, body: bytes, signature: str) -> bool:
        """Whether a webhook body carries Sendcloud's HMAC-SHA256 signature for our secret."""
        if not self.account.secret_key:
            return False  # nothing to check a signature against
        expected = hmac.new(self.account.secret_key.encode(), body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, (signature or "").strip())

    def return_body(self, return_: Return, request: ReturnRequest, shop: Shop) -> dict:
        """The create/validate body: the customer sends the parcel to the shop's return address."""
        settings = self.account.settings or {}
        order = request.order
        ship_with = {
            "type": "shipping_option_code",
            "shipping_option_code": settings.get("shipping_option_code", ""),
        }
        if settings.get("contract"):
            ship_with["contract"] = settings["contract"]
        return {
            "from_address": {
                "name": order.customer_name,
                "address_line_1": order.customer_street or "",
                "postal_code": order.customer_postcode or "",
                "city": order.customer_city or "",
                "country_code": order.customer_country,
                "email": order.customer_email,
            },
            "to_address": {
                "name": shop.return_address_name or shop.name,
                "company_name": shop.name,
                "address_line_1": shop.return_address_street or "",
                "postal_code": shop.return_address_postcode or "",
                "city": shop.return_address_city or "",
                "country_code": shop.return_address_country,
                "email": shop.support_email or shop.notification_email or "",
            },
            "ship_with": ship_with,
            "weight": {"value": float(settings.get("weight_kg", 1.0)), "unit": "kg"},
            "collo_count": 1,
            "parcel_items": [
                {
                    "description": str(line.order_line),
                    "quantity": line.quantity,
                    "value": {
                        "value": round(line.order_line.unit_price_cents / 100, 2),
                        "currency": order.currency,
                    },
                    "sku": line.order_line.sku,
                }
                for line in request.lines
                if line.decision == "approved"
            ],
            "order_number": order.number,
            "external_reference": return_.number,
            "delivery_option": settings.get("delivery_option", "drop_off_point"),
            "send_tracking_emails": False,
        }

    def _json(self, method: str, path: str, body: dict | None = None) -> dict:
        raw = self._call(method, path, body)
        return json.loads(raw) if raw else {}

    def _call(
        self, method: str, path: str, body: dict | None = None, accept: str = "application/json"
    ) -> bytes:
        """One call to Sendcloud through the outbound guard (no private targets, no redirects)."""
        data = json.dumps(body).encode() if body is not None else None
        credentials = f"{self.account.public_key}:{self.account.secret_key}".encode()
        headers = {
            "Authorization": "Basic " + base64.b64encode(credentials).decode(),
            "Accept": accept,
        }
        if data is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = outbound.send(
                method, self.base_url + path, body=data, headers=headers, timeout=self.timeout
            )
        except outbound.Refused as refused:
            log.error("Sendcloud call to %s refused: %s", self.base_url, refused)
            raise CarrierError(
                _l("The carrier's address in the settings is not allowed. Support can fix this.")
            ) from refused
        except OSError as error:
            raise CarrierError(
                _l("The carrier cannot be reached right now. We will try again."),
                retryable=True,
                unanswered=isinstance(error, TimeoutError),
            ) from error
        if response.status >= 400:
            raise sendcloud_error(response.status, response.body)
        return response.body


def unanswered_announce() -> CarrierError:
    return CarrierError(
        _l(
            "Sendcloud did not answer in time when the label was requested. Check in "
            "Sendcloud whether this return exists before making a label again."
        )
    )


def sendcloud_error(status: int, body: bytes) -> CarrierError:
    """Turn a Sendcloud error answer into a message people can act on."""
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        payload = {}
    details = [
        str(error.get("detail") or error.get("code"))
        for error in payload.get("errors", [])
        if isinstance(error, dict)
    ]
    if not details and isinstance(payload.get("error"), dict):
        details = [str(payload["error"].get("message"))]
    if not details and payload.get("detail"):
        details = [str(payload["detail"])]
    if status in (401, 403):
        return CarrierError(_l("Sendcloud refused the shop's API keys."))
    detail = "; ".join(details) or f"HTTP {status}"
    return CarrierError(
        _l("Sendcloud refused the request: %(detail)s", detail=detail),
        retryable=status >= 500 or status == 429,
    )
