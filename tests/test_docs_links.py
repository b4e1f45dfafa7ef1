"""Every relative link in the README and docs/ names a file of this repository.

Links to documents outside it (a sibling checkout's `../shared/SPEC.md`, say) are dead for
anyone who clones only this one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
CODE = re.compile(r"`[^`\n]*`")
INLINE = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
HTML = re.compile(r"""(?:href|src)=["']([^"']+)["']""")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # http:, https:, mailto: ...


def relative_links(text: str) -> list[str]:
    """The targets of links that are paths (no scheme, not only a #fragment), code left out."""
    prose = CODE.sub("", FENCE.sub("", text))
    targets = INLINE.findall(prose) + DEFINITION.findall(prose) + HTML.findall(prose)
    return [t for t in targets if not EXTERNAL.match(t) and not t.startswith("#")]


def test_the_link_finder_finds_links() -> None:
    sample = (
        "See [api](docs/api.md), [web](https://example.org), [top](#layout), "
        '![img](pic.png "title"), `[code](not/a/link.md)` and <a href="x/y.md">x</a>.\n\n'
        "```\n[fenced](not/either.md)\n```\n\n[ref]: ../shared/SPEC.md\n"
    )
    assert relative_links(sample) == ["docs/api.md", "pic.png", "../shared/SPEC.md", "x/y.md"]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_at_a_file_here(document: Path) -> None:
    links = relative_links(document.read_text(encoding="utf-8"))
    if document.name == "README.md":
        assert links, "the README links to its docs"
    for link in links:
        path = link.split("#", 1)[0].split("?", 1)[0]
        target = (document.parent / path).resolve()
        assert target.is_relative_to(ROOT), f"{link} leaves the repository"
        assert target.exists(), f"{link} does not exist"
