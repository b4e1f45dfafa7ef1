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
    assert "sample referrals: 20" in out
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
