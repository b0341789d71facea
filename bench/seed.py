"""Load realistic benchmark data: ``python bench/seed.py --requests 1000000 --shops 50``.

One big shop holds 20% of the requests, the others share the rest. Every request has its
order (with lines), request lines, audit events, and in proportion notices, messages and
returns. The database (``DATABASE_URL``, SQLite by default) must be migrated and is emptied
first. On PostgreSQL the big tables are loaded with COPY, elsewhere with executemany.

``python bench/seed.py --requests 10000000 --shops 50 --grow-from 1000000`` seeds 1M
requests this way and copies them nine times inside PostgreSQL (``bench/grow.py``), a few
times faster than making every row here and in little memory.

``python bench/seed.py --portal-orders 2000`` seeds nothing: it tops the big shop's fresh
orders, delivered yesterday and not yet returned, up to 2,000 for the portal benchmark.

The big shop's agent is ``agent@bench.invalid``, the support user ``support@bench.invalid``,
both with password ``bench-pw``.
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import sys
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select, text

from app import create_app
from bench.grow import Plan, grow
from extensions import db
from models import Membership, ReturnReason, ReviewStage, Shop, User
from services import dashboard_recount

PASSWORD = "bench-pw"
AGENT = "agent@bench.invalid"
SUPPORT = "support@bench.invalid"
BIG_SHOP_SHARE = 0.2
# The requests' dates lie within this span before the seed's "now".
SPAN = timedelta(days=730)
# The big shop's concept requests: what the bulk-approve benchmark approves.
BULK_SIZE = 10_000
BIG_SHOP = "shop-1"
# Requests whose rows are held in memory before they are loaded.
CHUNK = 100_000
# The portal benchmark's customers: the big shop's orders delivered within the return window
# that nobody has asked to return yet (``top_up_portal_orders`` makes them).
FRESH_ORDERS_SQL = (
    'SELECT o.number, o.customer_email, o.customer_postcode FROM "order" o JOIN shop s ON '
    f"s.id = o.shop_id WHERE s.slug = '{BIG_SHOP}' AND o.delivered_at > now() - "
    "make_interval(days => s.return_window_days - 1) AND NOT EXISTS (SELECT 1 FROM "
    "return_request r WHERE r.order_id = o.id) ORDER BY o.id"
)
# Share of each status among the other requests (the big shop adds its concept ones).
STATUS_WEIGHTS = {
    "new": 10,
    "concept": 4,
    "on_hold": 1,
    "approved": 15,
    "cancelled": 10,
    "label_created": 15,
    "completed": 45,
}
FIRST = [
    "Anna",
    "Bram",
    "Cor",
    "Daan",
    "Eva",
    "Fleur",
    "Gijs",
    "Hanna",
    "Ivo",
    "Julia",
    "Kees",
    "Lotte",
    "Milan",
    "Noor",
    "Olaf",
    "Pien",
    "Quinten",
    "Roos",
    "Sem",
    "Tess",
    "Ugo",
    "Vera",
    "Wim",
    "Xander",
    "Yara",
    "Zoë",
    "Lars",
    "Emma",
    "Finn",
    "Sara",
    "Ruben",
    "Lieke",
    "Thijs",
    "Iris",
    "Joris",
    "Mila",
    "Bas",
    "Femke",
    "Niels",
    "Sophie",
    "Jan",
    "Maria",
    "Peter",
    "Els",
    "Koen",
    "Anouk",
    "Tim",
    "Lisa",
    "Hugo",
    "Nina",
]
LAST = [
    "Jansen",
    "de-Vries",
    "van-den-Berg",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "de-Boer",
    "Mulder",
    "de-Groot",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "van-Leeuwen",
    "Dekker",
    "Brouwer",
    "de-Wit",
    "Dijkstra",
    "Smits",
    "de-Graaf",
    "van-der-Meer",
    "van-der-Linden",
    "Kok",
    "Jacobs",
    "de-Haan",
    "Vermeulen",
    "van-den-Heuvel",
    "van-der-Veen",
    "van-den-Broek",
    "de-Bruijn",
    "de-Jong",
    "Janssen",
    "Schouten",
    "Willems",
    "Hoekstra",
    "Koster",
    "Prins",
    "Huisman",
    "Kuipers",
    "Verhoeven",
    "Postma",
    "Timmermans",
    "Groen",
    "Wouters",
    "Kramer",
    "Scholten",
    "Maas",
    "Boer",
    "Veenstra",
]
# Most customers have a rarer surname: a long tail built from these parts.
SURNAME_HEADS = [
    "Ver",
    "Hoog",
    "Wil",
    "Brink",
    "Steen",
    "Kamp",
    "Hof",
    "Berg",
    "Vel",
    "Mol",
    "Ros",
    "Lin",
    "Haar",
    "Dijk",
    "Wes",
    "Zand",
]
SURNAME_MIDS = ["ha", "bo", "ke", "lo", "de", "ma", "ri", "so", "ten", "ge", ""]
SURNAME_TAILS = [
    "man",
    "mans",
    "ink",
    "stra",
    "ema",
    "sma",
    "ing",
    "er",
    "ert",
    "hout",
    "veld",
    "kers",
    "meijer",
    "huis",
]
# Share of customers with one of the common surnames above (as in a Dutch phone book).
COMMON_SURNAMES = 0.15
DOMAINS = ("example.com", "example.net", "example.org", "mail.example", "post.example")
PRODUCTS = ("Shirt", "Jeans", "Sneaker", "Jacket", "Dress", "Sweater", "Cap", "Bag", "Scarf")
REASONS = (
    ("too_small", "Te klein", "Too small"),
    ("too_large", "Te groot", "Too large"),
    ("damaged", "Beschadigd", "Damaged"),
    ("not_as_described", "Anders dan beschreven", "Not as described"),
    ("changed_mind", "Bedacht", "Changed my mind"),
)
# Where each status came from, for the audit trail.
PATHS = {
    "new": ["submitted"],
    "concept": ["submitted", "concept"],
    "on_hold": ["submitted", "hold"],
    "approved": ["submitted", "concept", "approve"],
    "cancelled": ["submitted", "cancel"],
    "label_created": ["submitted", "approve", "label_created"],
    "completed": ["submitted", "approve", "label_created", "complete"],
}
TO_STATUS = {
    "submitted": "new",
    "concept": "concept",
    "hold": "on_hold",
    "approve": "approved",
    "cancel": "cancelled",
    "label_created": "label_created",
    "complete": "completed",
}


class Ids:
    """Explicit primary keys, so child rows can point at parents before they are loaded."""

    def __init__(self) -> None:
        self.next: dict[str, int] = {}

    def take(self, table: str) -> int:
        value = self.next.get(table, 1)
        self.next[table] = value + 1
        return value


def shop_sizes(requests: int, shops: int) -> list[int]:
    """Requests per shop: the first shop 20%, the rest spread unevenly (a long tail)."""
    if shops == 1:
        return [requests]
    big = int(requests * BIG_SHOP_SHARE)
    weights = [1 / (i + 1) ** 0.6 for i in range(shops - 1)]
    rest = requests - big
    sizes = [int(rest * w / sum(weights)) for w in weights]
    sizes[0] += rest - sum(sizes)
    return [big, *sizes]


def create_people_and_shops(sizes: list[int]) -> list[dict]:
    """Shops, their reasons and stages, an agent and admin per shop, and a support user."""
    support = User(email=SUPPORT, name="Support Bench", is_support=True, language="en")
    support.set_password(PASSWORD)
    password_hash = support.password_hash  # hashing is slow on purpose: do it once
    db.session.add(support)
    shops = []
    for index, size in enumerate(sizes):
        shop = Shop(slug=f"shop-{index + 1}", name=f"Shop {index + 1}", languages="nl,en")
        db.session.add(shop)
        email = AGENT if index == 0 else f"agent{index + 1}@bench.invalid"
        agent = User(
            email=email, name=f"Agent {index + 1}", language="en", password_hash=password_hash
        )
        db.session.add(Membership(user=agent, shop=shop, role="agent"))
        reasons = [
            ReturnReason(shop=shop, code=code, label_nl=nl, label_en=en, position=i)
            for i, (code, nl, en) in enumerate(REASONS)
        ]
        db.session.add_all(reasons)
        db.session.add(ReviewStage(shop=shop, name_nl="Foto's gevraagd", name_en="Photos asked"))
        db.session.flush()
        shops.append(
            {
                "shop": shop,
                "size": size,
                "agent_id": agent.id,
                "reason_ids": [r.id for r in reasons],
            }
        )
    return shops


def surname(rng: random.Random) -> str:
    if rng.random() < COMMON_SURNAMES:
        return rng.choice(LAST)
    return rng.choice(SURNAME_HEADS) + rng.choice(SURNAME_MIDS) + rng.choice(SURNAME_TAILS)


def pick_statuses(size: int, rng: random.Random, bulk: int) -> list[str]:
    statuses = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()), k=size)
    others = [i for i, s in enumerate(statuses) if s != "concept"]
    concept = size - len(others)
    for i in rng.sample(others, max(0, min(bulk, size // 4) - concept)):
        statuses[i] = "concept"
    return statuses


class Rows:
    """Row tuples for each big table, filled one shop at a time."""

    COLUMNS: ClassVar[dict[str, str]] = {
        "order": (
            "id shop_id number customer_name customer_email customer_postcode customer_street "
            "customer_city customer_country customer_language ordered_at delivered_at currency "
            "created_at"
        ),
        "order_line": (
            "id order_id sku product_name variant image_url quantity unit_price_cents "
            "discount_cents"
        ),
        "return_request": (
            "id number shop_id order_id order_number customer_name customer_email language status "
            "resolution free_shipping keep_items is_withdrawal answers held_by_id held_since "
            "status_before_hold decided_by_id decided_at cancel_reason last_inbound_at "
            "last_outbound_at notice_count total_cents item_count reason_ids public_token "
            "version updated_at created_at"
        ),
        "return_request_line": "id request_id order_line_id quantity reason_id comment decision",
        "notice": "id request_id severity text_nl text_en created_at",
        "message": "id request_id direction author_id body created_at",
        "audit_event": (
            "id shop_id request_id actor_id actor_label action from_status to_status note "
            "created_at"
        ),
        "return": (
            "id number shop_id request_id carrier tracking_number label_status cost_cents status "
            "refund_cents resolved_at updated_at created_at"
        ),
    }

    def __init__(self) -> None:
        self.tables: dict[str, list[tuple]] = {name: [] for name in self.COLUMNS}

    def clear(self) -> None:
        for rows in self.tables.values():
            rows.clear()


@dataclass
class NewOrder:
    """An order ``add_order`` made: its id, customer, and ``(order line id, price)`` per line."""

    id: int
    name: str
    email: str
    language: str
    lines: list[tuple[int, int]]


def add_order(
    rows: Rows, ids: Ids, rng: random.Random, shop_id: int, number: str, ordered: datetime
) -> NewOrder:
    """An order of a new customer, delivered two days after ``ordered``, with 1–3 lines."""
    first, last = rng.choice(FIRST), surname(rng)
    name = f"{first} {last.replace('-', ' ')}"
    local = unicodedata.normalize("NFKD", first.lower()).encode("ascii", "ignore").decode()
    email = f"{local}.{last.lower()}{rng.randrange(10000)}@{rng.choice(DOMAINS)}"
    language = "nl" if rng.random() < 0.7 else "en"
    order_id = ids.take("order")
    rows.tables["order"].append(
        (
            order_id,
            shop_id,
            number,
            name,
            email,
            f"{rng.randrange(1000, 9999)} AB",
            f"Dorpsstraat {rng.randrange(1, 200)}",
            "Utrecht",
            "NL",
            language,
            ordered,
            ordered + timedelta(days=2),
            "EUR",
            ordered,
        )
    )
    line_ids = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        line_id = ids.take("order_line")
        price = rng.randrange(1000, 12000, 5)
        product = rng.choice(PRODUCTS)
        rows.tables["order_line"].append(
            (line_id, order_id, f"SKU-{rng.randrange(99999)}", product, "M", None, 1, price, 0)
        )
        line_ids.append((line_id, price))
    return NewOrder(order_id, name, email, language, line_ids)


def fill_shop(
    rows: Rows,
    ids: Ids,
    info: dict,
    rng: random.Random,
    now: datetime,
    year_counts: dict,
    flush: Callable[[], None],
) -> None:
    """Every row of one shop's orders and requests, oldest first; ``flush`` loads the rows
    made so far every ``CHUNK`` requests (the big shop of 10,000,000 has 2,000,000)."""
    shop = info["shop"]
    size = info["size"]
    agent = info["agent_id"]
    statuses = pick_statuses(size, rng, BULK_SIZE if shop.slug == BIG_SHOP else 0)
    for i in range(size):
        if i and i % CHUNK == 0:
            flush()
        created = now - SPAN + SPAN * ((i + rng.random()) / size)
        status = statuses[i]
        order_number = f"{shop.id:02d}{100000 + i}"
        ordered = created - timedelta(days=rng.randrange(2, 25))
        order = add_order(rows, ids, rng, shop.id, order_number, ordered)
        returned = order.lines[: rng.choice((1, 1, 2))]
        request_id = ids.take("return_request")
        year = created.year
        year_counts[year] = year_counts.get(year, 0) + 1
        number = f"R-{year}-{year_counts[year]:05d}"
        decided = status in ("approved", "cancelled", "label_created", "completed")
        has_notice = rng.random() < 0.15
        messages = rng.choice((0, 0, 0, 1, 1, 2, 3))
        total = sum(price for _, price in returned)
        line_reasons = [rng.choice(info["reason_ids"]) for _ in returned]
        rows.tables["return_request"].append(
            (
                request_id,
                number,
                shop.id,
                order.id,
                order_number,
                order.name,
                order.email,
                order.language,
                status,
                rng.choice(("refund", "refund", "exchange", "store_credit")),
                False,
                False,
                False,
                "{}",
                agent if status == "on_hold" else None,
                created + timedelta(hours=1) if status == "on_hold" else None,
                "new" if status == "on_hold" else None,
                agent if decided else None,
                created + timedelta(days=1) if decided else None,
                "Outside the return window" if status == "cancelled" else None,
                created + timedelta(hours=5) if messages > 1 else None,
                created + timedelta(hours=3) if messages else None,
                1 if has_notice else 0,
                total,
                len(returned),
                sorted(set(line_reasons)),
                secrets.token_hex(16),
                len(PATHS[status]),
                created + timedelta(days=1),
                created,
            )
        )
        line_decision = "approved" if decided and status != "cancelled" else "open"
        for (line_id, _price), reason_id in zip(returned, line_reasons, strict=True):
            rows.tables["return_request_line"].append(
                (
                    ids.take("return_request_line"),
                    request_id,
                    line_id,
                    1,
                    reason_id,
                    None,
                    line_decision,
                )
            )
        if has_notice:
            rows.tables["notice"].append(
                (
                    ids.take("notice"),
                    request_id,
                    "warning",
                    "Klant retourneert vaak",
                    "Customer returns often",
                    created,
                )
            )
        for m in range(messages):
            direction = "outbound" if m % 2 == 0 else "inbound"
            rows.tables["message"].append(
                (
                    ids.take("message"),
                    request_id,
                    direction,
                    agent if direction == "outbound" else None,
                    "Kunt u een foto sturen van het product?"
                    if direction == "outbound"
                    else "Hierbij de foto.",
                    created + timedelta(hours=3 + 2 * m),
                )
            )
        previous = None
        for step, action in enumerate(PATHS[status]):
            rows.tables["audit_event"].append(
                (
                    ids.take("audit_event"),
                    shop.id,
                    request_id,
                    None if action == "submitted" else agent,
                    "customer" if action == "submitted" else None,
                    action,
                    previous,
                    TO_STATUS[action],
                    None,
                    created + timedelta(hours=step),
                )
            )
            previous = TO_STATUS[action]
        if status in ("label_created", "completed"):
            return_id = ids.take("return")
            done = status == "completed"
            rows.tables["return"].append(
                (
                    return_id,
                    f"RT-{return_id:07d}",
                    shop.id,
                    request_id,
                    "own",
                    f"3S{return_id:010d}",
                    "created",
                    0,
                    "resolved" if done else "label_created",
                    total if done else None,
                    created + timedelta(days=9) if done else None,
                    created + timedelta(days=2),
                    created + timedelta(days=2),
                )
            )


def copy_loader(connection) -> Callable[[str, list[tuple]], None]:
    """Load rows with PostgreSQL's COPY (psycopg 3)."""
    raw = connection.connection.driver_connection

    def load(table: str, rows: list[tuple]) -> None:
        columns = ", ".join(f'"{c}"' for c in Rows.COLUMNS[table].split())
        with raw.cursor() as cursor, cursor.copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)

    return load


