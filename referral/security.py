"""Security headers on every response (SPEC section 5): no sniffing, no referrer, a strict CSP."""

from __future__ import annotations

from flask import Flask, Response, request

#: no inline script anywhere; nothing may frame a page; forms post only to this app
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
#: swagger-ui (the /api/docs page) writes style attributes into the pages it renders, which a
#: strict style-src refuses; it still runs no inline script
DOCS_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)
DOCS_PATH = "/api/docs"
#: files that hold no case content and may be cached (swagger-ui's assets, static files)
CACHEABLE_PREFIXES = ("/api/docs/assets/", "/static/")


def _is_docs_page(path: str) -> bool:
    return path == DOCS_PATH or path.startswith(DOCS_PATH + "/")


def secure_headers(response: Response) -> Response:
    headers = response.headers
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Frame-Options"] = "DENY"
    if "Content-Security-Policy" not in headers:
        headers["Content-Security-Policy"] = (
            DOCS_CONTENT_SECURITY_POLICY if _is_docs_page(request.path) else CONTENT_SECURITY_POLICY
        )
    # API answers and pages may all carry case content: no cache, shared or private, keeps one
    if not request.path.startswith(CACHEABLE_PREFIXES):
        headers["Cache-Control"] = "no-store"
        headers.pop("Expires", None)
    return response


def init_app(app: Flask) -> None:
    app.after_request(secure_headers)
