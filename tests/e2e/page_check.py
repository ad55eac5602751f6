"""Checks every page test makes in the browser: no console errors, 0 axe violations, a screenshot.

axe-core runs the WCAG 2.1 A and AA rules (tags wcag2a, wcag2aa, wcag21a, wcag21aa). A console
error (a blocked inline script or style, a failed asset) fails the page too. Screenshots go to
`tests/e2e/screenshots/<backend>/<language>/<name>.png`, kept after the run.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
AXE = Axe()


def describe_violations(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        targets = [", ".join(node["target"]) for node in violation["nodes"]][:5]
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}")
    return "\n".join(lines)


@dataclass
class PageCheck:
    """A browser page on one server, in one language, that checks each page it shows."""

    page: Page
    base_url: str
    backend: str
    console_errors: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    document_status: int = 200

    def __post_init__(self) -> None:
        self.page.on("console", self._on_console)
        self.page.on("response", self._on_response)

    def _on_response(self, response) -> None:
        if response.request.is_navigation_request() and response.frame == self.page.main_frame:
            self.console_errors.clear()  # a new page: only its own errors count
            self.document_status = response.status

    def _on_console(self, message) -> None:
        # An error page or a form sent back with errors has an error status on purpose; the
        # browser reports that status on the console too.
        own_status = f"the server responded with a status of {self.document_status} "
        if message.type == "error" and own_status not in message.text:
            self.console_errors.append(message.text)

    @property
    def language(self) -> str:
        return self.page.locator("html").get_attribute("lang") or "?"

    def open(self, path: str, *, lang: str | None = None, status: int = 200):
        """Go to `path` (in `lang`, which then sticks through the cookie) and expect `status`."""
        url = self.base_url + path
        if lang:
            url += ("&" if "?" in path else "?") + f"lang={lang}"
        response = self.page.goto(url)
        assert response is not None and response.status == status, (
            f"{path}: expected {status}, got {response and response.status}"
        )
        return response

    def check(self, name: str) -> None:
        """The page now shown has no console errors and no axe violations; keep a screenshot."""
        results = AXE.run(self.page, options=WCAG_21_AA)
        violations = results.response["violations"]
        assert not violations, f"{name} ({self.language}):\n{describe_violations(violations)}"
        assert not self.console_errors, f"{name} ({self.language}): {self.console_errors}"
        target = SCREENSHOTS / self.backend / self.language / f"{name}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(target), full_page=True)
        self.checked.append(f"{self.language}/{name}")
