"""The home page: what is overdue or due this week, the approvals waiting for me, the referrals
I lead and those I recorded."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template
from flask_login import current_user, login_required

from referral import db
from referral.models.types import utcnow
from referral.services import worklist
from referral.services.referrals import profile_today
from referral.web import bp
from workflow.registry import definition


@bp.route("/", methods=["GET"])
@login_required
def home() -> Any:
    user = current_user._get_current_object()
    session = db.session()
    profile = current_app.config["REFERRAL_PROFILE"]
    today = profile_today(profile, utcnow())
    admin = user.role == "admin"  # administrators see no case content
    return render_template(
        "home.html",
        today=today,
        admin=admin,
        due=[] if admin else worklist.due_soon(session, user, today),
        approvals=[] if admin else worklist.approvals_waiting(session, user),
        counts=None if admin else worklist.counts(session, user, today),
        mine=[] if admin else worklist.recorded_by(session, user),
        led=[] if admin else worklist.led_by(session, user),
        states={s.name: s.label for s in definition(profile).states},
        due_soon_days=worklist.DUE_SOON_DAYS,
    )
