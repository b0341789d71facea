"""Helpers for the staff-account tests: emails as a user receives them, links inside them."""

from __future__ import annotations

import re

from flask import current_app

LINK = re.compile(r"http://returndesk\.test(/\S+)")


def emails_to(smtp_sink, address: str) -> list:
    """Emails received by ``address``; with Redis, first let an RQ worker deliver the outbox."""
    if current_app.config.get("REDIS_URL"):
        from rq import SimpleWorker

        from services import jobs

        SimpleWorker([jobs.queue()], connection=jobs.redis_connection()).work(burst=True)
    return smtp_sink.to(address)


def link_in(message) -> str:
    """The path of the (first) ReturnDesk link in an email's plain-text body."""
    body = message.get_body(("plain",)).get_content()
    return LINK.search(body).group(1)


def csrf_token_in(html: bytes) -> str:
    return re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1).decode()


def bulk_approve(client, *requests):
    """Staff approve these requests with the Requests list's bulk action (confirmed)."""
    return client.post(
        "/admin/requests/bulk",
        query_string={"ids": ",".join(str(r.id) for r in requests), "action": "approve"},
        data={"action": "approve"},
    )
