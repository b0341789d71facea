"""Flask CLI commands: ``flask demo seed``, ``flask outbox sweep``, ``flask rq worker``,
``flask users create-support``, ``flask orders import``, ``flask storage migrate``,
``flask connectors sync``, ``flask connectors rotate-key``, ``flask mail inbound``,
``flask mail poll``, ``flask retention run``, ``flask dashboard recount``."""

from __future__ import annotations

import logging
import time

import click
from aiosmtpd.controller import Controller
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from demo import seeding
from extensions import db
from models import Shop, User
from services import (
    dashboard_recount,
    inbound_imap,
    inbound_mail,
    jobs,
    order_import,
    retention,
    schedule,
    storage,
    stores,
    sweeps,
)
from services.connectors import connections
from services.connectors import orders as connector_orders

demo_cli = AppGroup("demo", help="Demo data.")
outbox_cli = AppGroup("outbox", help="The outbox of emails and other side effects.")
rq_cli = AppGroup("rq", help="RQ background workers.")
users_cli = AppGroup("users", help="Staff accounts.")
orders_cli = AppGroup("orders", help="The shops' orders.")
storage_cli = AppGroup("storage", help="Where attachments are stored.")
connectors_cli = AppGroup("connectors", help="The shops' platform connections (WooCommerce).")
mail_cli = AppGroup("mail", help="Customers' replies by email.")
retention_cli = AppGroup("retention", help="Keeping data no longer than the shops decide.")
dashboard_cli = AppGroup("dashboard", help="The dashboard's counts kept per day.")
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
    remind customers of their ship-by date and expire requests past it, and remove files of
    portal drafts that were never submitted.

    With ``--every`` it keeps going whatever fails (the database or Redis is down): the error
    is logged and the next sweep waits longer, up to ``SWEEP_MAX_BACKOFF`` seconds.
    """
    if not every:
        if not sweeps.sweep_all(click.echo):
            raise SystemExit(1)
        return
    failures = 0
    while True:
        failures = 0 if sweeps.sweep_all(click.echo) else failures + 1
        time.sleep(min(every * 2**failures, max(every, SWEEP_MAX_BACKOFF)))


@rq_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def rq_worker(burst: bool) -> None:
    """Run an RQ worker for ReturnDesk's queue (needs REDIS_URL)."""
    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set: jobs run in-process, no worker needed.")
    worker = schedule.ScheduledWorker([jobs.queue()], connection=jobs.redis_connection())
    worker.work(burst=burst, with_scheduler=True)


@storage_cli.command("migrate")
@click.option("--to", "target_url", required=True, help="file:///a/folder or s3://bucket/prefix")
@click.option("--from", "source_url", help="The store to copy from (default: STORAGE_URL).")
def storage_migrate(target_url: str, source_url: str | None) -> None:
    """Copy every attachment's file to another store, checking each sha256. Run it again
    after a stop: it resumes. Nothing is deleted; switch STORAGE_URL when it reports no
    failures, and remove the old files yourself after that."""
    source = stores.store_at(source_url) if source_url else stores.current()
    target = stores.store_at(target_url)
    click.echo(f"Copying from {source.url} to {target.url}")
    with click.progressbar(length=storage.count_files(), label="Files") as bar:
        outcome = storage.copy_files(source, target, on_each=lambda: bar.update(1))
    click.echo(f"{outcome.copied} copied, {outcome.present} there already")
    for failure in outcome.failed:
        click.echo(f"failed: {failure}", err=True)
    if outcome.failed:
        raise SystemExit(1)


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
    """Hand every shop platform connection's order sync to the job runner (in-process without
    Redis); the workers also do this every ``CONNECTOR_SYNC_EVERY`` seconds. Mollie
    connections have no orders to sync."""
    count = connector_orders.sync_every_connection()
    click.echo(f"{count} connections handed to the order sync")


@connectors_cli.command("rotate-key")
def connectors_rotate_key() -> None:
    """Encrypt every stored platform secret again under the first key of ENCRYPTION_KEY."""
    count = connections.rotate_keys()
    db.session.commit()
    click.echo(f"{count} connections encrypted again under the first ENCRYPTION_KEY")


@mail_cli.command("inbound")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", type=int, default=2525, show_default=True, help="The SMTP port.")
def mail_inbound(host: str, port: int) -> None:
    """Take customers' emailed replies (to reply+TOKEN@INBOUND_REPLY_DOMAIN) over SMTP, from
    the mail server that receives them, into the requests' threads."""
    controller = inbound_mail_server(current_app._get_current_object(), host, port)  # type: ignore[attr-defined]
    controller.start()
    click.echo(f"Taking replies on {host}:{port}; Ctrl+C stops.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


def inbound_mail_server(app: Flask, host: str, port: int) -> Controller:
    """The SMTP endpoint of ``flask mail inbound``, not started; a mail over
    ``INBOUND_MAIL_MAX_BYTES`` is refused by the server itself (552)."""
    return Controller(
        inbound_mail.InboundHandler(app),
        hostname=host,
        port=port,
        data_size_limit=app.config["INBOUND_MAIL_MAX_BYTES"],
        enable_SMTPUTF8=True,
    )


@mail_cli.command("poll")
def mail_poll() -> None:
    """Take customers' emailed replies from the mailbox INBOUND_IMAP_URL names, once (the
    workers do it every INBOUND_IMAP_EVERY seconds). Exit status 1 when a mail could not be
    taken now; it stays unseen for the next poll."""
    if not inbound_imap.configured():
        raise click.ClickException("INBOUND_IMAP_URL is not set: there is no mailbox to poll.")
    try:
        outcome = inbound_imap.poll()
    except (inbound_imap.MailboxUnavailable, ValueError) as unavailable:
        raise click.ClickException(str(unavailable)) from unavailable
    click.echo(
        f"{outcome.taken} replies taken, {outcome.refused} refused, "
        f"{outcome.failed} left for the next poll"
    )
    if outcome.failed:
        raise SystemExit(1)


@retention_cli.command("run")
def retention_run() -> None:
    """Apply the shops' retention rules once (the workers do it daily; without Redis, run this
    daily from cron): delete old files, anonymise old requests, trim old outbox bodies."""
    done = retention.run()
    click.echo(
        f"{done.requests_anonymised} requests anonymised, {done.files_deleted} files deleted, "
        f"{done.bodies_trimmed} bodies trimmed"
    )


@dashboard_cli.command("recount")
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Count every day and request again, not only the marked ones.",
)
def dashboard_recount_command(everything: bool) -> None:
    """Recount the dashboard's days and requests that commits marked (the workers do it every
    minute; without Redis, run this from cron). ``--all`` rebuilds every count: for a database
    filled without the app, with the writers stopped."""
    if everything:
        dashboard_recount.rebuild()
        db.session.commit()
        click.echo("every day and request counted again")
        return
    done = dashboard_recount.recount()
    click.echo(f"{done.days} days and {done.requests} requests recounted")


def register(app: Flask) -> None:
    groups = (
        demo_cli,
        outbox_cli,
        rq_cli,
        users_cli,
        orders_cli,
        storage_cli,
        connectors_cli,
        mail_cli,
        retention_cli,
        dashboard_cli,
    )
    for group in groups:
        app.cli.add_command(group)
