"""A known vulnerability in the pinned requirements.txt fails CI, unless it is accepted in
.ci/pip-audit-ignore.txt (one a line: ID, date accepted, reason).

pip-audit does the audit: it asks PyPI for the advisories of each pinned version
(``/pypi/NAME/VERSION/json``). The PyPI this project's machines reach serves a project's page
(``/pypi/NAME/json``) but not a version's, so there pip-audit skips every package as "not found
on PyPI". For each package it skipped, this script reads the project's page, whose advisories
are those of the latest release: a pin that is the latest release is audited by them; an older
pin is reported as not audited (a warning, since nothing here can tell).

Usage: .venv/bin/python .ci/audit_dependencies.py requirements.txt
"""

from __future__ import annotations

import datetime
import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

from packaging.utils import canonicalize_name

IGNORE_FILE = Path(__file__).with_name("pip-audit-ignore.txt")
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)", re.MULTILINE)


def accepted_ids() -> set[str]:
    """The accepted vulnerability IDs; a line without an ISO date and a reason stops the run."""
    ids = set()
    for number, line in enumerate(IGNORE_FILE.read_text().splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = [part.strip() for part in line.split(",", 2)]
        try:
            vuln_id, accepted_on, reason = parts
            datetime.date.fromisoformat(accepted_on)
        except ValueError:
            reason = ""
        if not reason:
            sys.exit(f"{IGNORE_FILE.name}:{number}: expected 'ID, YYYY-MM-DD, reason': {line}")
        ids.add(vuln_id)
    return ids


def pip_audit(requirements: Path, ignored: set[str]) -> list[dict]:
    """pip-audit's findings: per pinned package its ``vulns``, or why it was skipped."""
    command = [
        sys.executable,
        "-m",
        "pip_audit",
        "--requirement",
        str(requirements),
        "--require-hashes",
        "--disable-pip",
        "--format",
        "json",
        "--progress-spinner",
        "off",
        *(f"--ignore-vuln={vuln_id}" for vuln_id in sorted(ignored)),
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode not in (0, 1):
        sys.exit(f"pip-audit failed (exit code {result.returncode}):\n{result.stderr}")
    return json.loads(result.stdout)["dependencies"]


def latest_release_advisories(name: str, version: str) -> list[dict] | None:
    """The advisories of ``name==version`` from PyPI's project page when that pin is the latest
    release; None for an older pin, which the page says nothing about."""
    url = f"https://pypi.org/pypi/{name}/json"
    with urllib.request.urlopen(url, timeout=30) as response:
        project = json.load(response)
    if project["info"]["version"] != version:
        return None
    return [advisory for advisory in project["vulnerabilities"] if not advisory.get("withdrawn")]


def main(requirements: Path) -> int:
    ignored = accepted_ids()
    pins = {canonicalize_name(name): v for name, v in PIN.findall(requirements.read_text())}
    found, not_audited = [], []
    for dependency in pip_audit(requirements, ignored):
        name = canonicalize_name(dependency["name"])
        if "skip_reason" not in dependency:
            found += [(name, pins[name], v["id"], v["fix_versions"]) for v in dependency["vulns"]]
            continue
        advisories = latest_release_advisories(name, pins[name])
        if advisories is None:
            not_audited.append(f"{name}=={pins[name]}")
            continue
        found += [
            (name, pins[name], advisory["id"], advisory["fixed_in"])
            for advisory in advisories
            if not ignored & {advisory["id"], *advisory.get("aliases", [])}
        ]
    if not_audited:
        print(
            "Not audited (older than the latest release, and this PyPI serves no advisories "
            "per version): " + ", ".join(not_audited)
        )
    for name, version, vuln_id, fixed_in in found:
        print(f"VULNERABLE: {name}=={version}: {vuln_id} (fixed in {', '.join(fixed_in) or '?'})")
    if found:
        print(f"Bump the pin (requirements.in, make lock) or accept it in {IGNORE_FILE.name}.")
        return 1
    print(f"No known vulnerabilities in {len(pins) - len(not_audited)} audited pins.")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
