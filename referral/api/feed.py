"""The change feed and exports: for data teams and other case systems pulling records."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request, stream_with_context
from flask_smorest import Blueprint
from marshmallow import RAISE

from referral import db
from referral.auth import Principal, current_principal
from referral.errors import Forbidden
from referral.models.types import utcnow
from referral.schemas.common import decode_position
from referral.schemas.feed import ChangesArgs, ChangesOut, ExportArgs
from referral.services import exports, feed
from referral.services.referrals import profile_today
from workflow.vocabulary import Role

blp = Blueprint("feed", __name__, url_prefix="/api/v1", description="Change feed and exports")

MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "ndjson": "application/x-ndjson"}


def _reader() -> Principal:
    """A `read` or `write` credential of someone who may read case content."""
    principal = current_principal()
    principal.require("read")
    if principal.user.role == Role.ADMIN:
        raise Forbidden("administrators do not read case content")
    return principal


@blp.route("/changes", methods=["GET"])
@blp.arguments(ChangesArgs(), location="query", unknown=RAISE)
@blp.response(200, ChangesOut)
def changes(args: dict[str, Any]) -> Any:
    """Every event you can see, in commit order, after the cursor `after`.

    Store `next_cursor` and poll with it: no event is missed or repeated, also while writes
    are in flight. Each item is an event (as in a referral's events) with the referral's
    `reference` and `area`.
    """
    principal = _reader()
    session = db.session()
    after = decode_position(args["after"]) if "after" in args else 0
    page = feed.changes(session, principal.user, after, args["limit"])
    feed.log_feed_read(
        session,
        principal.user,
        principal.via,
        principal.token_prefix,
        list(dict.fromkeys(item["referral_id"] for item in page["items"])),
        request.remote_addr,
        request.user_agent.string,
    )
    return page


@blp.route("/exports/referrals", methods=["GET"])
@blp.arguments(ExportArgs(), location="query", unknown=RAISE)
@blp.response(
    200,
    description="The referrals you can see (with the list's filters), one a row, streamed.",
    content_type="text/csv",
)
@blp.alt_response(
    200,
    description="With format=ndjson: one JSON object a line.",
    content_type="application/x-ndjson",
    success=True,
)
def export_referrals(args: dict[str, Any]) -> Any:
    """Export the referrals you can see as CSV or NDJSON (the list's filters apply).

    Written to the access log (one entry per referral) before any row is sent.
    """
    principal = _reader()
    now = utcnow()
    today = profile_today(current_app.config["REFERRAL_PROFILE"], now)
    session = db.session()
    exports.log_export(
        session,
        principal.user,
        principal.via,
        principal.token_prefix,
        args,
        today,
        now,
        request.remote_addr,
        request.user_agent.string,
    )
    user = principal.user
    encode = exports.csv_chunks if args["format"] == "csv" else exports.ndjson_chunks

    def body() -> Any:
        # the access log is committed (after_request) before this runs; the rows are read in
        # a transaction of their own, which writes nothing
        stream = db.session()
        if stream.get_bind().dialect.name == "sqlite":
            stream.connection(execution_options={"read_only": True})
        yield from encode(exports.rows(stream, user, args, today, now))

    filename = f"referrals-{now:%Y%m%dT%H%M%SZ}.{args['format']}"
    return Response(
        stream_with_context(body()),
        mimetype=MEDIA_TYPES[args["format"]],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
