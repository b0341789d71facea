"""Benchmark ReturnDesk end to end: ``python bench/run.py [--full]`` (or ``make bench``).

Seeds PostgreSQL (``bench/seed.py``), starts the app under gunicorn (2 workers), a second
gunicorn serving the plain Flask-Admin baseline (``bench/baseline_app.py``), 2 RQ workers
and an SMTP sink on loopback, then measures every page with repeated requests as the big
shop's agent and as a support user, beside the baseline's figure for the same page, and the
dashboard. The baseline's samples are interleaved with ours (taken after our rounds, spread
evenly over them), so that both meet the same OS cache and load. Then customers submitting
returns through the portal (``bench/portal_load.py``) for a fixed time, a bulk approve of
the big shop's concept requests and the delivery of their emails. Prints a table and
rewrites ``docs/PERFORMANCE.md``. Everything it starts, it stops; their logs stay in
``bench/logs/<UTC time>/``.

``--sizes 100000,1000000,10000000`` measures several sizes in one run, one database each
(``returndesk_bench_100k`` …): a ReturnDesk gunicorn and 2 RQ workers per size, every
page's samples taken round-robin across the sizes (the baseline's between the rounds), and
a table of how each page's p95 and the bulk job's cost per 1,000 requests grow
(``bench/growth.py``). The portal and the bulk's full lines are those of the largest size;
the baseline and the table of every page are those of ``--compare-at`` (default: the
largest size). At 10,000,000 requests the baseline's full-scan searches take some 20 s
each: compare at 1,000,000.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import redis
import requests
from aiosmtpd.controller import Controller
from rq import Queue
from rq.job import Job

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.growth import (  # noqa: E402
    GROWTH_GOAL,
    DataSize,
    Growth,
    bulk_growth,
    data_size_lines,
    database_size,
    growth_table,
    p95_growth,
    parse_sizes,
    percentile,
    size_label,
)
from bench.portal_load import (  # noqa: E402
    REQUESTS_PER_CUSTOMER,
    Customer,
    PortalRun,
    csrf_token,
    measure_portal,
)
from bench.seed import AGENT, BIG_SHOP, BULK_SIZE, FRESH_ORDERS_SQL, PASSWORD, SUPPORT  # noqa: E402

VENV_BIN = ROOT / ".venv" / "bin"
# The services' logs, a directory per run (not in git).
LOGS = ROOT / "bench" / "logs"
DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/returndesk_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/9"
# Requests, shops, the seconds the portal's customers keep coming, and the seconds their
# prepared drafts are submitted.
SMALL = (20_000, 10, 15, 5)
FULL = (1_000_000, 50, 30, 10)
# Requests before measuring a page, from 2 concurrent clients so that both gunicorn workers
# (sequential requests mostly reach the same one) compile its templates and plan its queries.
WARM_UP = 6
PORTAL_BUDGET_PER_SECOND = 100
PORTAL_BUDGET_P95_MS = 250


@dataclass
class Figure:
    """One measured line of the table, with its budget and the baseline's figure."""

    name: str
    samples: list[float] = field(default_factory=list)
    throughput: float | None = None
    baseline: list[float] | None = None
    budget: str = ""
    budget_ms: float | None = None
    value: str | None = None  # a figure that is not a latency (seconds, emails/s, MB)
    met: bool | None = None
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        return percentile(self.samples, 95)

    def verdict(self) -> str:
        if self.met is None and self.budget_ms is not None and self.samples:
            self.met = self.p95 <= self.budget_ms
        return {True: "met", False: "NOT met", None: "—"}[self.met]


class CountingSink:
    """An SMTP server that counts what it receives and when."""

    def __init__(self) -> None:
        self.count = 0
        self.first: float | None = None
        self.last: float | None = None
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            now = time.perf_counter()
            self.count += 1
            self.first = self.first or now
            self.last = now
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            requests.get(url, timeout=10)
            return
        except requests.RequestException:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up")


