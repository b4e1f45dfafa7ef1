"""One referral's page, and the form of each trigger, on the services the API uses."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from referral import db
from referral.auth import current_principal
from referral.errors import Conflict, PreconditionFailed, Unprocessable
from referral.models import Referral
from referral.models.types import utcnow
from referral.services import access, directory, reading, transitions, worklist
from referral.services.visibility import get_visible
from referral.web import bp, forms, html
from referral.web.formatting import zone
from workflow.definition import Definition, Trigger
from workflow.registry import definition as get_definition
from workflow.vocabulary import label


def _definition(referral: Referral) -> Definition:
    return get_definition(referral.profile, referral.profile_version)


def log_page_read(referral: Referral, what: str) -> None:
    """A page that shows this referral is a read to log, as the API's are."""
    access.log_read(
        db.session(),
        current_principal(),
        referral,
        what,
        request.remote_addr,
        request.user_agent.string,
    )


@bp.route("/referrals/<referral_id>", methods=["GET"])
@login_required
def referral(referral_id: str) -> Any:
    session = db.session()
    user = current_user._get_current_object()
    found = get_visible(session, user, referral_id)
    log_page_read(found, "referral (page)")
    detail = reading.referral_detail(session, user, found, utcnow())
    definition = _definition(found)
    triggers = {t.name: t for t in definition.triggers}
    return render_template(
        "referral.html",
        referral=detail,
        states={s.name: s.label for s in definition.states},
        rules={r.name: r.label for r in definition.timescales},
        actions=[triggers[name] for name in detail["allowed_triggers"] if name in triggers],
        trigger_labels={t.name: t.label for t in definition.triggers},
        chronology=reading.chronology(session, found),
        events=worklist.timeline(session, found),
    )


def _people(referral: Referral) -> forms.PeopleFor:
    def people(agency: str | None) -> list[forms.Person]:
        users = directory.eligible_users(db.session(), referral.area_id, agency)
        return [forms.Person(u.username, u.display_name, u.agency) for u in users]

    return people


def _areas() -> list[tuple[str, str]]:
    return [(a.slug, a.name) for a in directory.areas(db.session())]


def _trigger(referral: Referral, name: str) -> Trigger:
    try:
        return _definition(referral).trigger(name)
    except KeyError:
        abort(404)


def _form_page(
    referral: Referral,
    trigger: Trigger,
    built: forms.Built,
    status: int = 200,
    *,
    error_list: list[dict[str, str]] | None = None,
    problem: str | None = None,
    changed: list[Any] | None = None,
) -> Any:
    definition = _definition(referral)
    page = render_template(
        "trigger_form.html",
        referral=referral,
        trigger=trigger,
        form=built.form,
        group_errors=built.group_errors,
        version=referral.version,
        seen_seq=referral.last_event_seq,
        error_list=error_list or [],
        problem=problem,
        changed=changed,
        trigger_labels={t.name: t.label for t in definition.triggers},
        approver=_approver(trigger),
    )
    return html(page, status)


def _if_match(referral: Referral) -> str:
    """The form's hidden version as the API's If-Match: the referral as the form was opened."""
    version = request.form.get("version", "")
    return f'"{referral.id}.{version}"' if version.isdigit() else '"no version"'


def _approver(trigger: Trigger) -> str | None:
    if trigger.approval is None:
        return None
    return f"a {label(trigger.approval.role).lower()} of {label(trigger.approval.agency).lower()}"


def _allowed(referral: Referral, name: str) -> None:
    """Only the triggers the referral page offers this user: any other is refused as the API
    would refuse it."""
    user = current_user._get_current_object()
    detail = reading.referral_detail(db.session(), user, referral, utcnow())
    if name not in detail["allowed_triggers"]:
        raise Conflict(
            "You cannot record this on this referral now: its stage, or your role, does not "
            "allow it.",
        )


@bp.route("/referrals/<referral_id>/<trigger_name>", methods=["GET"])
@login_required
def trigger_form(referral_id: str, trigger_name: str) -> Any:
    user = current_user._get_current_object()
    found = get_visible(db.session(), user, referral_id)
    trigger = _trigger(found, trigger_name)
    _allowed(found, trigger.name)
    log_page_read(found, f"referral (form {trigger.name})")
    built = forms.build(trigger.fields, _people(found), _areas())
    return _form_page(found, trigger, built)


@bp.route("/referrals/<referral_id>/<trigger_name>", methods=["POST"])
@login_required
def trigger_post(referral_id: str, trigger_name: str) -> Any:
    session = db.session()
    user = current_user._get_current_object()
    found = get_visible(session, user, referral_id, lock=True)
    trigger = _trigger(found, trigger_name)
    built = forms.build(trigger.fields, _people(found), _areas(), request.form)
    added = request.form.get("add_row")
    if added is not None:  # "add another": the same form with one more row, nothing recorded
        forms.add_row(built, added)
        return _form_page(found, trigger, built)
    data = forms.data_of(built, zone())
    try:
        fired = transitions.fire(
            session,
            user,
            found,
            trigger.name,
            data,
            None,
            utcnow(),
            if_match=_if_match(found),
        )
    except Unprocessable as exc:
        errors = exc.extra.get("errors", {})
        return _invalid(found, trigger, built, errors, 422)
    except PreconditionFailed:
        db.rollback()
        seen = request.form.get("seen_seq", "")
        after = int(seen) if seen.isdigit() else 0
        again = get_visible(db.session(), user, referral_id)
        return _form_page(
            again,
            trigger,
            built,
            412,
            problem="Someone changed this referral while you were filling in this form. "
            "Check what changed below, then check your answers and send them again.",
            changed=worklist.timeline(db.session(), again, after),
        )
    except Conflict as exc:
        errors = exc.extra.get("errors")
        if errors:
            return _invalid(found, trigger, built, errors, 409)
        db.rollback()
        again = get_visible(db.session(), user, referral_id)
        return _form_page(again, trigger, built, 409, problem=exc.detail)
    if fired.approval is not None:
        flash(
            f"“{trigger.label}” is waiting for approval: {_approver(trigger)} must approve it "
            "before it takes effect. Nothing has changed on the referral yet.",
            "info",
        )
    else:
        flash(f"Recorded: {trigger.label}.", "success")
    return redirect(url_for("web.referral", referral_id=found.id), 303)


def _invalid(
    referral: Referral,
    trigger: Trigger,
    built: forms.Built,
    errors: dict[str, list[str]],
    status: int,
) -> Any:
    labels = {f"data.{f.name}": f.label for f in trigger.fields}
    error_list = forms.attach_errors(built, errors, labels)
    db.rollback()
    again = get_visible(db.session(), current_user._get_current_object(), referral.id)
    return _form_page(again, trigger, built, status, error_list=error_list)
