"""The `referral` command end to end, as an operator meets it, on a fresh database of each kind."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import BACKENDS, empty_database

REFERRAL = str(Path(sys.executable).parent / "referral")


@pytest.fixture(params=BACKENDS)
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database nobody else uses."""
    with empty_database(request.param, tmp_path, "cli") as url:
        yield url


def run(
    url: str, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "REFERRAL_ENV": "production",
        "REFERRAL_SECRET_KEY": "cli-test-secret-0123456789abcdef",
        "REFERRAL_AUDIT_KEY": "cli-test-audit-key-0123456789abcdef",
        "REFERRAL_DATABASE_URL": url,
        **(env or {}),
    }
    return subprocess.run(
        [REFERRAL, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_refuses_to_start_without_a_secret_outside_development(fresh_url: str) -> None:
    result = run(fresh_url, "db", "upgrade", env={"REFERRAL_SECRET_KEY": ""})
    assert result.returncode == 2
    assert "REFERRAL_SECRET_KEY is required" in result.stderr


def test_operator_commands_then_the_token_works(fresh_url: str) -> None:
    ok(run(fresh_url, "db", "upgrade"))
    ok(
        run(
            fresh_url,
            "areas",
            "add",
            "west-dunbartonshire",
            "--name",
            "West Dunbartonshire",
            "--prefix",
            "WD",
        )
    )
    duplicate = run(
        fresh_url, "areas", "add", "west-dunbartonshire", "--name", "Again", "--prefix", "WX"
    )
    assert duplicate.returncode != 0
    assert "already exists" in duplicate.stderr
    ok(
        run(
            fresh_url,
            "users",
            "create",
            "sam.reid",
            "--agency",
            "social_work",
            "--role",
            "practitioner",
            "--area",
            "west-dunbartonshire",
            "--password-stdin",
            stdin="a long enough password\n",
        )
    )
    bad_role = run(
        fresh_url,
        "users",
        "create",
        "x.y",
        "--agency",
        "police",
        "--role",
        "chief",
        "--area",
        "west-dunbartonshire",
        "--password-stdin",
        stdin="long password 123\n",
    )
    assert bad_role.returncode != 0
    assert "role must be one of" in bad_role.stderr
    token = ok(run(fresh_url, "tokens", "create", "sam.reid", "--scope", "read")).splitlines()[-1]
    assert token.startswith("rfl_")

    from referral import create_app

    app = create_app({"REFERRAL_DATABASE_URL": fresh_url})
    try:
        response = app.test_client().get(
            "/api/v1/reference", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200
        assert response.get_json()["areas"][0]["slug"] == "west-dunbartonshire"
        assert app.test_client().get("/readyz").status_code == 200
    finally:
        app.extensions["referral.db"].engine.dispose()


def test_demo_then_audit_verify_catches_tampering(fresh_url: str) -> None:
    ok(run(fresh_url, "db", "upgrade"))
    out = ok(run(fresh_url, "demo"))
    assert "sample referrals: 46" in out
    assert "socialwork.supervisor" in out
    again = ok(run(fresh_url, "demo"))
    assert "already loaded" in again
    verified = ok(run(fresh_url, "audit", "verify"))
    assert verified.startswith("ok: ")

    engine = create_engine(fresh_url)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("DROP TRIGGER events_append_only ON events"))
        else:
            connection.execute(text("DROP TRIGGER events_refuse_update"))
        connection.execute(text("UPDATE events SET reason = 'quietly changed' WHERE seq = 2"))
    engine.dispose()
    tampered = run(fresh_url, "audit", "verify")
    assert tampered.returncode == 1
    assert "TAMPERED" in tampered.stderr
    assert "altered" in tampered.stderr


def test_workflow_show_and_diagram(fresh_url: str) -> None:
    import json

    shown = json.loads(ok(run(fresh_url, "workflow", "show")))
    assert (shown["profile"], shown["version"], shown["versions"]) == ("scotland", 2, [1, 2])
    assert len(shown["triggers"]) == 24
    old = json.loads(ok(run(fresh_url, "workflow", "show", "--version", "1")))
    assert (old["version"], len(old["triggers"])) == (1, 19)
    mermaid = ok(run(fresh_url, "workflow", "diagram", "--format", "mermaid"))
    assert mermaid.startswith("stateDiagram-v2")
    svg = ok(run(fresh_url, "workflow", "diagram", "--format", "svg"))
    assert svg.lstrip().startswith("<?xml") or svg.lstrip().startswith("<svg")


# -- with no configuration at all: help and the workflow need none --------------------------------


def unconfigured(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed `referral` as a newcomer first runs it: no REFERRAL_* variable set."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("REFERRAL_")}
    return subprocess.run(
        [REFERRAL, *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=60,
        check=False,
    )


def every_command() -> list[tuple[str, ...]]:
    """The path of every group and command under `referral`, the top level first."""
    import click

    from referral.cli import main

    found: list[tuple[str, ...]] = [()]

    def walk(group: click.Group, path: tuple[str, ...]) -> None:
        for name, command in sorted(group.commands.items()):
            found.append((*path, name))
            if isinstance(command, click.Group):
                walk(command, (*path, name))

    walk(main, ())
    return found


@pytest.mark.parametrize("command", every_command(), ids=lambda c: " ".join(c) or "referral")
def test_every_help_needs_no_configuration(command: tuple[str, ...], tmp_path: Path) -> None:
    result = unconfigured(*command, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Usage: {' '.join(('referral', *command))} ")
    assert result.stderr == ""
    assert not any(tmp_path.iterdir()), "help built the app (it made an instance folder)"


def test_top_level_help_lists_the_commands(tmp_path: Path) -> None:
    out = ok(unconfigured("--help", cwd=tmp_path))
    listed = out.split("Commands:", 1)[1]
    for name in ("db", "areas", "users", "tokens", "demo", "audit", "workflow", "openapi", "run"):
        assert f"\n  {name} " in listed, name


def test_the_workflow_needs_no_configuration(tmp_path: Path) -> None:
    import json

    shown = json.loads(ok(unconfigured("workflow", "show", cwd=tmp_path)))
    assert (shown["profile"], shown["version"], shown["versions"]) == ("scotland", 2, [1, 2])
    old = json.loads(ok(unconfigured("workflow", "show", "--version", "1", cwd=tmp_path)))
    assert old["version"] == 1
    mermaid = ok(unconfigured("workflow", "diagram", cwd=tmp_path))
    assert mermaid.startswith("stateDiagram-v2")
    svg = ok(unconfigured("workflow", "diagram", "--format", "svg", cwd=tmp_path))
    assert "<svg" in svg
    assert not any(tmp_path.iterdir())
    unknown = unconfigured("workflow", "show", "--profile", "atlantis", cwd=tmp_path)
    assert unknown.returncode == 1
    assert "no workflow profile called 'atlantis'" in unknown.stderr
    assert "Traceback" not in unknown.stderr


@pytest.mark.parametrize(
    "command", [("db", "upgrade"), ("demo",), ("audit", "verify"), ("openapi", "print"), ("run",)]
)
def test_a_command_that_needs_the_app_says_what_is_missing(
    command: tuple[str, ...], tmp_path: Path
) -> None:
    result = unconfigured(*command, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(
        "referral: configuration error: REFERRAL_SECRET_KEY is required"
    )
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_an_unknown_command_is_named_as_such(tmp_path: Path) -> None:
    result = unconfigured("no-such-command", cwd=tmp_path)
    assert result.returncode == 2
    assert "No such command 'no-such-command'" in result.stderr
    assert "configuration" not in result.stderr
