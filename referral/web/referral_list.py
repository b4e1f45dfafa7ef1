"""The referrals list: the API's filters (state, area, overdue) and its keyset paging, and a
text search on reference and child's name that only this page offers."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template, request, url_for
from flask_login import current_user, login_required
from marshmallow import ValidationError, fields, validate

from referral import db
from referral.errors import Forbidden
from referral.models.types import utcnow
from referral.schemas.referral import ReferralListArgs
from referral.services import reading, search
from referral.services.referrals import profile_today
from referral.web import bp, html
from workflow.registry import definition

FILTERS = ("q", "state", "area", "overdue", "limit", "cursor")
NAMES = {
    "q": "Search",
    "state": "Stage",
    "area": "Area",
    "overdue": "Overdue",
    "limit": "Page size",
    "cursor": "Page",
}


class ListPageArgs(ReferralListArgs):
    """The API's list arguments, and the page's text search (referral.services.search)."""

    q = fields.String(
        validate=validate.Length(
            max=search.MAX_TEXT, error=f"must be {search.MAX_TEXT} characters or fewer"
        )
    )


def _next_url(filters: dict[str, str], cursor: str | None) -> str | None:
    """The next page: the same filters, after the API's cursor."""
    if cursor is None:
        return None
    values: dict[str, Any] = {**filters, "cursor": cursor}
    return url_for("web.referral_list", **values)


@bp.route("/referrals", methods=["GET"])
@login_required
def referral_list() -> Any:
    user = current_user._get_current_object()
    if user.role == "admin":
        raise Forbidden("administrators do not read case content")
    profile = current_app.config["REFERRAL_PROFILE"]
    typed = {k: v for k in FILTERS if (v := request.args.get(k, "").strip())}
    errors: dict[str, str] = {}
    page: dict[str, Any] = {"items": [], "next_cursor": None}
    try:
        args = ListPageArgs().load(typed)  # the API's checks and messages
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {}
        errors = {k: f"{NAMES.get(k, k)}: {m[0]}" for k, m in messages.items()}
    else:
        page = reading.list_referrals(db.session(), user, args, profile_today(profile, utcnow()))
    filters = {k: v for k, v in typed.items() if k != "cursor"}
    states = definition(profile).states
    body = render_template(
        "referral_list.html",
        page=page,
        filters=filters,
        states=[(s.name, s.label) for s in states],
        state_labels={s.name: s.label for s in states},
        areas=[(a.slug, a.name) for a in user.areas],
        area_names={a.slug: a.name for a in user.areas},
        errors=errors,
        error_list=[{"text": text, "href": f"#{name}"} for name, text in errors.items()],
        next_url=_next_url(filters, page["next_cursor"]),
    )
    return html(body, 400 if errors else 200)
