"""Every table of ReturnDesk. Business rules live in workflow.py and friends, not here.

Names follow the glossary of the founding document: a ``ReturnRequest`` is an "Aanvraag"
(listed under "Requests"), a ``Return`` is a "Retour" (a shipment with a label).
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    and_,
    any_,
    bindparam,
    false,
    func,
    select,
    text,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import InstrumentedAttribute, Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement
from werkzeug.security import check_password_hash, generate_password_hash

from extensions import db

# PostgreSQL-only indexes (trigram, expression, partial) that migration e5a7c2d9f1b3 makes for
# the Requests list at scale. SQLite has none of them, so they are not declared on the models
# and Alembic's comparison leaves them out.
POSTGRESQL_ONLY_INDEXES = frozenset(
    {
        "ix_request_name_trgm",
        "ix_request_email_trgm",
        "ix_request_email_lower",
        "ix_request_created_id",
        "ix_request_open_created",
        "ix_request_open_shop_created",
    }
)


def include_in_schema_comparison(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's ``include_object``: compare everything but the PostgreSQL-only indexes."""
    return not (type_ == "index" and reflected and name in POSTGRESQL_ONLY_INDEXES)


def utcnow() -> datetime:
    """Timezone-aware now, stored as UTC everywhere."""
    return datetime.now(UTC)


def on_postgresql() -> bool:
    """Whether the session's database is PostgreSQL (arrays, a counter of its own)."""
    return db.session.get_bind().dialect.name == "postgresql"


def among_ids(column, ids: Collection[int]) -> ColumnElement[bool]:
    """``column IN ids``. On PostgreSQL the ids are one array parameter (``= ANY``) rather than
    one parameter each, so the statement reads the same whichever ids a page holds: psycopg
    parses it once (it caches only statements of up to 50 parameters) and prepares it."""
    if on_postgresql():
        return column == any_(bindparam(None, list(ids), type_=postgresql.ARRAY(Integer)))
    return column.in_(ids)


# A list of ids in one column: an integer array on PostgreSQL (whose statistics know how
# often each id occurs), JSON elsewhere.
IdList = JSON().with_variant(postgresql.ARRAY(Integer), "postgresql")


def holds_any_of(column, ids: Collection[int]) -> ColumnElement[bool]:
    """Whether the ``IdList`` ``column`` holds any of ``ids``. On PostgreSQL they are one
    array parameter of ``&&``, whose selectivity the column's statistics tell the planner."""
    if not ids:
        return false()
    if on_postgresql():
        return column.op("&&")(bindparam(None, sorted(ids), type_=postgresql.ARRAY(Integer)))
    held = func.json_each(column).table_valued("value")
    return select(held.c.value).where(held.c.value.in_(list(ids))).exists()


def new_token() -> str:
    """An unguessable URL-safe token of 256 bits, for customer links."""
    return secrets.token_urlsafe(32)


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# Request statuses: the one list, used by workflow.py, the views and the API.
NEW = "new"
CONCEPT = "concept"
ON_HOLD = "on_hold"
APPROVED = "approved"
CANCELLED = "cancelled"
LABEL_CREATED = "label_created"
COMPLETED = "completed"
EXPIRED = "expired"
REQUEST_STATUSES = (NEW, CONCEPT, ON_HOLD, APPROVED, CANCELLED, LABEL_CREATED, COMPLETED, EXPIRED)
OPEN_STATUSES = (NEW, CONCEPT, ON_HOLD)
# The same, as SQL, for the partial indexes of the open requests.
OPEN_STATUSES_SQL = "status IN (" + ", ".join(f"'{status}'" for status in OPEN_STATUSES) + ")"

RESOLUTIONS = ("refund", "exchange", "store_credit")
# The agent's decision on one request line; "open" until accepted or rejected.
LINE_DECISIONS = ("open", "approved", "rejected")

# How a return fee is paid when shipping is not free: taken off the refund (the default);
# a payment-provider step may come later behind the same setting.
FEE_DEDUCTED = "deduct_from_refund"
FEE_POLICIES = (FEE_DEDUCTED,)
# A shop's staff roles, strongest first: each may do all that the roles after it may.
ROLES = ("admin", "agent")
SEVERITIES = ("info", "warning", "danger")


# A closed request's photos and message files are kept this many months by default.
DEFAULT_FILE_RETENTION_MONTHS = 6
# A closed request is anonymised this many months after closure by default.
DEFAULT_ANONYMISE_AFTER_MONTHS = 24
# How many years a shop must keep its financial records by default (the Netherlands: 7).
DEFAULT_BOOKS_RETENTION_YEARS = 7

# Where a shop's staff and customers are: times are shown and working hours counted there.
DEFAULT_TIME_ZONE = "Europe/Amsterdam"


def zone_of(time_zone: str | None) -> ZoneInfo:
    """A shop's time zone: its own setting, else the default."""
    return ZoneInfo(time_zone or DEFAULT_TIME_ZONE)


