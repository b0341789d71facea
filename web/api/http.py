"""The API's HTTP layer: the blueprint, API keys, rate limits, problems and ``@operation``.

Every route is declared with ``@operation``, which validates the query and the JSON body with
pydantic, turns failures into RFC 9457 ``application/problem+json`` responses, commits POSTs
(replaying the first response of a repeated ``Idempotency-Key``) and records the route in
``OPERATIONS`` for ``/api/v1/openapi.json`` (``web.api.openapi``), so the document cannot drift
from the code.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any

from flask import Blueprint, Response, current_app, g, json, request
from flask_limiter import RateLimitExceeded
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from domain import audit, submission_rules
from extensions import csrf, db, limiter
from models import ApiKey, IdempotencyKey, utcnow

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

PROBLEM_TYPE = "application/problem+json"
KEY_PREFIX = "rd_"
# last_used_at is written at most this often per key, so reads do not turn into writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)
PUBLIC_ENDPOINTS = {"api.openapi", "api.docs"}


# --- Problems (RFC 9457) ---------------------------------------------------------------


class FieldError(BaseModel):
    """One failing field: ``field`` is a dotted path (``lines.0.quantity``)."""

    field: str
    pointer: str = Field(description="JSON Pointer into the request, e.g. /lines/0/quantity")
    message: str
    code: str | None = Field(
        None,
        description="Which of the shop's rules refused the field, e.g. reason_required, "
        "quantity_too_high (the portal refuses with the same codes)",
    )


class Problem(BaseModel):
    """An error response, RFC 9457; ``errors`` lists the failing fields of invalid input."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldError] | None = None


class ApiProblem(Exception):
    """Raised by a view to answer with a problem document."""

    def __init__(
        self, status: int, title: str, detail: str | None = None, errors: list | None = None
    ) -> None:
        super().__init__(detail or title)
        self.problem = Problem(status=status, title=title, detail=detail, errors=errors)


def refused(detail: str, field: str | None = None, status: int = 409) -> ApiProblem:
    """Well-formed input the shop's rules or the item's state refuse (409; 404 for an object
    the body names that the shop does not have), naming the field."""
    errors = None
    if field is not None:
        pointer = "/" + field.replace(".", "/")
        errors = [FieldError(field=field, pointer=pointer, message=detail)]
    title = {404: "Not Found", 409: "Conflict"}[status]
    return ApiProblem(status, title, detail, errors)


def rules_refused(refusal: submission_rules.SubmissionRefused) -> ApiProblem:
    """The rule book's refusal as a 409 naming every failing field with its rule's code."""
    errors = [
        FieldError(
            field=problem.field,
            pointer="/" + problem.field.replace(".", "/"),
            message=problem.message,
            code=problem.code,
        )
        for problem in refusal.problems
    ]
    detail = " ".join(problem.message for problem in refusal.problems)
    return ApiProblem(409, "Conflict", detail, errors)


def problem_response(problem: Problem, headers: dict | None = None) -> Response:
    body = json.dumps(problem.model_dump(mode="json", exclude_none=True))
    return Response(body, problem.status, headers=headers, mimetype=PROBLEM_TYPE)


def field_errors(error: ValidationError, location: str) -> list[FieldError]:
    """pydantic errors as problem fields; ``location`` is ``body`` or ``query``."""
    fields = []
    for item in error.errors(include_url=False):
        path = [str(part) for part in item["loc"]]
        fields.append(
            FieldError(
                field=".".join(path) or location,
                pointer="/" + "/".join(path),
                message=item["msg"],
            )
        )
    return fields


@bp.errorhandler(ApiProblem)
def _answer_problem(error: ApiProblem) -> Response:
    db.session.rollback()
    return problem_response(error.problem)


def problem_for(error: HTTPException) -> Response | None:
    """An error under /api/ as a problem document (``web.errors`` asks); else ``None``."""
    if not request.path.startswith(bp.url_prefix + "/"):
        return None
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    return problem_response(Problem(status=error.code or 500, title=error.name), headers)


