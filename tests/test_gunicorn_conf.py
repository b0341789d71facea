"""The server's settings (gunicorn.conf.py): the collector runs between requests."""

import gc
import runpy
from pathlib import Path

import pytest

CONF = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"


@pytest.fixture
def settings():
    threshold = gc.get_threshold()
    yield runpy.run_path(str(CONF))
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_a_worker_collects_after_each_answer_instead_of_during_it(settings):
    settings["post_worker_init"](None)

    assert gc.get_freeze_count() > 0  # what the worker loaded is left out of collections
    assert gc.get_threshold()[0] == settings["REQUEST_GC_THRESHOLD"]
    garbage = [[] for _ in range(1000)]
    for item in garbage:
        item.append(item)  # cycles only the collector frees
    del garbage, item
    assert gc.get_count()[0] >= 1000
    settings["post_request"](None, None, {}, None)
    assert gc.get_count()[0] < 100