class Shop(Timestamped, db.Model):
    """A webshop: the tenant. Everything a shop owns carries its ``shop_id``."""

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    logo_url: Mapped[str | None] = mapped_column(String(500))
    brand_color: Mapped[str] = mapped_column(String(7), default="#0d6efd")
    languages: Mapped[str] = mapped_column(String(20), default="nl,en")
    default_language: Mapped[str] = mapped_column(String(5), default="nl")
    return_window_days: Mapped[int] = mapped_column(Integer, default=30)
    withdrawal_window_days: Mapped[int] = mapped_column(Integer, default=14)
    offered_resolutions: Mapped[str] = mapped_column(
        String(100), default="refund,exchange,store_credit"
    )
    free_shipping_resolutions: Mapped[str] = mapped_column(String(100), default="exchange")
    return_fee_cents: Mapped[int] = mapped_column(Integer, default=595)
    return_fee_policy: Mapped[str] = mapped_column(String(20), default=FEE_DEDUCTED)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    notification_email: Mapped[str | None] = mapped_column(String(254))
    support_email: Mapped[str | None] = mapped_column(String(254))
    return_address_name: Mapped[str | None] = mapped_column(String(120))
    return_address_street: Mapped[str | None] = mapped_column(String(200))
    return_address_postcode: Mapped[str | None] = mapped_column(String(20))
    return_address_city: Mapped[str | None] = mapped_column(String(100))
    return_address_country: Mapped[str] = mapped_column(String(2), default="NL")
    hold_stale_hours: Mapped[int] = mapped_column(Integer, default=8)
    # Days after approval the customer has to create the return label; None: no deadline.
    ship_by_days: Mapped[int | None] = mapped_column(Integer, default=14, server_default="14")
    # The customer emails the shop turned off, comma-separated (``emails.SWITCHABLE_EMAILS``).
    emails_off: Mapped[str] = mapped_column(String(500), default="", server_default="")
    time_zone: Mapped[str] = mapped_column(
        String(64), default=DEFAULT_TIME_ZONE, server_default=DEFAULT_TIME_ZONE
    )
    admins_edit_form: Mapped[bool] = mapped_column(Boolean, default=False)
    # Months after a request is closed that its photos and message files are kept
    # (``services.retention``).
    file_retention_months: Mapped[int] = mapped_column(
        Integer, default=DEFAULT_FILE_RETENTION_MONTHS, server_default="6"
    )
    # Months after a request is closed that it is anonymised (``services.retention``); never
    # fewer than the books need when they keep the customer's details (``domain.retention``).
    anonymise_after_months: Mapped[int] = mapped_column(
        Integer, default=DEFAULT_ANONYMISE_AFTER_MONTHS, server_default="24"
    )
    # The legal minimum of the shop's books, in years, and whether they need the customer's
    # name and address with a return for that long (else only numbers and amounts, which
    # anonymising keeps).
    books_retention_years: Mapped[int] = mapped_column(
        Integer, default=DEFAULT_BOOKS_RETENTION_YEARS, server_default="7"
    )
    books_need_customer: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # The shop's privacy statement (https), linked from every portal page.
    privacy_url: Mapped[str | None] = mapped_column(String(500))
    # Dutch texts to this shop's customers say "u/uw" instead of "je/jouw" (domain/address.py).
    address_formally: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="shop", cascade="all, delete-orphan"
    )

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> ZoneInfo:
        return zone_of(self.time_zone)

    @property
    def language_list(self) -> list[str]:
        return [code for code in self.languages.split(",") if code]

    @property
    def resolution_list(self) -> list[str]:
        return [r for r in self.offered_resolutions.split(",") if r]

    @property
    def free_shipping_list(self) -> list[str]:
        """The resolutions whose return shipping the shop pays by default."""
        return [r for r in self.free_shipping_resolutions.split(",") if r]

    def ships_free(self, resolution: str | None) -> bool:
        """The shop's default shipping policy for a chosen resolution."""
        return resolution in self.free_shipping_list


class User(UserMixin, Timestamped, db.Model):
    """Staff login. ``is_support`` is platform staff (every shop); others work per shop."""

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_support: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str | None] = mapped_column(String(5))
    notify_new_requests: Mapped[bool] = mapped_column(Boolean, default=False)
    # The other notification kinds (``NOTIFICATION_KINDS``) this user also wants by email.
    email_notifications: Mapped[list] = mapped_column(
        JSON, default=lambda: [NOTIFY_CUSTOMER_REPLY], server_default='["customer_reply"]'
    )
    # Part of every session's user id (``get_id``): raising it ends all sessions of the user.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        """Flask-Login's alternative id: a session names the user and the session version."""
        return f"{self.id}:{self.session_version or 0}"

    def end_sessions(self) -> None:
        """Log the user out everywhere: every session (a copied cookie too) stops working."""
        self.session_version = (self.session_version or 0) + 1

    def set_password(self, password: str) -> None:
        """A new password also ends every session opened with the old one."""
        self.password_hash = generate_password_hash(password)
        self.end_sessions()

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)


