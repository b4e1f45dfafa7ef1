"""Referrals: record, list, read, correct, fire triggers; their audit trail and access log."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request
from flask_smorest import Blueprint
from marshmallow import RAISE
from sqlalchemy import Select, select

from referral import db
from referral.api.openapi import IF_MATCH, OPTIONAL_IF_MATCH, request_body
from referral.auth import Principal, current_principal
from referral.errors import Forbidden
from referral.models import AccessLogEntry, Event
from referral.models.types import utcnow
from referral.schemas.common import decode_position, encode_position
from referral.schemas.referral import (
    AccessLogPageArgs,
    AccessLogPageOut,
    ApprovalOut,
    ChronologyOut,
    EventPageOut,
    PageArgs,
    ReferralListArgs,
    ReferralListOut,
    ReferralOut,
    TransitionOut,
)
from referral.schemas.transition import TransitionRequest
from referral.services import access, preconditions, reading, referrals, transitions
from referral.services.referrals import profile_today
from referral.services.visibility import get_visible
from workflow.vocabulary import Role

blp = Blueprint("referrals", __name__, url_prefix="/api/v1", description="Referrals")


def _log_read(principal: Principal, referral: Any, what: str) -> None:
    access.log_read(
        db.session(), principal, referral, what, request.remote_addr, request.user_agent.string
    )


def _read(principal: Principal, referral_id: str, what: str) -> Any:
    referral = get_visible(db.session(), principal.user, referral_id)
    _log_read(principal, referral, what)
    return referral


def _page(query: Select[Any], position: Any, args: dict[str, Any]) -> dict[str, Any]:
    """One page of rows in `position` order, after the cursor's position."""
    after = decode_position(args["cursor"]) if "cursor" in args else 0
    limit = args["limit"]
    rows = list(
        db.session().scalars(query.where(position > after).order_by(position).limit(limit + 1))
    )
    more = len(rows) > limit
    rows = rows[:limit]
    last = position.key
    return {
        "items": rows,
        "next_cursor": encode_position(getattr(rows[-1], last)) if more else None,
    }


def _detail(principal: Principal, referral: Any, what: str) -> Any:
    """The full referral for a response; every response that shows it is an access to log.

    The request's changes and the log entry are committed before the answer is built."""
    _log_read(principal, referral, what)
    db.commit_before_answering()
    body = reading.referral_detail(db.session(), principal.user, referral, utcnow())
    return body, 200, {"ETag": preconditions.etag(referral)}


@blp.route("/referrals", methods=["POST"])
@blp.doc(requestBody=request_body("NewReferral", "The area, the child and the concern."))
@blp.response(201, ReferralOut)
def create() -> Any:
    """Record a concern about a child."""
    principal = current_principal()
    principal.require("write")
    now = utcnow()
    referral = referrals.create_referral(
        db.session(),
        principal.user,
        request.get_json(),
        current_app.config["REFERRAL_PROFILE"],
        now,
        remote_addr=request.remote_addr,
    )
    body, _, headers = _detail(principal, referral, "referral (created)")
    headers["Location"] = f"/api/v1/referrals/{referral.id}"
    return body, 201, headers


@blp.route("/referrals", methods=["GET"])
@blp.arguments(ReferralListArgs(), location="query", unknown=RAISE)
@blp.response(200, ReferralListOut)
def list_referrals(args: dict[str, Any]) -> Any:
    """Referrals you can see, oldest change first; follow `next_cursor` for more."""
    principal = current_principal()
    principal.require("read")
    if principal.user.role == Role.ADMIN:
        raise Forbidden("administrators do not read case content")
    today = profile_today(current_app.config["REFERRAL_PROFILE"], utcnow())
    return reading.list_referrals(db.session(), principal.user, args, today)


