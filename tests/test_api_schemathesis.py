"""Schemathesis drives the live API from its own OpenAPI document: no 500s, and every
response (status, content type, body, headers) matches what the document promises, for
valid and for invalid calls (including calls without the key)."""

from __future__ import annotations

import hashlib

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from api_helpers import API_ORDER
from extensions import db
from factories import make_order, make_request, make_return, make_shop
from models import ApiKey
from web.api import http, openapi

KEY = "rd_schemathesis-test-key"
config = schemathesis.Config.from_dict({"auth": {"openapi": {"bearerAuth": {"bearer": KEY}}}})
schema = schemathesis.openapi.from_dict(openapi.openapi_document(), config=config)


def unlimited(app) -> None:
    """Schemathesis calls far more often than the rate limits allow without a valid key, and
    expects 401 there; the limits have their own tests in test_api.py."""
    app.config["API_RATE_LIMIT_PER_ADDRESS"] = "100000 per minute"
    app.config["API_RATE_LIMIT_PER_KEY"] = "100000 per minute"


@pytest.fixture
def shop_with_data(app):
    unlimited(app)
    shop = make_shop()
    req = make_request(shop, make_order(shop, **API_ORDER))
    make_return(req, "RT-1", "in_transit")
    db.session.add(ApiKey(shop=shop, name="fuzz", prefix=KEY[:9], key_hash=http.hash_key(KEY)))
    db.session.commit()
    return shop


def one_key_per_request(case) -> None:
    """Schemathesis sends the same generated ``Idempotency-Key`` with different bodies, which
    the API rightly refuses (422); a real client sends one key per request, so the key is
    made that request's own: the same body keeps the same key (a retry), another gets another."""
    if case.headers and "Idempotency-Key" in case.headers:
        request = repr((case.method, case.formatted_path, case.body))
        digest = hashlib.sha256(request.encode()).hexdigest()[:16]
        case.headers["Idempotency-Key"] = f"{case.headers['Idempotency-Key'][:200]}-{digest}"


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_live_api_keeps_every_promise_of_its_openapi_document(case, live_server, shop_with_data):
    one_key_per_request(case)
    case.call_and_validate(base_url=live_server.url)


# Every route with a {number} again, now on objects that exist (an order, a request and a
# return all numbered FUZZ-1), so actions and events run into the workflow, not into a 404.
object_config = schemathesis.Config.from_dict(
    {
        "auth": {"openapi": {"bearerAuth": {"bearer": KEY}}},
        "parameters": {"path.number": "FUZZ-1"},
    }
)
object_schema = schemathesis.openapi.from_dict(
    openapi.openapi_document(), config=object_config
).include(path_regex=r"\{number\}")


@pytest.fixture
def shop_with_numbered_data(app):
    unlimited(app)
    shop = make_shop()
    order = make_order(shop, **API_ORDER | {"number": "FUZZ-1"})
    req = make_request(shop, order)
    req.number = "FUZZ-1"
    make_return(make_request(shop, order, "label_created"), "FUZZ-1", "in_transit")
    db.session.add(ApiKey(shop=shop, name="fuzz", prefix=KEY[:9], key_hash=http.hash_key(KEY)))
    db.session.commit()
    return shop


@object_schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_actions_and_events_on_existing_objects_keep_the_promises(
    case, live_server, shop_with_numbered_data
):
    one_key_per_request(case)
    case.call_and_validate(base_url=live_server.url)
