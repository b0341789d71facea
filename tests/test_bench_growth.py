"""The benchmark's "How cost grows" table (``bench/growth.py``, issue 18): the ratio of the
largest size's figure to the smallest's, judged against the 1.3× goal, as the report prints
it. Pure formatting: no services."""

from __future__ import annotations

import pytest

from bench.growth import (
    DataSize,
    Growth,
    bulk_growth,
    data_size_lines,
    growth_table,
    p95_growth,
    parse_sizes,
    size_label,
)

SIZES = [100_000, 1_000_000, 10_000_000]


def test_sizes_read_from_the_command_line_come_smallest_first_with_short_names():
    assert parse_sizes("10_000_000, 100000,1000000,100000") == SIZES
    assert [size_label(size) for size in SIZES] == ["100k", "1m", "10m"]
    assert [size_label(size) for size in (5000, 20_000, 1500)] == ["5k", "20k", "1500"]
    with pytest.raises(ValueError, match="positive"):
        parse_sizes("0,1000")


def test_each_line_shows_every_size_the_ratio_and_whether_the_goal_is_met():
    rows = [
        Growth("Requests list page 1", {100_000: 40.0, 1_000_000: 44.0, 10_000_000: 52.0}),
        Growth("search exact email", {100_000: 20.0, 1_000_000: 30.0, 10_000_000: 28.0}),
        Growth(
            "dashboard, 30 days", {100_000: 50.0, 1_000_000: 90.0, 10_000_000: 300.0}, goal=False
        ),
    ]

    lines = growth_table(rows, SIZES)

    assert lines[0] == "| what | 100k | 1m | 10m | 10m ÷ 100k | goal | |"
    assert (
        lines[2] == "| Requests list page 1 | 40.0 ms | 44.0 ms | 52.0 ms | 1.30× | ≤ 1.3× | met |"
    )
    # The ratio is largest over smallest, not the worst step between sizes.
    assert (
        lines[3]
        == "| search exact email | 20.0 ms | 30.0 ms | 28.0 ms | 1.40× | ≤ 1.3× | NOT met |"
    )
    assert lines[4].endswith("| 6.00× |  | — (no goal) |")


def test_a_page_is_judged_by_its_p95_and_the_bulk_by_its_median_seconds_per_thousand():
    # 40 samples: the p95 is the 38th smallest.
    samples = {100_000: [10.0] * 38 + [100.0] * 2, 1_000_000: [10.0] * 37 + [100.0] * 3}
    page = p95_growth("request page", samples)
    assert page.values == {100_000: 10.0, 1_000_000: 100.0}
    assert page.verdict() == "NOT met"

    bulk = bulk_growth({100_000: [2.0, 9.0, 2.5], 1_000_000: [3.0, 2.8, 3.1]}, approved=5000)
    assert bulk.values == {100_000: 0.5, 1_000_000: 0.6}
    assert bulk.name == "bulk approve of 5,000 requests: job seconds per 1,000"
    assert growth_table([bulk], SIZES[:2])[2] == (
        "| bulk approve of 5,000 requests: job seconds per 1,000 | 0.50 s | 0.60 s | 1.20× "
        "| ≤ 1.3× | met |"
    )


def test_the_data_line_gives_each_database_its_size_on_disk_per_million_requests():
    data = DataSize(100_000, 50, {"return_request": 100_000, "order": 100_000}, 300 * 1024**2)

    (line,) = data_size_lines({"returndesk_bench_100k": data})

    assert line == (
        "- `returndesk_bench_100k`: 100,000 requests in 50 shops; return_request 100,000, "
        "order 100,000; 300 MB on disk (3,000 MB per million requests)"
    )
