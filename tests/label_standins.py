"""Sendcloud's Returns API v3 as a stand-in on loopback: the carrier the label tests call."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from serving import serving

PUBLIC_KEY, SECRET_KEY = "pk_test_123", "sk_test_456"
LABEL_PDF = b"%PDF-1.4\n% stand-in label\n%%EOF\n"
REQUIRED_ADDRESS_FIELDS = ("name", "address_line_1", "postal_code", "city", "country_code")


class SendcloudStandIn(BaseHTTPRequestHandler):
    """Answers like Sendcloud's Returns API v3 does, after checking what the adapter sent."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.handle_call()

    def do_POST(self):
        self.handle_call()

    def do_PATCH(self):
        self.handle_call()

    def handle_call(self):
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        state["calls"].append((self.command, self.path, body))
        expected = "Basic " + base64.b64encode(f"{PUBLIC_KEY}:{SECRET_KEY}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            return self.answer(401, errors("401", "authentication_failed", "Invalid credentials."))
        if state.get("fail_with"):
            return self.answer(*state["fail_with"])
        route = (self.command, self.path)
        if route in (
            ("POST", "/api/v3/returns/validate"),
            ("POST", "/api/v3/returns/announce-synchronously"),
        ):
            if problem := missing_field(body):
                return self.answer(400, errors("400", "invalid", problem))
            if route[1].endswith("validate"):
                return self.answer(200, body)
            return self.answer(200, {"return_id": 12345, "parcel_id": 67880, "multi_collo_ids": []})
        if route == ("GET", "/api/v3/returns/12345"):
            announced = state["announced"]
            return self.answer(
                200,
                {
                    "tracking_number": "3SSEND12345678" if announced else None,
                    "tracking_url": "https://tracking.example/3SSEND12345678"
                    if announced
                    else None,
                    "is_cancellable": True,
                    "status_history": [],
                },
            )
        if route == ("GET", "/api/v3/parcels/67880/documents/label"):
            return self.answer(200, LABEL_PDF, "application/pdf")
        if route == ("PATCH", "/api/v3/returns/12345/cancel"):
            return self.answer(200, {"message": "Cancellation requested successfully"})
        return self.answer(404, errors("404", "not_found", "Not found."))

    def answer(self, status, payload, content_type="application/json"):
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def errors(status: str, code: str, detail: str) -> dict:
    return {"errors": [{"status": status, "code": code, "detail": detail}]}


def missing_field(body: dict | None) -> str | None:
    """The first required field of a create/validate body that is absent or empty."""
    if not body:
        return "A JSON body is required."
    for side in ("from_address", "to_address"):
        for name in REQUIRED_ADDRESS_FIELDS:
            if not (body.get(side) or {}).get(name):
                return f"{side}.{name}: This field is required."
    if not body.get("ship_with", {}).get("shipping_option_code"):
        return "ship_with.shipping_option_code: This field is required."
    weight = body.get("weight") or {}
    if not weight.get("value") or weight.get("unit") not in ("kg", "g", "lb", "oz"):
        return "weight: A value and unit are required."
    return None


@contextmanager
def running_sendcloud() -> Iterator[tuple[int, dict]]:
    """The stand-in on a free loopback port: ``(port, state)``; the state holds the ``calls``
    it got, and ``announced`` and ``fail_with`` steer its answers."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), SendcloudStandIn)
    server.state = {"calls": [], "announced": True, "fail_with": None}
    with serving(server):
        yield server.server_port, server.state