def executemany_loader(connection) -> Callable[[str, list[tuple]], None]:
    """Load rows with executemany in batches (SQLite and anything else); a list is stored as
    JSON, as SQLAlchemy's ``JSON`` type stores it there."""
    raw = connection.connection.driver_connection
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"

    def load(table: str, rows: list[tuple]) -> None:
        columns = Rows.COLUMNS[table].split()
        names = ", ".join(f'"{c}"' for c in columns)
        sql = f'INSERT INTO "{table}" ({names}) VALUES ({", ".join([marker] * len(columns))})'
        cursor = raw.cursor()
        for start in range(0, len(rows), 5000):
            cursor.executemany(sql, [as_stored(row) for row in rows[start : start + 5000]])

    return load


def as_stored(row: tuple) -> tuple:
    return tuple(json.dumps(value) if isinstance(value, list) else value for value in row)


def loader() -> Callable[[str, list[tuple]], None]:
    """COPY on PostgreSQL, executemany elsewhere, on the session's connection."""
    connection = db.session.connection()
    postgres = connection.dialect.name == "postgresql"
    return (copy_loader if postgres else executemany_loader)(connection)


def empty_database() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        quoted = ", ".join(f'"{t}"' for t in tables)
        db.session.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(text(f'DELETE FROM "{table}"'))


