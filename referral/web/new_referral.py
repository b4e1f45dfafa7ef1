"""Recording a new concern: the form generated from the profile's `new_referral` fields."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from referral import db
from referral.errors import Unprocessable
from referral.models import Referral, User
from referral.models.types import utcnow
from referral.services import directory, referrals, search
from referral.web import bp, forms, html
from referral.web.formatting import zone
from workflow.definition import RecordForm
from workflow.registry import definition


def _record_form() -> RecordForm:
    return definition(current_app.config["REFERRAL_PROFILE"]).new_referral


def _people(user: User) -> forms.PeopleFor:
    area_ids = [a.id for a in user.areas]

    def people(agency: str | None) -> list[forms.Person]:
        found = [u for i in area_ids for u in directory.eligible_users(db.session(), i, agency)]
        unique = {u.username: u for u in found}.values()
        return [forms.Person(u.username, u.display_name, u.agency) for u in unique]

    return people


def _build(user: User, formdata: Any = None) -> forms.Built:
    areas = [(a.slug, a.name) for a in sorted(user.areas, key=lambda a: a.name)]
    return forms.build(_record_form().fields, _people(user), areas, formdata)


def _page(
    built: forms.Built,
    status: int = 200,
    error_list: list[Any] | None = None,
    match: dict[str, Any] | None = None,
) -> Any:
    names = {a.slug: a.name for a in directory.areas(db.session())} if match else {}
    page = render_template(
        "new_referral.html",
        form=built.form,
        group_errors=built.group_errors,
        error_list=error_list or [],
        match=match,
        match_areas=[names.get(slug, slug) for slug in (match or {}).get("areas", [])],
        match_token=_token(match),
    )
    return html(page, status)


def _token(match: dict[str, Any] | None) -> str:
    """The match the page showed, as the form sends it back when the user confirms it."""
    return f"{match['kind']}:{','.join(match['areas'])}" if match else ""


def _shown(token: str) -> dict[str, Any] | None:
    kind, _, areas = token.partition(":")
    return {"kind": kind, "areas": areas.split(",") if areas else []} if kind else None


@bp.route("/referrals/new", methods=["GET"])
@login_required
def new_referral() -> Any:
    user = current_user._get_current_object()
    referrals.check_may_record(user)
    return _page(_build(user))


@bp.route("/referrals/new", methods=["POST"])
@login_required
def new_referral_post() -> Any:
    user = current_user._get_current_object()
    referrals.check_may_record(user)
    built = _build(user, request.form)
    added = request.form.get("add_row")
    if added is not None:
        forms.add_row(built, added)
        return _page(built, match=_shown(request.form.get("match_shown", "")[:200]))
    body = forms.data_of(built, zone(), prefix="")
    profile, now = current_app.config["REFERRAL_PROFILE"], utcnow()
    try:
        if body.get("related_referrals"):  # typed as references; the service takes ids
            body["related_referrals"] = search.ids_by_reference(
                db.session(), user, "related_referrals", body["related_referrals"]
            )
        # a child already known is shown before saving; the user confirms by sending it again
        shown = _shown(request.form.get("match_shown", "")[:200])
        match = referrals.preview_child_match(
            db.session(), user, body, profile, now, shown=shown, remote_addr=request.remote_addr
        )
        if match is not None and match != shown:
            return _page(built, match=match)
        created: Referral = referrals.create_referral(
            db.session(), user, body, profile, now, remote_addr=request.remote_addr
        )
    except Unprocessable as exc:
        labels = {f.name: f.label for f in _record_form().fields}
        error_list = forms.attach_errors(built, exc.extra.get("errors", {}), labels)
        db.rollback()
        return _page(built, 422, error_list)
    flash(f"Recorded: the concern, as referral {created.reference}.", "success")
    match = referrals.child_match_json(created)
    if match:
        where = ", ".join(match["areas"]) or "this area"
        kind = "the same CHI number" if match["kind"] == "chi" else "a possible match"
        flash(f"A child with {kind} is already known in: {where}.", "info")
    return redirect(url_for("web.referral", referral_id=created.id), 303)
