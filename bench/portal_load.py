"""The portal benchmark: customers ask for a return through the portal, as their browser would.

Each client process takes one fresh order after another (``bench/seed.py --portal-orders``)
and walks the real HTTP flow without photos, with a new browser session each time: the
lookup (order number plus the email address or the postcode, half each), the items (one or
two lines, one unit each), the details (a reason per item, the multipart form with its photo
field left empty), the resolution, the review and its submit, and the status page it leads
to. Every step reads the page it got for its CSRF token and its choices. Clients start
together after one warm-up submission each and stop starting new customers after the window.
"""

from __future__ import annotations

import multiprocessing
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from urllib.parse import urljoin, urlparse

import requests

# A customer: the order number and what the lookup is given with it (email or postcode).
Customer = tuple[str, str]
# One customer's HTTP requests, redirects included: lookup 1, then 2 per step, status 1.
REQUESTS_PER_CUSTOMER = 11
BROWSER_LANGUAGES = ("nl-NL,nl;q=0.9,en;q=0.8", "en-GB,en;q=0.9")
# The portal's error messages and flashes, to say why a customer got stuck.
MESSAGES = r'class="(?:invalid-feedback[^"]*|alert alert-\w+)"[^>]*>([^<]+)'


class PortalError(RuntimeError):
    """The portal answered with something a customer could not go on from."""


@dataclass
class Submission:
    """One customer's return: when the flow ran (``time.time()``), the submit and the whole flow."""

    started_at: float
    finished_at: float
    submit_ms: float
    flow_ms: float


@dataclass
class ClientResult:
    warm_up: int = 0
    cpu_seconds: float = 0.0  # the client's own CPU time in the window
    submissions: list[Submission] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


@dataclass
class PortalRun:
    """What all clients did; ``timed`` are the submissions inside the measured window."""

    seconds: float
    clients: int
    timed: list[Submission]
    submitted: int
    failures: list[str]
    customers: int
    client_cpu_seconds: float

    @property
    def per_second(self) -> float:
        return len(self.timed) / self.seconds

    @property
    def submit_ms(self) -> list[float]:
        return [s.submit_ms for s in self.timed]

    @property
    def flow_ms(self) -> list[float]:
        return [s.flow_ms for s in self.timed]

    @property
    def ran_out(self) -> bool:
        """Every customer was used: the clients stopped before the window ended."""
        return self.submitted + len(self.failures) >= self.customers


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    if not found:
        raise PortalError("no CSRF token on the page")
    return found.group(1)


def arrived(response: requests.Response, path_part: str) -> requests.Response:
    """The response, if its path has ``path_part``; else the error saying where the customer is."""
    response.raise_for_status()
    path = urlparse(response.url).path
    if path_part not in path:
        shown = re.findall(MESSAGES, response.text)
        raise PortalError(f"expected {path_part}, got {path}: {' / '.join(shown) or 'no message'}")
    return response


def find_order(http: requests.Session, portal: str, customer: Customer) -> requests.Response:
    """Step 1: the lookup form, filled in; returns the items page it leads to."""
    page = arrived(http.get(f"{portal}/"), "/")
    number, secret = customer
    form = {"csrf_token": csrf_token(page.text), "intent": "", "order_number": number}
    return arrived(http.post(page.url, data={**form, "email_or_postcode": secret}), "/items")


def choose_items(http: requests.Session, page: requests.Response, rng: random.Random) -> tuple:
    """Step 2: one or two of the returnable lines, one unit each; returns (lines, details page)."""
    lines = re.findall(r'name="qty-(\d+)"', page.text)
    if not lines:
        raise PortalError("no returnable line on the items page")
    chosen = rng.sample(lines, min(len(lines), rng.choice((1, 1, 2))))
    form = {"csrf_token": csrf_token(page.text)}
    for line in chosen:
        form |= {f"line-{line}": "1", f"qty-{line}": "1"}
    return chosen, arrived(http.post(page.url, data=form), "/details")


def give_reasons(
    http: requests.Session, page: requests.Response, lines: list[str], rng: random.Random
) -> requests.Response:
    """Step 3: a reason per item, no comment, the photo field sent empty as a browser does."""
    reasons = re.findall(r'<option value="(\d+)"', page.text)
    form = {"csrf_token": csrf_token(page.text)}
    empty_photos = {}
    for line in lines:
        form |= {f"reason-{line}": rng.choice(reasons), f"comment-{line}": ""}
        empty_photos[f"photos-{line}"] = ("", b"", "application/octet-stream")
    return arrived(http.post(page.url, data=form, files=empty_photos), "/resolution")


def choose_resolution(
    http: requests.Session, page: requests.Response, rng: random.Random
) -> requests.Response:
    """Step 4: refund, exchange (with the wanted size) or store credit; returns the review."""
    chosen = rng.choice(re.findall(r'name="resolution" value="(\w+)"', page.text))
    note = "One size larger, please" if chosen == "exchange" else ""
    form = {"csrf_token": csrf_token(page.text), "resolution": chosen, "exchange_note": note}
    return arrived(http.post(page.url, data=form), "/review")


