"""Whole numbers a request carries (URL path, query string, form), read in one way: ASCII
digits within the range of the database's integer columns.

Every id and count column is a 32-bit ``integer`` in PostgreSQL, which answers a larger number
with an error, and SQLite's driver cannot send one past 2**63. ``str.isdigit()`` says yes to
"²", which ``int()`` refuses, and ``int()`` takes underscores, spaces and other scripts' digits.
A number out of range is "not found" (404) in a path, "bad request" (400) in a query and
left out of a list of ids; never a 500.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter, Map

MAX_INT = 2**31 - 1  # PostgreSQL's integer: every id and count column
WHOLE_NUMBER = re.compile(r"-?[0-9]{1,19}")


def parse_int(text: object, minimum: int = 0, maximum: int = MAX_INT) -> int | None:
    """``text`` (spaces around it allowed) as an int from ``minimum`` to ``maximum``, else None."""
    if not isinstance(text, str | int) or not WHOLE_NUMBER.fullmatch(str(text).strip()):
        return None
    number = int(text)
    return number if minimum <= number <= maximum else None


# An amount of money as staff type it: "12", "12,50", "12.5" or "€ 12,50".
AMOUNT = re.compile(r"(?:€\s*)?([0-9]{1,7})(?:[.,]([0-9]{1,2}))?")


def parse_cents(text: object) -> int | None:
    """An amount typed as euros (a comma or a point before the cents) as whole cents, else None."""
    match = AMOUNT.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        return None
    euros, cents = match.groups()
    return int(euros) * 100 + int((cents or "0").ljust(2, "0"))


def parse_ids(values: str | Iterable[object]) -> list[int]:
    """Row ids from a comma-separated string or a list (a form's ticked rows); anything that
    cannot be a row id is left out."""
    items = values.split(",") if isinstance(values, str) else values
    return [number for item in items if (number := parse_int(item, minimum=1)) is not None]


def query_int(name: str, default: int, minimum: int = 0, maximum: int = MAX_INT) -> int:
    """The query string's ``name`` as a whole number in range, ``default`` when absent; any
    other value is a 400."""
    text = request.args.get(name)
    if text is None:
        return default
    number = parse_int(text, minimum, maximum)
    if number is None:
        abort(400)
    return number


class IdConverter(IntegerConverter):
    """``<int:…>`` in every route: a number the id columns can hold, so a larger one is a
    404 like any other unknown id."""

    regex = r"[0-9]+"

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = MAX_INT,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def bound_url_ints(app: Flask) -> None:
    """Make ``<int:…>`` the bounded converter; call it before any route is added."""
    app.url_map.converters["int"] = IdConverter
