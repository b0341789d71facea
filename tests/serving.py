"""Serving a test's stand-in or the app itself on loopback, in a thread."""

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

Server = TypeVar("Server", bound=socketserver.BaseServer)


@contextmanager
def serving(server: Server) -> Iterator[Server]:
    """Serve ``server`` in a daemon thread until the block ends, then close it.

    ``serve_forever`` looks for a shutdown every ``poll_interval``; at its default of half a
    second every stand-in's teardown waited that long, about 100 s over the suite."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
