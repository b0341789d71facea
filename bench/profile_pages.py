"""Where a staff page's milliseconds go, in-process: ``python bench/profile_pages.py``.

Logs in as the big shop's agent (or ``--as support``) with Flask's test client against the
database of ``DATABASE_URL`` (seeded by ``bench/seed.py``), warms each page up, then requests
it ``--repeat`` times and prints the median and p95 of the whole request (wall clock, and
this process's CPU time, which other work on a shared machine disturbs less), the median of
its SQL (count and time, from SQLAlchemy's cursor events, PostgreSQL's time included) and of
its template rendering (Flask's ``before_render_template``/``template_rendered`` signals). ``--profile`` adds cProfile's
top functions by cumulative and own time for each page.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import before_render_template, template_rendered  # noqa: E402
from sqlalchemy import event, text  # noqa: E402

from bench.seed import AGENT, PASSWORD, SUPPORT  # noqa: E402
from extensions import db  # noqa: E402


class Meter:
    """SQL statements and their time, and the outermost template's render time, per request."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.sql_count = 0
        self.sql_ms = 0.0
        self.template_ms = 0.0
        self._started: list[float] = []
        self._render: list[float] = []

    def before_sql(self, *args) -> None:
        self._started.append(time.perf_counter())

    def after_sql(self, *args) -> None:
        self.sql_count += 1
        self.sql_ms += (time.perf_counter() - self._started.pop()) * 1000

    def before_render(self, *args, **kwargs) -> None:
        self._render.append(time.perf_counter())

    def rendered(self, *args, **kwargs) -> None:
        started = self._render.pop()
        if not self._render:  # the outermost template (includes render inside it)
            self.template_ms += (time.perf_counter() - started) * 1000


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def login(client, email: str) -> None:
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    done = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    if done.status_code != 302:
        raise RuntimeError(f"could not log in as {email}")


def page_urls(app, who: str) -> list[tuple[str, str]]:
    with app.app_context():
        request_id = db.session.execute(
            text(
                "SELECT id FROM return_request WHERE shop_id = (SELECT id FROM shop "
                "WHERE slug = 'shop-1') AND notice_count > 0 "
                "ORDER BY status IN ('new', 'concept') DESC, id DESC LIMIT 1"
            )
        ).scalar()
        newest = db.session.execute(text("SELECT max(created_at) FROM return_request")).scalar()
    month = f"{newest:%Y-%m}-01+00:00:00+to+{newest:%Y-%m-%d}+23:59:59"
    return [
        (
            "Requests list, status+reason+date",
            f"/admin/requests/?flt0_status=new&flt1_reason=damaged&flt4_created={month}",
        ),
        ("Requests list, open", "/admin/requests/?flt0_status=open"),
        ("Requests list, all", "/admin/requests/?all=1"),
        ("Requests list, search Jansen", "/admin/requests/?all=1&search=Jansen"),
        ("Requests list, page 200", "/admin/requests/?all=1&page=199"),
        ("baseline ModelView", "/admin/baseline/"),
        ("request page", f"/admin/requests/{request_id}"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--warm-up", type=int, default=20)
    parser.add_argument("--as", dest="who", choices=("agent", "support"), default="agent")
    parser.add_argument("--profile", action="store_true", help="cProfile each page")
    parser.add_argument("--only", help="measure only pages whose name contains this")
    args = parser.parse_args()

    from bench.baseline_app import create_baseline_app

    app = create_baseline_app()
    meter = Meter()
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", meter.before_sql)
        event.listen(db.engine, "after_cursor_execute", meter.after_sql)
    before_render_template.connect(meter.before_render, app)
    template_rendered.connect(meter.rendered, app)
    client = app.test_client()
    login(client, AGENT if args.who == "agent" else SUPPORT)

    print(
        f"{'page':30} {'median':>7} {'p95':>7} {'CPU med':>7} {'CPU p95':>7} "
        f"{'SQL n':>5} {'SQL ms':>6} {'tmpl ms':>7}"
    )
    for name, url in page_urls(app, args.who):
        if args.only and args.only not in name:
            continue
        for _ in range(args.warm_up):
            assert client.get(url).status_code == 200, url
        totals, cpu, sql_ms, template_ms, counts = [], [], [], [], []
        profiler = cProfile.Profile() if args.profile else None
        for _ in range(args.repeat):
            meter.reset()
            if profiler:
                profiler.enable()
            started, cpu_started = time.perf_counter(), time.thread_time()
            response = client.get(url)
            totals.append((time.perf_counter() - started) * 1000)
            cpu.append((time.thread_time() - cpu_started) * 1000)
            if profiler:
                profiler.disable()
            assert response.status_code == 200, url
            sql_ms.append(meter.sql_ms)
            template_ms.append(meter.template_ms)
            counts.append(meter.sql_count)
        print(
            f"{name:30} {statistics.median(totals):7.1f} {percentile(totals, 95):7.1f} "
            f"{statistics.median(cpu):7.1f} {percentile(cpu, 95):7.1f} "
            f"{statistics.median(counts):5.0f} {statistics.median(sql_ms):6.1f} "
            f"{statistics.median(template_ms):7.1f}",
            flush=True,
        )
        if profiler:
            for order in ("cumulative", "tottime"):
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(45)
                print(out.getvalue())


if __name__ == "__main__":
    main()
