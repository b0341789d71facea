"""The Dutch catalogue and the strings the code marks for translation, read for the tests."""

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
DUTCH_PO = ROOT / "translations" / "nl" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {
    "_": None,
    "gettext": None,
    "_l": None,
    "lazy_gettext": None,
    "ngettext": (1, 2),
}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdifr]")


def source_messages() -> dict[str, list[str]]:
    """``{msgid: [where it is used]}`` for every translatable string, extracted as babel.cfg says."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS
    ):
        msgid = message[0] if isinstance(message, tuple) else message  # plurals: the singular
        if msgid:
            found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


def dutch_catalog():
    with DUTCH_PO.open("rb") as po:
        return read_po(po, locale="nl")


def translations_of(entry) -> list[str]:
    return list(entry.string) if isinstance(entry.string, tuple | list) else [entry.string]


def placeholders(text: str | tuple[str, ...]) -> set[str]:
    """The placeholders of a text, or of a plural entry's forms together."""
    return set(PLACEHOLDER.findall(text if isinstance(text, str) else " ".join(text)))
