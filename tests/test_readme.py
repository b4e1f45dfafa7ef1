"""The README's curl walk-through, run exactly as written against a live server on each database."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.live import free_port
from tests.referral.test_cli import fresh_url  # noqa: F401 - the fixture: an empty database

ROOT = Path(__file__).resolve().parent.parent


def walkthrough() -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(
        r"<!-- walkthrough:start -->\s*```bash\n(.*?)```\s*<!-- walkthrough:end -->", text, re.S
    )
    assert match, "the README has lost its walk-through block"
    return match.group(1)


def test_the_readme_walkthrough_works_as_written(fresh_url: str) -> None:  # noqa: F811
    env = {
        **os.environ,
        "REFERRAL_DATABASE_URL": fresh_url,
        "PORT": str(free_port()),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    env.pop("REFERRAL_SECRET_KEY", None)
    result = subprocess.run(
        [shutil.which("bash") or "/bin/bash", "-c", walkthrough()],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("recorded referral "))
    assert lines[start + 1 : start + 12] == [
        "ird",
        "investigation",
        "jii",
        "investigation",
        "rejected",
        "case_conference",
        "registered",
        "registered",
        "case_conference",
        "deregistered",
        "deregister",
    ]
    assert re.match(r"ok: \d+ events verified", lines[-1])


def test_the_readme_diagram_is_the_definitions() -> None:
    """The lifecycle drawn in the README is the one the code runs (regenerate it with
    `referral workflow diagram --format mermaid`)."""
    from workflow import diagram
    from workflow.registry import definition

    text = (ROOT / "README.md").read_text()
    match = re.search(
        r"<!-- diagram:start -->\s*```mermaid\n(.*?)```\s*<!-- diagram:end -->", text, re.S
    )
    assert match, "the README has lost its lifecycle diagram"
    assert match.group(1) == diagram.mermaid(definition())
