"""A server process remembers the tokens it has authenticated, and forgets them the moment any
user, area or token changes: by the app, by a command in another process, or by hand in the
database (the credentials stamp, migration 0012)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, make_url, text

from referral.models.types import utcnow
from tests.conftest import BACKENDS, empty_database
from tests.live import Server, add_user, production_env, referral_cli, request
from tests.referral.flows import concern_body
from tests.referral.test_statements import statements

#: requests sent on fresh connections after each change: enough that both workers serve some
TRIES = 8


def statuses(port: int, method: str, path: str, token: str, body: Any = None) -> set[int]:
    return {request(port, method, path, token, body)[0] for _ in range(TRIES)}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_change_to_any_credential_is_seen_by_every_worker_at_once(
    backend: str, tmp_path: Path
) -> None:
    with empty_database(backend, tmp_path, "remembered") as url:
        # each refusal below is counted as a failed credential: more than the default limit
        env = production_env(url, REFERRAL_AUTH_FAILURE_LIMIT="1000 per minute")
        referral_cli(env, "db", "upgrade")
        referral_cli(env, "areas", "add", "west-dunbartonshire", "--name", "WD", "--prefix", "WD")
        pc = add_user(env, "pc", "police", "west-dunbartonshire")
        pc_again = referral_cli(env, "tokens", "create", "pc", "--scope", "write").splitlines()[-1]
        teacher = add_user(env, "teacher", "education", "west-dunbartonshire")
        doc = add_user(env, "doc", "health", "west-dunbartonshire")
        sw = add_user(env, "sw", "social_work", "west-dunbartonshire")
        by_hand = create_engine(url)  # the database's owner, behind the app's back
        server = Server(env, tmp_path / "server.log")
        try:
            server.wait_ready()
            port = server.port
            status, created = request(port, "POST", "/api/v1/referrals", pc, concern_body())
            assert status == 201, created
            referral = f"/api/v1/referrals/{created['id']}"
            for token in (pc, pc_again, teacher, doc, sw):
                assert statuses(port, "GET", "/api/v1/referrals", token) == {200}
            assert statuses(port, "GET", referral, pc_again) == {200}

            # revoked by a command in another process
            referral_cli(env, "tokens", "revoke", pc[:12])
            assert statuses(port, "GET", "/api/v1/referrals", pc) == {401}
            assert statuses(port, "POST", "/api/v1/referrals", pc, concern_body()) == {401}

            # the user's other token still works; their area taken away by hand
            assert statuses(port, "GET", referral, pc_again) == {200}
            with by_hand.begin() as connection:
                connection.execute(
                    text(
                        "DELETE FROM user_areas WHERE user_id = "
                        "(SELECT id FROM users WHERE username = 'pc')"
                    )
                )
            assert statuses(port, "GET", referral, pc_again) == {404}

            # a user disabled by hand
            with by_hand.begin() as connection:
                connection.execute(text("UPDATE users SET active = false WHERE username = 'doc'"))
            assert statuses(port, "GET", "/api/v1/referrals", doc) == {401}

            # a token made to expire by hand
            with by_hand.begin() as connection:
                connection.execute(
                    text("UPDATE api_tokens SET expires_at = :at WHERE prefix = :prefix"),
                    {"at": utcnow() - timedelta(seconds=1), "prefix": teacher[:12]},
                )
            assert statuses(port, "GET", "/api/v1/referrals", teacher) == {401}

            if backend == "postgresql":
                # a user disabled by a session whose search_path names no schema of the app's
                schema = make_url(url).query["options"].split("=", 1)[1]
                with by_hand.begin() as connection:
                    connection.execute(text("SET LOCAL search_path = ''"))
                    disable = f"UPDATE {schema}.users SET active = false"  # noqa: S608 - ours
                    connection.execute(text(disable + " WHERE username = 'sw'"))
                assert statuses(port, "GET", "/api/v1/referrals", sw) == {401}
        finally:
            server.stop()
            by_hand.dispose()
        assert "Traceback" not in server.log_path.read_text(errors="replace")


def test_a_remembered_token_is_not_read_again_until_a_credential_changes(
    app: Flask, as_user: Any
) -> None:
    from referral import db
    from referral.models.types import utcnow
    from referral.services.people import disable_user

    def token_reads(username: str) -> int:
        with statements(app) as seen:
            assert as_user(username).get("/api/v1/referrals").status_code == 200
        return sum("api_tokens" in s for s in seen)

    token_reads("pc2")  # the first request of this process may read it
    assert token_reads("pc2") == 0
    assert token_reads("pc2") == 0
    with app.app_context():
        disable_user(db.session(), "swsup2", utcnow(), by="admin")
        db.commit()  # into the test's outer transaction, rolled back afterwards
    assert token_reads("pc2") == 1, "any change to a user reads every token's rows again"
    assert token_reads("pc2") == 0
    assert as_user("swsup2").get("/api/v1/referrals").status_code == 401
