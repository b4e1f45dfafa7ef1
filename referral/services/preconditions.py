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
    if "*" not in tags and etag(referral) not in tags and f"W/{etag(referral)}" not in tags:
        raise PreconditionFailed(
            "the referral has changed since you read it; read it again",
            version=referral.version,
            etag=etag(referral),
        )
