"""``bench/run.py`` takes the baseline's samples of a page between its own rounds, not in a
burst afterwards, so that on a shared machine both meet the same OS cache and load; and it
keeps the services' logs after a run. Checked against a tiny HTTP server on loopback that
records the order of the requests it answers: no database, no gunicorn."""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

import bench.run
from bench.run import WARM_UP, BaselinePage, Services, Target, baseline_repeat, interleaved

OURS = "/admin/requests/?all=1"
BASELINE = "/admin/baseline/"


@dataclass
class Server:
    url: str
    seen: list[str]


@pytest.fixture
def server() -> Iterator[Server]:
    """A page server on 127.0.0.1 that records each GET's path, in the order answered."""
    seen: list[str] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with lock:
                seen.append(self.path)
            body = b"<html>a page</html>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield Server(f"http://127.0.0.1:{httpd.server_port}", seen)
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def measured(server: Server, labels: list[str], repeat: int, base_repeat: int):
    """Sample our page at a size per label (``/1m`` … on the one server, sizes 1, 2 …) and the
    baseline's beside them, as ``measure_pages`` does. Returns our samples by size, the
    baseline, and what was requested after the warm-ups, which come first: each page's."""
    targets = [
        Target(n, "unused", {}, app=f"{server.url}/{label}", sessions={"agent": requests.Session()})
        for n, label in enumerate(labels, start=1)
    ]
    baseline = BaselinePage(requests.Session(), f"{server.url}{BASELINE}", base_repeat)
    samples = interleaved(
        targets, "agent", lambda t, _i: f"{t.app}{OURS}", repeat, baseline=baseline
    )
    requested = [short(path) for path in server.seen]
    warm_ups = WARM_UP * (len(labels) + 1)
    assert Counter(requested[:warm_ups]) == Counter(
        {"base": WARM_UP} | dict.fromkeys(labels, WARM_UP)
    )
    return samples, baseline, requested[warm_ups:]


def short(path: str) -> str:
    """``/1m/admin/requests/?all=1`` → ``1m``, the baseline's page → ``base``."""
    return "base" if path == BASELINE else path.split("/")[1]


def test_with_as_many_samples_the_baseline_follows_each_of_ours(server):
    samples, baseline, order = measured(server, ["1m"], repeat=4, base_repeat=4)

    assert order == ["1m", "base"] * 4
    assert len(samples[1]) == len(baseline.samples) == 4
    assert all(0 < ms < 5000 for ms in samples[1] + baseline.samples)


def test_the_baseline_keeps_a_third_of_our_samples_one_after_every_third_round(server):
    samples, baseline, order = measured(server, ["1m"], repeat=30, base_repeat=baseline_repeat(30))

    assert order == ["1m", "1m", "1m", "base"] * 10
    assert len(samples[1]) == 30
    assert len(baseline.samples) == 10


def test_at_several_sizes_the_baseline_follows_each_whole_round_as_the_sizes_rotate(server):
    samples, baseline, order = measured(server, ["100k", "1m"], repeat=4, base_repeat=4)

    assert order == [
        *("100k", "1m", "base"),
        *("1m", "100k", "base"),
        *("100k", "1m", "base"),
        *("1m", "100k", "base"),
    ]
    assert [len(samples[1]), len(samples[2]), len(baseline.samples)] == [4, 4, 4]


def test_a_few_rounds_still_give_the_baseline_its_five_samples_spread_over_them(server):
    _, baseline, order = measured(server, ["1m"], repeat=3, base_repeat=baseline_repeat(3))

    assert order == ["1m", "base", "1m", "base", "base", "1m", "base", "base"]
    assert len(baseline.samples) == 5


def test_a_failed_service_shows_its_log_tail_and_the_log_is_kept_after_the_run(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(bench.run, "LOGS", tmp_path)
    services = Services({"DATABASE_URL": "postgresql://127.0.0.1/returndesk_bench_1m"})
    failing = "import sys; sys.stderr.write('worker boom\\n'); sys.exit(3)"
    process = services.start(sys.executable, "-c", failing)
    process.wait(timeout=30)

    with pytest.raises(RuntimeError, match="exited \\(3\\)") as failed:
        services.check()
    assert "worker boom" in str(failed.value)

    services.stop()
    (log,) = services.log_dir.iterdir()
    assert services.log_dir.parent == tmp_path
    text = log.read_text()
    assert "worker boom" in text
    assert "returndesk_bench_1m" in text
