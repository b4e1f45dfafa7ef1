"""Administration (SPEC section 7): users, areas and API tokens, for administrators only.

Every change goes through referral/services/people.py, which records its `AdminEvent` in the
same transaction. No page here shows case content; passwords are typed by the administrator
and never shown, logged or echoed back; a new token is shown once, on the page that made it.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from marshmallow import ValidationError, fields, validate

from referral import db
from referral.auth import SCOPES
from referral.errors import Forbidden, NotFound
from referral.models import User
from referral.models.types import utcnow
from referral.schemas.common import ID_DIGITS, decode_position, encode_position, position_cursor
from referral.schemas.referral import StrictSchema
from referral.services import people
from referral.services.people import InvalidInput
from referral.web import bp, html
from workflow.vocabulary import AGENCIES, ROLES, label

#: what an administrator may type at most, before the services check it
MAX_INPUT = 200
#: the longest a token may last from this page
MAX_TOKEN_DAYS = 3650
#: tokens on one page of /admin/tokens (`?limit=` changes it, as on the API's lists)
TOKENS_PER_PAGE = 50
SCOPE_HINTS = {
    "read": "Read records, the change feed and exports",
    "reports": "Aggregate indicators only: no case content",
    "write": "Read and record",
}


def _admin() -> User:
    """The signed-in administrator; anyone else is refused as other forbidden pages are."""
    user: User = current_user._get_current_object()
    if user.role != "admin":
        raise Forbidden("Only administrators manage users, areas and tokens.")
    return user


def _text(name: str) -> str:
    return request.form.get(name, "").strip()[:MAX_INPUT]


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:]


def _errors(exc: InvalidInput, default: str) -> dict[str, str]:
    return {exc.field or default: _sentence(str(exc))}


def _error_list(errors: dict[str, str]) -> list[dict[str, str]]:
    return [{"text": text, "href": f"#{name}"} for name, text in errors.items()]


def _choices(codes: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(code, label(code)) for code in codes]


# -- users ---------------------------------------------------------------------------------------


def _users_page(status: int = 200, errors: dict[str, str] | None = None) -> Any:
    session = db.session()
    errors = errors or {}
    form = {
        "username": _text("username") if errors else "",
        "display_name": _text("display_name") if errors else "",
        "agency": _text("agency") if errors else "",
        "role": _text("role") if errors else "",
        "areas": request.form.getlist("areas") if errors else [],
    }
    page = render_template(
        "admin_users.html",
        users=people.users(session),
        areas=people.areas(session),
        agencies=_choices(AGENCIES),
        roles=_choices(ROLES),
        form=form,
        errors=errors,
        error_list=_error_list(errors),
    )
    return html(page, status)


@bp.route("/admin/users", methods=["GET"])
@login_required
def admin_users() -> Any:
    _admin()
    return _users_page()


@bp.route("/admin/users", methods=["POST"])
@login_required
def admin_users_create() -> Any:
    admin = _admin()
    username = _text("username").lower()
    agency, role = _text("agency"), _text("role")
    area_slugs = request.form.getlist("areas")
    password = request.form.get("password", "")
    errors: dict[str, str] = {}
    if not username:
        errors["username"] = "Enter a username"
    if agency not in AGENCIES:
        errors["agency"] = "Choose the user's agency"
    if role not in ROLES:
        errors["role"] = "Choose the user's role"
    if not area_slugs:
        errors["areas"] = "Choose at least one area"
    if not password:
        errors["password"] = "Enter a password for the user"  # noqa: S105 - a message
    if errors:
        return _users_page(422, errors)
    try:
        people.create_user(
            db.session(),
            username,
            agency,
            role,
            area_slugs,
            password,
            _text("display_name"),
            by=admin.username,
            now=utcnow(),
        )
    except InvalidInput as exc:
        db.rollback()
        return _users_page(422, _errors(exc, "username"))
    flash(f"User {username} created. Give them their password by a separate channel.", "success")
    return redirect(url_for("web.admin_user", username=username), 303)


def _found(username: str) -> User:
    try:
        return people.get_user(db.session(), username)
    except InvalidInput:
        raise NotFound(f"no user {username!r}") from None


def _user_page(user: User, status: int = 200, errors: dict[str, str] | None = None) -> Any:
    session = db.session()
    errors = errors or {}
    changing = bool(errors) and request.form.get("form") == "role"
    page = render_template(
        "admin_user.html",
        user=user,
        areas=people.areas(session),
        roles=_choices(ROLES),
        role=_text("role") if changing else user.role,
        chosen=request.form.getlist("areas") if changing else [a.slug for a in user.areas],
        tokens=people.tokens(session, user),
        history=people.admin_events(session, user.username),
        myself=user.id == current_user.id,
        now=utcnow(),
        errors=errors,
        error_list=_error_list(errors),
    )
    return html(page, status)


@bp.route("/admin/users/<username>", methods=["GET"])
@login_required
def admin_user(username: str) -> Any:
    _admin()
    return _user_page(_found(username))


@bp.route("/admin/users/<username>/role", methods=["POST"])
@login_required
def admin_user_role(username: str) -> Any:
    admin = _admin()
    user = _found(username)
    role, area_slugs = _text("role"), request.form.getlist("areas")
    errors: dict[str, str] = {}
    if role not in ROLES:
        errors["role"] = "Choose a role"
    if not area_slugs:
        errors["areas"] = "Choose at least one area"
    if not errors:
        try:
            people.change_role_and_areas(
                db.session(), username, role, area_slugs, utcnow(), by=admin.username
            )
        except InvalidInput as exc:
            errors = _errors(exc, "role")
    if errors:
        db.rollback()
        return _user_page(_found(username), 422, errors)
    flash(f"The role and areas of {user.username} are changed.", "success")
    return redirect(url_for("web.admin_user", username=username), 303)


@bp.route("/admin/users/<username>/password", methods=["POST"])
@login_required
def admin_user_password(username: str) -> Any:
    admin = _admin()
    _found(username)
    password = request.form.get("password", "")
    errors: dict[str, str] = {}
    if not password:
        errors["password"] = "Enter the new password"  # noqa: S105 - a message
    else:
        try:
            people.reset_password(db.session(), username, password, utcnow(), by=admin.username)
        except InvalidInput as exc:
            errors = _errors(exc, "password")
    if errors:
        db.rollback()
        return _user_page(_found(username), 422, errors)
    flash(
        f"The password of {username} is changed: they are signed out everywhere and their "
        "tokens are revoked. Give them the new password by a separate channel.",
        "success",
    )
    return redirect(url_for("web.admin_user", username=username), 303)


@bp.route("/admin/users/<username>/disable", methods=["POST"])
@login_required
def admin_user_disable(username: str) -> Any:
    admin = _admin()
    _found(username)
    try:
        people.disable_user(db.session(), username, utcnow(), by=admin.username)
    except InvalidInput as exc:
        db.rollback()
        return _user_page(_found(username), 409, _errors(exc, "status"))
    flash(f"{username} is disabled: signed out everywhere, every token revoked.", "success")
    return redirect(url_for("web.admin_user", username=username), 303)


@bp.route("/admin/users/<username>/enable", methods=["POST"])
@login_required
def admin_user_enable(username: str) -> Any:
    admin = _admin()
    _found(username)
    try:
        people.enable_user(db.session(), username, utcnow(), by=admin.username)
    except InvalidInput as exc:
        db.rollback()
        return _user_page(_found(username), 409, _errors(exc, "status"))
    flash(f"{username} may sign in again. Their old tokens stay revoked.", "success")
    return redirect(url_for("web.admin_user", username=username), 303)


# -- areas ---------------------------------------------------------------------------------------


def _areas_page(status: int = 200, errors: dict[str, str] | None = None) -> Any:
    errors = errors or {}
    form = {name: _text(name) if errors else "" for name in ("name", "slug", "prefix")}
    page = render_template(
        "admin_areas.html",
        areas=people.areas(db.session()),
        form=form,
        errors=errors,
        error_list=_error_list(errors),
    )
    return html(page, status)


@bp.route("/admin/areas", methods=["GET"])
@login_required
def admin_areas() -> Any:
    _admin()
    return _areas_page()


@bp.route("/admin/areas", methods=["POST"])
@login_required
def admin_areas_add() -> Any:
    admin = _admin()
    name, slug, prefix = _text("name"), _text("slug").lower(), _text("prefix").upper()
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "Enter the area's name"
    if not slug:
        errors["slug"] = "Enter the area's short name"
    if not prefix:
        errors["prefix"] = "Enter the area's reference prefix"
    if not errors:
        try:
            people.add_area(db.session(), slug, name, prefix, by=admin.username, now=utcnow())
        except InvalidInput as exc:
            errors = _errors(exc, "name")
    if errors:
        db.rollback()
        return _areas_page(422, errors)
    flash(f"Area {name} added.", "success")
    return redirect(url_for("web.admin_areas"), 303)


# -- tokens --------------------------------------------------------------------------------------


class TokenPageArgs(StrictSchema):
    """Paging of the tokens list, as the API's lists page: a page size and a keyset cursor."""

    limit = fields.Integer(load_default=TOKENS_PER_PAGE, validate=validate.Range(min=1, max=200))
    cursor = position_cursor(ID_DIGITS)