class Services:
    """The processes of one run; stopped (by their own pids) whatever happens.

    Each one's stderr (gunicorn's and the RQ workers' logs) goes to a file of its own in
    ``bench/logs/<UTC time>/``, kept after the run.
    """

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.processes: list[subprocess.Popen] = []
        self.logs: list[Path] = []
        self.log_dir = LOGS / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
        self.log_dir.mkdir(parents=True, exist_ok=True)

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        """Start a process with the run's environment, or ``env`` (another size's database)."""
        env = env or self.env
        log = self.log_dir / f"{len(self.processes):02d}-{Path(args[0]).name}.log"
        with log.open("wb") as stderr:
            database = env.get("DATABASE_URL", "").rsplit("/", 1)[-1]
            stderr.write(f"$ {' '.join(args)}  (database {database})\n".encode())
            stderr.flush()
            process = subprocess.Popen(
                args,
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
        self.processes.append(process)
        self.logs.append(log)
        return process

    def gunicorn(
        self, target: str, port: int, env: dict[str, str] | None = None
    ) -> subprocess.Popen:
        return self.start(
            str(VENV_BIN / "gunicorn"),
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "-t",
            "120",
            target,
            env=env,
        )

    def check(self) -> None:
        """Stop the run with the error of a service that exited (instead of waiting in vain)."""
        for process, log in zip(self.processes, self.logs, strict=True):
            if process.poll() is not None:
                tail = log.read_text(errors="replace").strip().splitlines()[-15:]
                command = " ".join(Path(a).name for a in process.args[:4])
                raise RuntimeError(f"{command} exited ({process.returncode}):\n" + "\n".join(tail))

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


@dataclass
class Target:
    """One size of the run: its database, environment (own RQ queue), server and logins."""

    size: int
    db_url: str
    env: dict[str, str]
    app: str = ""
    base: str | None = None  # the baseline's server: the compared size only
    web: subprocess.Popen | None = None
    sessions: dict[str, requests.Session] = field(default_factory=dict)
    terms: dict = field(default_factory=dict)

    @property
    def database(self) -> str:
        return self.db_url.rsplit("/", 1)[1]

    @property
    def queue(self) -> str:
        return self.env["RQ_QUEUE"]


def make_targets(args: argparse.Namespace, env: dict[str, str]) -> list[Target]:
    """A target per size, smallest first: without ``--sizes`` the one ``--database-url``."""
    if not args.sizes:
        return [Target(args.requests, args.database_url, env)]
    server, name = args.database_url.rsplit("/", 1)
    prefix = args.database_prefix or name
    targets = []
    for size in args.sizes:
        url = f"{server}/{prefix}_{size_label(size)}"
        queue = f"{env['RQ_QUEUE']}-{size_label(size)}"
        targets.append(Target(size, url, {**env, "DATABASE_URL": url, "RQ_QUEUE": queue}))
    return targets


def load_target(target: Target, args: argparse.Namespace) -> None:
    """Create and migrate the target's database; seed it, or check that it was seeded."""
    prepare_database(target.db_url)
    run_step(target.env, str(VENV_BIN / "flask"), "--app", "app", "db", "upgrade")
    if args.no_seed:
        with psycopg.connect(target.db_url) as conn:
            held = conn.execute("SELECT count(*) FROM return_request").fetchone()[0]
        if held < target.size:
            raise SystemExit(
                f"{target.database} holds {held:,} requests, not {target.size:,}: "
                "seed it (leave out --no-seed) or check --database-prefix"
            )
        return
    print(
        f"seeding {target.database}: {target.size:,} requests in {args.shops} shops …", flush=True
    )
    run_step(
        target.env,
        sys.executable,
        "bench/seed.py",
        "--requests",
        str(target.size),
        "--shops",
        str(args.shops),
    )


def prepare_database(url: str) -> None:
    """Create the benchmark database if needed and migrate it."""
    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def run_step(env: dict[str, str], *args: str) -> None:
    subprocess.run(args, cwd=ROOT, env=env, check=True)


def login(base: str, email: str) -> requests.Session:
    session = requests.Session()
    token = csrf_token(session.get(f"{base}/login").text)
    done = session.post(
        f"{base}/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token, "next": ""},
    )
    if "/login" in done.url:
        raise RuntimeError(f"could not log in as {email}")
    return session


def sample_ms(session: requests.Session, url: str) -> float:
    """Milliseconds of one GET of the page, checked to be the page itself."""
    started = time.perf_counter()
    response = session.get(url)
    elapsed = (time.perf_counter() - started) * 1000
    check_page(response)
    return elapsed


def check_page(response: requests.Response) -> None:
    """The page itself, not an error or the login page a lost session is sent to."""
    response.raise_for_status()
    if "/login" in response.url:
        raise RuntimeError(f"{response.request.url} sent the client to the login page")


def throughput(session: requests.Session, url: str, total: int, clients: int = 2) -> float:
    """Requests per second with ``clients`` concurrent clients sharing the session cookie."""
    cookies = session.cookies.get_dict()

    def one(_):
        check_page(requests.get(url, cookies=cookies, timeout=60))

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(total)))
    return total / (time.perf_counter() - started)


def sample_terms(db_url: str) -> dict[str, str]:
    """Search terms taken from the data: a real email, number, order number and name."""
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT customer_email, number, order_number, customer_name FROM return_request "
            "WHERE shop_id = (SELECT id FROM shop WHERE slug = 'shop-1') "
            # The 1,000th latest, or the middle one of a smaller shop.
            "ORDER BY id DESC OFFSET LEAST(1000, (SELECT count(*) / 2 FROM return_request "
            "WHERE shop_id = (SELECT id FROM shop WHERE slug = 'shop-1'))) LIMIT 1"
        ).fetchone()
        page_ids = [
            r[0]
            for r in conn.execute(
                # Open requests first; repeated --no-seed runs approve them, then any will do.
                "SELECT id FROM return_request WHERE shop_id = (SELECT id FROM shop "
                "WHERE slug = 'shop-1') AND notice_count > 0 "
                "ORDER BY status IN ('new', 'concept') DESC, id DESC LIMIT 20"
            )
        ]
        dates = conn.execute(
            "SELECT min(created_at), max(created_at) FROM return_request"
        ).fetchone()
    email, number, order_number, name = row
    local = email.split("@")[0]
    surname = name.split()[-1]
    return {
        "email": email,
        "number": number,
        "order_number": order_number,
        "name_prefix": name[: len(name.split()[0]) + 3],
        "name_substring": f"{surname[1:]}",
        "email_substring": local[2:-2],
        "page_ids": page_ids,
        "date_from": dates[1].replace(day=1).strftime("%Y-%m-%d 00:00:00"),
        "date_to": dates[1].strftime("%Y-%m-%d 23:59:59"),
    }


def worker_statuses(master: subprocess.Popen) -> dict[int, str]:
    """``/proc/<pid>/status`` of each gunicorn worker (the master's children), by pid."""
    found = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if int(re.search(r"PPid:\s+(\d+)", text).group(1)) == master.pid:
            found[int(status.parent.name)] = text
    return found


def gunicorn_rss_mb(master: subprocess.Popen) -> list[float]:
    """RSS of each worker, from /proc."""
    sizes = []
    for text in worker_statuses(master).values():
        if rss := re.search(r"VmRSS:\s+(\d+) kB", text):
            sizes.append(int(rss.group(1)) / 1024)
    return sizes


