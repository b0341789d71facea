"""``make screenshots`` produces the set: its script, run as the Makefile runs it (into a
temporary folder here), writes every page of the seed's story on a desktop and a phone, in
Dutch and in English, under the names docs/screenshots/ holds and the README shows."""

from __future__ import annotations

import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.own_database]

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "docs" / "screenshots"
SIZES = {"desktop": (1280, 800), "phone": (780, 1688)}  # the phone at device scale 2


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", path.name
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_make_screenshots_writes_every_page_desktop_and_phone_in_dutch_and_english(tmp_path):
    need_chromium = Path("/usr/bin/chromium")
    if not need_chromium.exists():
        pytest.skip("Debian chromium (/usr/bin/chromium) is not installed")
    subprocess.run(
        [sys.executable, str(SCREENSHOTS / "make_screenshots.py"), str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=900,
    )

    made = sorted(path.name for path in tmp_path.glob("*.png"))
    assert made == sorted(path.name for path in SCREENSHOTS.glob("*.png"))
    stories = {re.match(r"(nl|en)-(desktop|phone)-", name).groups() for name in made}
    assert stories == {(lang, device) for lang in ("nl", "en") for device in SIZES}
    assert len(made) == 4 * len([name for name in made if name.startswith("en-phone-")])
    for name in made:
        device = name.split("-")[1]
        assert png_size(tmp_path / name) == SIZES[device], name
    shown = re.findall(r"docs/screenshots/([\w.-]+\.png)", (ROOT / "README.md").read_text())
    assert shown and set(shown) <= set(made)