def _tokens_page(
    status: int = 200, errors: dict[str, str] | None = None, created: str | None = None
) -> Any:
    session = db.session()
    errors = errors or {}
    form = {name: _text(name) if errors else "" for name in ("username", "scope", "expires")}
    if request.method == "GET":
        form["username"] = request.args.get("username", "")[:MAX_INPUT]
    paging = {k: v for k in ("limit", "cursor") if (v := request.args.get(k, "").strip())}
    try:
        args = TokenPageArgs().load(paging)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {}
        name, said = next(iter(messages.items()), ("cursor", ["is not valid"]))
        errors = {**errors, "tokens": f"{'Page size' if name == 'limit' else 'Page'}: {said[0]}"}
        status, args = 400, TokenPageArgs().load({})
    before = decode_position(args["cursor"]) if "cursor" in args else None
    listed, after = people.token_page(session, args["limit"], before)
    next_url = None
    if after is not None:
        values: dict[str, Any] = {"cursor": encode_position(after)}
        if "limit" in paging:
            values["limit"] = paging["limit"]
        next_url = url_for("web.admin_tokens", **values)
    page = render_template(
        "admin_tokens.html",
        tokens=listed,
        next_url=next_url,
        later_page=before is not None,
        users=[u for u in people.users(session) if u.active],
        scopes=[(s, s.capitalize(), SCOPE_HINTS[s]) for s in SCOPES],
        form=form,
        created=created,
        now=utcnow(),
        errors=errors,
        error_list=_error_list(errors),
    )
    return html(page, status)


