"""The OpenAPI 3.1 document of every ``@operation``, served at ``/api/v1/openapi.json`` and as a
plain page at ``/api/v1/docs``; its schemas are the pydantic models the routes validate with."""

from __future__ import annotations

import re

from flask import json, render_template
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from web.api.http import OPERATIONS, PROBLEM_TYPE, Operation, Problem, bp, json_response

ERROR_STATUSES = {
    400: "Bad request",
    401: "Missing, unknown or revoked API key",
    404: "Not found",
    415: "The body is not JSON",
    409: "Refused by the shop's rules or the item's state; errors names the field if any "
    "and, for a return request, the rule's code",
    422: "Invalid input; errors names the failing fields",
    429: "Too many calls: per API key, or per address for calls without a valid key; "
    "wait Retry-After seconds",
}
RESPONSE_HEADERS = {
    429: {
        "Retry-After": {
            "description": "Seconds until the next call is let through",
            "required": True,
            "schema": {"type": "integer", "minimum": 0},
        }
    }
}


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", bp.url_prefix + rule)


def _ref(model: type[BaseModel]) -> dict:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _parameters(op: Operation) -> list[dict]:
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"<(?:\w+:)?(\w+)>", op.rule)
    ]
    if op.query is not None:
        schema = op.query.model_json_schema()
        for name, prop in schema["properties"].items():
            params.append(
                {
                    "name": name,
                    "in": "query",
                    "required": name in schema.get("required", []),
                    "description": prop.get("description", ""),
                    "schema": {k: v for k, v in prop.items() if k not in ("title", "description")},
                }
            )
    if op.method == "POST":
        params.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "Retrying with the same key returns the first response.",
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            }
        )
    return params


def _operation_document(op: Operation) -> dict:
    success = {
        str(code): {
            "description": "Created" if code == 201 else "OK",
            "content": {"application/json": {"schema": _ref(op.response)}},
        }
        for code in op.status
    }
    errors = {
        str(code): {
            "description": text,
            "content": {PROBLEM_TYPE: {"schema": _ref(Problem)}},
        }
        | ({"headers": RESPONSE_HEADERS[code]} if code in RESPONSE_HEADERS else {})
        for code, text in ERROR_STATUSES.items()
        if (code != 415 or op.body is not None) and (code != 409 or op.method == "POST")
    }
    document = {
        "operationId": op.endpoint,
        "summary": op.summary,
        "description": op.description,
        "tags": [op.tag],
        "parameters": _parameters(op),
        "responses": success | errors,
    }
    if op.body is not None:
        document["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(op.body)}},
        }
    return document


def openapi_document() -> dict:
    """The OpenAPI 3.1 description of every ``@operation``, schemas from the pydantic models."""
    models = [(m, "validation") for m in {op.body for op in OPERATIONS if op.body}]
    models += [(m, "serialization") for m in {op.response for op in OPERATIONS} | {Problem}]
    _, schemas = models_json_schema(models, ref_template="#/components/schemas/{model}")
    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        paths.setdefault(_openapi_path(op.rule), {})[op.method.lower()] = _operation_document(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ReturnDesk API",
            "version": "1",
            "description": "Orders in, return requests and returns out. Every call needs a "
            "shop's API key (Admin → API keys) as 'Authorization: Bearer <key>'. Errors are "
            "RFC 9457 problem documents.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }


@bp.get("/openapi.json")
def openapi():
    return json_response(openapi_document(), 200)


def describe_type(schema: dict) -> str:
    """A short readable type of a JSON schema, for the docs page."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " | ".join(describe_type(s) for s in schema["anyOf"])
    if "enum" in schema:
        return " | ".join(json.dumps(v) for v in schema["enum"])
    if schema.get("type") == "array":
        return f"list of {describe_type(schema.get('items', {}))}"
    if "const" in schema:
        return json.dumps(schema["const"])
    kind = schema.get("type", "any")
    return f"{kind} ({schema['format']})" if "format" in schema else kind


@bp.get("/docs")
def docs():
    """The OpenAPI document as a plain page: no scripts, no CDN."""
    return render_template(
        "api/docs.html", document=openapi_document(), describe_type=describe_type
    )
