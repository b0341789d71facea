"""Grow a freshly seeded PostgreSQL database k-fold in SQL (``seed.py --grow-from N0``).

``seed.py`` makes every row in Python, which at 10M requests takes over an hour on a small
machine. Growing copies the seeded rows ``copies`` times with ``INSERT … SELECT``, so
PostgreSQL does the work in C. Each copy ``k`` (1 … copies) of a table gets:

- ids offset by ``k × max(id)`` of the seeded rows, and every foreign key to a copied table
  offset the same way (found in ``pg_constraint``); keys to shops, users, reasons and
  stages stay;
- every date moved ``k × STEP`` earlier; a request moved before the seeded span (``start``,
  ``span``) wraps to its end (with all its rows), so each copy covers the same span and
  nothing lands after the seed's "now";
- fresh unique values: request numbers continue each year's counter (``number_sequence``
  is set past them, so requests made later do not collide), order numbers continue the
  shop's range, the customer's email gets a tag (``name+k@domain``: an exact email search
  finds one customer's requests), new public tokens, submission keys and return numbers;
- the big shop's concept requests become new requests in as many copies as it takes to leave
  the big shop the concept requests a seed of the whole size would give it
  (``concept_target``).

Columns come from ``information_schema``, so a column added later is copied as it is; a
unique constraint or index that no rule above makes unique again stops the grow, and so
does a row in another table that points at a copied one. All of it runs in one transaction:
the copied tables' constraints and indexes are dropped first and rebuilt (and the foreign
keys validated) at the end, as ``pg_restore`` does, so a failed grow leaves the seeded
database as it was.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.engine import Connection

# How much earlier each further copy lies: small, so copies interleave within the span.
STEP = timedelta(minutes=53)
# Concept requests converted per mille in each copy: hashed on the request id, so the request
# and its audit trail agree without a join to the request.
CONVERT_HASH = "mod({id} * 2654435761 + {k} * 7919, 1000) < {permille}"


@dataclass
class Plan:
    """What the grow needs to know about the seeded tables."""

    tables: list[str]
    # The seeded dates lie in [start, start + span): copies wrap inside it.
    start: datetime
    span: timedelta
    big_shop_id: int
    concept_target: int
    max_id: dict[str, int] = field(default_factory=dict)
    # Pages of each table before the grow: the copies read only these (a TID range scan).
    pages: dict[str, int] = field(default_factory=dict)
    columns: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # (table, column) -> the copied table its foreign key points at.
    offsets: dict[tuple[str, str], str] = field(default_factory=dict)
    convert_permille: int = 0


def q(name: str) -> str:
    return f'"{name}"'


def padded(value: str, width: int) -> str:
    """``value`` zero-padded to at least ``width`` digits, as Python's ``:0{width}d``."""
    return f"lpad(({value})::text, greatest({width}, length(({value})::text)), '0')"


def tagged_email(column: str, k: int) -> str:
    return f"split_part({column}, '@', 1) || '+{k}@' || split_part({column}, '@', 2)"


def continued_order_number(column: str, k: int) -> str:
    """Order ``SS100000+i`` of a shop with ``n`` orders becomes ``SS100000+i+k·n``."""
    prefix = padded("t.shop_id", 2)
    rest = f"substring({column} from length({prefix}) + 1)::bigint + {k} * t.grow_shop_orders"
    return f"{prefix} || ({rest})::text"


