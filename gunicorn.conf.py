"""gunicorn's settings for ReturnDesk, read from the project's root whatever else the command
line says: the garbage collector runs between requests rather than inside them.

Python's cyclic collector starts whenever enough container objects were made since its last
run: on a staff page that was three times per request, some 3 ms of each answer (measured
with ``gc.callbacks``; see docs/PERFORMANCE.md). A worker raises that threshold (a request
that makes very many objects, such as an export, is still collected as it goes) and collects
the youngest generation after each answer has been sent. What the worker loaded before its
first request lives as long as the worker and is frozen, so a full collection skips it.
"""

import gc

# Objects made before a collection starts inside a request: far more than a page makes.
REQUEST_GC_THRESHOLD = 50_000


def post_worker_init(worker) -> None:
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(REQUEST_GC_THRESHOLD, older, oldest)


def post_request(worker, req, environ, resp) -> None:
    gc.collect(0)
