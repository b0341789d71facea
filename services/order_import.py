"""Orders in: the order data shape, CSV parsing with errors per row, and the set-based upsert.

The API (one order at a time) and the CSV import (admin upload, ``flask orders import``) share
``OrderData`` and ``upsert_orders()``. An order is matched by its number within the shop; its
lines are matched by SKU and variant, so a line a return request points to keeps its id.

CSV columns, one row per order line (header required, UTF-8, comma or semicolon separated):
``order_number, ordered_at, delivered_at, customer_name, customer_email, customer_postcode,
customer_country, customer_language, sku, product_name, variant, quantity, unit_price,
discount, image_url``, and optionally ``tags`` (comma separated, e.g. ``final-sale,hygiene``)
and ``returnable`` (``yes``/``no``; the platform's own flag), ``variant_options`` (``S|M|L``) and
``mollie_payment_id`` (``tr_…``, the Mollie payment the order was paid with; the same on every
row of the order). Dates are ISO 8601 (``2026-03-01`` or ``2026-03-01T14:30:00+01:00``;
without a zone they are UTC); ``delivered_at``, ``customer_postcode``, ``variant``,
``discount`` and ``image_url`` may be empty; prices are in the shop's currency with a
decimal point (``12.95``). ``unit_price`` is per item; ``discount`` is for the whole line.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, TextIO

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)
from sqlalchemy import delete, insert, select, update

from domain import dashboard_marks, returnability
from domain.product_images import WEB_ADDRESS_PATTERN
from extensions import db
from models import Order, OrderLine, ReturnRequestLine

CSV_COLUMNS = (
    "order_number",
    "ordered_at",
    "delivered_at",
    "customer_name",
    "customer_email",
    "customer_postcode",
    "customer_country",
    "customer_language",
    "sku",
    "product_name",
    "variant",
    "quantity",
    "unit_price",
    "discount",
    "image_url",
    "tags",
    "returnable",
    "variant_options",
    "mollie_payment_id",
)
# Columns a file may leave out altogether (older exports): the line is returnable, untagged,
# without variants to pick from; the order keeps the Mollie payment it has, if any.
OMISSIBLE_COLUMNS = ("tags", "returnable", "variant_options", "mollie_payment_id")
# Between the variants of ``variant_options`` in a CSV cell: "S|M|L".
OPTION_SEPARATOR = "|"
OPTIONAL_COLUMNS = {
    "delivered_at",
    "customer_postcode",
    "variant",
    "discount",
    "image_url",
    *OMISSIBLE_COLUMNS,
}
ORDER_COLUMNS = (*CSV_COLUMNS[:8], "mollie_payment_id")
BATCH_SIZE = 1000
# Explicit characters, not \s: JSON Schema (ECMA) and Python disagree on what \s matches.
EMAIL_PATTERN = r"^[^@ \t\r\n\x00]+@[^@ \t\r\n\x00]+\.[^@ \t\r\n\x00]+$"

NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL


def text_limits(max_length: int, min_length: int = 0) -> Any:
    """The ``Field`` of a text of this length that PostgreSQL can store."""
    return Field(min_length=min_length, max_length=max_length, pattern=NO_NUL)


def text(max_length: int, min_length: int = 0) -> Any:
    return Annotated[str, text_limits(max_length, min_length)]


def whole_float_as_int(value: Any) -> Any:
    """JSON Schema counts 3.0 as an integer; strict pydantic would not."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def Whole(low: int, high: int) -> Any:
    return Annotated[int, Field(ge=low, le=high), BeforeValidator(whole_float_as_int)]


# Written out rather than made by text() and Whole(), so that type checkers read them as types.
Text64 = Annotated[str, text_limits(64, 1)]
Text200 = Annotated[str, text_limits(200, 1)]
Postcode = Annotated[str, text_limits(20)]
Street = Annotated[str, text_limits(200)]
City = Annotated[str, text_limits(100)]
Variant = Annotated[str, text_limits(120)]
Quantity = Annotated[int, Field(ge=1, le=100_000), BeforeValidator(whole_float_as_int)]
Cents = Annotated[int, Field(ge=0, le=100_000_000), BeforeValidator(whole_float_as_int)]
Email = Annotated[str, Field(max_length=254, pattern=EMAIL_PATTERN)]
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]
Language = Literal["nl", "en"]
Url = Annotated[str, Field(max_length=500, pattern=WEB_ADDRESS_PATTERN)]
Tag = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[^,\x00]+$")]
MolliePaymentId = Annotated[
    str,
    Field(
        max_length=64,
        pattern=r"^tr_[A-Za-z0-9]+$",
        description="The Mollie payment (tr_…) the order was paid with: refunds go through it",
    ),
]