def rewrites(plan: Plan, table: str, k: int) -> dict[str, str]:
    """Columns whose copies are not the original value (plus the offset keys and dates)."""
    new_id = f"(t.id + {k * plan.max_id[table]})"
    converted = CONVERT_HASH.format(id="t.id", k=k, permille=plan.convert_permille)
    to_new = f"t.id IN (SELECT request_id FROM grow_concept) AND {converted}"
    rules = {
        "order": {
            "number": continued_order_number("t.number", k),
            "customer_email": tagged_email("t.customer_email", k),
        },
        "return_request": {
            "number": f"'R-' || t.grow_year || '-' || {padded('t.grow_seq', 5)}",
            "order_number": continued_order_number("t.order_number", k),
            "customer_email": tagged_email("t.customer_email", k),
            "public_token": f"md5(t.public_token || '/{k}')",
            "submission_key": f"md5(t.submission_key || '/{k}')",
            "status": f"CASE WHEN {to_new} THEN 'new' ELSE t.status END",
            "version": f"CASE WHEN {to_new} THEN 1 ELSE t.version END",
        },
        "return": {
            "number": f"'RT-' || {padded(new_id, 7)}",
            "tracking_number": f"'3S' || {padded(new_id, 10)}",
        },
    }
    return rules.get(table, {})


def inspect(conn: Connection, plan: Plan) -> None:
    """Columns, foreign keys and id ranges of the copied tables; refuse what would break."""
    for table in plan.tables:
        plan.columns[table] = [
            (name, kind)
            for name, kind in conn.execute(
                text(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = 'public' AND table_name = :t ORDER BY ordinal_position"
                ),
                {"t": table},
            )
        ]
        plan.max_id[table] = conn.scalar(text(f"SELECT coalesce(max(id), 0) FROM {q(table)}"))
        plan.pages[table] = conn.scalar(
            text(f"SELECT pg_relation_size('{q(table)}') / current_setting('block_size')::int")
        )
    foreign_keys = conn.execute(
        text(
            "SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text "
            "FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid "
            "AND a.attnum = c.conkey[1] WHERE c.contype = 'f'"
        )
    ).all()
    copied = {q(t): t for t in plan.tables} | {t: t for t in plan.tables}
    for source, column, target in foreign_keys:
        if target not in copied:
            continue
        if source not in copied:
            rows = conn.scalar(text(f"SELECT count(*) FROM {source}"))
            if rows:
                raise SystemExit(f"grow: {source} has {rows} rows pointing at {target}")
            continue
        plan.offsets[(copied[source], column)] = copied[target]
    check_unique(conn, plan)


def check_unique(conn: Connection, plan: Plan) -> None:
    """Every unique index of a copied table must include a column the copy changes."""
    indexes = conn.execute(
        text(
            "SELECT i.indrelid::regclass::text, i.indexrelid::regclass::text, "
            "array(SELECT a.attname FROM pg_attribute a WHERE a.attrelid = i.indrelid "
            "AND a.attnum = ANY(i.indkey)) FROM pg_index i WHERE i.indisunique"
        )
    ).all()
    copied = {q(t): t for t in plan.tables} | {t: t for t in plan.tables}
    for relation, index, columns in indexes:
        table = copied.get(relation)
        if table is None:
            continue
        changed = {"id"} | set(rewrites(plan, table, 1)) - {"status", "version"}
        changed |= {c for (t, c) in plan.offsets if t == table}
        if not changed & set(columns):
            raise SystemExit(f"grow: unique index {index} ({', '.join(columns)}) would repeat")