class Membership(db.Model):
    """A user's role (``admin`` or ``agent``) in one shop."""

    __table_args__ = (UniqueConstraint("user_id", "shop_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(10), default="agent")

    user: Mapped[User] = relationship(back_populates="memberships")
    shop: Mapped[Shop] = relationship(back_populates="memberships")


class Order(Timestamped, db.Model):
    """What the shop sold; imported by CSV, API or CLI."""

    __table_args__ = (
        UniqueConstraint("shop_id", "number"),
        Index("ix_order_shop_email", "shop_id", "customer_email"),
        Index("ix_order_shop_ordered", "shop_id", "ordered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"))
    number: Mapped[str] = mapped_column(String(64))
    customer_name: Mapped[str] = mapped_column(String(200))
    customer_email: Mapped[str] = mapped_column(String(254))
    customer_postcode: Mapped[str | None] = mapped_column(String(20))
    customer_street: Mapped[str | None] = mapped_column(String(200))
    customer_city: Mapped[str | None] = mapped_column(String(100))
    customer_country: Mapped[str] = mapped_column(String(2), default="NL")
    customer_language: Mapped[str] = mapped_column(String(5), default="nl")
    ordered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    # When the shop's platform last changed the order (connectors): an older webhook or sync
    # page never overwrites a newer version.
    platform_modified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The shop platform the order came from ("woocommerce", "shopify"); None for an order
    # imported by CSV or API, or synced before this was recorded. A refund goes back there.
    platform: Mapped[str | None] = mapped_column(String(20))
    # The Mollie payment (``tr_…``) the customer paid the order with, for a shop whose orders
    # come by CSV or API: a refund goes back through that payment.
    mollie_payment_id: Mapped[str | None] = mapped_column(String(64))

    shop: Mapped[Shop] = relationship()
    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )

    def __str__(self) -> str:
        return self.number

    @property
    def total_cents(self) -> int:
        return sum(line.total_cents for line in self.lines)


class OrderLine(db.Model):
    # The first covers the dashboard's units sold and requested per SKU (an index-only scan);
    # the second finds the lines of its few most returned SKUs (their names and top reasons).
    __table_args__ = (
        Index("ix_order_line_order_sku", "order_id", "sku", "quantity", "id"),
        Index("ix_order_line_sku", "sku"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    product_name: Mapped[str] = mapped_column(String(200))
    variant: Mapped[str | None] = mapped_column(String(120))
    image_url: Mapped[str | None] = mapped_column(String(500))
    # The product's variants the customer may pick in an exchange ("S", "M", "L"), from the
    # import or the API; None when the platform gives none (the customer then types a wish).
    variant_options: Mapped[list[str] | None] = mapped_column(JSON)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    unit_price_cents: Mapped[int] = mapped_column(Integer)
    discount_cents: Mapped[int] = mapped_column(Integer, default=0)
    # From the shop's platform (import or API): its tags ("final-sale,hygiene"), matched by the
    # shop's returnability rules, and its own "not returnable" flag.
    tags: Mapped[str | None] = mapped_column(String(500))
    returnable: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    order: Mapped[Order] = relationship(back_populates="lines")

    def __str__(self) -> str:
        return f"{self.product_name} ({self.variant})" if self.variant else self.product_name

    @property
    def total_cents(self) -> int:
        return self.quantity * self.unit_price_cents - self.discount_cents


class ReturnReason(db.Model):
    """One choice of "why are you returning this?" on the shop's return form."""

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    label_nl: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200))
    requires_photo: Mapped[bool] = mapped_column(Boolean, default=False)
    requires_comment: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    shop: Mapped[Shop] = relationship()

    def __str__(self) -> str:
        return self.label_en

    def label(self, language: str) -> str:
        return self.label_nl if language == "nl" else self.label_en

    @classmethod
    def label_column(cls, language: str) -> InstrumentedAttribute[str]:
        """The column ``label`` reads in ``language``, for a query that wants the words alone."""
        return cls.label_nl if language == "nl" else cls.label_en


class FormQuestion(db.Model):
    """An extra question on the shop's return form (text, choice, yes/no or file)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10), default="text")
    label_nl: Mapped[str] = mapped_column(String(300))
    label_en: Mapped[str] = mapped_column(String(300))
    choices: Mapped[str | None] = mapped_column(Text)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    shop: Mapped[Shop] = relationship()

    def __str__(self) -> str:
        return self.label_en

    def label(self, language: str) -> str:
        return self.label_nl if language == "nl" else self.label_en


class ReturnabilityRule(db.Model):
    """A shop's rule on what may not go back: order lines whose SKU matches ``sku_pattern``
    (``GIFT-*``) or that carry ``tag`` are not returnable (``window_days`` empty), or only
    within ``window_days`` of delivery. ``reason`` is a code of ``NON_RETURNABLE_REASONS``."""

    __tablename__ = "returnability_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), index=True)
    sku_pattern: Mapped[str | None] = mapped_column(String(64))
    tag: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(30))
    window_days: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    shop: Mapped[Shop] = relationship()

    def __str__(self) -> str:
        return self.sku_pattern or self.tag or self.reason


class ReviewStage(db.Model):
    """A shop-defined named step inside the open statuses (e.g. "Photos requested")."""

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), index=True)
    name_nl: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    color: Mapped[str] = mapped_column(String(7), default="#6c757d")
    position: Mapped[int] = mapped_column(Integer, default=0)

    shop: Mapped[Shop] = relationship()

    def __str__(self) -> str:
        return self.name_en

    def name(self, language: str) -> str:
        return self.name_nl if language == "nl" else self.name_en

    @classmethod
    def name_column(cls, language: str) -> InstrumentedAttribute[str]:
        """The column ``name`` reads in ``language``, for a query that wants the words alone."""
        return cls.name_nl if language == "nl" else cls.name_en


def customer_has_replied(
    last_inbound_at: datetime | None, last_outbound_at: datetime | None
) -> bool:
    """The customer wrote after our last message (or we never wrote): the thread waits for us."""
    if last_inbound_at is None:
        return False
    return last_outbound_at is None or last_inbound_at >= last_outbound_at


class ReturnRequest(Timestamped, db.Model):
    """An "Aanvraag": the customer's request to return items, reviewed by staff.

    ``status`` changes only through workflow.py. ``version`` grows with every change so a
    conditional UPDATE can tell whether somebody else changed the row in between.
    """

    __tablename__ = "return_request"
    __table_args__ = (
        Index("ix_request_shop_status_created", "shop_id", "status", "created_at"),
        Index("ix_request_shop_created", "shop_id", "created_at", "id"),
        Index("ix_request_customer_email", "customer_email"),
        Index("ix_request_order_number", "order_number"),
        # The status leads only where a sweep asks it (approved requests with a ship-by date)
        # and for the open statuses (support's list of one of them, its "approve all
        # concept", the dashboard's holds): an index of every request's status tempted
        # PostgreSQL into ANDing a million "new" entries with a filtered list's month
        # (docs/PERFORMANCE-notes.md).
        Index(
            "ix_request_status_ship_by",
            "status",
            "ship_by_at",
            postgresql_where=text("ship_by_at IS NOT NULL"),
            sqlite_where=text("ship_by_at IS NOT NULL"),
        ),
        Index(
            "ix_request_open_status_created",
            "status",
            "created_at",
            postgresql_where=text(OPEN_STATUSES_SQL),
            sqlite_where=text(OPEN_STATUSES_SQL),
        ),
        UniqueConstraint("shop_id", "submission_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    order_number: Mapped[str] = mapped_column(String(64))
    customer_name: Mapped[str] = mapped_column(String(200))
    customer_email: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(5), default="nl")
    status: Mapped[str] = mapped_column(String(20), default=NEW)
    stage_id: Mapped[int | None] = mapped_column(ForeignKey("review_stage.id"))
    resolution: Mapped[str] = mapped_column(String(20), default="refund")
    exchange_note: Mapped[str | None] = mapped_column(Text)
    free_shipping: Mapped[bool] = mapped_column(Boolean, default=False)
    keep_items: Mapped[bool] = mapped_column(Boolean, default=False)
    # The shop's return fee when the request was approved: what the customer was told the
    # label costs, whatever the shop charges later. None until approved.
    return_fee_cents: Mapped[int | None] = mapped_column(Integer)
    # The end of the last day on which the customer may create the return label, recorded at
    # approval from the shop's ``ship_by_days`` (a later change does not move it); None: no
    # deadline (kept items, or the shop sets none). When the reminder of it was emailed.
    ship_by_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ship_by_reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A request whose customer keeps the items is settled on the request itself (there is no
    # return): how, for how much (none for an exchange) and when.
    settled_resolution: Mapped[str | None] = mapped_column(String(20))
    settled_cents: Mapped[int | None] = mapped_column(Integer)
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    is_withdrawal: Mapped[bool] = mapped_column(Boolean, default=False)
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    held_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    held_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status_before_hold: Mapped[str | None] = mapped_column(String(20))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    last_inbound_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_outbound_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    notice_count: Mapped[int] = mapped_column(Integer, default=0)
    total_cents: Mapped[int] = mapped_column(Integer, default=0)
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    # The return reasons its lines give (``ReturnReason`` ids), kept from the lines' writes by
    # domain/request_reasons.py, so the list filters by reason without reading every line.
    reason_ids: Mapped[list[int] | None] = mapped_column(IdList)
    submission_key: Mapped[str | None] = mapped_column(String(64))
    public_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # When the customer's details were removed (an erasure, or the shop's retention).
    anonymised_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow, index=True
    )

    shop: Mapped[Shop] = relationship()
    order: Mapped[Order] = relationship()
    stage: Mapped[ReviewStage | None] = relationship()
    held_by: Mapped[User | None] = relationship(foreign_keys=[held_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    lines: Mapped[list[ReturnRequestLine]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="ReturnRequestLine.id"
    )
    notices: Mapped[list[Notice]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="Notice.id"
    )
    messages: Mapped[list[Message]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="Message.id"
    )
    returns: Mapped[list[Return]] = relationship(back_populates="request", order_by="Return.id")

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def awaiting_customer(self) -> bool:
        """Derived from the thread: our last message to the customer is unanswered."""
        if self.last_outbound_at is None:
            return False
        return self.last_inbound_at is None or self.last_inbound_at < self.last_outbound_at

    @property
    def customer_replied(self) -> bool:
        return customer_has_replied(self.last_inbound_at, self.last_outbound_at)


class ReturnRequestLine(db.Model):
    """One order line the customer wants to send back, with the agent's decision on it."""

    __tablename__ = "return_request_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("return_request.id", ondelete="CASCADE"), index=True
    )
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_line.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    reason_id: Mapped[int | None] = mapped_column(ForeignKey("return_reason.id"), index=True)
    comment: Mapped[str | None] = mapped_column(Text)
    decision: Mapped[str] = mapped_column(String(10), default="open")
    decision_reason: Mapped[str | None] = mapped_column(Text)
    received_quantity: Mapped[int | None] = mapped_column(Integer)
    condition: Mapped[str | None] = mapped_column(String(20))
    # What the shop does with the received units (``DISPOSITIONS``), and why when disposed.
    disposition: Mapped[str | None] = mapped_column(String(20))
    disposition_note: Mapped[str | None] = mapped_column(Text)
    # What is paid for the line, decided at receipt apart from what was found (``condition``):
    # ``REFUND_CHOICES``, None until inspected; the amount of a partial refund; and the
    # staff's note to the customer about it.
    refund_choice: Mapped[str | None] = mapped_column(String(10))
    refund_partial_cents: Mapped[int | None] = mapped_column(Integer)
    refund_note: Mapped[str | None] = mapped_column(Text)

    request: Mapped[ReturnRequest] = relationship(back_populates="lines")
    order_line: Mapped[OrderLine] = relationship()
    reason: Mapped[ReturnReason | None] = relationship()
    photos: Mapped[list[Attachment]] = relationship(
        back_populates="request_line", order_by="Attachment.id"
    )


