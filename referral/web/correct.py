"""Correcting a referral's child and concern details (SPEC section 7, "correct details").

The form is the new-referral form's child and concern records, filled with what the referral
holds; only what was changed is sent, with a reason, to the service the API's
PATCH /api/v1/referrals/{id} uses, with the form's version as its If-Match.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from referral import db
from referral.errors import Conflict, Forbidden, PreconditionFailed, Unprocessable
from referral.models import Referral
from referral.models.types import utcnow
from referral.services import reading, referrals, worklist
from referral.services.visibility import get_visible
from referral.web import bp, forms, html
from referral.web.formatting import zone
from referral.web.referrals import log_page_read
from workflow.fields import Field
from workflow.registry import definition as get_definition

#: the records of the new-referral form a correction may change
RECORDS = ("child", "concern")
MAX_REASON = 2000


def _specs(referral: Referral) -> tuple[Field, ...]:
    form = get_definition(referral.profile, referral.profile_version).new_referral
    return tuple(f for f in form.fields if f.name in RECORDS)


def _fields(value: dict[str, Any], prefix: str) -> list[tuple[str, str]]:
    """What the referral holds, as the inputs of the form (`child-date_of_birth-day`, ...)."""
    out: list[tuple[str, str]] = []
    for key, item in value.items():
        name = f"{prefix}{key}"
        if item is None:
            continue
        if isinstance(item, bool):
            out.append((name, "yes" if item else "no"))
        elif isinstance(item, datetime):
            local = item.astimezone(zone())
            parts = ("day", "month", "year", "hour", "minute")
            out += [(f"{name}-{p}", str(getattr(local, p))) for p in parts]
        elif isinstance(item, date):
            out += [(f"{name}-{p}", str(getattr(item, p))) for p in ("day", "month", "year")]
        elif isinstance(item, list):
            out += [(name, str(v)) for v in item]
        else:
            out.append((name, str(item)))
    return out


def _held(referral: Referral) -> MultiDict[str, str]:
    detail = reading.referral_detail(
        db.session(), current_user._get_current_object(), referral, utcnow()
    )
    held: list[tuple[str, str]] = []
    for record in RECORDS:
        value = dict(detail.get(record) or {})
        for key in ("date_of_birth", "expected_date_of_delivery"):
            if isinstance(value.get(key), str):
                value[key] = date.fromisoformat(value[key])
        if isinstance(value.get("received_at"), str):
            value["received_at"] = datetime.fromisoformat(value["received_at"])
        held += _fields(value, f"{record}-")
    return MultiDict(held)


def _may_correct(referral: Referral) -> None:
    user = current_user._get_current_object()
    if not referrals.may_record(user):
        raise Forbidden(f"a {user.role.replace('_', ' ')} may not correct a referral")
    if referral.is_closed:
        raise Conflict("A closed referral cannot be corrected.")


def _page(
    referral: Referral,
    built: forms.Built,
    status: int = 200,
    *,
    reason: str = "",
    errors: dict[str, str] | None = None,
    error_list: list[dict[str, str]] | None = None,
    problem: str | None = None,
    changed: list[Any] | None = None,
) -> Any:
    page = render_template(
        "correct.html",
        referral=referral,
        form=built.form,
        group_errors=built.group_errors,
        version=referral.version,
        seen_seq=referral.last_event_seq,
        reason=reason,
        errors=errors or {},
        error_list=error_list or [],
        problem=problem,
        changed=changed,
    )
    return html(page, status)


@bp.route("/referrals/<referral_id>/correct", methods=["GET"])
@login_required
def correct(referral_id: str) -> Any:
    found = get_visible(db.session(), current_user._get_current_object(), referral_id)
    _may_correct(found)
    log_page_read(found, "referral (form correct)")
    return _page(found, forms.build(_specs(found), lambda _: [], [], _held(found)))


def _changes(held: dict[str, Any], typed: dict[str, Any]) -> dict[str, Any]:
    """Only the fields whose value was changed, by record; a field emptied is sent as null, as
    the API's PATCH clears it (the service says which fields may not be emptied)."""
    out: dict[str, Any] = {}
    for record in RECORDS:
        before, after = held.get(record) or {}, typed.get(record) or {}
        diff = {k: v for k, v in after.items() if before.get(k) != v}
        diff |= {k: None for k in before if k not in after}
        if diff:
            out[record] = diff
    return out


@bp.route("/referrals/<referral_id>/correct", methods=["POST"])
@login_required
def correct_post(referral_id: str) -> Any:
    session = db.session()
    user = current_user._get_current_object()
    found = get_visible(session, user, referral_id, lock=True)
    _may_correct(found)
    specs = _specs(found)
    held = forms.data_of(forms.build(specs, lambda _: [], [], _held(found)), zone(), prefix="")
    built = forms.build(specs, lambda _: [], [], request.form)
    typed = forms.data_of(built, zone(), prefix="")
    reason = request.form.get("reason", "").strip()
    changes = _changes(held, typed)
    errors: dict[str, str] = {}
    if not changes:
        errors["child-given_name"] = "Change at least one detail, or go back to the referral"
    if not reason:
        errors["reason"] = "Enter why the details are corrected"
    elif len(reason) > MAX_REASON:
        errors["reason"] = f"The reason must be {MAX_REASON} characters or fewer"
    if errors:
        listed = [{"text": text, "href": f"#{name}"} for name, text in errors.items()]
        return _page(found, built, 422, reason=reason, errors=errors, error_list=listed)
    version = request.form.get("version", "")
    if_match = f'"{found.id}.{version}"' if version.isdigit() else '"no version"'
    try:
        referrals.correct_referral(
            session, user, found, changes, utcnow(), reason, if_match=if_match
        )
    except (Unprocessable, Conflict) as exc:
        field_errors = exc.extra.get("errors")
        db.rollback()
        again = get_visible(db.session(), user, referral_id)
        if not field_errors:
            return _page(again, built, exc.status, reason=reason, problem=exc.detail)
        labels = {f"{s.name}.{f.name}": f.label for s in specs for f in s.item_fields}
        listed = forms.attach_errors(built, field_errors, labels)
        return _page(again, built, exc.status, reason=reason, error_list=listed)
    except PreconditionFailed:
        db.rollback()
        seen = request.form.get("seen_seq", "")
        again = get_visible(db.session(), user, referral_id)
        return _page(
            again,
            built,
            412,
            reason=reason,
            problem="Someone changed this referral while you were correcting it. Check what "
            "changed below, then check your corrections and send them again.",
            changed=worklist.timeline(db.session(), again, int(seen) if seen.isdigit() else 0),
        )
    flash("The details are corrected.", "success")
    return redirect(url_for("web.referral", referral_id=found.id), 303)
