"""The REST API for a shop's own systems (API keys, problem+json, idempotency, OpenAPI).

``http`` is the HTTP layer and defines the blueprint ``bp``; ``schemas`` holds the shapes and
``serialise`` turns rows into them; ``routes`` (the operations) and ``openapi`` (the document)
add their routes to ``bp`` when imported, as here, so ``app.py`` registers the whole API.
"""

from web.api import openapi, routes
from web.api.http import bp

__all__ = ["bp", "openapi", "routes"]