@bp.errorhandler(RateLimitExceeded)
def _too_many_calls(error: RateLimitExceeded) -> Response:
    """429 with ``Retry-After``: the seconds until the limit's window lets a call through
    (before the app's friendly 429 page for people)."""
    limit = limiter.current_limit
    wait = max(1, math.ceil(limit.reset_at - time.time())) if limit else 60
    caller = "this API key" if presented_key() else "this address without a valid API key"
    problem = Problem(
        status=429,
        title="Too Many Requests",
        detail=f"Too many calls from {caller}: at most {error.description}. "
        f"Retry after {wait} seconds.",
    )
    return problem_response(problem, headers={"Retry-After": str(wait)})


# --- Keys -------------------------------------------------------------------------------


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> tuple[str, str, str]:
    """A fresh API key: ``(full key, display prefix, sha256 to store)``."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    return key, key[: len(KEY_PREFIX) + 6], hash_key(key)


def _unauthorized(detail: str) -> Response:
    problem = Problem(status=401, title="Unauthorized", detail=detail)
    return problem_response(problem, headers={"WWW-Authenticate": 'Bearer realm="ReturnDesk"'})


def bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def presented_key() -> ApiKey | None:
    """The live API key the request sends, looked up once per request: the rate limits ask
    for it before ``authenticate`` does."""
    if "presented_key" not in g:
        token = bearer_token()
        g.presented_key = None
        if token is not None:
            g.presented_key = db.session.scalar(
                select(ApiKey).where(
                    ApiKey.key_hash == hash_key(token), ApiKey.revoked_at.is_(None)
                )
            )
    return g.presented_key


@bp.before_request
def authenticate():
    """Every call but the documentation needs ``Authorization: Bearer <key>``."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if bearer_token() is None:
        return _unauthorized("Send an API key as 'Authorization: Bearer <key>'.")
    key = presented_key()
    if key is None:
        return _unauthorized("This API key is unknown or revoked.")
    g.api_key, g.shop = key, key.shop
    _touch(key)
    return None


def _touch(key: ApiKey) -> None:
    now = utcnow()
    db.session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key.id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - LAST_USED_RESOLUTION),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def api_actor() -> audit.Actor:
    """Who the audit trail names for what a key does."""
    return audit.Actor(label=f"API key '{g.api_key.name}'")


# --- Rate limits ------------------------------------------------------------------------
# Checked before ``authenticate``: a call with a live key counts against that key, whichever
# address sends it; any other call (no key, a wrong one, the documentation) counts against
# the address it comes from (TRUSTED_PROXIES decides which address that is).


def per_key_limit() -> str:
    return current_app.config["API_RATE_LIMIT_PER_KEY"]


def per_address_limit() -> str:
    return current_app.config["API_RATE_LIMIT_PER_ADDRESS"]


def key_bucket() -> str:
    return f"api-key:{presented_key().id}"


limiter.shared_limit(
    per_key_limit, scope="api-key", key_func=key_bucket, exempt_when=lambda: not presented_key()
)(bp)
limiter.shared_limit(
    per_address_limit, scope="api-address", exempt_when=lambda: bool(presented_key())
)(bp)


# --- Operations -------------------------------------------------------------------------


@dataclass
class Operation:
    """One documented route: what it takes and what it answers."""

    method: str
    rule: str
    endpoint: str
    summary: str
    description: str
    tag: str
    response: type[BaseModel]
    status: tuple[int, ...]
    query: type[BaseModel] | None
    body: type[BaseModel] | None


OPERATIONS: list[Operation] = []


