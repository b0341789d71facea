"""Concurrent portal submissions or approvals in one shop: commits per second, and what
they wait on.

Every submission and approval marks its (shop, day) for the dashboard
(``domain/dashboard_marks.py``) in a flush and keeps that transaction open until it commits.
This runs ``--processes`` processes (as gunicorn's workers; forked) of ``--threads``
threads, each thread in its own app context, session and connection, doing one of two kinds
of work (``--work``) in the big shop (``shop-1``):

- ``submit``: take its fresh orders one after another and submit a return of one unit of the
  first line through ``domain.submission.create_request`` (what the portal's submit calls);
  the fresh orders are topped up first (``bench/seed.py --portal-orders``).
- ``approve``: approve its new requests one after another as its agent
  (``domain.workflow.approve``, then commit); afterwards the requests approved are put back
  to new by SQL (the bench's data only), so runs repeat.

Meanwhile a sampler reads ``pg_stat_activity``
every 20 ms and counts the benchmark's busy sessions by what they wait on (``Lock:transactionid`` or ``Lock:tuple`` is a row lock another transaction holds;
``Client:ClientRead`` is a transaction waiting for its Python to send the next statement)
and names the statements that wait on a lock.

On a seeded PostgreSQL database (``bench/seed.py --requests 20000 --shops 10``)::

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/returndesk_marks \\
        .venv/bin/python bench/marks_contention.py --work approve --processes 2 --threads 4

``--profile`` adds a cProfile of one worker thread. Prints one line of figures; run it
old/new alternately (A B A B) on a shared machine.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import multiprocessing
import os
import pstats
import queue
import secrets
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, select, text  # noqa: E402

from app import create_app  # noqa: E402
from bench.seed import AGENT, BIG_SHOP, FRESH_ORDERS_SQL, top_up_portal_orders  # noqa: E402
from domain import submission, workflow  # noqa: E402
from domain.submission_rules import ChosenLine, Submission, SubmissionRefused  # noqa: E402
from extensions import db  # noqa: E402
from models import Order, ReturnReason, ReturnRequest, Shop, User  # noqa: E402

APPLICATION = "marks_contention"
SAMPLE_EVERY = 0.02


def submit_one(shop: Shop, order_number: str, reason_id: int) -> None:
    order = db.session.scalar(
        select(Order).where(Order.shop_id == shop.id, Order.number == order_number)
    )
    line = order.lines[0]
    chosen = Submission(
        lines=[ChosenLine(order_line_id=line.id, quantity=1, reason_id=reason_id)],
        resolution="refund",
        language="en",
    )
    submission.create_request(shop, order, chosen, submission_key=secrets.token_urlsafe(16))


def approve_one(request_id: int, agent: User) -> None:
    workflow.approve(db.session.get(ReturnRequest, request_id), agent)
    db.session.commit()


# Puts the requests the approvals approved back to new (bench data only: their audit events
# and outbox emails stay).
REOPEN_SQL = [
    "UPDATE return_request_line SET decision = 'open' WHERE request_id = ANY(:ids)",
    "UPDATE return_request SET status = 'new', decided_at = NULL, decided_by_id = NULL,"
    " ship_by_at = NULL WHERE id = ANY(:ids)",
]


def worker(app, work: str, todo: queue.Queue, stop: threading.Event, result: dict, profile) -> None:
    done, refused = 0, Counter()
    with app.app_context():
        shop = db.session.scalar(select(Shop).where(Shop.slug == BIG_SHOP))
        reason_id = db.session.scalar(
            select(ReturnReason.id).where(ReturnReason.shop_id == shop.id).limit(1)
        )
        agent = db.session.scalar(select(User).where(User.email == AGENT))
        db.session.commit()
        result["ready"].wait()
        result["go"].wait()
        if profile:
            profile.enable()
        while not stop.is_set():
            try:
                item = todo.get_nowait()
            except queue.Empty:
                break
            try:
                if work == "submit":
                    submit_one(shop, item, reason_id)
                else:
                    approve_one(item, agent)
                done += 1
            except (SubmissionRefused, workflow.TransitionRefused) as refusal:
                db.session.rollback()
                refused[str(refusal)] += 1
        if profile:
            profile.disable()
        db.session.remove()
    with result["lock"]:
        result["done"] += done
        result["refused"].update(refused)


def sample_waits(url: str, stop: threading.Event, waits: Counter, blocked: Counter) -> None:
    """Count, every ``SAMPLE_EVERY`` seconds, what the benchmark's sessions are doing, and
    the statements of those waiting on a lock."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    query = text(
        "SELECT coalesce(wait_event_type || ':' || wait_event, state), wait_event_type,"
        " left(regexp_replace(query, '\\s+', ' ', 'g'), 60) FROM pg_stat_activity"
        " WHERE application_name = :name AND state <> 'idle'"
    )
    with engine.connect() as connection:
        while not stop.is_set():
            waits["samples"] += 1
            for what, kind, statement in connection.execute(query, {"name": APPLICATION}):
                waits[what] += 1
                if kind == "Lock":
                    blocked[statement] += 1
            time.sleep(SAMPLE_EVERY)
    engine.dispose()