def gunicorn_cpu_seconds(master: subprocess.Popen) -> float:
    """CPU time (user and system) the workers have used so far, from /proc/<pid>/stat."""
    total = 0
    for pid in worker_statuses(master):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15
    return total / os.sysconf("SC_CLK_TCK")


@dataclass
class Page:
    """A page of the Requests list as one user sees it; ``detail`` is this database's term."""

    name: str
    who: str
    query: str
    baseline_query: str | None
    budget: int
    detail: str = ""

    @property
    def full_name(self) -> str:
        return f"{self.name}: {self.detail}" if self.detail else self.name


def page_plan(terms: dict) -> list[Page]:
    """The Requests list's pages, searches with terms taken from one database, and filters."""
    search_cases = [
        ("exact email", terms["email"]),
        ("request number", terms["number"]),
        ("order number", terms["order_number"]),
        ("name prefix", terms["name_prefix"]),
        ("name substring", terms["name_substring"]),
        ("email substring", terms["email_substring"]),
        ("common surname, ~0.3% of rows", "Jansen"),
    ]
    plan = [
        Page("Requests list page 1, big shop's agent", "agent", "?flt0_status=open", "", 60),
        Page("Requests list page 1, support (all shops)", "support", "?flt0_status=open", "", 80),
        Page("Requests list, all statuses, agent", "agent", "?all=1", "", 60),
        Page("Requests list, all statuses, support", "support", "?all=1", "", 80),
    ]
    for label, term in search_cases:
        for who, scope in (("agent", "big shop"), ("support", "all shops")):
            query = f"?all=1&search={requests.utils.quote(term)}"
            plan.append(Page(f"search {label} ({scope})", who, query, query, 50, term))
    created = f"flt4_created={terms['date_from']}+to+{terms['date_to']}"
    filtered = f"?flt0_status=new&flt1_reason=damaged&{created}"
    return [
        *plan,
        Page("filtered status+reason+date, agent", "agent", filtered, None, 80),
        Page("filtered status+reason+date, support", "support", filtered, None, 80),
        Page("page 200, agent", "agent", "?all=1&page=199", "?page=199", 120),
        Page("page 200, support", "support", "?all=1&page=199", "?page=199", 120),
    ]


