"""How cost grows with the data: the sizes of a ``bench/run.py --sizes`` run and its tables.

Pure formatting and arithmetic, apart from ``database_sizes`` (kept here so that
``docs/PERFORMANCE.md`` and SCALING.md read the same figures): tested without services in
``tests/test_bench_growth.py``.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

import psycopg

# Issue 18: from the smallest to the largest size, the Requests list, search, the request
# page and the bulk job's cost per 1,000 requests grow by at most this factor.
GROWTH_GOAL = 1.3
# The tables whose rows the data line counts.
COUNTED_TABLES = (
    "order",
    "order_line",
    "return_request",
    "return_request_line",
    "notice",
    "message",
    "audit_event",
    "return",
)


def percentile(values: list[float], pct: float) -> float:
    """The nearest-rank percentile: the value below which ``pct`` percent of them lie."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def size_label(requests: int) -> str:
    """A size as a short name for databases and table headers: 100k, 1m, 10m, 1500."""
    if requests >= 1_000_000 and requests % 1_000_000 == 0:
        return f"{requests // 1_000_000}m"
    if requests >= 1000 and requests % 1000 == 0:
        return f"{requests // 1000}k"
    return str(requests)


def parse_sizes(text: str) -> list[int]:
    """``"100000,1000000"`` (``_`` allowed as in Python) as sizes, smallest first."""
    sizes = sorted({int(part.strip().replace("_", "")) for part in text.split(",") if part.strip()})
    if not sizes or sizes[0] <= 0:
        raise ValueError(f"sizes must be positive numbers of requests: {text!r}")
    return sizes


@dataclass
class Growth:
    """One line of the growth table: a page's p95 (ms) or the bulk job's seconds per 1,000
    requests, at each size; ``goal`` says whether the 1.3× goal applies to it."""

    name: str
    values: dict[int, float] = field(default_factory=dict)
    unit: str = "ms"
    goal: bool = True

    @property
    def ratio(self) -> float:
        """Largest size's value over the smallest's."""
        smallest, largest = min(self.values), max(self.values)
        return self.values[largest] / self.values[smallest]

    def verdict(self) -> str:
        if not self.goal:
            return "— (no goal)"
        return "met" if self.ratio <= GROWTH_GOAL else "NOT met"


def format_value(value: float, unit: str) -> str:
    return f"{value:.2f} s" if unit == "s" else f"{value:.1f} ms"


def growth_table(rows: list[Growth], sizes: list[int]) -> list[str]:
    """Markdown: per line the value at each size, the ratio largest/smallest and the verdict."""
    labels = [size_label(size) for size in sizes]
    ratio = f"{labels[-1]} ÷ {labels[0]}"
    lines = [
        f"| what | {' | '.join(labels)} | {ratio} | goal | |",
        "|---|" + "---:|" * (len(sizes) + 1) + "---|---|",
    ]
    for row in rows:
        cells = [format_value(row.values[size], row.unit) for size in sizes]
        goal = f"≤ {GROWTH_GOAL}×" if row.goal else ""
        lines.append(
            f"| {row.name} | {' | '.join(cells)} | {row.ratio:.2f}× | {goal} | {row.verdict()} |"
        )
    return lines


def p95_growth(name: str, samples: dict[int, list[float]], goal: bool = True) -> Growth:
    """A page's line of the growth table from its samples (ms) at each size."""
    return Growth(name, {size: percentile(s, 95) for size, s in samples.items()}, goal=goal)


def bulk_growth(job_seconds: dict[int, list[float]], approved: int) -> Growth:
    """Seconds per 1,000 requests of the bulk job at each size (median of its rounds)."""
    return Growth(
        f"bulk approve of {approved:,} requests: job seconds per 1,000",
        {size: statistics.median(s) / approved * 1000 for size, s in job_seconds.items()},
        unit="s",
    )


@dataclass
class DataSize:
    """What one size's database holds: its shops, rows per table and bytes on disk."""

    requests: int
    shops: int
    rows: dict[str, int]
    bytes: int

    @property
    def mb_per_million(self) -> float:
        """Megabytes on disk per million requests (SCALING.md's figure)."""
        return self.bytes / 1024**2 / (self.requests / 1_000_000)


def database_size(url: str) -> DataSize:
    """Rows of the big tables, shops, and ``pg_database_size`` of the database at ``url``."""
    with psycopg.connect(url) as conn:
        rows = {
            t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in COUNTED_TABLES
        }
        shops = conn.execute("SELECT count(*) FROM shop").fetchone()[0]
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    return DataSize(rows["return_request"], shops, rows, size)


def data_size_lines(sizes: dict[str, DataSize]) -> list[str]:
    """One line per database: requests, shops, rows per table, size on disk and per million."""
    lines = []
    for name, data in sizes.items():
        rows = ", ".join(f"{table} {n:,}" for table, n in data.rows.items())
        lines.append(
            f"- `{name}`: {data.requests:,} requests in {data.shops} shops; {rows}; "
            f"{data.bytes / 1024**2:,.0f} MB on disk ({data.mb_per_million:,.0f} MB per "
            "million requests)"
        )
    return lines