def drop_constraints_and_indexes(conn: Connection, plan: Plan) -> list[str]:
    """Drop the copied tables' keys, foreign keys (also those pointing at them) and indexes.

    Returns the statements that recreate them: keys first, then indexes, then foreign keys.
    """
    names = [q(t) for t in plan.tables]
    keys = conn.execute(
        text(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype "
            "FROM pg_constraint WHERE (contype IN ('p', 'u') AND conrelid = ANY(CAST(:t AS "
            "regclass[]))) OR (contype = 'f' AND (conrelid = ANY(CAST(:t AS regclass[])) "
            "OR confrelid = ANY(CAST(:t AS regclass[]))))"
        ),
        {"t": names},
    ).all()
    indexes = conn.execute(
        text(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid = ANY(CAST(:t AS regclass[])) AND NOT EXISTS (SELECT 1 FROM "
            "pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u'))"
        ),
        {"t": names},
    ).all()
    foreign = [k for k in keys if k[3] == "f"]
    unique = [k for k in keys if k[3] != "f"]
    for relation, name, _definition, _kind in foreign + unique:
        conn.execute(text(f"ALTER TABLE {relation} DROP CONSTRAINT {q(name)}"))
    for name, _definition in indexes:
        conn.execute(text(f"DROP INDEX {name}"))
    return [
        *(f"ALTER TABLE {r} ADD CONSTRAINT {q(n)} {d}" for r, n, d, _ in unique),
        *(definition for _name, definition in indexes),
        *(f"ALTER TABLE {r} ADD CONSTRAINT {q(n)} {d}" for r, n, d, _ in foreign),
    ]


def prepare(conn: Connection, plan: Plan, copies: int) -> None:
    """Helper tables: the requests that wrap, the concept requests, counters, shop sizes."""
    conn.execute(
        text(
            "CREATE TEMP TABLE grow_late ON COMMIT DROP AS SELECT id AS request_id, order_id, "
            "created_at FROM return_request WHERE created_at < :edge"
        ),
        {"edge": plan.start + STEP * copies},
    )
    conn.execute(text("CREATE INDEX ON grow_late (request_id)"))
    conn.execute(text("CREATE INDEX ON grow_late (order_id)"))
    conn.execute(
        text(
            "CREATE TEMP TABLE grow_concept ON COMMIT DROP AS SELECT id AS request_id FROM "
            "return_request WHERE status = 'concept' AND shop_id = :shop"
        ),
        {"shop": plan.big_shop_id},
    )
    conn.execute(
        text(
            "CREATE TEMP TABLE grow_counter ON COMMIT DROP AS SELECT "
            "substring(name from 9)::int AS year, last_value::bigint AS last FROM "
            "number_sequence WHERE name ~ '^request-[0-9]{4}$'"
        )
    )
    conn.execute(text("CREATE UNIQUE INDEX ON grow_counter (year)"))
    conn.execute(
        text(
            "CREATE TEMP TABLE grow_shop ON COMMIT DROP AS SELECT shop_id, count(*) AS orders "
            'FROM "order" GROUP BY shop_id'
        )
    )
    conn.execute(text("ANALYZE grow_late, grow_concept, grow_counter, grow_shop"))
    conn.execute(text("SET LOCAL work_mem = '256MB'"))
    conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))


def source(plan: Plan, table: str, k: int) -> str:
    """The seeded rows of ``table`` with the interval copy ``k`` moves each by (grow_shift)."""
    if table == "return_request":
        key = ("request_id", "src.id")
    elif any(c == "request_id" for c, _ in plan.columns[table]):
        key = ("request_id", "src.request_id")
    elif table == "order":
        key = ("order_id", "src.id")
    else:
        key = ("order_id", "src.order_id")
    back = f"interval '{int((STEP * k).total_seconds())} seconds'"
    span = f"interval '{int(plan.span.total_seconds())} seconds'"
    start = f"timestamptz '{plan.start.isoformat()}'"
    shift = f"CASE WHEN l.created_at - {back} < {start} THEN {span} - {back} ELSE -{back} END"
    shop = ", g.orders AS grow_shop_orders" if table in ("order", "return_request") else ""
    rows = (
        f"SELECT src.*, {shift} AS grow_shift{shop} FROM {q(table)} src "
        f"LEFT JOIN grow_late l ON l.{key[0]} = {key[1]} "
        + ("LEFT JOIN grow_shop g ON g.shop_id = src.shop_id " if shop else "")
        + f"WHERE src.ctid < '({plan.pages[table]},0)'::tid AND src.id <= {plan.max_id[table]}"
    )
    if table != "return_request":
        return rows
    dated = (
        "SELECT s.*, extract(year FROM (s.created_at + s.grow_shift) AT TIME ZONE 'UTC')::int "
        f"AS grow_year FROM ({rows}) s"
    )
    return (
        "SELECT y.*, coalesce(c.last, 0) + row_number() OVER (PARTITION BY y.grow_year "
        f"ORDER BY y.id) AS grow_seq FROM ({dated}) y LEFT JOIN grow_counter c "
        "ON c.year = y.grow_year"
    )


