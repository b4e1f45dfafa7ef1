"""`referral audit checkpoint` and `audit verify --checkpoint`, as an operator runs them."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.referral.test_audit import DELETE_REFERRAL, _drop_guards
from tests.referral.test_cli import fresh_url, ok, run  # noqa: F401 - the fixture: an empty database


def test_the_cli_refuses_to_start_without_an_audit_key(fresh_url: str) -> None:  # noqa: F811
    result = run(fresh_url, "db", "upgrade", env={"REFERRAL_AUDIT_KEY": ""})
    assert result.returncode == 2
    assert "REFERRAL_AUDIT_KEY is required" in result.stderr


def test_checkpoint_then_verify_finds_a_deleted_referral_and_an_edit(
    fresh_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    ok(run(fresh_url, "db", "upgrade"))
    ok(run(fresh_url, "demo"))
    nightly = tmp_path / "checkpoint-1.json"
    written = run(fresh_url, "audit", "checkpoint", "--output", str(nightly))
    assert written.returncode == 0, written.stderr
    assert "checkpoint of 46 referral(s) written" in written.stderr
    document = json.loads(nightly.read_text())
    assert document["count"] == 46
    assert json.loads(ok(run(fresh_url, "audit", "checkpoint")))["count"] == 46

    verified = ok(run(fresh_url, "audit", "verify", "--checkpoint", str(nightly)))
    assert verified.startswith("ok: ")
    assert "every record matches its events" in verified
    assert document["taken_at"] in verified

    engine = create_engine(fresh_url)
    try:
        with engine.begin() as connection:
            gone, reference = connection.execute(
                text("SELECT id, reference FROM referrals ORDER BY reference LIMIT 1")
            ).one()
            _drop_guards(connection)
            for statement in DELETE_REFERRAL:
                connection.execute(text(statement), {"rid": gone})
            connection.execute(
                text(
                    "UPDATE referrals SET concern_summary = 'Nothing of note.' WHERE reference = "
                    "(SELECT max(reference) FROM referrals)"
                )
            )
    finally:
        engine.dispose()

    plain = run(fresh_url, "audit", "verify")
    assert plain.returncode == 1
    assert "referrals.concern_summary: differs from what the events recorded" in plain.stderr
    assert reference not in plain.stderr, "without a checkpoint a deleted referral is not seen"

    against = run(fresh_url, "audit", "verify", "--checkpoint", str(nightly))
    assert against.returncode == 1
    assert f"TAMPERED {reference} ({gone}) referral: deleted" in against.stderr
    assert "referrals.concern_summary" in against.stderr


def test_an_edited_or_unreadable_checkpoint_fails_verify(
    fresh_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    ok(run(fresh_url, "db", "upgrade"))
    checkpoint = tmp_path / "checkpoint.json"
    ok(run(fresh_url, "audit", "checkpoint", "--output", str(checkpoint)))
    edited = json.loads(checkpoint.read_text())
    assert edited["count"] == 0
    edited["taken_at"] = "2020-01-01T00:00:00+00:00"
    checkpoint.write_text(json.dumps(edited))
    result = run(fresh_url, "audit", "verify", "--checkpoint", str(checkpoint))
    assert result.returncode == 1
    assert "TAMPERED checkpoint: the signature does not match" in result.stderr

    checkpoint.write_text("not json")
    result = run(fresh_url, "audit", "verify", "--checkpoint", str(checkpoint))
    assert result.returncode == 1
    assert "TAMPERED checkpoint: this is not a signed audit checkpoint" in result.stderr