class NoticeRule(Timestamped, db.Model):
    """A rule that raises a notice (melding) on matching requests, and may act on them.

    ``conditions`` is a list of ``{"kind": ..., ...}`` dicts, all of which must hold (AND);
    notices.py knows the kinds.
    """

    __tablename__ = "notice_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shop.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    conditions: Mapped[list] = mapped_column(JSON, default=list)
    action: Mapped[str | None] = mapped_column(String(30))
    action_stage_id: Mapped[int | None] = mapped_column(ForeignKey("review_stage.id"))
    message_nl: Mapped[str] = mapped_column(Text)
    message_en: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(10), default="info")
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    shop: Mapped[Shop | None] = relationship()

    def __str__(self) -> str:
        return self.name


class Notice(Timestamped, db.Model):
    """A notice shown to agents on one request, raised by a rule or added by hand."""

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("return_request.id", ondelete="CASCADE"), index=True
    )
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("notice_rule.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    severity: Mapped[str] = mapped_column(String(10), default="info")
    text_nl: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)

    request: Mapped[ReturnRequest] = relationship(back_populates="notices")
    rule: Mapped[NoticeRule | None] = relationship()
    author: Mapped[User | None] = relationship()

    def text(self, language: str) -> str:
        return self.text_nl if language == "nl" else self.text_en


