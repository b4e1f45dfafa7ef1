"""What the browser tests do on a page: sign in, fill a generated form, send it, check it with
axe-core, save a screenshot."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.browser.conftest import Live
from tests.conftest import PASSWORD

#: axe-core, pinned in tests/browser/vendor/ (tools/axe-core/build.sh refreshes it from npm)
AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
#: WCAG 2.0, 2.1 and 2.2, levels A and AA
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
#: axe's violations, reduced to what a person reads: rule, impact, help, and each node
_RUN_AXE = """async (tags) => {
  const results = await axe.run(document, {
    runOnly: {type: "tag", values: tags},
    resultTypes: ["violations"],
  });
  return results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({target: n.target.join(" "), html: n.html,
                                summary: n.failureSummary})),
  }));
}"""
_ID = re.compile(r"/[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}|/\d+(?=/|$)")


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Run axe-core on the page as it is now.

    axe is evaluated through the DevTools protocol (page.evaluate), which the page's
    Content-Security-Policy does not govern, so the pages are tested under their real CSP:
    no context needs bypass_csp, and an inline-script mistake in a template would still show.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(f"() => {{ {AXE}\n }}")
    violations: list[dict[str, Any]] = page.evaluate(_RUN_AXE, AXE_TAGS)
    return violations


def readable(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"]:
            lines.append(f"  at {node['target']}: {node['html'][:200]}")
            lines.extend(f"    {line}" for line in (node["summary"] or "").splitlines())
    return "\n".join(lines)


@dataclass
class Visits:
    """The pages a journey visits: each one's screenshot, and axe on each distinct page."""

    live: Live
    prefix: str
    axe: bool = True
    count: int = 0
    checked: set[str] = field(default_factory=set)

    def seen(self, page: Any, name: str, variant: object = "") -> None:
        """Screenshot the page; axe it unless a page of this address (with ids as `{id}`) and
        `variant` was checked already."""
        self.count += 1
        path = _ID.sub("/{id}", page.url.removeprefix(self.live.base_url).split("?")[0])
        # the viewport as JPEG: a full page as PNG takes several times longer
        shot = self.live.shots / f"{self.prefix}-{self.count:02d}-{name}.jpeg"
        page.screenshot(path=str(shot), type="jpeg", quality=80)
        key = f"{path} {variant}"
        if self.axe and key not in self.checked:
            self.checked.add(key)
            found = axe_violations(page)
            assert not found, f"axe on {page.url} ({name}):\n{readable(found)}"


def sign_in(page: Any, username: str, visits: Visits | None = None) -> None:
    page.goto("/sign-in")
    if visits is not None:
        visits.seen(page, "sign-in")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert "Signed in as" in page.content(), page.content()[:3000]


_ROW = re.compile(r"(.+)-\d+-[^-]+(?:-(?:day|month|year|hour|minute))?")


#: each named field of the page's forms: name -> "text", "radio", "select", "textarea" ...
_KINDS = """() => Object.fromEntries(Array.from(document.querySelectorAll("form [name]"),
  (e) => [e.name, e.tagName === "INPUT" ? e.type : e.tagName.toLowerCase()]))"""


def fill(page: Any, fields: list[tuple[str, str]]) -> None:
    """Type `fields` (tests.web.pages.form_fields) into the form, pressing "Add another" when a
    list needs another row."""
    kinds: dict[str, str] = page.evaluate(_KINDS)
    for name, value in fields:
        target = page.locator(f'[name="{name}"]')
        if name not in kinds:
            row = _ROW.fullmatch(name)
            assert row, f"no field {name}"
            with page.expect_navigation():
                page.locator(f'button[name="add_row"][value="{row.group(1)}"]').click()
            kinds = page.evaluate(_KINDS)
            assert name in kinds, f"no field {name} after Add another"
        kind = kinds[name]
        if kind in ("radio", "checkbox"):
            page.locator(f'[name="{name}"][value="{value}"]').check()
        elif kind == "select":
            target.select_option(value)
        else:
            target.fill(value)


def send(page: Any, button: str | re.Pattern[str]) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=button).click()