def as_utc(value: datetime | None) -> datetime | None:
    """Dates without a zone are taken as UTC; all are stored in UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("date is outside the supported range") from None


class OrderLineData(BaseModel):
    """One line of an order: what was sold, how many, at what price (in cents).

    Strict: validated from JSON, so ``"2"`` or ``false`` is not a number here."""

    model_config = ConfigDict(extra="forbid", strict=True)

    sku: Text64
    product_name: Text200
    variant: Variant | None = None
    quantity: Quantity = 1
    unit_price_cents: Cents
    discount_cents: Cents = 0
    image_url: Url | None = None
    tags: Annotated[list[Tag], Field(max_length=20)] = Field(
        default_factory=list, description="The platform's tags, matched by returnability rules"
    )
    returnable: bool = Field(True, description="false: the platform marks it not returnable")
    variant_options: Annotated[list[Variant], Field(max_length=50)] = Field(
        default_factory=list,
        description="The product's variants (sizes, colours) a customer may pick in an exchange",
    )


class OrderData(BaseModel):
    """An order to create, or to update when the shop already has an order with this number."""

    model_config = ConfigDict(extra="forbid", strict=True)

    number: Text64
    customer_name: Text200
    customer_email: Email
    customer_postcode: Postcode | None = None
    customer_street: Street | None = None
    customer_city: City | None = None
    customer_country: Country = "NL"
    customer_language: Language = "nl"
    ordered_at: AwareDatetime
    delivered_at: AwareDatetime | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "EUR"
    mollie_payment_id: MolliePaymentId | None = None
    lines: Annotated[list[OrderLineData], Field(min_length=1, max_length=1000)]

    _utc = field_validator("ordered_at", "delivered_at")(as_utc)


class CsvRow(BaseModel):
    """One CSV row as text, checked and converted; blank optional cells become ``None``."""

    model_config = ConfigDict(str_strip_whitespace=True)

    order_number: Text64
    ordered_at: datetime
    delivered_at: datetime | None = None
    customer_name: Text200
    customer_email: Email
    customer_postcode: Annotated[str, Field(max_length=20)] | None = None
    customer_country: Country
    customer_language: Language
    sku: Text64
    product_name: Text200
    variant: Annotated[str, Field(max_length=120)] | None = None
    quantity: Annotated[int, Field(ge=1, le=100_000)]
    unit_price: Annotated[Decimal, Field(ge=0, le=1_000_000, decimal_places=2)]
    discount: Annotated[Decimal, Field(ge=0, le=1_000_000, decimal_places=2)] | None = None
    image_url: Url | None = None
    tags: Annotated[str, Field(max_length=500)] | None = None
    returnable: bool | None = None
    variant_options: Annotated[str, Field(max_length=2000)] | None = None
    mollie_payment_id: MolliePaymentId | None = None

    @field_validator(*OPTIONAL_COLUMNS, mode="before")
    @classmethod
    def _blank_is_none(cls, value):
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("customer_country", mode="before")
    @classmethod
    def _upper(cls, value):
        return value.strip().upper() if isinstance(value, str) else value

    _utc = field_validator("ordered_at", "delivered_at")(as_utc)

    def order_fields(self) -> tuple:
        return tuple(getattr(self, name) for name in ORDER_COLUMNS)

    def line(self) -> OrderLineData:
        return OrderLineData.model_construct(
            sku=self.sku,
            product_name=self.product_name,
            variant=self.variant,
            quantity=self.quantity,
            unit_price_cents=int(self.unit_price * 100),
            discount_cents=int((self.discount or 0) * 100),
            image_url=self.image_url,
            tags=[tag.strip() for tag in (self.tags or "").split(",") if tag.strip()],
            returnable=self.returnable is not False,
            variant_options=[
                option.strip()
                for option in (self.variant_options or "").split(OPTION_SEPARATOR)
                if option.strip()
            ],
        )


@dataclass
class RowError:
    """What is wrong with one CSV row; ``line`` is the line number in the file (header is 1)."""

    line: int
    order_number: str
    problems: list[tuple[str, str]]


@dataclass
class ParsedImport:
    """A checked CSV file: the valid orders, and the errors of the rows that are not."""

    orders: list[OrderData] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    row_count: int = 0
    skipped_orders: set[str] = field(default_factory=set)

    @property
    def line_count(self) -> int:
        return sum(len(order.lines) for order in self.orders)


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0


def parse_csv(stream: TextIO) -> ParsedImport:
    """Read and check a CSV file; an order with any bad row is skipped as a whole."""
    parsed = ParsedImport()
    reader = csv.DictReader(stream, dialect=_sniff(stream))
    missing = [
        c for c in CSV_COLUMNS if c not in (reader.fieldnames or []) and c not in OMISSIBLE_COLUMNS
    ]
    if missing:
        parsed.errors.append(RowError(1, "", [(c, "missing column") for c in missing]))
        return parsed
    rows_by_order: dict[str, list[CsvRow]] = defaultdict(list)
    for line_number, raw in enumerate(reader, start=2):
        parsed.row_count += 1
        row, problems = _check_row({c: raw.get(c) or "" for c in CSV_COLUMNS}, rows_by_order)
        number = (raw.get("order_number") or "").strip()
        if row is None:
            parsed.errors.append(RowError(line_number, number, problems))
            parsed.skipped_orders.add(number)
        else:
            rows_by_order[number].append(row)
    parsed.orders = [
        _order_from_rows(rows)
        for number, rows in rows_by_order.items()
        if number not in parsed.skipped_orders
    ]
    return parsed


def _sniff(stream: TextIO) -> type[csv.Dialect] | str:
    sample = stream.read(4096)
    stream.seek(0)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;")
    except csv.Error:
        return "excel"


def _check_row(
    raw: dict[str, str], rows_by_order: dict[str, list[CsvRow]]
) -> tuple[CsvRow | None, list[tuple[str, str]]]:
    """The checked row and no problems, or ``None`` and what is wrong with it."""
    try:
        row = CsvRow.model_validate(raw)
    except ValidationError as error:
        return None, [(str(e["loc"][0]), e["msg"]) for e in error.errors()]
    earlier = rows_by_order.get(row.order_number)
    if earlier and earlier[0].order_fields() != row.order_fields():
        changed = [
            name
            for name, a, b in zip(
                ORDER_COLUMNS, earlier[0].order_fields(), row.order_fields(), strict=True
            )
            if a != b
        ]
        return None, [(name, "differs from the order's first row") for name in changed]
    return row, []


def _order_from_rows(rows: list[CsvRow]) -> OrderData:
    first = rows[0]
    return OrderData.model_construct(
        number=first.order_number,
        customer_name=first.customer_name,
        customer_email=first.customer_email,
        customer_postcode=first.customer_postcode,
        customer_street=None,
        customer_city=None,
        customer_country=first.customer_country,
        customer_language=first.customer_language,
        ordered_at=first.ordered_at,
        delivered_at=first.delivered_at,
        currency=None,
        mollie_payment_id=first.mollie_payment_id,
        lines=[row.line() for row in rows],
    )


def parse_csv_bytes(data: bytes) -> ParsedImport:
    """``parse_csv`` of an uploaded file (UTF-8, with or without byte order mark)."""
    return parse_csv(io.StringIO(data.decode("utf-8-sig"), newline=""))


def existing_order_numbers(shop_id: int, numbers: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for batch in _chunks(list(numbers), BATCH_SIZE):
        found.update(
            db.session.scalars(
                select(Order.number).where(Order.shop_id == shop_id, Order.number.in_(batch))
            )
        )
    return found


def upsert_orders(shop_id: int, orders: list[OrderData]) -> ImportResult:
    """Create or update ``orders`` in batches of set-based statements; the caller commits."""
    orders = list({order.number: order for order in orders}.values())
    existing = _existing_order_ids(shop_id, [order.number for order in orders])
    result = ImportResult()
    for index, batch in enumerate(_chunks(orders, BATCH_SIZE)):
        created, updated = _upsert_batch(shop_id, batch, existing)
        result.created += created
        result.updated += updated
        if index == 0 and len(orders) > BATCH_SIZE:
            _refresh_statistics()
    return result


def _refresh_statistics() -> None:
    """Let PostgreSQL see that the order tables are no longer empty.

    Its foreign-key checks keep the plan made when ``order`` looked empty: a sequential
    scan per inserted line, which made a first import of 100,000 lines several times
    slower. ANALYZE after the first batch gives them index lookups.
    """
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql('ANALYZE "order", order_line')


def _existing_order_ids(shop_id: int, numbers: list[str]) -> dict[str, int]:
    """``{number: id}`` of the shop's orders among ``numbers``.

    A large import reads all of the shop's order numbers in one index scan: one IN-list
    lookup per batch against a table that has just grown can be planned as a sequential
    scan (stale statistics), which made a fresh import on PostgreSQL several times slower.
    """
    query = select(Order.number, Order.id).where(Order.shop_id == shop_id)
    if len(numbers) <= BATCH_SIZE:
        query = query.where(Order.number.in_(numbers))
    wanted = set(numbers)
    return {number: id_ for number, id_ in db.session.execute(query) if number in wanted}


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _order_values(shop_id: int, order: OrderData) -> dict:
    values = {
        "shop_id": shop_id,
        "number": order.number,
        "customer_name": order.customer_name,
        "customer_email": order.customer_email,
        "customer_postcode": order.customer_postcode,
        "customer_country": order.customer_country,
        "customer_language": order.customer_language,
        "ordered_at": order.ordered_at,
        "delivered_at": order.delivered_at,
    }
    # The CSV has no street, city or currency, and may leave the Mollie payment out: an
    # import leaves what the API set.
    for optional in ("customer_street", "customer_city", "currency", "mollie_payment_id"):
        if getattr(order, optional, None) is not None:
            values[optional] = getattr(order, optional)
    return values


def _line_values(order_id: int, line: OrderLineData) -> dict:
    return {
        "order_id": order_id,
        "sku": line.sku,
        "product_name": line.product_name,
        "variant": line.variant,
        "quantity": line.quantity,
        "unit_price_cents": line.unit_price_cents,
        "discount_cents": line.discount_cents,
        "image_url": line.image_url,
        "tags": returnability.normal_tags(line.tags),
        "returnable": line.returnable,
        "variant_options": line.variant_options or None,
    }


def _upsert_batch(
    shop_id: int, batch: list[OrderData], existing: dict[str, int]
) -> tuple[int, int]:
    new = [order for order in batch if order.number not in existing]
    old = [order for order in batch if order.number in existing]
    ids = {order.number: existing[order.number] for order in old}
    # The dashboard counts orders per day: the days the stored orders leave, and (below)
    # the days of every order written, are marked for its recount.
    dashboard_marks.mark_orders(ids.values())
    if new:
        inserted = db.session.execute(
            insert(Order).returning(Order.number, Order.id),
            # Every new row names the Mollie payment, so a file where some orders have one
            # and others not is still one multi-row INSERT.
            [{"mollie_payment_id": None, **_order_values(shop_id, order)} for order in new],
        )
        ids.update(dict(inserted.tuples().all()))
    _update_rows(Order, [{"id": ids[o.number], **_order_values(shop_id, o)} for o in old])
    line_inserts = [_line_values(ids[o.number], line) for o in new for line in o.lines]
    updates, more_inserts, deletes = _plan_line_changes({ids[o.number]: o for o in old})
    _insert_rows(OrderLine, line_inserts + more_inserts)
    _update_rows(OrderLine, updates)
    if deletes:
        db.session.execute(delete(OrderLine).where(OrderLine.id.in_(deletes)))
    dashboard_marks.mark_orders(ids.values())
    return len(new), len(old)


def _insert_rows(model: type[Order] | type[OrderLine], rows: list[dict]) -> None:
    """Insert many rows without reading anything back: COPY on PostgreSQL, else executemany.

    Only for tables whose columns all come in ``rows`` (COPY skips Python-side defaults).
    """
    if not rows:
        return
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        db.session.execute(insert(model), rows)
        return
    _copy(connection, connection.dialect.identifier_preparer.format_table(model.__table__), rows)


def _update_rows(model: type[Order] | type[OrderLine], rows: list[dict]) -> None:
    """Update many rows by ``id``. On PostgreSQL one UPDATE ... FROM a temporary table
    filled by COPY per set of columns; elsewhere executemany (fast enough in-process)."""
    if not rows:
        return
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        db.session.execute(update(model), rows)
        return
    quote = connection.dialect.identifier_preparer.quote
    table = connection.dialect.identifier_preparer.format_table(model.__table__)
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        groups[tuple(row)].append(row)
    for columns, group in groups.items():
        names = ", ".join(quote(c) for c in columns)
        sets = ", ".join(f"{quote(c)} = t.{quote(c)}" for c in columns if c != "id")
        connection.exec_driver_sql(
            f"CREATE TEMPORARY TABLE import_rows AS SELECT {names} FROM {table} WITH NO DATA"  # noqa: S608 - names from the code, quoted
        )
        _copy(connection, "import_rows", group)
        connection.exec_driver_sql(
            f"UPDATE {table} SET {sets} FROM import_rows t WHERE {table}.id = t.id"  # noqa: S608 - names from the code, quoted
        )
        connection.exec_driver_sql("DROP TABLE import_rows")


def _copy(connection, table: str, rows: list[dict]) -> None:
    columns = list(rows[0])
    quote = connection.dialect.identifier_preparer.quote
    statement = f"COPY {table} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    with connection.connection.driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([copy_value(row[c]) for c in columns])


def copy_value(value: Any) -> Any:
    """A value as COPY takes it: a JSON column's list or object as JSON text (COPY would
    write a Python list as a PostgreSQL array)."""
    return json.dumps(value) if isinstance(value, list | dict) else value


def _plan_line_changes(
    orders_by_id: dict[int, OrderData],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[int]]:
    """Match new lines to stored ones by (sku, variant, occurrence); returns the updates,
    inserts and deletes. A stored line a return request points to is never deleted."""
    if not orders_by_id:
        return [], [], []
    stored: dict[int, dict[tuple, int]] = defaultdict(dict)
    seen: Counter = Counter()
    for line_id, order_id, sku, variant in db.session.execute(
        select(OrderLine.id, OrderLine.order_id, OrderLine.sku, OrderLine.variant)
        .where(OrderLine.order_id.in_(list(orders_by_id)))
        .order_by(OrderLine.id)
    ):
        seen[(order_id, sku, variant)] += 1
        stored[order_id][(sku, variant, seen[(order_id, sku, variant)])] = line_id
    referenced = set(
        db.session.scalars(
            select(ReturnRequestLine.order_line_id)
            .join(OrderLine, OrderLine.id == ReturnRequestLine.order_line_id)
            .where(OrderLine.order_id.in_(list(orders_by_id)))
        )
    )
    updates: list[dict[str, Any]] = []
    inserts: list[dict[str, Any]] = []
    deletes: list[int] = []
    for order_id, order in orders_by_id.items():
        keep = stored[order_id]
        occurrences: Counter = Counter()
        for line in order.lines:
            occurrences[(line.sku, line.variant)] += 1
            key = (line.sku, line.variant, occurrences[(line.sku, line.variant)])
            values = _line_values(order_id, line)
            if key in keep:
                updates.append({"id": keep.pop(key), **values})
            else:
                inserts.append(values)
        deletes.extend(line_id for line_id in keep.values() if line_id not in referenced)
    return updates, inserts, deletes


def import_csv(shop_id: int, stream: TextIO) -> tuple[ParsedImport, ImportResult]:
    """Parse and upsert a CSV file's valid orders; the caller commits."""
    parsed = parse_csv(stream)
    return parsed, upsert_orders(shop_id, parsed.orders)
