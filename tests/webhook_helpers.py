"""A webshop's webhook receiver on loopback, and the shop's endpoints that point at it."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from domain import webhook_events
from extensions import db
from models import Shop, WebhookEndpoint
from serving import serving


class Receiver:
    """A webshop's webhook URL: records every POST and answers with the next planned status
    (with ``location`` as its Location header, for redirects)."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.statuses: list[int] = []
        self.location: str | None = None
        self.lock = threading.Lock()
        self.port: int | None = None
        self.url: str | None = None

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.calls.append((self.headers, body))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.end_headers()

            def log_message(self, *args):
                pass

        return Handler


def serve(receiver: Receiver) -> Iterator[Receiver]:
    """Serve ``receiver`` on a free loopback port until the fixture using it ends."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), receiver.handler())
    receiver.port = server.server_address[1]
    receiver.url = f"http://127.0.0.1:{receiver.port}/hooks"
    with serving(server):
        yield receiver


def add_endpoint(
    shop: Shop,
    url: str,
    events: Iterable[str] = (webhook_events.REQUEST_CREATED,),
    active: bool = True,
) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(shop=shop, url=url, events=list(events), active=active)
    db.session.add(endpoint)
    db.session.flush()
    return endpoint
