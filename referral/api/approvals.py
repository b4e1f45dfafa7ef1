"""Approvals: the four-eyes queue and decisions."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, fields
from sqlalchemy import and_, or_

from referral import db
from referral.auth import current_principal
from referral.models import Approval
from referral.models.types import utcnow
from referral.schemas.common import decode_keyset, encode_keyset
from referral.schemas.referral import ApprovalOut
from referral.schemas.transition import ApprovalDecisionRequest, ApprovalListArgs
from referral.services import approvals
from referral.services.reading import approval_json

blp = Blueprint("approvals", __name__, url_prefix="/api/v1", description="Approvals (four eyes)")


class ApprovalPageOut(Schema):
    items = fields.List(fields.Nested(ApprovalOut))
    next_cursor = fields.String(allow_none=True)


@blp.route("/approvals", methods=["GET"])
@blp.arguments(ApprovalListArgs(), location="query", unknown=RAISE)
@blp.response(200, ApprovalPageOut)
def list_approvals(args: dict[str, Any]) -> Any:
    """Approvals you may decide or that you requested, newest first; filter by `status`."""
    principal = current_principal()
    principal.require("read")
    query = approvals.list_query(principal.user, args.get("status"))
    if "cursor" in args:
        before, approval_id = decode_keyset(args["cursor"])
        query = query.where(
            or_(
                Approval.requested_at < before,
                and_(Approval.requested_at == before, Approval.id < approval_id),
            )
        )
    rows = list(
        db.session().scalars(
            query.order_by(Approval.requested_at.desc(), Approval.id.desc()).limit(
                args["limit"] + 1
            )
        )
    )
    more = len(rows) > args["limit"]
    rows = rows[: args["limit"]]
    last = rows[-1] if rows else None
    return {
        "items": [approval_json(a) for a in rows],
        "next_cursor": encode_keyset(last.requested_at, last.id) if more and last else None,
    }


@blp.route("/approvals/<approval_id>/decision", methods=["POST"])
@blp.arguments(ApprovalDecisionRequest())
@blp.response(200, ApprovalOut)
def decide(body: dict[str, Any], approval_id: str) -> Any:
    """Approve (the transition is applied at once) or reject, with a comment."""
    principal = current_principal()
    principal.require("write")
    approval = approvals.decide(
        db.session(), principal.user, approval_id, body["decision"], body["comment"], utcnow()
    )
    return approval_json(approval)
