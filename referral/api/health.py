"""Liveness and readiness probes (no authentication)."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from sqlalchemy import text

from referral import db, throttle
from referral.errors import problem
from referral.migrate import database_revision, head_revision
from referral.schemas.service import HealthOut, ReadyOut

blp = Blueprint("health", __name__, description="Process and database health (no auth)")


@blp.route("/healthz")
@blp.doc(security=[])
@blp.response(200, HealthOut)
def healthz() -> dict[str, Any]:
    """The process is alive."""
    return {"status": "ok"}


@blp.route("/readyz")
@blp.doc(security=[])
@blp.response(200, ReadyOut)
def readyz() -> Any:
    """The database is reachable and its migrations are at head.

    `auth_throttle` is "degraded" while the failed-authentication store is down: requests are
    still served (without that limit), so the app stays ready.
    """
    try:
        with db.database().engine.connect().execution_options(read_only=True) as connection:
            connection.execute(text("SELECT 1"))
            current = database_revision(connection)
    except Exception as exc:  # any failure to reach the database means not ready
        return problem(503, "Not ready", f"database unreachable: {type(exc).__name__}", "not-ready")
    head = head_revision()
    if current != head:
        return problem(
            503,
            "Not ready",
            f"database at {current or 'no revision'}, code expects {head}; "
            "run 'referral db upgrade'",
            "not-ready",
            database_revision=current,
            head=head,
        )
    return {
        "status": "ready",
        "database": db.database().dialect,
        "revision": head,
        "auth_throttle": "ok" if throttle.current().healthy() else "degraded",
    }