class Message(Timestamped, db.Model):
    """One entry of "Communication with customer": outbound, inbound or an internal note."""

    # A reply taken from an email names that email (services/inbound_mail.py), so a mail
    # delivered or polled twice is stored once.
    __table_args__ = (UniqueConstraint("request_id", "inbound_mail_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("return_request.id", ondelete="CASCADE"), index=True
    )
    direction: Mapped[str] = mapped_column(String(10))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    body: Mapped[str] = mapped_column(Text)
    # The sha256 of the emailed reply's Message-ID (of the whole mail when it has none).
    inbound_mail_key: Mapped[str | None] = mapped_column(String(64))

    request: Mapped[ReturnRequest] = relationship(back_populates="messages")
    author: Mapped[User | None] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="message", order_by="Attachment.id"
    )


class Attachment(Timestamped, db.Model):
    """A stored file: a photo of a request line, a file on a message, or an answer."""

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), index=True)
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("return_request.id", ondelete="CASCADE"), index=True
    )
    request_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("return_request_line.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE"), index=True
    )
    original_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(100), unique=True)

    request_line: Mapped[ReturnRequestLine | None] = relationship(back_populates="photos")
    message: Mapped[Message | None] = relationship(back_populates="attachments")


# A return's statuses (the shipment's journey), changed only through workflow.py.
RETURN_LABEL_CREATED = "label_created"
RETURN_IN_TRANSIT = "in_transit"
RETURN_DELIVERED = "delivered"
RETURN_RECEIVED = "received"
RETURN_RESOLVED = "resolved"
RETURN_CANCELLED = "cancelled"
RETURN_STATUSES = (
    RETURN_LABEL_CREATED,
    RETURN_IN_TRANSIT,
    RETURN_DELIVERED,
    RETURN_RECEIVED,
    RETURN_RESOLVED,
    RETURN_CANCELLED,
)

# A request line's inspection once the parcel is received: what was found. What is paid for
# it is the line's ``refund_choice`` (``domain.refunds.default_refund_choice`` by default).
CONDITION_OK = "ok"
CONDITION_DAMAGED = "damaged"
CONDITION_WRONG_ITEM = "wrong_item"
CONDITION_MISSING = "missing"
LINE_CONDITIONS = (CONDITION_OK, CONDITION_DAMAGED, CONDITION_WRONG_ITEM, CONDITION_MISSING)
# What becomes of a received item (``ReturnRequestLine.disposition``); disposing needs a reason.
RESTOCK = "restock"
REFURBISH = "refurbish"
DISPOSE = "dispose"
DISPOSITIONS = (RESTOCK, REFURBISH, DISPOSE)
# What is paid for a received line (``ReturnRequestLine.refund_choice``): the received units
# in full, an amount the staff set (``refund_partial_cents``), or nothing.
REFUND_FULL = "full"
REFUND_PARTIAL = "partial"
REFUND_NONE = "none"
REFUND_CHOICES = (REFUND_FULL, REFUND_PARTIAL, REFUND_NONE)
# Why an item may not go back (``ReturnabilityRule.reason``; "not_returnable" is the
# platform's own flag on the order line, never a rule's reason).
NON_RETURNABLE_REASON_CODES = (
    "final_sale",
    "hygiene",
    "custom_made",
    "gift_card",
    "not_returnable",
)
# The label job's progress on a return (``Return.label_status``); "cancelled" once voided.
LABEL_STATUSES = ("pending", "working", "ready", "failed", "cancelled")