def copy_statement(plan: Plan, table: str, k: int) -> str:
    special = rewrites(plan, table, k)
    expressions = []
    for column, kind in plan.columns[table]:
        if column in special:
            expressions.append(special[column])
        elif column == "id":
            expressions.append(f"t.id + {k * plan.max_id[table]}")
        elif (table, column) in plan.offsets:
            target = plan.offsets[(table, column)]
            expressions.append(f"t.{q(column)} + {k * plan.max_id[target]}")
        elif kind.startswith("timestamp"):
            expressions.append(f"t.{q(column)} + t.grow_shift")
        else:
            expressions.append(f"t.{q(column)}")
    columns = ", ".join(q(c) for c, _ in plan.columns[table])
    where = ""
    if table == "audit_event":
        converted = CONVERT_HASH.format(id="t.request_id", k=k, permille=plan.convert_permille)
        where = (
            " WHERE NOT (t.action = 'concept' AND t.request_id IN "
            f"(SELECT request_id FROM grow_concept) AND {converted})"
        )
    return (
        f"INSERT INTO {q(table)} ({columns}) SELECT {', '.join(expressions)} "
        f"FROM ({source(plan, table, k)}) t{where}"
    )


def counted(statement: str) -> str:
    """The copy of the requests, moving each year's counter past the numbers it hands out."""
    return (
        f"WITH made AS ({statement} RETURNING number) INSERT INTO grow_counter "
        "SELECT substring(number from 3 for 4)::int, count(*) FROM made GROUP BY 1 "
        "ON CONFLICT (year) DO UPDATE SET last = grow_counter.last + EXCLUDED.last"
    )


def store_counters_and_sequences(conn: Connection, plan: Plan, copies: int) -> None:
    conn.execute(
        text(
            "INSERT INTO number_sequence (name, last_value) SELECT 'request-' || year, last "
            "FROM grow_counter ON CONFLICT (name) DO UPDATE SET last_value = EXCLUDED.last_value"
        )
    )
    for table in plan.tables:
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{q(table)}', 'id'), "
                f"{(copies + 1) * plan.max_id[table]})"
            )
        )


def concept_permille(conn: Connection, plan: Plan, copies: int) -> int:
    """Per mille of the big shop's concept requests to make new in each copy."""
    seeded = conn.scalar(text("SELECT count(*) FROM grow_concept"))
    if not seeded or not copies:
        return 0
    wanted_in_copies = max(0, plan.concept_target - seeded)
    keep = min(1.0, wanted_in_copies / (copies * seeded))
    return round((1 - keep) * 1000)


def grow(conn: Connection, plan: Plan, copies: int) -> dict[str, float]:
    """Copy the seeded rows ``copies`` times in one transaction; returns seconds per step."""
    if STEP * copies >= plan.span:
        raise SystemExit("grow: too many copies for the span")
    inspect(conn, plan)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    rebuild = drop_constraints_and_indexes(conn, plan)
    prepare(conn, plan, copies)
    plan.convert_permille = concept_permille(conn, plan, copies)
    seconds["drop and prepare"] = time.perf_counter() - started
    for table in plan.tables:
        started = time.perf_counter()
        for k in range(1, copies + 1):
            statement = copy_statement(plan, table, k)
            conn.execute(text(counted(statement) if table == "return_request" else statement))
        seconds[f"copy {table}"] = time.perf_counter() - started
    started = time.perf_counter()
    store_counters_and_sequences(conn, plan, copies)
    for statement in rebuild:
        conn.execute(text(statement))
    seconds["keys, indexes, foreign keys"] = time.perf_counter() - started
    return seconds
