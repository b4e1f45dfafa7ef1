"""Signing in and out: username and password, throttled failures, one vague message."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from flask import Response, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.security import check_password_hash

from referral import db, throttle
from referral.auth import check_password, hash_password
from referral.services import directory
from referral.web import bp, html
from workflow.fields import USERNAME_PATTERN

USERNAME = re.compile(USERNAME_PATTERN)
#: said for any failed sign-in, so it tells nobody which usernames exist
FAILED = "Enter a correct username and password"


@cache
def _nobody_hash() -> str:
    """Checked when the username is unknown, so a wrong username takes as long as a wrong
    password. Made on first use, not on import: hashing takes a tenth of a second, which every
    command and worker would pay at start."""
    return hash_password("no user has this password")


def _local_path(target: str | None) -> str:
    """`next`, if it is a path on this site; else the home page (no open redirect)."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 32 for c in target)
    ):
        return url_for("web.home")
    return target


def _form(status: int = 200, **context: Any) -> Response:
    context.setdefault("username", "")
    context.setdefault("errors", {})
    context.setdefault("error_list", [])
    context.setdefault("next", request.values.get("next", ""))
    return html(render_template("sign_in.html", **context), status)


@bp.route("/sign-in", methods=["GET"])
def sign_in() -> Any:
    if current_user.is_authenticated:
        return redirect(_local_path(request.args.get("next")))
    return _form()


@bp.route("/sign-in", methods=["POST"])
def sign_in_post() -> Any:
    username = request.form.get("username", "").strip().lower()
    password = request.form.get("password", "")
    errors: dict[str, str] = {}
    if not username:
        errors["username"] = "Enter your username"
    if not password:
        errors["password"] = "Enter your password"  # noqa: S105 - a message, not a secret
    if errors:
        return _failed(username, errors, 200)
    keys = throttle.sign_in_keys(request.remote_addr, username)
    # limited before the password is checked: a guesser learns nothing while limited
    retry_after = throttle.check(keys)
    if retry_after is not None:
        return _too_many(username, retry_after)
    plausible = USERNAME.fullmatch(username) is not None  # never query with what cannot be one
    user = directory.active_user(db.session(), username) if plausible else None
    if user is None:
        check_password_hash(_nobody_hash(), password)
        valid = False
    else:
        valid = check_password(user, password)
    if user is None or not valid:
        db.rollback()  # the counter's own transaction must not wait behind this one (SQLite)
        retry_after = throttle.fail(keys)
        if retry_after is not None:
            return _too_many(username, retry_after)
        return _failed(username, {"username": FAILED}, 200)
    session.clear()  # a new session for the signed-in user: nothing carried over
    session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME idle
    login_user(user)
    return redirect(_local_path(request.form.get("next")), 303)


def _failed(username: str, errors: dict[str, str], status: int) -> Response:
    error_list = [{"text": text, "href": f"#{name}"} for name, text in errors.items()]
    return _form(status, username=username, errors=errors, error_list=error_list)


def _too_many(username: str, retry_after: int) -> Response:
    message = f"Too many failed sign-ins. Try again in {retry_after} seconds."
    response = _failed(username, {"username": message}, 429)
    response.headers["Retry-After"] = str(retry_after)
    return response


@bp.route("/sign-out", methods=["POST"])
def sign_out() -> Any:
    logout_user()
    session.clear()
    return redirect(url_for("web.sign_in"), 303)
