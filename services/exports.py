"""Lists as CSV or Excel downloads, streamed: a long list is never held in memory whole.

A list view exports exactly what it shows: ``filtered_query(view)`` is the view's own query
with its current filters, search and sort (already limited to the user's shops by
``ShopScopedView``), read in batches. ``export_response`` streams any rows with any columns;
``export_view`` does both for a Flask-Admin list in one call (see RequestView.export).
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from flask import Response, abort, stream_with_context
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from sqlalchemy import select

from domain.statuses import (
    CONDITION_LABELS,
    DISPOSITION_LABELS,
    REFUND_CHOICE_LABELS,
    RESOLUTION_LABELS,
    STATUS_LABELS,
)
from extensions import db
from models import (
    OrderLine,
    Return,
    ReturnRequest,
    ReturnRequestLine,
    customer_has_replied,
    utcnow,
)
from services import request_list

BATCH = 1000
SPREADSHEET_TYPES = (str, int, float, Decimal, date, bool)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class Column:
    """One exported column: its header (in the reader's language) and how to read a row."""

    header: str
    value: Callable[[object], object]


def filtered_query(view):
    """The view's list query with its current filters, search and sort, without paging."""
    args = view._get_list_extra_args()
    # ``sort`` is a column's place in the list, as in the list's own ``index_view``.
    sorted_by = view._get_column_by_idx(args.sort)
    sort_column = sorted_by[0] if sorted_by is not None else None
    _count, query = view.get_list(
        0, sort_column, args.sort_desc, args.search, args.filters, page_size=None, execute=False
    )
    return query.limit(None).offset(None)


def model_columns(view) -> list[Column]:
    """The view's list columns and headers, reading each as a plain attribute."""
    return [Column(str(label), _attribute_reader(name)) for name, label in view.get_list_columns()]


def _attribute_reader(name: str) -> Callable[[object], object]:
    """Reads the attribute ``name`` itself (a dotted name is not followed)."""
    return lambda row: getattr(row, name)


def export_view(view, fmt: str, name: str, columns: list[Column] | None = None) -> Response:
    """Stream a Flask-Admin list as it is filtered now (e.g. ``/returns/export/xlsx?flt…``)."""
    rows = filtered_query(view).yield_per(BATCH)
    return export_response(fmt, columns or model_columns(view), rows, name)


def export_response(fmt: str, columns: list[Column], rows: Iterable, name: str) -> Response:
    """A download of ``rows`` as CSV or XLSX; ``rows`` should be lazy (``yield_per``)."""
    if fmt not in MIMETYPES:
        abort(404)
    columns = [Column(str(column.header), column.value) for column in columns]
    chunks = csv_chunks(columns, rows) if fmt == "csv" else xlsx_chunks(columns, rows, name)
    filename = f"{name}-{utcnow():%Y-%m-%d}.{fmt}"
    return Response(
        stream_with_context(chunks),
        mimetype=MIMETYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


def neutralise(value: object) -> object:
    """Text a spreadsheet would run as a formula gets a leading apostrophe (CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    return str(neutralise(value))


def csv_chunks(columns: list[Column], rows: Iterable) -> Iterator[bytes]:
    """CSV in UTF-8 with a BOM (so Excel reads accents), a chunk per ``BATCH`` rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([column.header for column in columns])
    for count, row in enumerate(rows, 1):
        writer.writerow([csv_text(column.value(row)) for column in columns])
        if count % BATCH == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def xlsx_cell(sheet, value: object):
    """A cell value for openpyxl; text is always stored as text, never as a formula."""
    if value is not None and not isinstance(value, SPREADSHEET_TYPES):
        value = str(value)  # e.g. a related row, shown as the list shows it
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, str) and value.startswith("="):
        cell = WriteOnlyCell(sheet, value)
        cell.data_type = "s"
        return cell
    return value


def xlsx_chunks(columns: list[Column], rows: Iterable, title: str) -> Iterator[bytes]:
    """An Excel workbook written row by row (write-only) to a temp file, then streamed."""
    with tempfile.TemporaryFile() as spool:
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(title[:31])
        sheet.append([column.header for column in columns])
        for row in rows:
            sheet.append([xlsx_cell(sheet, column.value(row)) for column in columns])
        workbook.save(spool)
        spool.seek(0)
        while chunk := spool.read(64 * 1024):
            yield chunk


# The Requests list.


def request_rows(query):
    """The Requests list's columns (``request_list.listed_query``), read in batches."""
    return request_list.listed_query(query).yield_per(BATCH)


def request_columns(view, language: str) -> list[Column]:
    """The Requests list's columns in its order, with its headers, as plain values."""
    statuses = {key: str(label) for key, label in STATUS_LABELS.items()}
    resolutions = {key: str(label) for key, label in RESOLUTION_LABELS.items()}
    yes = _("yes")

    def status(row) -> str:
        text = statuses.get(row.status, row.status)
        stage = row.stage_nl if language == "nl" else row.stage_en
        return f"{text} ({stage})" if stage else text

    def customer_replied(row) -> str:
        return yes if customer_has_replied(row.last_inbound_at, row.last_outbound_at) else ""

    values = {
        "number": lambda row: row.number,
        "created_at": lambda row: row.created_at,
        "customer_name": lambda row: row.customer_name,
        "order_number": lambda row: row.order_number,
        "item_count": lambda row: row.item_count,
        "total_cents": lambda row: Decimal(row.total_cents or 0).scaleb(-2),
        "resolution": lambda row: resolutions.get(row.resolution, row.resolution),
        "status": status,
        "held_by": lambda row: row.held_by or "",
        "notice_count": lambda row: row.notice_count,
        "free_shipping": lambda row: yes if row.free_shipping else "",
        "last_inbound_at": customer_replied,
    }
    return [Column(str(view.column_labels[name]), values[name]) for name in view.column_list]


# What came back: one row per received item of the Returns list's returns.


def received_item_rows(return_query):
    """The received lines of the returns ``return_query`` selects, read in batches."""
    returns = return_query.order_by(None).with_entities(Return.id).subquery()
    return (
        db.session.query(
            Return.number.label("return_number"),
            ReturnRequest.number.label("request_number"),
            ReturnRequest.order_number,
            OrderLine.product_name,
            OrderLine.variant,
            OrderLine.sku,
            ReturnRequestLine.received_quantity,
            ReturnRequestLine.condition,
            ReturnRequestLine.disposition,
            ReturnRequestLine.disposition_note,
            ReturnRequestLine.refund_choice,
            ReturnRequestLine.refund_partial_cents,
            ReturnRequestLine.refund_note,
        )
        .join(ReturnRequest, ReturnRequest.id == Return.request_id)
        .join(ReturnRequestLine, ReturnRequestLine.request_id == ReturnRequest.id)
        .join(OrderLine, OrderLine.id == ReturnRequestLine.order_line_id)
        .where(Return.id.in_(select(returns.c.id)), ReturnRequestLine.condition.is_not(None))
        .order_by(Return.id, ReturnRequestLine.id)
        .yield_per(BATCH)
    )


def received_item_columns() -> list[Column]:
    """What was found in each parcel, what becomes of it and what is paid for it, in the
    reader's words."""
    conditions = {key: str(label) for key, label in CONDITION_LABELS.items()}
    dispositions = {key: str(label) for key, label in DISPOSITION_LABELS.items()}
    refund_choices = {key: str(label) for key, label in REFUND_CHOICE_LABELS.items()}
    read = _attribute_reader
    return [
        Column(_("Return"), read("return_number")),
        Column(_("Request"), read("request_number")),
        Column(_("Order number"), read("order_number")),
        Column(_("Product"), read("product_name")),
        Column(_("Variant"), _words("variant", {})),
        Column(_("SKU"), read("sku")),
        Column(_("Received quantity"), read("received_quantity")),
        Column(_("Condition"), _words("condition", conditions)),
        Column(_("What becomes of it"), _words("disposition", dispositions)),
        Column(_("Why"), _words("disposition_note", {})),
        Column(_("What is paid"), _words("refund_choice", refund_choices)),
        Column(_("Partial amount"), _partial_amount),
        Column(_("Note to the customer"), _words("refund_note", {})),
    ]


def _partial_amount(row: Any) -> Decimal | str:
    """A partial refund's amount in euros (a number in a spreadsheet), else empty."""
    cents = row.refund_partial_cents
    return "" if cents is None else Decimal(cents).scaleb(-2)


def _words(name: str, words: dict[str, str]) -> Callable[[object], object]:
    """Reads the attribute ``name`` as its words (itself without words; empty for none)."""

    def value(row: object) -> str:
        code = getattr(row, name)
        return words.get(code, code) if code else ""

    return value