@bp.route("/admin/tokens", methods=["GET"])
@login_required
def admin_tokens() -> Any:
    _admin()
    return _tokens_page()


@bp.route("/admin/tokens", methods=["POST"])
@login_required
def admin_tokens_create() -> Any:
    admin = _admin()
    username, scope, expires = _text("username"), _text("scope"), _text("expires")
    errors: dict[str, str] = {}
    if not username:
        errors["username"] = "Choose whose token it is"
    if scope not in SCOPES:
        errors["scope"] = "Choose what the token may do"
    days: int | None = None
    if expires:
        if not expires.isdigit() or not 1 <= int(expires) <= MAX_TOKEN_DAYS:
            errors["expires"] = f"Days until it expires must be a number from 1 to {MAX_TOKEN_DAYS}"
        else:
            days = int(expires)
    raw = None
    if not errors:
        try:
            raw = people.create_token(
                db.session(), username, scope, utcnow(), days, by=admin.username
            )
        except InvalidInput as exc:
            errors = _errors(exc, "username")
    if errors or raw is None:
        db.rollback()
        return _tokens_page(422, errors)
    # shown on this answer only (no redirect: the token never goes into the session cookie)
    return _tokens_page(created=raw)


@bp.route("/admin/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def admin_token_revoke(token_id: int) -> Any:
    admin = _admin()
    try:
        token = people.revoke_token(db.session(), token_id, utcnow(), by=admin.username)
    except InvalidInput as exc:
        db.rollback()
        return _tokens_page(409, _errors(exc, "tokens"))
    flash(f"Token {token.prefix}… of {token.user.username} is revoked.", "success")
    return redirect(url_for("web.admin_tokens"), 303)
