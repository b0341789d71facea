"""How long ``flask orders import`` takes for 100,000 order lines (about 33,000 orders).

Run: ``.venv/bin/python bench/order_import_100k.py`` (a throwaway SQLite database, or the
one in DATABASE_URL). Prints the time of the first import (all new) and of the second
(the same file again: every order updated, lines matched).
"""

from __future__ import annotations

import csv
import io
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade

from app import create_app
from extensions import db
from models import Shop
from services.order_import import CSV_COLUMNS, import_csv

LINES = 100_000


def make_csv(lines: int) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for i in range(lines):
        order = i // 3
        writer.writerow(
            [
                f"B{order:07d}",
                "2026-03-01T10:00:00+01:00",
                "2026-03-03",
                f"Klant {order}",
                f"klant{order}@example.com",
                "1234AB",
                "NL",
                "nl",
                f"SKU-{i % 3}",
                f"Product {i % 3}",
                "M",
                "1",
                "19.95",
                "0",
                "",
            ]
        )
    return out.getvalue()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        uri = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
        app = create_app({"SQLALCHEMY_DATABASE_URI": uri, "STORAGE_DIR": tmp})
        with app.app_context():
            upgrade()
            shop = Shop(slug=f"bench-{int(time.time())}", name="Bench")
            db.session.add(shop)
            db.session.commit()
            data = make_csv(LINES)
            for label in ("first import (new)", "second import (update)"):
                started = time.perf_counter()
                parsed, result = import_csv(shop.id, io.StringIO(data, newline=""))
                db.session.commit()
                seconds = time.perf_counter() - started
                print(
                    f"{label}: {LINES} lines, {result.created} created, "
                    f"{result.updated} updated, {len(parsed.errors)} errors in {seconds:.1f}s"
                )


if __name__ == "__main__":
    main()
