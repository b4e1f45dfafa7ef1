"""The README's curl walk-through, run exactly as written against a live server on each database."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
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


def run_walkthrough(env: dict[str, str], cwd: Path) -> str:
    """Run the block once in `cwd`; check what it prints; return the referral's id."""
    result = subprocess.run(
        [shutil.which("bash") or "/bin/bash", "-c", walkthrough()],
        cwd=cwd,
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
    return lines[start].removeprefix("recorded referral ")


def test_the_readme_walkthrough_works_as_written(fresh_url: str, tmp_path: Path) -> None:  # noqa: F811
    """As a newcomer runs it from a checkout (here a folder with the same `.venv`): on SQLite
    with the block's own database, over one an earlier run left; on PostgreSQL on an empty
    database."""
    venv = Path(sys.executable).parent
    (tmp_path / ".venv").symlink_to(venv.parent, target_is_directory=True)
    env = {
        **os.environ,
        "REFERRAL_DATABASE_URL": fresh_url,
        "PORT": str(free_port()),
        "PATH": f"{venv}:{os.environ['PATH']}",
    }
    env.pop("REFERRAL_SECRET_KEY", None)
    if not fresh_url.startswith("sqlite"):
        run_walkthrough(env, tmp_path)
        return
    del env["REFERRAL_DATABASE_URL"]  # the block's default: instance/walkthrough/referral.db
    database = tmp_path / "instance" / "walkthrough" / "referral.db"
    database.parent.mkdir(parents=True)
    with sqlite3.connect(database) as connection:  # what an earlier run left: referrals and all
        connection.execute("CREATE TABLE referrals (id TEXT PRIMARY KEY)")
        connection.executemany("INSERT INTO referrals VALUES (?)", [("a",), ("b",)])
    connection.close()
    recorded = run_walkthrough(env, tmp_path)
    with sqlite3.connect(database) as connection:
        ids = [row[0] for row in connection.execute("SELECT id FROM referrals")]
    connection.close()
    assert ids == [recorded], "the walk-through did not start from a fresh database"


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
