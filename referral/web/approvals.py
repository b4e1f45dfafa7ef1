"""Approvals (four eyes): the queue, and one requested decision to approve or reject."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from marshmallow import ValidationError

from referral import db
from referral.models import Approval, Referral
from referral.models.types import utcnow
from referral.schemas.transition import ApprovalDecisionRequest
from referral.services import approvals, worklist
from referral.web import bp, html
from workflow import Actor
from workflow.definition import ApprovalRule
from workflow.registry import definition as get_definition

FIELD_NAMES = {"decision": "Decision", "comment": "Comment"}


def _labels(referral: Referral) -> dict[str, str]:
    d = get_definition(referral.profile, referral.profile_version)
    return {t.name: t.label for t in d.triggers}


def _may_decide(approval: Approval) -> bool:
    user = current_user._get_current_object()
    rule = ApprovalRule(approval.approver_role, approval.approver_agency)
    actor = Actor(user.username, user.agency, user.role)
    return approval.status == "pending" and rule.may_decide(actor, approval.requested_by)


@bp.route("/approvals", methods=["GET"])
@login_required
def approvals_queue() -> Any:
    user = current_user._get_current_object()
    queue = worklist.approval_queue(db.session(), user)
    return render_template(
        "approvals.html",
        queue=[(a, ref, a.requested_by != user.username) for a, ref in queue],
    )


def _page(
    approval: Approval,
    referral: Referral,
    status: int = 200,
    *,
    errors: dict[str, list[str]] | None = None,
    problem: str | None = None,
) -> Any:
    d = get_definition(referral.profile, referral.profile_version)
    trigger = d.trigger(approval.trigger)
    # the API's messages (the same schema checks the form), each named by its field
    texts = {name: f"{FIELD_NAMES.get(name, name)}: {m[0]}" for name, m in (errors or {}).items()}
    error_list = [{"text": text, "href": f"#{name}"} for name, text in texts.items()]
    page = render_template(
        "approval.html",
        approval=approval,
        referral=referral,
        trigger=trigger,
        field_labels={f.name: f.label for f in trigger.fields},
        may_decide=_may_decide(approval),
        errors=texts,
        error_list=error_list,
        problem=problem,
        decision=request.form.get("decision", ""),
        comment=request.form.get("comment", ""),
    )
    return html(page, status)


@bp.route("/approvals/<approval_id>", methods=["GET"])
@login_required
def approval(approval_id: str) -> Any:
    user = current_user._get_current_object()
    found, referral = worklist.approval_for(db.session(), user, approval_id)
    return _page(found, referral)


@bp.route("/approvals/<approval_id>", methods=["POST"])
@login_required
def approval_decide(approval_id: str) -> Any:
    session = db.session()
    user = current_user._get_current_object()
    found, referral = worklist.approval_for(session, user, approval_id)
    body = {
        "decision": request.form.get("decision", ""),
        "comment": request.form.get("comment", ""),
    }
    try:
        checked = ApprovalDecisionRequest().load(body)  # the API's own checks and messages
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {}
        return _page(found, referral, 422, errors=messages)
    decided = approvals.decide(
        session, user, approval_id, checked["decision"], checked["comment"], utcnow()
    )
    label = _labels(referral).get(decided.trigger, decided.trigger)
    verb = "Approved" if decided.status == "approved" else "Rejected"
    flash(f"{verb}: {label}.", "success")
    return redirect(url_for("web.referral", referral_id=decided.referral_id), 303)