def baseline_repeat(repeat: int) -> int:
    """The baseline's samples of a page when ours are ``repeat``: its full-scan searches take
    seconds at 1,000,000 requests, so a third as many, at least 5."""
    return max(5, repeat // 3)


@dataclass
class BaselinePage:
    """The plain Flask-Admin baseline's version of one of our pages, and its samples.

    ``interleaved`` takes them between our rounds rather than in a burst of its own
    afterwards, so that the baseline meets the OS cache and the load our samples met (after
    another size's pages, say), not a cache it has just warmed for itself.
    """

    session: requests.Session
    url: str
    repeat: int
    samples: list[float] = field(default_factory=list)

    def due(self, done: int, rounds: int) -> int:
        """Samples to take once ``done`` of our ``rounds`` rounds are done: ``repeat`` spread
        evenly over the rounds, the last right after our last round (10 over 30 rounds: one
        after every third; 5 over 3: one or two after each)."""
        return done * self.repeat // rounds - (done - 1) * self.repeat // rounds


def rotated(targets: list[Target], i: int) -> list[Target]:
    """The sizes in round ``i``'s order: the first size moves on by one every round."""
    shift = i % len(targets)
    return targets[shift:] + targets[:shift]


def interleaved(
    targets: list[Target],
    who: str,
    url: Callable[[Target, int], str],
    repeat: int,
    warm_each: bool = False,
    baseline: BaselinePage | None = None,
) -> dict[int, list[float]]:
    """Milliseconds of ``repeat`` GETs at each size, taken round-robin across the sizes.

    One sample at each size in turn, the first size rotating every round, so that a burst of
    load on the shared machine hits every size alike; after a round, the ``baseline``'s
    samples due then (into its ``samples``). The baseline and each size are warmed up first
    (both gunicorn workers); with ``warm_each`` each size before every sample instead, for a
    page that changes (the request page: another request each time).
    """
    if baseline:
        throughput(baseline.session, baseline.url, WARM_UP)
    if not warm_each:
        for target in targets:
            throughput(target.sessions[who], url(target, 0), WARM_UP)
    samples: dict[int, list[float]] = {target.size: [] for target in targets}
    for i in range(repeat):
        for target in rotated(targets, i):
            session = target.sessions[who]
            if warm_each:
                throughput(session, url(target, i), WARM_UP)
            samples[target.size].append(sample_ms(session, url(target, i)))
        if baseline:
            for _ in range(baseline.due(i + 1, repeat)):
                baseline.samples.append(sample_ms(baseline.session, baseline.url))
    return samples


def report_p95(name: str, samples: dict[int, list[float]]) -> None:
    if len(samples) == 1:
        print(f"  {name}: p95 {percentile(next(iter(samples.values())), 95):.0f} ms", flush=True)
    else:
        sizes = ", ".join(f"{size_label(n)} {percentile(s, 95):.0f}" for n, s in samples.items())
        print(f"  {name}: p95 (ms) {sizes}", flush=True)


def compared_target(targets: list[Target], size: int) -> Target:
    """The size whose pages are measured beside the baseline and tabled page by page."""
    for target in targets:
        if target.size == size:
            return target
    raise SystemExit(f"--compare-at {size:,} is not one of --sizes")


def baseline_page(compared: Target, page: Page, repeat: int) -> BaselinePage | None:
    """The baseline's version of ``page`` beside the compared size, if it has one."""
    if page.baseline_query is None or not compared.base:
        return None
    return BaselinePage(
        compared.sessions[page.who],
        f"{compared.base}/admin/baseline/{page.baseline_query}",
        baseline_repeat(repeat),
    )


def measure_pages(
    targets: list[Target], compared: Target, repeat: int
) -> tuple[list[Figure], list[Growth]]:
    """Every read-only page, as agent and as support, at every size round-robin.

    Returns the compared size's figures, with its throughput and the baseline's figure for
    the same page (its samples taken between our rounds), and every page's growth across the
    sizes.
    """
    figures, growth = [], []
    for pages in zip(*(page_plan(t.terms) for t in targets), strict=True):
        urls = {
            t.size: f"{t.app}/admin/requests/{page.query}"
            for t, page in zip(targets, pages, strict=True)
        }
        page = pages[targets.index(compared)]
        baseline = baseline_page(compared, page, repeat)
        samples = interleaved(
            targets, page.who, lambda t, _i, u=urls: u[t.size], repeat, baseline=baseline
        )
        figure = Figure(page.full_name, budget=f"p95 ≤ {page.budget} ms", budget_ms=page.budget)
        figure.samples = samples[compared.size]
        figure.throughput = throughput(compared.sessions[page.who], urls[compared.size], repeat)
        figure.baseline = baseline.samples if baseline else None
        figures.append(figure)
        growth.append(p95_growth(page.name, samples))
        report_p95(page.name, samples)
    name = "request page (lines, notices, thread, timeline)"

    def request_page(target: Target, i: int) -> str:
        ids = target.terms["page_ids"]
        return f"{target.app}/admin/requests/{ids[i % len(ids)]}"

    samples = interleaved(targets, "agent", request_page, repeat, warm_each=True)
    page = Figure(name, budget="p95 ≤ 60 ms", budget_ms=60)
    page.samples = samples[compared.size]
    page.throughput = throughput(compared.sessions["agent"], request_page(compared, 0), repeat)
    figures.append(page)
    growth.append(p95_growth(name, samples))
    report_p95(name, samples)
    dashboard, dashboard_growth = measure_dashboard(targets, compared, repeat)
    return figures + dashboard, growth + dashboard_growth


def measure_dashboard(
    targets: list[Target], compared: Target, repeat: int
) -> tuple[list[Figure], list[Growth]]:
    """The admin home, which is the dashboard: the default period, 90 days, and all shops.

    Its cost follows the requests in the period, so the growth goal does not apply to it.
    """
    plan = [
        ("dashboard, big shop's agent, last 30 days (the default)", "agent", ""),
        ("dashboard, big shop's agent, last 90 days", "agent", "?period=90"),
        ("dashboard, support (all shops), last 30 days", "support", ""),
    ]
    count = max(10, repeat // 2)
    figures, growth = [], []
    for name, who, query in plan:
        samples = interleaved(targets, who, lambda t, _i, q=query: f"{t.app}/admin/{q}", count)
        figure = Figure(name, budget="p95 ≤ 1 s", budget_ms=1000)
        figure.samples = samples[compared.size]
        figure.throughput = throughput(
            compared.sessions[who], f"{compared.app}/admin/{query}", count
        )
        figures.append(figure)
        growth.append(p95_growth(name, samples, goal=False))
        report_p95(name, samples)
    return figures, growth


def fresh_customers(db_url: str) -> list[Customer]:
    """The big shop's customers with a fresh order: every other one looks it up by postcode."""
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(FRESH_ORDERS_SQL).fetchall()
    return [(n, postcode if i % 2 else email) for i, (n, email, postcode) in enumerate(rows)]


@dataclass
class Landed:
    """What the portal run left behind: new requests, their confirmations, and the RQ jobs."""

    requests: int
    confirmations: int
    queued: int


def count_landed(db_url: str, redis_url: str, queue: str, after_id: int) -> Landed:
    """Requests created after ``after_id``, their confirmation emails, and those waiting in RQ."""
    with psycopg.connect(db_url) as conn:
        created = conn.execute(
            "SELECT count(*) FROM return_request WHERE id > %s", (after_id,)
        ).fetchone()[0]
        emails = {
            row[0]
            for row in conn.execute(
                "SELECT id FROM outbound_email WHERE template = 'request_confirmation' "
                "AND request_id > %s",
                (after_id,),
            )
        }
    return Landed(created, len(emails), len(emails & emails_in_queue(redis_url, queue)))


def emails_in_queue(redis_url: str, queue: str) -> set[int]:
    """The outbox email ids the jobs waiting in the RQ queue will deliver."""
    connection = redis.Redis.from_url(redis_url)
    jobs = Job.fetch_many(Queue(queue, connection=connection).get_job_ids(), connection)
    waiting = set()
    for job in filter(None, jobs):
        if job.func_name == "tasks.deliver_emails":
            waiting.update(job.args[0])
    return waiting


def measure_portal_submissions(
    target: Target, args: argparse.Namespace
) -> tuple[list[Figure], str]:
    """Customers returning items through the portal for ``--portal-seconds``, then submit
    buttons alone for ``--submit-seconds`` (drafts filled in before), checked after.

    Returns the figures and a note on how busy the server and the clients were.
    """
    with psycopg.connect(target.db_url) as conn:
        last_id = conn.execute("SELECT coalesce(max(id), 0) FROM return_request").fetchone()[0]
    portal = f"{target.app}/returns/{BIG_SHOP}"
    cpu_before = gunicorn_cpu_seconds(target.web)
    flows = measure_portal(
        portal, fresh_customers(target.db_url), args.portal_seconds, args.portal_clients
    )
    server_cpu = gunicorn_cpu_seconds(target.web) - cpu_before
    # Drafts for the budget's rate over the whole window, and half as many again.
    prepared = math.ceil(PORTAL_BUDGET_PER_SECOND * 1.5 * args.submit_seconds / args.portal_clients)
    print(f"  filling in {prepared * args.portal_clients:,} drafts to submit …", flush=True)
    submits = measure_portal(
        portal,
        fresh_customers(target.db_url),
        args.submit_seconds,
        args.portal_clients,
        prepared,
    )
    landed = count_landed(target.db_url, args.redis_url, target.queue, last_id)
    cores = os.cpu_count() or 1
    note = (
        f"Portal load: {flows.per_second * REQUESTS_PER_CUSTOMER:.0f} HTTP requests/s; CPU used "
        f"by gunicorn's workers {server_cpu:.0f} s (with their warm-up submissions), by the "
        f"{flows.clients} client processes {flows.client_cpu_seconds:.0f} s in the window, of "
        f"{cores * flows.seconds:.0f} CPU-seconds the {cores} cores had in {flows.seconds:.0f} s."
    )
    return portal_figures(flows, submits, landed), note


def portal_figures(flows: PortalRun, submits: PortalRun, landed: Landed) -> list[Figure]:
    budget = f"≥ {PORTAL_BUDGET_PER_SECOND}/s sustained, p95 ≤ {PORTAL_BUDGET_P95_MS} ms"
    whole = Figure(
        f"portal submissions, no photos, whole customers ({flows.clients} clients, "
        f"{flows.seconds:.0f} s): p95 of the submit POST; throughput = customers/s",
        budget=budget,
    )
    alone = Figure(
        f"portal submit POSTs alone, drafts filled in before ({submits.clients} clients, "
        f"{submits.seconds:.0f} s); throughput = submissions/s",
        budget=budget,
    )
    flow = Figure(
        f"portal: one customer's whole flow ({REQUESTS_PER_CUSTOMER} HTTP requests, "
        "lookup to status page)",
        budget="—",
    )
    figures = []
    for figure, run in ((whole, flows), (alone, submits)):
        if not run.timed:
            figure.value = f"nothing submitted: {'; '.join(run.failures[:3])}"
            figure.met = False
        else:
            figure.samples, figure.throughput = run.submit_ms, run.per_second
            figure.met = (
                run.per_second >= PORTAL_BUDGET_PER_SECOND and figure.p95 <= PORTAL_BUDGET_P95_MS
            )
            print(f"  {figure.name}: {run.per_second:.1f}/s, p95 {figure.p95:.0f} ms", flush=True)
        figures.append(figure)
    if flows.timed:
        flow.samples = flows.flow_ms
        figures.append(flow)
    submitted = flows.submitted + submits.submitted
    failures = flows.failures + submits.failures
    check = Figure("portal submissions landed, each with its confirmation queued", budget="all")
    check.value = (
        f"{submitted:,} submitted, {len(failures)} failed; {landed.requests:,} new "
        f"requests, {landed.confirmations:,} confirmation emails, {landed.queued:,} in RQ"
    )
    check.met = not failures and (
        submitted == landed.requests == landed.confirmations == landed.queued
    )
    if flows.ran_out or submits.ran_out:
        check.value += "; the fresh orders or drafts ran out before the time was up"
    for failure in failures[:5]:
        print(f"  portal failure: {failure}", flush=True)
    return [*figures, check]


def last_email_id(db_url: str) -> int:
    with psycopg.connect(db_url) as conn:
        return conn.execute("SELECT coalesce(max(id), 0) FROM outbound_email").fetchone()[0]


def wait_for_outbox(db_url: str, after_id: int, services: Services, timeout: float) -> float:
    """Seconds until the emails after ``after_id`` are sent (the portal's, before the bulk)."""
    started = time.perf_counter()
    with psycopg.connect(db_url, autocommit=True) as conn:
        while time.perf_counter() - started < timeout:
            services.check()
            left = conn.execute(
                "SELECT count(*) FROM outbound_email WHERE id > %s "
                "AND status IN ('pending', 'sending')",
                (after_id,),
            ).fetchone()[0]
            if not left:
                break
            time.sleep(0.2)
    return time.perf_counter() - started


BIG_SHOP_ID = f"(SELECT id FROM shop WHERE slug = '{BIG_SHOP}')"
BULK_TIMEOUT = 600
# Where the confirming click leads when the approve runs as a job.
JOB_PAGE = re.compile(r"/admin/requests/bulk/\d+")


def bulk_size(targets: list[Target]) -> int:
    """How many concept requests every size's bulk approves: as seeded at the smallest size
    (a quarter of its big shop's requests, at most ``BULK_SIZE``), the same at every size
    so that the job's fixed costs weigh alike in its cost per 1,000 requests."""
    wanted = BULK_SIZE
    for target in targets:
        with psycopg.connect(target.db_url) as conn:
            big = conn.execute(
                f"SELECT count(*) FROM return_request WHERE shop_id = {BIG_SHOP_ID}"
            ).fetchone()[0]
        wanted = min(wanted, big // 4)
    return wanted


def set_concept_requests(conn: psycopg.Connection, wanted: int) -> int:
    """Give the big shop ``wanted`` concept requests for the bulk approve; returns how many.

    A previous round or run approved them: the latest approved go back to concept (then new
    ones, if too few). A large seed has more than ``wanted`` (4% of its requests): the rest
    become new. Like the seed, this sets statuses in SQL: it prepares data, it is no
    transition.
    """
    count = (
        f"SELECT count(*) FROM return_request WHERE status = 'concept' AND shop_id = {BIG_SHOP_ID}"
    )
    held = conn.execute(count).fetchone()[0]
    if held > wanted:
        conn.execute(
            "UPDATE return_request SET status = 'new' WHERE id IN (SELECT id FROM return_request "
            f"WHERE shop_id = {BIG_SHOP_ID} AND status = 'concept' ORDER BY id LIMIT %s)",
            (held - wanted,),
        )
    elif held < wanted:
        conn.execute(
            "UPDATE return_request SET status = 'concept' WHERE id IN (SELECT id FROM "
            f"return_request WHERE shop_id = {BIG_SHOP_ID} AND status IN ('approved', 'new') "
            "ORDER BY status = 'approved' DESC, decided_at DESC NULLS LAST, id LIMIT %s)",
            (wanted - held,),
        )
    return conn.execute(count).fetchone()[0]


@dataclass
class BulkRun:
    """One bulk approve: how many, when its job was done and its emails delivered."""

    total: int
    job_seconds: float | None
    delivered: int
    emails_seconds: float


def bulk_approve(target: Target, wanted: int, sink: CountingSink, services: Services) -> BulkRun:
    """Approve every concept request of the big shop through the UI; wait for job and emails."""
    agent = login(target.app, AGENT)
    url = f"{target.app}/admin/requests/bulk?scope=filter&flt0_status=concept&action=approve"
    token = csrf_token(agent.get(url).text)
    with psycopg.connect(target.db_url, autocommit=True) as conn:
        total = set_concept_requests(conn, wanted)
        before = sink.count
        started = time.perf_counter()
        response = agent.post(url, data={"csrf_token": token, "action": "approve"})
        response.raise_for_status()
        job_seconds = None
        if not JOB_PAGE.search(response.url):
            # A few hundred requests are approved inline, within the POST, without a job.
            job_seconds = time.perf_counter() - started
        while time.perf_counter() - started < BULK_TIMEOUT:
            services.check()
            status = conn.execute("SELECT status FROM bulk_job ORDER BY id DESC LIMIT 1").fetchone()
            if job_seconds is None and status and status[0] == "done":
                job_seconds = time.perf_counter() - started
            if job_seconds is not None and sink.count - before >= total:
                break
            time.sleep(0.05)
    return BulkRun(total, job_seconds, sink.count - before, time.perf_counter() - started)


def measure_bulk(
    targets: list[Target], sink: CountingSink, services: Services, rounds: int
) -> tuple[list[Figure], Growth | None]:
    """``rounds`` bulk approves at every size, round-robin, each waiting for its emails.

    Returns the largest size's figures (median of its rounds) and the job's growth in
    seconds per 1,000 requests (none when a job did not finish).
    """
    wanted = bulk_size(targets)
    runs: dict[int, list[BulkRun]] = {target.size: [] for target in targets}
    for i in range(rounds):
        for target in rotated(targets, i):
            run = bulk_approve(target, wanted, sink, services)
            runs[target.size].append(run)
            done = f"{run.job_seconds:.1f} s" if run.job_seconds is not None else "not done"
            print(f"  bulk at {size_label(target.size)}: {run.total:,} in {done}", flush=True)
    figures = bulk_figures(runs[targets[-1].size])
    finished = {
        size: [r.job_seconds for r in rs if r.job_seconds is not None] for size, rs in runs.items()
    }
    if not all(finished.values()) or not wanted:
        return figures, None
    return figures, bulk_growth(finished, wanted)


def bulk_figures(runs: list[BulkRun]) -> list[Figure]:
    """The bulk job and its emails at one size: the median of its rounds."""
    total = runs[0].total
    rounds = f", median of {len(runs)} rounds" if len(runs) > 1 else ""
    job = Figure(f"bulk approve of {total:,} concept requests (job done{rounds})", budget="≤ 5 s")
    finished = [run.job_seconds for run in runs if run.job_seconds is not None]
    if len(finished) < len(runs):
        job.value, job.met = f"not done in {BULK_TIMEOUT} s", False
    else:
        seconds = statistics.median(finished)
        job.value, job.met = f"{seconds:.1f} s", seconds <= 5
    rate = statistics.median(
        run.delivered / run.emails_seconds if run.emails_seconds else 0 for run in runs
    )
    delivered = min(run.delivered for run in runs)
    mail = Figure(
        f"their emails through 2 RQ workers into the SMTP sink ({delivered:,} delivered"
        f"{' each round' if len(runs) > 1 else ''})",
        budget="≥ 100 emails/s",
    )
    seconds = statistics.median(run.emails_seconds for run in runs)
    mail.value = f"{rate:.0f} emails/s ({seconds:.1f} s from the click)"
    mail.met = rate >= 100 and all(run.delivered >= run.total for run in runs)
    return [job, mail]


def machine() -> str:
    cpu = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    memory = subprocess.run(["free", "-m"], capture_output=True, text=True).stdout.split("\n")[1]
    return (
        f"{os.cpu_count()} × {cpu.group(1) if cpu else platform.processor()}, "
        f"{memory.split()[1]} MB RAM, Python {platform.python_version()}"
    )


def table(figures: list[Figure]) -> list[str]:
    lines = [
        "| what | median | p95 | throughput | baseline median | baseline p95 | "
        "baseline ÷ ours (p95) | budget | |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for f in figures:
        if f.value is not None:
            cells = [f.value, "", "", "", "", ""]
        else:
            base = f.baseline
            cells = [
                f"{f.median:.1f} ms",
                f"{f.p95:.1f} ms",
                f"{f.throughput:.0f}/s" if f.throughput else "",
                f"{statistics.median(base):.1f} ms" if base else "—",
                f"{percentile(base, 95):.1f} ms" if base else "—",
                f"{percentile(base, 95) / f.p95:.1f}×" if base else "—",
            ]
        lines.append(f"| {f.name} | " + " | ".join(cells) + f" | {f.budget} | {f.verdict()} |")
    return lines


@dataclass
class Results:
    """What a run measured, for the report."""

    figures: list[Figure]
    growth: list[Growth]
    data: dict[str, DataSize]
    notes: list[str]


def growth_section(results: Results, targets: list[Target], args: argparse.Namespace) -> list[str]:
    """The "How cost grows" part of the report (runs with several sizes only)."""
    goal = [row for row in results.growth if row.goal]
    met = sum(row.verdict() == "met" for row in goal)
    labels = ", ".join(size_label(t.size) for t in targets)
    return [
        "## How cost grows",
        "",
        f"Sizes {labels} in one run, each its own database and gunicorn. Every page's "
        f"{args.repeat} samples were taken round-robin across the sizes (one at each size in "
        "turn, the first size rotating every round) after warming each size up, so that a "
        "burst of load on the shared machine hits every size alike; the baseline's between "
        f"the rounds, beside {size_label(args.compare_at)}. The ratio is the largest "
        "size's p95 over the smallest's; the goal (issue 18) is at most "
        f"{GROWTH_GOAL}× for the Requests list, search, the request page and the bulk job's "
        "cost per 1,000 requests. The dashboard's cost follows the requests in its period: no "
        f"goal. Bulk: {args.bulk_rounds} approve(s) per size of the same number of concept "
        "requests, round-robin, each after the previous one's emails were delivered; the "
        "median job time per 1,000 requests.",
        "",
        *growth_table(results.growth, [t.size for t in targets]),
        "",
        f"Goal met for {met} of {len(goal)} lines.",
        "",
        f"## Every page at {size_label(args.compare_at)} requests",
        "",
        *(
            [
                f"Beside the baseline at {size_label(args.compare_at)}; the portal, the bulk and "
                f"the memory lines are at {size_label(targets[-1].size)}.",
                "",
            ]
            if args.compare_at != targets[-1].size
            else []
        ),
    ]


def write_report(
    results: Results, targets: list[Target], args: argparse.Namespace, seconds: float
) -> None:
    largest = targets[-1]
    each = "at each size, round-robin across the sizes, " if len(targets) > 1 else ""
    text = [
        "# Performance",
        "",
        "Regenerated by `bench/run.py` (`make bench`, `make bench FULL=1`, `bench/run.py "
        "--sizes …`); do not edit by hand.",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine()}",
        f"- Database: PostgreSQL {postgres_version(largest.db_url)}; Redis; gunicorn 2 workers",
        "- Data (the big shop holds 20% of the requests, created over 730 days; counted after "
        "the run):",
        *[f"  {line}" for line in data_size_lines(results.data)],
        f"- Each page: {args.repeat} sequential requests {each}after {WARM_UP} from 2 "
        "concurrent clients to warm up both workers (median, p95), "
        f"then {args.repeat} more from 2 concurrent clients (throughput); the baseline, "
        f"warmed up alike, {baseline_repeat(args.repeat)} sequential requests interleaved with "
        "ours (spread evenly over our rounds, each right after one), so that both meet the same "
        "OS cache and load; loopback only",
        "- Baseline: a plain Flask-Admin `ModelView(ReturnRequest)` with default settings and "
        "the same `column_searchable_list` (plus the tenant filter), same run, same data",
        f"- Whole run: {seconds / 60:.1f} minutes; load average before and after: "
        f"{args.load_before} / {load_average()} (the machine is shared: read figures with it)",
        "",
        *(growth_section(results, targets, args) if len(targets) > 1 else []),
        *table(results.figures),
        "",
        "Budgets are those of issue 9 and hold for 1,000,000 requests; at a smaller size the "
        "verdicts are indicative only.",
        "",
        *[f"- {note}" for note in results.notes],
        "",
    ]
    target = ROOT / "docs" / "PERFORMANCE.md"
    target.parent.mkdir(exist_ok=True)
    notes_file = ROOT / "docs" / "PERFORMANCE-notes.md"
    if notes_file.exists():
        text += ["", notes_file.read_text()]
    target.write_text("\n".join(text))


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def postgres_version(url: str) -> str:
    with psycopg.connect(url) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="1,000,000 requests in 50 shops")
    parser.add_argument("--requests", type=int)
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        help="several sizes in one run, e.g. 100000,1000000,10000000: a database each "
        "(<prefix>_100k …) and a table of how cost grows; defaults as with --full",
    )
    parser.add_argument(
        "--database-prefix",
        help="with --sizes: the databases' names before _100k (default: the database of "
        "--database-url, returndesk_bench)",
    )
    parser.add_argument("--shops", type=int)
    parser.add_argument("--repeat", type=int, default=30, help="requests per page")
    parser.add_argument("--no-seed", action="store_true", help="reuse the loaded data")
    parser.add_argument(
        "--seed-only", action="store_true", help="create, migrate and seed the databases; stop"
    )
    parser.add_argument("--bulk-rounds", type=int, help="bulk approves per size (3 with --sizes)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS))
    parser.add_argument("--portal-seconds", type=float, help="how long customers submit")
    parser.add_argument(
        "--submit-seconds", type=float, help="how long prepared drafts are submitted"
    )
    parser.add_argument("--portal-clients", type=int, default=4, help="client processes")
    parser.add_argument(
        "--compare-at",
        type=int,
        help="with --sizes: the size measured beside the baseline and tabled page by page "
        "(default: the largest)",
    )
    args = parser.parse_args()
    default = FULL if args.full or args.sizes else SMALL
    args.requests = args.requests or default[0]
    args.shops = args.shops or default[1]
    args.portal_seconds = args.portal_seconds or default[2]
    args.submit_seconds = args.submit_seconds or default[3]
    args.bulk_rounds = args.bulk_rounds or (3 if args.sizes and len(args.sizes) > 1 else 1)
    args.compare_at = args.compare_at or max(args.sizes or [args.requests])
    return args


def start_servers(targets: list[Target], compared: Target, services: Services) -> None:
    """A ReturnDesk gunicorn per size and the baseline's beside the compared one; log in to
    each."""
    for target in targets:
        port = free_port()
        target.web = services.gunicorn("app:create_app()", port, target.env)
        target.app = f"http://127.0.0.1:{port}"
    port = free_port()
    services.gunicorn("bench.baseline_app:create_baseline_app()", port, compared.env)
    compared.base = f"http://127.0.0.1:{port}"
    for target in targets:
        wait_for_http(f"{target.app}/login")
        target.sessions = {"agent": login(target.app, AGENT), "support": login(target.app, SUPPORT)}
        target.terms = sample_terms(target.db_url.replace("postgresql+psycopg", "postgresql"))
    wait_for_http(f"{compared.base}/login")


def measure(
    targets: list[Target], args: argparse.Namespace, services: Services, sink: CountingSink
) -> Results:
    """Pages at every size, the portal at the largest, then the bulk at every size."""
    largest = targets[-1]
    compared = compared_target(targets, args.compare_at)
    start_servers(targets, compared, services)
    print("measuring pages …", flush=True)
    figures, growth = measure_pages(targets, compared, args.repeat)
    print(f"portal submissions for {args.portal_seconds:.0f} s …", flush=True)
    first_email = last_email_id(largest.db_url)
    portal, portal_note = measure_portal_submissions(largest, args)
    figures += portal
    flask = str(VENV_BIN / "flask")
    for target in targets:
        for _ in range(2):
            services.start(flask, "--app", "app", "rq", "worker", env=target.env)
    outbox_seconds = wait_for_outbox(largest.db_url, first_email, services, timeout=600)
    portal_emails = sink.count
    print("bulk approve and emails …", flush=True)
    bulk, bulk_line = measure_bulk(targets, sink, services, args.bulk_rounds)
    figures += bulk
    if bulk_line:
        growth.append(bulk_line)
    rss = gunicorn_rss_mb(largest.web)
    memory = Figure("web worker memory after the run (RSS, largest worker)", budget="≤ 200 MB")
    memory.value = f"{max(rss):.0f} MB ({', '.join(f'{r:.0f}' for r in rss)})"
    memory.met = max(rss) <= 200
    figures.append(memory)
    notes = [
        f"Portal: {args.portal_clients} client processes on the same machine, each a customer "
        "after another with a new session, walk the portal's forms as a browser does (lookup "
        "by order number and email or postcode, items, reasons with the photo field empty, "
        "resolution, review, submit, status page), RQ workers stopped. The submit figure times "
        "the review form's POST alone (the request, its audit event, notices and outbox rows "
        "committed and the emails handed to RQ) up to its redirect; submissions/s counts whole "
        "customers finished within the window. Then the same clients filled in drafts up to the "
        f"review page and, for {args.submit_seconds:.0f} s, pressed only their submit buttons. "
        "The 2 RQ workers then sent the portal's "
        f"{portal_emails:,} emails in {outbox_seconds:.1f} s (their start included), before "
        "the bulk part began.",
        portal_note,
        "Dashboard: the admin home is the dashboard (`dashboard.py`); its period is chosen "
        "with `?period=7|30|90`.",
    ]
    if bulk_line is None and len(targets) > 1:
        notes.append("The bulk's growth is missing: a job did not finish at some size.")
    data = {t.database: database_size(t.db_url) for t in targets}
    return Results(figures, growth, data, notes)


def main() -> None:
    args = parse_args()
    started = time.perf_counter()
    args.load_before = load_average()
    sink = CountingSink()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "RQ_QUEUE": f"returndesk-bench-{os.getpid()}",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "SECRET_KEY": "bench-secret-key-not-for-production",
        "PYTHONPATH": str(ROOT),
    }
    targets = make_targets(args, env)
    for target in targets:
        load_target(target, args)
    if args.seed_only:
        return
    # Enough fresh orders for the portal budget's rate at the largest size, with room to spare.
    pool = int(PORTAL_BUDGET_PER_SECOND * 1.5 * (args.portal_seconds + args.submit_seconds))
    run_step(targets[-1].env, sys.executable, "bench/seed.py", "--portal-orders", str(pool))
    services = Services(env)
    controller.start()
    logs = services.log_dir.relative_to(ROOT)
    try:
        results = measure(targets, args, services, sink)
    except BaseException:
        print(f"the services' logs are in {logs}", file=sys.stderr, flush=True)
        raise
    finally:
        services.stop()
        controller.stop()
    seconds = time.perf_counter() - started
    if len(targets) > 1:
        print("\n".join(growth_table(results.growth, [t.size for t in targets])))
    print("\n".join(table(results.figures)))
    write_report(results, targets, args, seconds)
    print(f"docs/PERFORMANCE.md written ({seconds / 60:.1f} minutes); the services' logs: {logs}")


if __name__ == "__main__":
    main()
