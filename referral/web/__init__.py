"""The staff web pages (SPEC section 7): blueprint `web`, GOV.UK Frontend, CSRF on every form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader

from referral.auth import login_manager
from referral.errors import ApiError
from referral.services.referrals import may_record
from referral.web import formatting

SERVICE_NAME = "Interagency referral record"

bp = Blueprint("web", __name__)
csrf = CSRFProtect()

#: methods that change nothing and so carry no CSRF token
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@bp.before_request
def _check_csrf() -> None:
    # only the pages: the API authenticates by bearer token, which a browser never sends itself
    if request.method not in SAFE_METHODS:
        csrf.protect()


@bp.errorhandler(CSRFError)
def _csrf_refused(exc: CSRFError) -> tuple[str, int]:
    page = render_template(
        "message.html",
        title="Your form could not be sent",
        message="The form had expired or was not sent from this service. "
        "Go back, reload the page and try again.",
    )
    return page, 400


@bp.errorhandler(ApiError)
def _refused(exc: ApiError) -> Any:
    """A service's refusal, as a page (the API answers the same refusals as problem+json)."""
    titles = {404: "Page not found", 403: "You cannot do this", 409: "This cannot be done now"}
    title = titles.get(exc.status, exc.title)
    message = (
        "There is nothing at this address that you can see." if exc.status == 404 else exc.detail
    )
    # refused on a referral's form: the way back is to the referral (unless it is not found)
    referral_id = (request.view_args or {}).get("referral_id") if exc.status != 404 else None
    back = url_for("web.referral", referral_id=referral_id) if referral_id else None
    page = render_template("message.html", title=title, message=message, back=back)
    return Response(page, status=exc.status, mimetype="text/html")


def _page_context() -> dict[str, Any]:
    signed_in = current_user.is_authenticated
    return {"service_name": SERVICE_NAME, "may_record": signed_in and may_record(current_user)}


def init_app(app: Flask) -> None:
    # CSRF is checked by the web blueprint only (see _check_csrf), never on the API
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    # the token lives as long as the session (idle timeout: PERMANENT_SESSION_LIFETIME)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    csrf.init_app(app)
    # the pages' templates, then GOV.UK Frontend's macros and its WTForms widgets by prefix
    bp.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(str(Path(__file__).parent / "templates")),
            PrefixLoader(
                {
                    "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
                    "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
                }
            ),
        ]
    )
    login_manager.login_message = ""  # the sign-in page says what it needs; no flash
    app.context_processor(_page_context)
    formatting.init_app(app)

    from referral.web import (  # noqa: F401 - the views register themselves on `bp`
        admin,
        approvals,
        correct,
        home,
        new_referral,
        record_reading,
        referral_list,
        referrals,
        reports,
        sign_in,
        workflow_page,
    )

    app.register_blueprint(bp)


def html(page: str, status: int = 200) -> Response:
    return Response(page, status=status, mimetype="text/html")
