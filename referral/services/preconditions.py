"""Optimistic concurrency: a referral's ETag, and the If-Match a change must carry."""

from __future__ import annotations

from referral.errors import PreconditionFailed, PreconditionRequired
from referral.models import Referral


def etag(referral: Referral) -> str:
    return f'"{referral.id}.{referral.version}"'


def check_if_match(referral: Referral, if_match: str | None, *, required: bool) -> None:
    """412 when `if_match` names another version of `referral`; 428 when required and absent."""
    if if_match is None:
        if required:
            raise PreconditionRequired("send If-Match with the ETag of the referral you read")
        return
    tags = {t.strip() for t in if_match.split(",")}
    if "*" in tags or etag(referral) in tags:
        return
    # If-Match compares strongly (RFC 9110 13.1.1): a weak tag never matches
    if any(t.removeprefix("W/").startswith(f'"{referral.id}.') for t in tags):
        detail = "the referral has changed since you read it; read it again"
        if f"W/{etag(referral)}" in tags:
            detail = "a weak ETag (W/) never matches: send the ETag as the referral's GET gave it"
    else:
        detail = "If-Match names no version of this referral: send the ETag its GET gave"
    raise PreconditionFailed(detail, version=referral.version, etag=etag(referral))
