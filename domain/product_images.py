"""Which product image addresses ReturnDesk shows: only web addresses (http or https).

The import and the API refuse any other address (``WEB_ADDRESS_PATTERN``); the pages check
again before showing one, so a value stored before that rule, or written by another path,
never becomes a ``javascript:`` or ``data:`` source on a customer's page.
"""

from __future__ import annotations

import re

WEB_ADDRESS_PATTERN = r"^https?://[^ \t\r\n\x00]+$"


def shown_image_url(address: str | None) -> str:
    """``address`` when it is a web address a page may show, else "" (the placeholder)."""
    if address and re.fullmatch(WEB_ADDRESS_PATTERN, address):
        return address
    return ""
