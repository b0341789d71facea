"""A shop's colour on every customer page and email: its own where it reads (WCAG contrast
4.5:1 against white, and white on it), else a dark shade."""

from __future__ import annotations

import re

from models import Shop

HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
# Bootstrap's blue, for a shop that has not chosen a colour (or saved one that is not a colour).
DEFAULT_COLOUR = "#0d6efd"
# The dark shade used where the shop's colour is too light to read on white (or under white).
SAFE_DARK = "#1f2d3d"
# WCAG 2's minimum contrast for normal text and for the parts of a control (AA).
MIN_CONTRAST = 4.5


def brand_colour(shop: Shop) -> str:
    colour = shop.brand_color or ""
    return colour if HEX_COLOUR.fullmatch(colour) else DEFAULT_COLOUR


def readable_colour(colour: str) -> str:
    """The shop's colour where it reads on white (and white reads on it), else a dark shade."""
    return colour if contrast_with_white(colour) >= MIN_CONTRAST else SAFE_DARK


def contrast_with_white(colour: str) -> float:
    """WCAG 2's contrast ratio of ``#rrggbb`` against white, from 1 to 21."""
    return 1.05 / (relative_luminance(colour) + 0.05)


def relative_luminance(colour: str) -> float:
    red, green, blue = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


def linear(channel: float) -> float:
    return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4
