"""axe-core (through axe-playwright-python) on a Playwright page: the critical and serious
violations, each in one readable line, so a failing test says what to fix and where."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

BLOCKING = ("critical", "serious")
_axe = Axe()


def violations(page: Page) -> list[str]:
    """The page's critical and serious violations: ``rule (impact): target: summary`` of each
    rule's first node, with the number of nodes it was found on."""
    # As a reader meets it: with its scripts run (a check right after a form's redirect
    # could otherwise come between the new page's HTML and its scripts).
    page.wait_for_load_state("load")
    found = []
    for violation in _axe.run(page).response["violations"]:
        if violation["impact"] not in BLOCKING:
            continue
        node = violation["nodes"][0]
        summary = " ".join((node.get("failureSummary") or "").split())
        found.append(
            f"{violation['id']} ({violation['impact']}, {len(violation['nodes'])} nodes): "
            f"{node['target']}: {summary}"
        )
    return found


class Audit:
    """Collects the violations of many pages, so one run names every page that fails."""

    def __init__(self) -> None:
        self.failures: list[str] = []

    def check(self, page: Page, where: str) -> None:
        self.failures += [f"{where}: {line}" for line in violations(page)]

    def assert_clean(self) -> None:
        assert not self.failures, "axe found:\n" + "\n".join(self.failures)