def submit(http: requests.Session, page: requests.Response, follow: bool = True) -> float:
    """Step 5: the submit button. Times the POST alone, up to its redirect; returns ms.
    With ``follow``, the status page it leads to is checked too."""
    key = re.search(r'name="submission_key" value="([^"]+)"', page.text)
    if not key:
        raise PortalError("no submission key on the review page")
    form = {"csrf_token": csrf_token(page.text), "submission_key": key.group(1)}
    started = time.perf_counter()
    done = http.post(page.url, data=form, allow_redirects=False)
    spent = (time.perf_counter() - started) * 1000
    target = done.headers.get("Location", "")
    if done.status_code != 302 or "/status/" not in target:
        raise PortalError(f"submit answered {done.status_code} to {target or 'nowhere'}")
    if not follow:
        return spent
    status = arrived(http.get(urljoin(page.url, target)), "/status/")
    if "alert-success" not in status.text:
        raise PortalError("the status page did not confirm the submission")
    return spent


def prepare_submission(
    portal: str, customer: Customer, rng: random.Random
) -> tuple[requests.Session, requests.Response]:
    """Steps 1 to 4 in a new browser session: the review page, ready to submit."""
    http = requests.Session()
    http.headers["Accept-Language"] = rng.choice(BROWSER_LANGUAGES)
    items = find_order(http, portal, customer)
    lines, details = choose_items(http, items, rng)
    return http, choose_resolution(http, give_reasons(http, details, lines, rng), rng)


def return_items(portal: str, customer: Customer, rng: random.Random) -> Submission:
    """One customer's whole flow in a new browser session."""
    started_at, started = time.time(), time.perf_counter()
    http, review = prepare_submission(portal, customer, rng)
    with http:
        submit_ms = submit(http, review)
    flow_ms = (time.perf_counter() - started) * 1000
    return Submission(started_at, time.time(), submit_ms, flow_ms)


def submit_prepared(http: requests.Session, review: requests.Response) -> Submission:
    """The submit of a draft prepared before the window: the POST alone."""
    started_at = time.time()
    with http:
        submit_ms = submit(http, review, follow=False)
    return Submission(started_at, time.time(), submit_ms, submit_ms)


def run_client(
    portal: str,
    customers: list[Customer],
    seconds: float,
    start: Barrier,
    results: Queue,
    number: int,
    prepared: int,
) -> None:
    """A client process: one warm-up customer, then customers one after another for ``seconds``.

    With ``prepared``, that many drafts are filled in up to the review before the window,
    and in the window only their submit buttons are pressed.
    """
    rng = random.Random(number)
    result = ClientResult()
    waiting = iter(customers)
    for customer in islice(waiting, 1):
        result.warm_up += bool(attempt(result, return_items, portal, customer, rng))
    drafts = [
        attempt(result, prepare_submission, portal, c, rng) for c in islice(waiting, prepared)
    ]
    if prepared:
        jobs = ((submit_prepared, *draft) for draft in drafts if draft)
    else:
        jobs = ((return_items, portal, customer, rng) for customer in waiting)
    start.wait()
    stop_at, cpu_started = time.time() + seconds, time.process_time()
    for step, *args in jobs:
        if time.time() >= stop_at:
            break
        if submission := attempt(result, step, *args):
            result.submissions.append(submission)
    result.cpu_seconds = time.process_time() - cpu_started
    results.put(result)


def attempt(result: ClientResult, step: Callable, *args):
    """``step(*args)``, or None with the failure noted."""
    try:
        return step(*args)
    except (requests.RequestException, PortalError) as error:
        result.failures.append(f"{step.__name__}: {error}")
        return None


def measure_portal(
    portal: str, customers: list[Customer], seconds: float, clients: int, prepared: int = 0
) -> PortalRun:
    """Run ``clients`` client processes against the portal at ``portal`` for ``seconds``;
    with ``prepared``, each first fills in that many drafts and then only submits them."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(clients + 1)
    results = context.Queue()
    processes = [
        context.Process(
            target=run_client,
            args=(portal, customers[i::clients], seconds, start, results, i, prepared),
            daemon=True,
        )
        for i in range(clients)
    ]
    for process in processes:
        process.start()
    try:
        start.wait(timeout=180 + prepared)
        window_start = time.time()
        done = [results.get(timeout=seconds + 180) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
    window_end = window_start + seconds
    flows = [s for r in done for s in r.submissions]
    return PortalRun(
        seconds=seconds,
        clients=clients,
        timed=[s for s in flows if s.finished_at <= window_end],
        submitted=len(flows) + sum(r.warm_up for r in done),
        failures=[f for r in done for f in r.failures],
        customers=min(len(customers), clients * (1 + prepared)) if prepared else len(customers),
        client_cpu_seconds=sum(r.cpu_seconds for r in done),
    )