@blp.route("/referrals/<referral_id>", methods=["GET"])
@blp.response(200, ReferralOut)
def get(referral_id: str) -> Any:
    """One referral: state, stage records, timescales, allowed triggers and any pending approval."""
    principal = current_principal()
    principal.require("read")
    return _detail(principal, get_visible(db.session(), principal.user, referral_id), "referral")


@blp.route("/referrals/<referral_id>", methods=["PATCH"])
@blp.doc(requestBody=request_body("ReferralCorrection"), parameters=[IF_MATCH])
@blp.response(200, ReferralOut)
def correct(referral_id: str) -> Any:
    """Correct the child's or the concern's details. Needs If-Match; old and new values are kept."""
    principal = current_principal()
    principal.require("write")
    session = db.session()
    referral = get_visible(session, principal.user, referral_id, lock=True)
    referrals.correct_referral(
        session,
        principal.user,
        referral,
        request.get_json(),
        utcnow(),
        if_match=request.headers.get("If-Match"),
    )
    return _detail(principal, referral, "referral (corrected)")


@blp.route("/referrals/<referral_id>/transitions", methods=["POST"])
@blp.doc(parameters=[OPTIONAL_IF_MATCH])
@blp.arguments(TransitionRequest())
@blp.response(200, TransitionOut)
@blp.alt_response(202, schema=ApprovalOut, description="The decision needs approval: it is pending")
def fire(body: dict[str, Any], referral_id: str) -> Any:
    """Fire a trigger: 200 when applied, 202 when it waits for approval."""
    principal = current_principal()
    principal.require("write")
    session = db.session()
    referral = get_visible(session, principal.user, referral_id, lock=True)
    fired = transitions.fire(
        session,
        principal.user,
        referral,
        body["trigger"],
        body["data"],
        body.get("reason"),
        utcnow(),
        if_match=request.headers.get("If-Match"),
    )
    if fired.approval is not None:
        # A Response, so the 202 body is the approval (not dumped through TransitionOut).
        return (
            jsonify(ApprovalOut().dump(reading.approval_json(fired.approval))),
            202,
            {
                "Location": f"/api/v1/approvals/{fired.approval.id}",
                "ETag": preconditions.etag(referral),
            },
        )
    body_out, _, headers = _detail(principal, referral, f"referral ({body['trigger']})")
    body_out["flags"] = fired.flags
    return body_out, 200, headers


@blp.route("/referrals/<referral_id>/events", methods=["GET"])
@blp.arguments(PageArgs(), location="query", unknown=RAISE)
@blp.response(200, EventPageOut)
def events(args: dict[str, Any], referral_id: str) -> Any:
    """The referral's audit trail, oldest first."""
    principal = current_principal()
    principal.require("read")
    referral = _read(principal, referral_id, "events")
    return _page(select(Event).where(Event.referral_id == referral.id), Event.seq, args)


@blp.route("/referrals/<referral_id>/chronology", methods=["GET"])
@blp.response(200, ChronologyOut)
def chronology(referral_id: str) -> Any:
    """The child's chronology: agencies' entries and the lifecycle's key events, by date."""
    principal = current_principal()
    principal.require("read")
    referral = _read(principal, referral_id, "chronology")
    return {"items": reading.chronology(db.session(), referral)}


@blp.route("/referrals/<referral_id>/access-log", methods=["GET"])
@blp.arguments(AccessLogPageArgs(), location="query", unknown=RAISE)
@blp.response(200, AccessLogPageOut)
def access_log(args: dict[str, Any], referral_id: str) -> Any:
    """Who read this referral (supervisors, senior managers and auditors of its area)."""
    principal = current_principal()
    principal.require("read")
    referral = _read(principal, referral_id, "access-log")
    if principal.user.role not in (Role.SUPERVISOR, Role.SENIOR_MANAGER, Role.AUDITOR):
        raise Forbidden("only supervisors and auditors of this area may read the access log")
    query = select(AccessLogEntry).where(AccessLogEntry.referral_id == referral.id)
    return _page(query, AccessLogEntry.id, args)
