"""Throttled guessing: the portal's order lookup and the staff login.

Guesses at a secret (an order's email address or postcode, a staff password) are limited
with Flask-Limiter, counting failures only (``deduct_when``), in two ways:

- per client address *and* target together (``client_and``): a stranger who keeps guessing
  is stopped, but only from their own address, so the real customer or agent elsewhere still
  gets in at once;
- per target from every address (``slowdown``): a ladder of limits whose windows double
  (10 failures a second, 11 in 2 seconds … 19 in 512 seconds). Guessing spread over many
  addresses is slowed down more and more, but never locks the target for longer than the
  longest step, as a fixed lock for everyone would.

The wait a refused client is told is the longest of the limits it broke, which is why the
app evaluates every limit of a request (``RATELIMIT_FAIL_ON_FIRST_BREACH = False``).
"""

from __future__ import annotations

import math
import time

from flask import Response, make_response
from flask_babel import ngettext
from flask_limiter.util import get_remote_address
from limits import parse_many

from extensions import limiter

# Failures of one target, from anywhere, before the slowdown begins; then the window doubles.
SLOWDOWN_AFTER = 10
SLOWDOWN_STEPS = 10  # windows of 1, 2, 4 … 512 seconds


def client_and(target: str) -> str:
    """A limit key for this client's address and ``target`` together."""
    return f"{get_remote_address()}|{target}"


def slowdown() -> str:
    """The per-target ladder: one more failure allowed each time the window doubles."""
    return "; ".join(
        f"{SLOWDOWN_AFTER + step} per {2**step} seconds" for step in range(SLOWDOWN_STEPS)
    )


def seconds_to_wait() -> int:
    """How long until every limit this request broke lets the client try again."""
    now = time.time()
    waits = [limit.reset_at - now for limit in limiter.current_limits if limit.breached]
    return max(1, math.ceil(max(waits, default=60)))


def try_again_message() -> str:
    """ "Please try again in …", in seconds for a short wait and in minutes for a long one."""
    seconds = seconds_to_wait()
    if seconds < 60:
        return ngettext(
            "Please try again in %(num)d second.", "Please try again in %(num)d seconds.", seconds
        )
    minutes = max(1, round(seconds / 60))
    return ngettext(
        "Please try again in %(num)d minute.", "Please try again in %(num)d minutes.", minutes
    )


def refusal(body: str | Response) -> Response:
    """The 429 answer, with a ``Retry-After`` of the longest wait among the limits broken
    (Flask-Limiter keeps the longer of this and its own)."""
    response = make_response(body, 429)
    response.headers["Retry-After"] = str(seconds_to_wait())
    return response


def forget(limit_value: str, key: str, scope: str) -> None:
    """Clear what the shared limit ``limit_value`` of ``scope`` counted for ``key`` (nothing
    is counted when the host turned the limits off with ``RATELIMIT_ENABLED``)."""
    if not limiter.enabled:
        return
    for item in parse_many(limit_value):
        limiter.limiter.clear(item, key, scope)