def operation(
    method: str,
    rule: str,
    *,
    summary: str,
    tag: str,
    response: type[BaseModel],
    status: tuple[int, ...] = (200,),
    query: type[BaseModel] | None = None,
    body: type[BaseModel] | None = None,
) -> Callable:
    """Register a view as an API route. The view gets ``query=``/``body=`` as validated
    models and returns a response model, or ``(model, status)``."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def route(**path_args: Any):
            if query is not None:
                path_args["query"] = _validate(query, request.args.to_dict(), "query")
            if body is not None:
                path_args["body"] = _validate(body, _json_body(), "body")
            if method == "POST":
                return _write(lambda: view(**path_args))
            return json_response(*_result(view(**path_args)))

        OPERATIONS.append(
            Operation(
                method, rule, view.__name__, summary, (view.__doc__ or "").strip(), tag,
                response, status, query, body,
            )
        )  # fmt: skip
        bp.add_url_rule(rule, view.__name__, route, methods=[method])
        return route

    return decorator


def _validate(model: type[BaseModel], data: Any, location: str) -> BaseModel:
    """A body (raw JSON bytes) is checked against the JSON itself, so strict models accept
    a date string but not ``false`` as a number; a query is a dict of strings."""
    try:
        if isinstance(data, bytes):
            return model.model_validate_json(data)
        return model.model_validate(data)
    except ValidationError as error:
        raise ApiProblem(
            422,
            "Invalid input",
            f"The {location} has invalid fields.",
            field_errors(error, location),
        ) from None


def _json_body() -> bytes:
    if not request.is_json:
        raise ApiProblem(
            415, "Unsupported Media Type", "Send JSON (Content-Type: application/json)."
        )
    try:
        parsed = request.get_json(silent=True)
    except RecursionError:
        raise ApiProblem(400, "Bad Request", "The body's JSON is nested too deeply.") from None
    if parsed is None:
        raise ApiProblem(400, "Bad Request", "The body is not valid JSON.")
    return request.get_data()


def _result(result: Any) -> tuple[dict, int]:
    model, status = result if isinstance(result, tuple) else (result, 200)
    return model.model_dump(mode="json"), status


def json_response(body: dict, status: int, headers: dict | None = None) -> Response:
    return Response(json.dumps(body), status, headers=headers, mimetype="application/json")


def _write(produce: Callable[[], Any]) -> Response:
    """Run a POST in one transaction; with an ``Idempotency-Key`` the first response is stored
    in that same transaction, so a retry replays it and never creates a second object."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= 255:
        raise ApiProblem(400, "Bad Request", "Idempotency-Key must be 1 to 255 characters.")
    if key and (stored := _stored_response(key)):
        return _replay(stored)
    body, status = _result(produce())
    if key:
        db.session.add(
            IdempotencyKey(
                shop_id=g.shop.id,
                key=key,
                method=request.method,
                path=g.pop("stored_path", request.path),
                fingerprint=request_fingerprint(),
                response_status=status,
                response_body=body,
            )
        )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if key and (stored := _stored_response(key)):
            return _replay(stored)
        raise ApiProblem(409, "Conflict", "A concurrent request changed this; retry.") from None
    return json_response(body, status)


def redact_stored_path(path: str) -> None:
    """Store ``path`` instead of the request's with an ``Idempotency-Key``'s first response:
    a path that names a person (an erasure's) must not outlive the erasure in that table."""
    g.stored_path = path


def _stored_response(key: str) -> IdempotencyKey | None:
    return db.session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.shop_id == g.shop.id, IdempotencyKey.key == key)
    )


def request_fingerprint() -> str:
    """sha256 of the method, the path and the JSON body with sorted keys and no spacing, so a
    retry that writes the same JSON differently is still the same request (a call without a
    body, like an erasure, has the body null)."""
    body = json.dumps(request.get_json(silent=True), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _replay(stored: IdempotencyKey) -> Response:
    """The stored response, when this is the request it answered (IETF idempotency-key draft:
    a key reused for another request is 422, and nothing is done)."""
    if not secrets.compare_digest(stored.fingerprint, request_fingerprint()):
        raise ApiProblem(
            422,
            "Idempotency-Key reused",
            "This Idempotency-Key was used for a different request (another body, path or "
            "method); send a new key for a new request.",
        )
    return json_response(
        stored.response_body, stored.response_status, {"Idempotent-Replayed": "true"}
    )