def bench_app(url: str, threads: int):
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": {
                "pool_size": threads + 2,
                "connect_args": {"application_name": APPLICATION},
            },
            "MAIL_SERVER": None,
            "REDIS_URL": None,
        }
    )


def run_process(index: int, args, url: str, items: list, ready, go, results) -> None:
    """One process's ``--threads`` workers over its share of the work, for the window."""
    app = bench_app(url, args.threads)
    todo: queue.Queue = queue.Queue()
    for item in items:
        todo.put(item)
    stop = threading.Event()
    result = {
        "ready": threading.Barrier(args.threads + 1),
        "go": threading.Event(),
        "lock": threading.Lock(),
        "done": 0,
        "refused": Counter(),
    }
    profile = cProfile.Profile() if args.profile and index == 0 else None
    threads = [
        threading.Thread(
            target=worker,
            args=(app, args.work, todo, stop, result, profile if i == 0 else None),
        )
        for i in range(args.threads)
    ]
    for thread in threads:
        thread.start()
    result["ready"].wait()
    ready.put(index)
    go.wait()
    result["go"].set()
    time.sleep(args.seconds)
    stop.set()
    for thread in threads:
        thread.join()
    results.put((result["done"], dict(result["refused"])))
    if profile:
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(30)
        print(out.getvalue(), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", choices=("submit", "approve"), default="submit")
    parser.add_argument("--processes", type=int, default=1, help="as gunicorn's workers")
    parser.add_argument("--threads", type=int, default=8, help="per process")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--label", default="", help="a name printed with the figures")
    parser.add_argument("--profile", action="store_true", help="cProfile one worker thread")
    args = parser.parse_args()
    url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
    app = bench_app(url, 1)
    with app.app_context():
        if args.work == "submit":
            top_up_portal_orders(int(args.seconds * 400) + 200)
            items = [
                number for number, _email, _postcode in db.session.execute(text(FRESH_ORDERS_SQL))
            ]
        else:
            items = list(
                db.session.scalars(
                    select(ReturnRequest.id)
                    .join(Shop, Shop.id == ReturnRequest.shop_id)
                    .where(Shop.slug == BIG_SHOP, ReturnRequest.status == "new")
                    .order_by(ReturnRequest.id)
                )
            )
        db.session.remove()
        db.engine.dispose()

    context = multiprocessing.get_context("fork")
    ready, results, go = context.Queue(), context.Queue(), context.Event()
    processes = [
        context.Process(
            target=run_process,
            args=(i, args, url, items[i :: args.processes], ready, go, results),
        )
        for i in range(args.processes)
    ]
    for process in processes:
        process.start()
    for _ in processes:
        ready.get()
    waits: Counter = Counter()
    blocked: Counter = Counter()
    sampler_stop = threading.Event()
    sampler = threading.Thread(target=sample_waits, args=(url, sampler_stop, waits, blocked))
    started = time.perf_counter()
    go.set()
    sampler.start()
    done, refused = 0, Counter()
    for _ in processes:
        count, why = results.get()
        done += count
        refused.update(why)
    elapsed = time.perf_counter() - started
    sampler_stop.set()
    sampler.join()
    for process in processes:
        process.join()
    if args.work == "approve":
        with app.app_context():
            for statement in REOPEN_SQL:
                db.session.execute(text(statement), {"ids": items})
            db.session.commit()

    samples = max(waits.pop("samples", 0), 1)
    shares = ", ".join(
        f"{what} {count / samples:.2f}" for what, count in waits.most_common() if count
    )
    print(
        f"{args.label or 'run'}: {args.work}, {args.processes}x{args.threads} threads, "
        f"{done} commits in {elapsed:.1f} s = {done / elapsed:.1f}/s; busy sessions per "
        f"sample: {shares}" + (f"; refused {dict(refused)}" if refused else ""),
        flush=True,
    )
    for statement, count in blocked.most_common(3):
        print(f"  waiting on a lock ({count / samples:.2f} per sample): {statement}")


if __name__ == "__main__":
    main()
