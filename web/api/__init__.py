"""The REST API for a shop's own systems (API keys, problem+json, idempotency, OpenAPI)."""
