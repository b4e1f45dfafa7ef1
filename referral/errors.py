"""RFC 9457 problem details for the API: one exception type per status the SPEC names."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from flask import Flask, Response, json, render_template, request
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from referral.db import refused_for_another, sqlite_busy

PROBLEM_TYPE_BASE = "https://referral-engine.invalid/problems/"


class ApiError(Exception):
    status = 400
    title = "Bad request"
    slug = "bad-request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def headers(self) -> dict[str, str]:
        """Response headers this error adds to its problem details."""
        return {}


class BadRequest(ApiError):
    pass


class Unauthorized(ApiError):
    status, title, slug = 401, "Not authenticated", "not-authenticated"


class Forbidden(ApiError):
    status, title, slug = 403, "Not permitted", "not-permitted"


class NotFound(ApiError):
    status, title, slug = 404, "Not found", "not-found"


class Conflict(ApiError):
    status, title, slug = 409, "Conflict", "conflict"


class PreconditionFailed(ApiError):
    status, title, slug = 412, "Precondition failed", "precondition-failed"


class PreconditionRequired(ApiError):
    status, title, slug = 428, "Precondition required", "precondition-required"


class TooManyRequests(ApiError):
    status, title, slug = 429, "Too many attempts", "too-many-requests"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many failed sign-ins or bad tokens; try again in {retry_after} seconds."
        )
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class Unprocessable(ApiError):
    status, title, slug = 422, "Invalid data", "invalid-data"

    def __init__(self, errors: Mapping[str, Sequence[str]], detail: str = "") -> None:
        fields = ", ".join(errors)
        super().__init__(detail or f"Some fields are invalid: {fields}", errors=dict(errors))


def problem(status: int, title: str, detail: str, slug: str, **extra: Any) -> Response:
    body = {
        "type": PROBLEM_TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }
    response = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    return response


def _wants_problem() -> bool:
    return request.path.startswith("/api/") or request.path in ("/healthz", "/readyz")


HTTP_SLUGS = {
    400: "malformed-request",
    401: "not-authenticated",
    403: "not-permitted",
    404: "not-found",
    405: "method-not-allowed",
    413: "body-too-large",
    415: "unsupported-media-type",
    429: "too-many-requests",
}


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        response = problem(exc.status, exc.title, exc.detail, exc.slug, **exc.extra)
        response.headers.update(exc.headers())
        return response

    @app.errorhandler(StaleDataError)
    def _stale(exc: StaleDataError) -> Response:
        # the optimistic-lock check: someone else changed the row between our read and write
        return problem(
            409,
            "Conflict",
            "The referral changed while this request ran; read it again and retry.",
            "conflict",
        )

    @app.errorhandler(IntegrityError)
    def _integrity(exc: IntegrityError) -> Response:
        # a uniqueness rule held by the database (one pending approval, one event per seq)
        return problem(
            409,
            "Conflict",
            "A conflicting change was recorded at the same time; read the record again.",
            "conflict",
        )

    @app.errorhandler(sqlite3.OperationalError)
    @app.errorhandler(DBAPIError)
    def _database_unavailable(exc: Exception) -> Any:
        orig = exc.orig if isinstance(exc, DBAPIError) else exc
        if sqlite_busy(orig):
            # SQLite's write lock stayed taken for the whole busy timeout: nothing was written
            detail = "The database is busy and nothing was recorded; try again in a moment."
        elif refused_for_another(orig):
            # PostgreSQL broke a deadlock (or could not order a transaction) by refusing this one
            detail = (
                "A change recorded at the same moment conflicted with this one, and nothing of "
                "this one was recorded; try again."
            )
        elif isinstance(exc, DBAPIError) and exc.connection_invalidated:
            # the server went away mid-request (a restart): the pool connects again next time
            detail = (
                "The connection to the database was lost. Try again in a moment; if this was a "
                "change, read the record first, as it may or may not have been recorded."
            )
        else:
            raise exc
        if not _wants_problem():
            title = "Service unavailable"
            page = render_template("http_error.html", status=503, title=title, message=detail)
            response = Response(page, status=503, mimetype="text/html")
        else:
            response = problem(503, "Service unavailable", detail, "database-unavailable")
        response.headers["Retry-After"] = "1"
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        status = exc.code or 500
        if not _wants_problem():
            return _html_page(exc) if status in HTML_PAGES else exc
        detail = exc.description or exc.name
        if status == 413:
            detail = "The request body is larger than 1 MiB."
        response = problem(status, exc.name, detail, HTTP_SLUGS.get(status, "http-error"))
        _copy_headers(exc, response, ("Allow", "Retry-After"))
        return response


#: pages outside the API answer these statuses with the app's own page, not the framework's
HTML_PAGES = {
    404: ("Page not found", "There is no page at this address. Check it, or start again."),
    405: (
        "Method not allowed",
        "This page cannot be used that way. Go back, or start again.",
    ),
}


def _html_page(exc: HTTPException) -> Response:
    status = exc.code or 500
    title, message = HTML_PAGES[status]
    page = render_template("http_error.html", status=status, title=title, message=message)
    response = Response(page, status=status, mimetype="text/html")
    _copy_headers(exc, response, ("Allow",))
    return response


def _copy_headers(exc: HTTPException, response: Response, names: Sequence[str]) -> None:
    """Headers werkzeug puts on its own error (405's `Allow`), kept on ours."""
    wanted = {name.lower() for name in names}
    for key, value in exc.get_headers():
        if key.lower() in wanted:
            response.headers[key] = value