def drop_secondary_indexes() -> list[str]:
    """Drop the big tables' indexes that back no constraint; returns how to recreate them.

    Building an index once after the load is many times faster than updating it per row
    (above all the trigram GIN indexes).
    """
    tables = [name for name in Rows.COLUMNS if name != "order"] + ["order"]
    definitions = db.session.execute(
        text(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' "
            "AND i.tablename = ANY(:tables) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
            "WHERE c.conname = i.indexname)"
        ),
        {"tables": tables},
    ).all()
    for name, _definition in definitions:
        db.session.execute(text(f'DROP INDEX "{name}"'))
    return [definition for _name, definition in definitions]


def fix_sequences(ids: Ids, year_counts: dict) -> None:
    """Point PostgreSQL's id sequences and the request-number counters past the loaded rows."""
    if db.engine.dialect.name == "postgresql":
        for table, next_id in ids.next.items():
            db.session.execute(
                text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), :v)"),
                {"v": next_id - 1},
            )
    for year, count in year_counts.items():
        db.session.execute(
            text("INSERT INTO number_sequence (name, last_value) VALUES (:n, :v)"),
            {"n": f"request-{year}", "v": count},
        )


def concept_count(size: int) -> int:
    """How many concept requests ``pick_statuses`` gives the big shop of ``size`` requests."""
    share = STATUS_WEIGHTS["concept"] / sum(STATUS_WEIGHTS.values())
    return max(round(size * share), min(BULK_SIZE, size // 4))


def grow_seeded(requests: int, shops: int, copies: int, now: datetime) -> dict[str, float]:
    """Copy the rows seeded up to ``now`` ``copies`` times in PostgreSQL (``bench/grow.py``)."""
    big = db.session.execute(select(Shop.id).where(Shop.slug == BIG_SHOP)).scalar_one()
    plan = Plan(
        tables=list(Rows.COLUMNS),
        start=now - SPAN,
        span=SPAN,
        big_shop_id=big,
        concept_target=concept_count(shop_sizes(requests, shops)[0]),
    )
    return grow(db.session.connection(), plan, copies)


def seed(
    requests: int, shops: int, seed_value: int = 42, grow_from: int | None = None
) -> dict[str, int]:
    """Empty the database and load the benchmark data; returns rows per table.

    With ``grow_from`` (PostgreSQL) only that many requests are made here; the database
    then grows to ``requests`` by copying them in SQL. Prints the time of each step.

    All of it is one transaction: a seed stopped half-way (Ctrl-C, a full disk) leaves the
    database as it was, its indexes included, rather than emptied with its secondary
    indexes dropped.
    """
    if grow_from and db.engine.dialect.name != "postgresql":
        raise SystemExit("--grow-from needs PostgreSQL")
    seeded = grow_from or requests
    rng = random.Random(seed_value)
    empty_database()
    infos = create_people_and_shops(shop_sizes(seeded, shops))
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    ids, rows = Ids(), Rows()
    year_counts: dict[int, int] = {}
    counts = dict.fromkeys(Rows.COLUMNS, 0)
    postgres = db.engine.dialect.name == "postgresql"
    indexes = drop_secondary_indexes() if postgres else []
    load = loader()
    step = time.perf_counter()

    def flush() -> None:
        for table in Rows.COLUMNS:
            load(table, rows.tables[table])
            counts[table] += len(rows.tables[table])
        rows.clear()

    for info in infos:
        fill_shop(rows, ids, info, rng, now, year_counts, flush)
        flush()
    fix_sequences(ids, year_counts)
    step = report_step(f"seeded {seeded:,} requests", step)
    if grow_from:
        copies = requests // grow_from - 1
        for name, seconds in grow_seeded(requests, shops, copies, now).items():
            print(f"  grow: {name} {seconds:.1f} s", flush=True)
        counts = {t: db.session.scalar(text(f'SELECT count(*) FROM "{t}"')) for t in counts}
        step = report_step(f"grew to {requests:,} requests", step)
    if postgres:  # sorts in memory; the trigram indexes need fewer merges
        db.session.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
    for definition in indexes:
        db.session.execute(text(definition))
    step = report_step("secondary indexes built", step)
    dashboard_recount.rebuild()  # the rows came without the app: nothing marked them
    db.session.commit()
    step = report_step("dashboard counted per day", step)
    if postgres:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        report_step("VACUUM ANALYZE", step)
    return counts


def report_step(what: str, since: float) -> float:
    """Print how long a step took; returns the time the next step starts."""
    now = time.perf_counter()
    print(f"{what} in {now - since:.1f} s", flush=True)
    return now


def top_up_portal_orders(wanted: int) -> int:
    """Give the big shop ``wanted`` fresh orders for the portal benchmark (PostgreSQL).

    A run of the benchmark returns them, so ``bench/run.py`` tops them up before each run.
    They were delivered yesterday, well inside the return window, with 1–3 lines each.
    Returns how many orders were added.
    """
    missing = wanted - len(db.session.execute(text(FRESH_ORDERS_SQL)).all())
    if missing <= 0:
        return 0
    shop = db.session.scalar(select(Shop).where(Shop.slug == BIG_SHOP))
    ids = Ids()
    for table in ("order", "order_line"):
        ids.next[table] = db.session.scalar(text(f'SELECT coalesce(max(id), 0) + 1 FROM "{table}"'))
    rng = random.Random(ids.next["order"])
    ordered = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    rows = Rows()
    for _ in range(missing):
        add_order(rows, ids, rng, shop.id, f"W{ids.next['order']}", ordered)
    load = loader()
    for table in ("order", "order_line"):
        load(table, rows.tables[table])
    fix_sequences(ids, {})
    db.session.commit()
    return missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--shops", type=int, default=10)
    parser.add_argument(
        "--portal-orders",
        type=int,
        metavar="N",
        help="do not seed: top the big shop's fresh orders (portal benchmark) up to N",
    )
    parser.add_argument(
        "--grow-from",
        type=int,
        metavar="N0",
        help="seed N0 requests and copy them in SQL up to --requests (PostgreSQL; a multiple)",
    )
    args = parser.parse_args()
    if args.grow_from and (args.grow_from > args.requests or args.requests % args.grow_from):
        parser.error("--requests must be a multiple of --grow-from")
    app = create_app()
    started = time.perf_counter()
    with app.app_context():
        if args.portal_orders is not None:
            added = top_up_portal_orders(args.portal_orders)
            print(f"{added:,} fresh orders added for the portal benchmark")
            return
        counts = seed(args.requests, args.shops, grow_from=args.grow_from)
    seconds = time.perf_counter() - started
    summary = ", ".join(f"{table} {n:,}" for table, n in counts.items())
    print(f"seeded in {seconds:.0f} s: {summary}")


if __name__ == "__main__":
    main()
