"""Flask CLI commands: ``flask demo seed``, ``flask outbox sweep``, ``flask rq worker``,
``flask users create-support``."""

from __future__ import annotations

import time

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from extensions import db
from models import User

demo_cli = AppGroup("demo", help="Demo data.")
outbox_cli = AppGroup("outbox", help="The outbox of emails and other side effects.")
rq_cli = AppGroup("rq", help="RQ background workers.")
users_cli = AppGroup("users", help="Staff accounts.")


@demo_cli.command("seed")
def demo_seed() -> None:
    """Load the demo shops, users, orders and requests (once; running it again changes nothing)."""
    import demo

    click.echo(demo.seed())


@outbox_cli.command("sweep")
@click.option("--every", type=int, default=0, help="Keep sweeping every N seconds.")
def outbox_sweep(every: int) -> None:
    """Hand pending outbox rows (Redis was down, a worker died, SMTP failed) to the jobs again."""
    import tasks

    while True:
        click.echo(f"{tasks.sweep_outbox()} outbox rows handed to the job runner")
        click.echo(f"{tasks.sweep_bulk_jobs()} interrupted bulk jobs resumed")
        if not every:
            return
        time.sleep(every)


@rq_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def rq_worker(burst: bool) -> None:
    """Run an RQ worker for ReturnDesk's queue (needs REDIS_URL)."""
    from rq import Worker

    import tasks

    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set: jobs run in-process, no worker needed.")
    worker = Worker([tasks.queue()], connection=tasks.redis_connection())
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


def register(app: Flask) -> None:
    for group in (demo_cli, outbox_cli, rq_cli, users_cli):
        app.cli.add_command(group)
