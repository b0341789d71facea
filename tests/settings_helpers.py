"""The shop settings form as its page fills it in, for tests that change one setting."""

from __future__ import annotations

import html
import re

CHECKBOXES = ("languages", "offered_resolutions", "free_shipping_resolutions", "customer_emails")
SELECTS = ("default_language", "time_zone")


def settings_form(page: str) -> dict:
    """The fields as posted when nothing is changed: text inputs, chosen options, ticked boxes."""
    form: dict = {}
    for tag, name, value in re.findall(
        r'(<input[^>]*name="(\w+)"[^>]*value="([^"]*)"[^>]*>)', page
    ):
        unticked = 'type="checkbox"' in tag and "checked" not in tag
        if name not in CHECKBOXES and not unticked:
            form[name] = html.unescape(value)
    for name in CHECKBOXES:
        form[name] = ticked(page, name)
    for name in SELECTS:
        select = re.search(rf'<select[^>]*name="{name}".*?</select>', page, re.S).group(0)
        form[name] = re.search(r'<option selected value="([^"]+)"', select).group(1)
    return form


def ticked(page: str, name: str) -> list[str]:
    """The values of the ticked checkboxes called ``name``."""
    boxes = re.findall(rf'<input[^>]*name="{name}"[^>]*>', page)
    return [re.search(r'value="(\w+)"', box).group(1) for box in boxes if "checked" in box]