class Return(Timestamped, db.Model):
    """A "Retour": the shipment created from an approved request, with its label.

    ``status`` (the shipment's journey) changes only through workflow.py. ``label_status``
    is the label job's progress: pending → working → ready, or failed; ``label_attempts``
    counts the job's tries so the last retry can give up. ``refund_cents`` is the amount
    refunded, or the value of the store credit issued; ``resolution`` says which.
    """

    __table_args__ = (Index("ix_return_shop_status_created", "shop_id", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"))
    request_id: Mapped[int] = mapped_column(ForeignKey("return_request.id"), index=True)
    carrier: Mapped[str] = mapped_column(String(40))
    carrier_reference: Mapped[str | None] = mapped_column(String(64))
    tracking_number: Mapped[str | None] = mapped_column(String(64), index=True)
    tracking_url: Mapped[str | None] = mapped_column(String(500))
    label_storage_key: Mapped[str | None] = mapped_column(String(100))
    label_status: Mapped[str] = mapped_column(String(10), default="pending")
    label_error: Mapped[str | None] = mapped_column(Text)
    cost_cents: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="label_created")
    refund_cents: Mapped[int | None] = mapped_column(Integer)
    resolution: Mapped[str | None] = mapped_column(String(20))
    label_attempts: Mapped[int] = mapped_column(Integer, default=0)
    qr_payload: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    shop: Mapped[Shop] = relationship()
    request: Mapped[ReturnRequest] = relationship(back_populates="returns")

    def __str__(self) -> str:
        return self.number


class CarrierAccount(Timestamped, db.Model):
    """A carrier a shop offers for return labels, with its credentials and settings.

    ``settings`` holds carrier-specific choices (for Sendcloud: ``shipping_option_code``,
    ``contract``, ``delivery_option``, ``weight_kg``). The own-label carrier needs no row to be
    offered; a row with ``enabled`` off withdraws it.
    """

    __tablename__ = "carrier_account"
    __table_args__ = (UniqueConstraint("shop_id", "carrier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id", ondelete="CASCADE"), index=True)
    carrier: Mapped[str] = mapped_column(String(40))
    public_key: Mapped[str | None] = mapped_column(String(200))
    secret_key: Mapped[str | None] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    settings: Mapped[dict] = mapped_column(JSON, default=dict)

    shop: Mapped[Shop] = relationship()

    def __str__(self) -> str:
        return self.carrier


# The last sync's outcome (``ShopConnection.last_sync_state``).
SYNC_STATES = ("running", "ok", "failed")


class ShopConnection(Timestamped, db.Model):
    """A shop's connection to its platform (WooCommerce, …): where, the credentials, the sync.

    ``credentials`` (a JSON object) and ``webhook_secret`` are Fernet tokens
    (``services.encryption``), never plain text. ``sync_cursor`` is the platform connector's
    own bookmark of how far the incremental sync got; it is saved after every page.
    """

    __tablename__ = "shop_connection"
    __table_args__ = (UniqueConstraint("shop_id", "platform"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(20))
    base_url: Mapped[str] = mapped_column(String(500))
    credentials: Mapped[str | None] = mapped_column(Text)
    webhook_secret: Mapped[str | None] = mapped_column(Text)
    sync_cursor: Mapped[str | None] = mapped_column(String(100))
    last_sync_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_sync_state: Mapped[str | None] = mapped_column(String(10))
    last_sync_error: Mapped[str | None] = mapped_column(Text)
    last_sync_count: Mapped[int] = mapped_column(Integer, default=0)
    # Whether a refund sent to the platform puts the refunded items back in its stock.
    restock_on_refund: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    shop: Mapped[Shop] = relationship()

    def __str__(self) -> str:
        return f"{self.platform} {self.base_url}"


# What a ``Refund`` pays out: money back, or store credit (a code for the next order).
REFUND_KINDS = ("refund", "store_credit")
# Where a refund is carried out: a platform's name (``ShopConnection.platform``), or by hand.
MANUAL = "manual"
# The refund job's progress (``Refund.status``): pending → sending → succeeded, or failed;
# "confirming" when the provider accepted it but has yet to pay it out (Mollie).
REFUND_STATUSES = ("pending", "sending", "confirming", "succeeded", "failed")


class Refund(Timestamped, db.Model):
    """Money or store credit paid out for a resolved return, or for a request settled with the
    items kept ("Terugbetaling"): how much, for which lines, where it was sent and what the
    platform answered. ``request_id`` is always set; ``return_id`` only for a returned parcel
    (a request whose customer keeps the items has no return).

    The return's and request's statuses change only through workflow.py, which writes this row
    when a return is resolved with a refund or store credit. ``status`` is the refund job's
    progress, like ``Return.label_status``: pending → sending (claimed by one worker) →
    succeeded, or back to pending to be tried again, or failed with the platform's message in
    ``provider_message`` until support retries it. A manual refund (``destination`` "manual")
    stays pending until staff mark it refunded. ``idempotency_key`` is derived from the
    return (``return-RET-2026-00042-refund``), or from the request when the customer keeps the
    items (``request-R-2026-00042-refund``), is unique here and travels with the call, so a
    double click, a retry after a timeout or two workers give one refund at the platform.
    ``lines`` lists what is paid per order line: ``order_line_id``, ``sku``, ``quantity``,
    ``amount_cents``. ``provider_id`` is the platform's refund id, or the store credit's code.
    A payment provider (Mollie) accepts a refund before it pays it out: the row is then
    "confirming", ``provider_status`` holds the provider's own word (queued, pending,
    processing, refunded, failed, canceled) and the job asks again until it is final.
    """

    __tablename__ = "refund"
    __table_args__ = (Index("ix_refund_shop_status", "shop_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int | None] = mapped_column(ForeignKey("return.id"), index=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("return_request.id"), index=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"))
    kind: Mapped[str] = mapped_column(String(20))
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    lines: Mapped[list] = mapped_column(JSON, default=list)
    destination: Mapped[str] = mapped_column(String(20), default=MANUAL)
    provider_id: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    provider_message: Mapped[str | None] = mapped_column(Text)
    provider_status: Mapped[str | None] = mapped_column(String(20))
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    return_: Mapped[Return | None] = relationship()
    request: Mapped[ReturnRequest] = relationship()
    shop: Mapped[Shop] = relationship()
    created_by: Mapped[User | None] = relationship()

    def __str__(self) -> str:
        return self.idempotency_key


class AuditEvent(Timestamped, db.Model):
    """Who did what to which request or return, when, and from which status to which."""

    __tablename__ = "audit_event"
    # The dashboard reads one action's events in a period, and each request's first of them.
    __table_args__ = (
        Index("ix_audit_shop_action_created", "shop_id", "action", "created_at"),
        Index("ix_audit_request_action_created", "request_id", "action", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shop.id"), index=True)
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("return_request.id", ondelete="CASCADE"), index=True
    )
    return_id: Mapped[int | None] = mapped_column(ForeignKey("return.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    actor_label: Mapped[str | None] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)

    actor: Mapped[User | None] = relationship()


# What a staff user is told of in the app (``Notification.kind``); domain/notifications.py
# decides who is told of which audit event.
NOTIFY_NEW_REQUEST = "new_request"
NOTIFY_CUSTOMER_REPLY = "customer_reply"
NOTIFY_HOLD_TAKEN_OVER = "hold_taken_over"
NOTIFY_LABEL_FAILED = "label_failed"
NOTIFY_EMAIL_FAILED = "email_failed"
NOTIFICATION_KINDS = (
    NOTIFY_NEW_REQUEST,
    NOTIFY_CUSTOMER_REPLY,
    NOTIFY_HOLD_TAKEN_OVER,
    NOTIFY_LABEL_FAILED,
    NOTIFY_EMAIL_FAILED,
)


class Notification(Timestamped, db.Model):
    """One audit event told to one staff user, until they read it (the bell in the navbar).

    A row per recipient rather than a per-user "read up to" cursor over the audit trail: who
    is told is decided when the event happens (who held the request, who touched it last,
    who belongs to the shop then), and each entry is read on its own (opening a request
    reads its entries only), which a single cursor cannot express.
    """

    __tablename__ = "notification"
    # The bell counts a user's unread rows on every staff page.
    __table_args__ = (
        Index("ix_notification_user_read", "user_id", "read_at"),
        UniqueConstraint("user_id", "audit_event_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    request_id: Mapped[int] = mapped_column(
        ForeignKey("return_request.id", ondelete="CASCADE"), index=True
    )
    audit_event_id: Mapped[int] = mapped_column(
        ForeignKey("audit_event.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    audit_event: Mapped[AuditEvent] = relationship()


class EmailTemplate(db.Model):
    """A shop's own wording of one email in one language, overriding the default templates.

    Rendered in a sandbox (emails.py) with the same context as the default; deleting the row
    restores the default.
    """

    __tablename__ = "email_template"
    __table_args__ = (UniqueConstraint("shop_id", "name", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    language: Mapped[str] = mapped_column(String(5), default="nl")
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    shop: Mapped[Shop] = relationship()

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"


# Emails whose link lets the reader into a staff account: the Outbox never shows their body.
CREDENTIAL_EMAILS = ("invite", "password_reset")
# An outbox email's progress (``OutboundEmail.status``).
EMAIL_STATUSES = ("pending", "sending", "sent", "failed")


class OutboundEmail(Timestamped, db.Model):
    """The outbox: an email is a row first, written in the caller's transaction.

    ``deliver_emails`` (services/outbox.py) claims pending rows, sends each once and marks it sent.
    One that could not be sent waits for ``next_attempt_at`` (services/outbox.py: the retry policy).
    A bulk action writes its rows unwritten (``written`` false, subject and bodies empty):
    the delivery job renders them from the request first, so that a transaction approving
    thousands of requests does not render thousands of templates.
    """

    __tablename__ = "outbound_email"
    __table_args__ = (Index("ix_outbound_email_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shop.id"), index=True)
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("return_request.id", ondelete="SET NULL"), index=True
    )
    template: Mapped[str] = mapped_column(String(60))
    language: Mapped[str] = mapped_column(String(5), default="nl")
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    attachment_ids: Mapped[list] = mapped_column(JSON, default=list)
    written: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the bodies were emptied (``services.retention``, 90 days on).
    trimmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    shop: Mapped[Shop | None] = relationship()
    request: Mapped[ReturnRequest | None] = relationship()

    @property
    def carries_credential(self) -> bool:
        """Whether the email holds a link into an account (an invite, a password reset)."""
        return self.template in CREDENTIAL_EMAILS

    @hybrid_property
    def failing(self) -> bool:
        """Sending failed and the email waits for its next attempt."""
        return self.status == "pending" and self.last_error is not None

    @failing.inplace.expression
    @classmethod
    def _failing_expression(cls):
        return and_(cls.status == "pending", cls.last_error.is_not(None))


class BulkJob(Timestamped, db.Model):
    """A bulk action over many requests, run in chunks by an RQ job with visible progress.

    ``request_ids`` is the selection as it was when the user confirmed; ``done`` counts how
    many of them were processed, committed with each chunk so a killed worker resumes.
    """

    __tablename__ = "bulk_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str | None] = mapped_column(Text)
    stage_id: Mapped[int | None] = mapped_column(Integer)
    request_ids: Mapped[list] = mapped_column(JSON, default=list)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    actor: Mapped[User] = relationship()


class NumberSequence(db.Model):
    """Counters for human-friendly numbers (``R-2026-00042``); a value is never handed out twice."""

    __tablename__ = "number_sequence"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


def next_number(name: str) -> int:
    """Take the next value of a named counter, safely under concurrency: never one value twice.

    On PostgreSQL the counter moves in a transaction of its own, committed at once, so its
    row is locked for that moment only. In the caller's transaction the lock was held until
    the caller committed: every shop's portal submissions take a request number, and they
    queued behind each other for the whole of each submission. A value taken by a
    transaction that then rolls back is skipped, as a database sequence skips it. On SQLite,
    one writer at a time, the counter moves in the caller's transaction (a second connection
    would wait for the caller's own write lock).
    """
    if on_postgresql():
        with db.engine.begin() as connection:
            return _bump(connection, name)
    return _bump(db.session.connection(), name)


def _bump(connection: Connection, name: str) -> int:
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = insert(NumberSequence).values(name=name, last_value=1)
    statement = statement.on_conflict_do_update(
        index_elements=[NumberSequence.name],
        set_={"last_value": NumberSequence.last_value + 1},
    ).returning(NumberSequence.last_value)
    return connection.execute(statement).scalar_one()


def next_request_number(year: int | None = None) -> str:
    year = year or utcnow().year
    return f"R-{year}-{next_number(f'request-{year}'):05d}"


def users_of_shop(shop_id: int) -> list[User]:
    return list(
        db.session.scalars(
            select(User).join(Membership).where(Membership.shop_id == shop_id).order_by(User.name)
        )
    )


class ApiKey(Timestamped, db.Model):
    """A shop's key to the REST API. Only the sha256 of the key is stored; ``prefix`` names it."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    shop: Mapped[Shop] = relationship()
    created_by: Mapped[User | None] = relationship()

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class IdempotencyKey(Timestamped, db.Model):
    """The first response to a POST sent with an ``Idempotency-Key``, replayed on retries.

    ``fingerprint`` is the sha256 of the method, path and canonical JSON body: a retry must
    send the same request, a different one under the same key is refused.
    """

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("shop_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"))
    key: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    fingerprint: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[dict] = mapped_column(JSON)


class WebhookEndpoint(Timestamped, db.Model):
    """A URL of the shop that receives the chosen events, signed with ``secret``."""

    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(100), default=new_token)
    events: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    shop: Mapped[Shop] = relationship()

    def __str__(self) -> str:
        return self.url


# A webhook delivery's progress (``WebhookDelivery.status``); "skipped" when the endpoint was
# switched off before it went.
WEBHOOK_DELIVERY_STATUSES = ("pending", "sending", "delivered", "failed", "skipped")


class WebhookDelivery(Timestamped, db.Model):
    """The outbox row of one event for one endpoint; ``services.outbox.deliver_webhook`` posts it."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoint.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the payload was emptied (``services.retention``, 90 days on).
    trimmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    endpoint: Mapped[WebhookEndpoint] = relationship()


class ScheduledErasure(Timestamped, db.Model):
    """A customer to erase once their returns have settled (``services.customer_erasure``).

    An erasure is refused while a return is under way; an admin may ask for it to happen when
    it settles. The sweeper erases the customer then, sets ``done_at`` and replaces ``email``.
    """

    __tablename__ = "scheduled_erasure"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    requested_by_label: Mapped[str | None] = mapped_column(String(200))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)

    requested_by: Mapped[User | None] = relationship()


class RetentionRun(db.Model):
    """One run of the daily retention job (``services.retention.run``): when, and what it did.

    ``finished_at`` is empty while it runs, or when it stopped half-way (the next run resumes;
    ``services.retention.last_run`` tells the two apart by the job's time limit).
    """

    __tablename__ = "retention_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    files_deleted: Mapped[int] = mapped_column(Integer, default=0)
    requests_anonymised: Mapped[int] = mapped_column(Integer, default=0)
    bodies_trimmed: Mapped[int] = mapped_column(Integer, default=0)
    notifications_deleted: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class DashboardDay(db.Model):
    """A dashboard figure counted for one shop and one UTC day: ``figure`` names what is
    counted, ``key`` which kind (a reason id, a resolution, a SKU …; "" when there is one).

    Written only by the recount (``services/dashboard_recount.py``) of the days a commit
    marked in ``dashboard_dirty``; the dashboard sums it over its period.
    """

    __tablename__ = "dashboard_day"
    # The period's rows are read from the key alone (an index-only scan on PostgreSQL).
    __table_args__ = (
        PrimaryKeyConstraint("shop_id", "figure", "day", "key", postgresql_include=["count"]),
    )

    shop_id: Mapped[int] = mapped_column(
        ForeignKey("shop.id", ondelete="CASCADE"), primary_key=True
    )
    figure: Mapped[str] = mapped_column(String(20), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class RequestTiming(db.Model):
    """A request's first decision and first return label, with the seconds each took (from
    submission; from the approval before the label), for the dashboard's percentiles, which
    cannot be summed per day. Only decided or labelled requests have a row."""

    __tablename__ = "request_timing"
    __table_args__ = (
        Index("ix_request_timing_decided", "shop_id", "decided_at", "decision_seconds"),
        Index("ix_request_timing_labelled", "shop_id", "labelled_at", "label_seconds"),
    )

    request_id: Mapped[int] = mapped_column(
        ForeignKey("return_request.id", ondelete="CASCADE"), primary_key=True
    )
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id", ondelete="CASCADE"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_seconds: Mapped[float | None] = mapped_column(Float)
    labelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    label_seconds: Mapped[float | None] = mapped_column(Float)


# A mark's id: a bigint on PostgreSQL (marks come and go by the million), SQLite's rowid there.
MARK_ID = BigInteger().with_variant(Integer, "sqlite")


class DashboardDirty(db.Model):
    """A mark that a commit made a shop's UTC day's ``dashboard_day`` rows stale.

    Append-only: every commit inserts its own row (no key to conflict on), so concurrent
    commits marking the same day never wait for each other; a day may have many rows. A
    recount deletes exactly the rows it read, and a mark committed meanwhile stays.
    """

    __tablename__ = "dashboard_dirty"
    # The recount reads a shop's marked days (in a period, for the dashboard's read).
    __table_args__ = (Index("ix_dashboard_dirty_shop_day", "shop_id", "day"),)

    id: Mapped[int] = mapped_column(MARK_ID, primary_key=True)
    shop_id: Mapped[int] = mapped_column(Integer)
    day: Mapped[date] = mapped_column(Date)
    marked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DashboardDirtyRequest(db.Model):
    """A mark that a commit made a request's ``request_timing`` row stale, append-only as
    ``DashboardDirty`` (no foreign key: a deleted request's mark removes its row)."""

    __tablename__ = "dashboard_dirty_request"

    id: Mapped[int] = mapped_column(MARK_ID, primary_key=True)
    request_id: Mapped[int] = mapped_column(Integer)
    shop_id: Mapped[int] = mapped_column(Integer, index=True)
    marked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
