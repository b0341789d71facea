"""Flask CLI commands: ``flask demo seed``, ``flask outbox sweep``, ``flask rq worker``,
``flask users create-support``, ``flask orders import``, ``flask connectors sync``,
``flask connectors rotate-key``."""

from __future__ import annotations

import logging
import time

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from demo import seeding
from extensions import db
from models import Shop, ShopConnection, User
from services import bulk_jobs, jobs, label_jobs, order_import, outbox, storage
from services.connectors import connections
from services.connectors import orders as connector_orders

demo_cli = AppGroup("demo", help="Demo data.")
outbox_cli = AppGroup("outbox", help="The outbox of emails and other side effects.")
rq_cli = AppGroup("rq", help="RQ background workers.")
users_cli = AppGroup("users", help="Staff accounts.")
orders_cli = AppGroup("orders", help="The shops' orders.")
connectors_cli = AppGroup("connectors", help="The shops' platform connections (WooCommerce).")
log = logging.getLogger(__name__)


@demo_cli.command("seed")
def demo_seed() -> None:
    """Load the demo shops, users, orders and requests (once; running it again changes nothing)."""
    click.echo(seeding.seed())


# After a failed sweep the loop waits twice as long as before, at most this many seconds.
SWEEP_MAX_BACKOFF = 300


@outbox_cli.command("sweep")
@click.option("--every", type=int, default=0, help="Keep sweeping every N seconds.")
def outbox_sweep(every: int) -> None:
    """Hand pending outbox rows (Redis was down, a worker died, SMTP failed) to the jobs again,
    and remove files of portal drafts that were never submitted.

    With ``--every`` it keeps going whatever fails (the database or Redis is down): the error
    is logged and the next sweep waits longer, up to ``SWEEP_MAX_BACKOFF`` seconds.
    """
    if not every:
        if not sweep_once():
            raise SystemExit(1)
        return
    failures = 0
    while True:
        failures = 0 if sweep_once() else failures + 1
        time.sleep(min(every * 2**failures, max(every, SWEEP_MAX_BACKOFF)))


def sweep_once() -> bool:
    """Run every sweeper once; one that fails is logged and the others still run.

    Returns whether all of them succeeded.
    """
    sweepers = (
        ("the outbox", "outbox rows handed to the job runner", outbox.sweep_outbox),
        ("bulk jobs", "interrupted bulk jobs resumed", bulk_jobs.sweep_bulk_jobs),
        ("labels", "return labels handed to the label job", label_jobs.sweep_labels),
        ("draft uploads", "abandoned draft uploads removed", storage.sweep_abandoned_uploads),
    )
    succeeded = True
    for name, outcome, sweep in sweepers:
        try:
            click.echo(f"{sweep()} {outcome}")
        except Exception:
            log.exception("sweeping %s failed; trying again later", name)
            db.session.rollback()
            succeeded = False
    return succeeded


@rq_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def rq_worker(burst: bool) -> None:
    """Run an RQ worker for ReturnDesk's queue (needs REDIS_URL)."""
    from rq import Worker

    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set: jobs run in-process, no worker needed.")
    worker = Worker([jobs.queue()], connection=jobs.redis_connection())
    worker.work(burst=burst, with_scheduler=True)


@users_cli.command("create-support")
@click.argument("email")
@click.option("--name", default="Support")
@click.password_option()
def create_support(email: str, name: str, password: str) -> None:
    """Create a platform support user (sees and tunes every shop)."""
    email = email.strip().lower()
    if db.session.scalar(select(User).where(User.email == email)):
        raise click.ClickException(f"{email} already exists.")
    user = User(email=email, name=name, is_support=True)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"Support user {email} created.")


@orders_cli.command("import")
@click.argument("csv_file", type=click.File("r", encoding="utf-8-sig"))
@click.option("--shop", "shop_slug", required=True, help="The slug of the shop the orders are of.")
def orders_import(csv_file, shop_slug: str) -> None:
    """Create or update orders from a CSV file (columns: see order_import.py).

    Orders with a bad row are skipped and listed; the exit status is 1 when any row was bad.
    """
    shop = db.session.scalar(select(Shop).where(Shop.slug == shop_slug))
    if shop is None:
        raise click.ClickException(f"No shop with slug {shop_slug!r}.")
    started = time.perf_counter()
    parsed, result = order_import.import_csv(shop.id, csv_file)
    db.session.commit()
    for error in parsed.errors[:50]:
        problems = "; ".join(f"{column}: {message}" for column, message in error.problems)
        click.echo(f"line {error.line} ({error.order_number or '-'}): {problems}", err=True)
    click.echo(
        f"{result.created} orders created, {result.updated} updated "
        f"({parsed.line_count} lines, {len(parsed.skipped_orders)} orders skipped) "
        f"in {time.perf_counter() - started:.1f}s"
    )
    if parsed.errors:
        raise SystemExit(1)


@connectors_cli.command("sync")
def connectors_sync() -> None:
    """Hand every shop connection's order sync to the job runner (in-process without Redis)."""
    connection_ids = list(db.session.scalars(select(ShopConnection.id).order_by(ShopConnection.id)))
    for connection_id in connection_ids:
        connector_orders.enqueue_sync(connection_id)
    click.echo(f"{len(connection_ids)} connections handed to the order sync")


@connectors_cli.command("rotate-key")
def connectors_rotate_key() -> None:
    """Encrypt every stored platform secret again under the first key of ENCRYPTION_KEY."""
    count = connections.rotate_keys()
    db.session.commit()
    click.echo(f"{count} connections encrypted again under the first ENCRYPTION_KEY")


def register(app: Flask) -> None:
    for group in (demo_cli, outbox_cli, rq_cli, users_cli, orders_cli, connectors_cli):
        app.cli.add_command(group)
